#!/usr/bin/env bash
# fingerprint.sh WEIR WEIRCTL ENGINE... — weir instances with the same VIPs and
# backends show the same per-VIP table fingerprints in `weirctl status`, whatever
# the engine: one instance per ENGINE (dpdk on a net_null port, xdp on a veth),
# started side by side from one configuration each that differs only in what is
# per-host (socket, data port). A further dpdk instance with another hash_seed
# must differ on every VIP, so equal fingerprints are not a constant.
# Runs in a private network namespace (unshare); needs root.
set -u
weir=${1:?weir binary}
weirctl=${2:?weirctl binary}
shift 2
engines=("$@")
[ ${#engines[@]} -ge 2 ] || { echo "usage: $0 WEIR WEIRCTL ENGINE ENGINE..." >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
	[ "${WEIR_REQUIRE_ALL:-0}" = 1 ] && { echo "FAIL: needs root (WEIR_REQUIRE_ALL=1)"; exit 1; }
	echo "SKIP: needs root"; exit 77
fi
if [ "${WEIR_FINGERPRINT_INNER:-0}" != 1 ]; then
	WEIR_FINGERPRINT_INNER=1 exec unshare --net --fork bash "$0" "$weir" "$weirctl" "$@"
fi

tmp=$(mktemp -d /tmp/weirt$$-XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ip link set lo up

# The VIPs every instance serves: every scheduler, both families, weights, a
# drained backend, several table sizes.
vips() {
	cat <<'EOT'
[[vip]]
name = "web"
address = "10.10.1.1"
port = 80
table_size = 65537
  [vip.health]
  kind = "none"
  [[vip.backend]]
  address = "10.10.0.21"
  weight = 1
  [[vip.backend]]
  address = "10.10.0.22"
  weight = 2
  [[vip.backend]]
  address = "10.10.0.23"
  weight = 3
  [[vip.backend]]
  address = "10.10.0.24"
  weight = 0
[[vip]]
name = "sticky"
address = "10.10.1.2"
port = 443
scheduler = "maglev_src"
forwarding = "gue"
table_size = 1009
  [vip.health]
  kind = "none"
  [[vip.backend]]
  address = "10.10.0.31"
  [[vip.backend]]
  address = "10.10.0.32"
[[vip]]
name = "dns6"
address = "fd00:1::53"
port = 53
protocol = "udp"
scheduler = "wrr"
table_size = 4099
  [vip.health]
  kind = "none"
  [[vip.backend]]
  address = "fd00::41"
  weight = 5
  [[vip.backend]]
  address = "fd00::42"
  weight = 7
EOT
}

# instance N ENGINE SEED — writes instance N's configuration and starts it.
instance() {
	local n=$1 engine=$2 seed=$3 dir=$tmp/$1 port
	mkdir -p "$dir"
	case $engine in
	dpdk)
		port=$(
			cat <<EOT
[dataplane]
engine = "dpdk"
flow_table_size = 4096
[dataplane.dpdk]
eal_args = ["-l", "0-1", "--no-huge", "--no-shconf", "--file-prefix=weirt$$-$n", "--no-pci", "-m", "128",
            "--no-telemetry", "--vdev=net_null$n"]
port = "net_null$n"
exception_path = false
EOT
		)
		;;
	xdp)
		ip link add "fp$n" type veth peer name "fp${n}p" || fail "veth"
		ip link set "fp$n" up && ip link set "fp${n}p" up
		port=$(
			cat <<EOT
[dataplane]
engine = "xdp"
flow_table_size = 4096
[dataplane.xdp]
interface = "fp$n"
mode = "generic"
EOT
		)
		;;
	*) fail "engine $engine: expected dpdk or xdp" ;;
	esac
	{
		printf '[node]\nipv4 = "10.10.0.2/24"\nipv6 = "fd00::2/64"\nhash_seed = "%s"\n' "$seed"
		printf '%s\n' "$port"
		printf '[control]\nsocket = "%s/weir.sock"\nmetrics_listen = ""\n' "$dir"
		vips
	} >"$dir/weir.toml"
	"$weir" --config "$dir/weir.toml" 2>"$dir/log" &
	pids+=("$!")
}

# fingerprints N — "name=fingerprint ..." from instance N's status.
fingerprints() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$tmp/$1/weir.sock" ] && break
		sleep 0.1
	done
	"$weirctl" --socket "$tmp/$1/weir.sock" --json status | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["engine"], " ".join("%s=%s" % (v["name"], v["fingerprint"]) for v in sorted(s["vips"], key=lambda v: v["name"])))' ||
		fail "instance $1: no status: $(tail -n 3 "$tmp/$1/log")"
}

n=0
for e in "${engines[@]}"; do
	instance "$n" "$e" 5eed5eed
	n=$((n + 1))
done
instance "$n" dpdk 0badf00d
other=$n

read -r engine0 want <<<"$(fingerprints 0)"
echo "instance 0 ($engine0): $want"
[[ $want == *"web="[0-9a-f]* && $want != *None* ]] || fail "instance 0 shows no fingerprints: $want"
for ((i = 1; i < ${#engines[@]}; i++)); do
	read -r e got <<<"$(fingerprints "$i")"
	echo "instance $i ($e): $got"
	[ "$got" = "$want" ] || fail "instance $i ($e) differs from instance 0 ($engine0)"
done
read -r e got <<<"$(fingerprints "$other")"
echo "instance $other ($e, another hash_seed): $got"
for v in $want; do
	[[ " $got " == *" $v "* ]] && fail "another hash_seed gave the same fingerprint for ${v%%=*}"
done
echo "ok: ${#engines[@]} instances (${engines[*]}) show the same fingerprints; another seed changes all of them"
