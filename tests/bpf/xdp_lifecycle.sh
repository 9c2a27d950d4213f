#!/usr/bin/env bash
# xdp_lifecycle.sh WEIR WEIRCTL DECAP_OBJ — the weir daemon on the XDP engine, started and
# stopped as an operator would (SPEC §2):
#   - engine "xdp" on a missing interface fails in one line naming it, exit 1;
#   - engine "xdp" attaches weir_lb natively to the interface, serves `weirctl
#     status` (engine xdp) and `stats`, and forwards a real packet to a VIP;
#   - SIGTERM stops it with exit 0, detaches the program, removes the socket;
#   - engine "auto" without a usable DPDK port logs one line saying why and runs
#     XDP; mode "generic" attaches in SKB mode with a warning; SIGINT detaches too.
# Runs in a private network namespace of its own (unshare), so it needs root.
set -u
weir=${1:?weir binary}
weirctl=${2:?weirctl binary}
decap=$(realpath "${3:?weir_decap.bpf.o}")
if [ "$(id -u)" -ne 0 ]; then
	[ "${WEIR_REQUIRE_ALL:-0}" = 1 ] && { echo "FAIL: needs root (WEIR_REQUIRE_ALL=1)"; exit 1; }
	echo "SKIP: needs root"; exit 77
fi
if [ "${WEIR_LIFECYCLE_INNER:-0}" != 1 ]; then
	WEIR_LIFECYCLE_INNER=1 exec unshare --net --fork bash "$0" "$@"
fi

tmp=$(mktemp -d /tmp/weirt$$-XXXXXX)
peer=weirt$$-peer
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
	ip netns del "$peer" 2>/dev/null
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$tmp/weir.log" ] && { echo "--- weir log"; cat "$tmp/weir.log"; }
	exit 1
}

ip link set lo up
ip netns add "$peer"
ip link add eth1 type veth peer name eth0 netns "$peer"
ip link set eth1 up
ip addr add 10.10.0.2/24 dev eth1
ip netns exec "$peer" ip link set eth0 up
ip netns exec "$peer" ip addr add 10.10.0.10/24 dev eth0
ip netns exec "$peer" ip addr add 10.10.0.21/24 dev eth0
# Native XDP_TX on a veth needs an XDP program on the peer (SPEC §7): the
# backend's decapsulator, which also passes everything else.
ip -n "$peer" link set dev eth0 xdpdrv obj "$decap" sec xdp || fail "cannot attach $decap to the peer"

write_config() {  # ENGINE IFACE MODE
	cat >"$tmp/weir.toml" <<EOT
[node]
ipv4 = "10.10.0.2/24"
[dataplane]
engine = "$1"
flow_table_size = 4096
[dataplane.xdp]
interface = "$2"
mode = "$3"
[control]
socket = "$tmp/run/weir.sock"
metrics_listen = ""
[[vip]]
name = "web"
address = "10.10.1.1"
port = 80
forwarding = "ipip"
  [vip.health]
  kind = "none"
  [[vip.backend]]
  address = "10.10.0.21"
EOT
}
start() {
	mkdir -p "$tmp/run"
	"$weir" --config "$tmp/weir.toml" >"$tmp/weir.log" 2>&1 &
	pid=$!
	for ((i = 0; i < 300; i++)); do
		"$weirctl" --socket "$tmp/run/weir.sock" status >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || fail "weir exited during start-up"
		sleep 0.1
	done
	fail "weir did not answer on its socket"
}
xdp_attached() {  # IFACE: prints the attached program's mode (native | generic), or nothing
	local l
	l=$(ip -d link show dev "$1")
	grep -q 'prog/xdp' <<<"$l" || return 0
	if grep -qw xdpgeneric <<<"$l"; then echo generic; else echo native; fi
}
stop_with() {  # SIGNAL
	kill "-$1" "$pid"
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid"
	local rc=$?
	pid=
	[ "$rc" -eq 0 ] || fail "weir exited with $rc after SIG$1"
	[ -z "$(xdp_attached eth1)" ] || fail "the XDP program is still attached after SIG$1"
	[ ! -e "$tmp/run/weir.sock" ] || fail "the control socket is left after SIG$1"
}

# 1. A missing interface: one line, exit 1.
write_config xdp nosuch0 native
"$weir" --config "$tmp/weir.toml" >"$tmp/weir.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "missing interface: exit $rc, expected 1"
grep -q "interface nosuch0 not found" "$tmp/weir.log" || fail "missing interface: no line naming it"
echo "ok: missing interface -> exit 1: $(grep -m1 nosuch0 "$tmp/weir.log")"

# 2. Native XDP: attached, status and stats, a packet forwarded, SIGTERM detaches.
write_config xdp eth1 native
start
[ "$(xdp_attached eth1)" = native ] || fail "weir_lb is not attached natively: $(ip -d link show dev eth1)"
"$weirctl" --socket "$tmp/run/weir.sock" --json status | grep -q '"engine": *"xdp"' || fail "status does not say engine xdp"
"$weirctl" --socket "$tmp/run/weir.sock" --json stats >"$tmp/stats0.json" || fail "weirctl stats failed"
ip netns exec "$peer" ip route add 10.10.1.0/24 via 10.10.0.2
ip netns exec "$peer" ping -c 1 -W 1 10.10.0.2 >/dev/null || fail "the kernel behind XDP does not answer ping (XDP_PASS)"
# The backend's MAC is learned from the kernel's neighbour table within a
# second or two (until then: drops as no_next_hop, and resolution requested).
sent=0
for ((try = 0; try < 10 && sent == 0; try++)); do
	ip netns exec "$peer" python3 -c '
import socket
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.settimeout(0.5)
try:
    t.connect(("10.10.1.1", 80))
except OSError:
    pass
'
	"$weirctl" --socket "$tmp/run/weir.sock" --json stats >"$tmp/stats1.json" || fail "weirctl stats failed"
	sent=$(python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
print(b["totals"]["tx_packets"] - a["totals"]["tx_packets"])' "$tmp/stats0.json" "$tmp/stats1.json")
done
[ "$sent" -ge 1 ] || fail "no packet to the VIP was forwarded (tx_packets +$sent)"
echo "ok: native XDP attached, status engine xdp, ping passed to the kernel, $sent packets to the VIP forwarded"
stop_with TERM
echo "ok: SIGTERM -> exit 0, program detached, socket removed"

# 3. auto without DPDK: one line saying why, then XDP (generic, with its warning); SIGINT.
write_config auto eth1 generic
start
grep -q "DPDK cannot start (no DPDK port" "$tmp/weir.log" || fail "auto: no line saying why DPDK did not start"
[ "$(grep -c "DPDK cannot start" "$tmp/weir.log")" -eq 1 ] || fail "auto: more than one line about DPDK"
grep -q "generic mode" "$tmp/weir.log" || fail "generic mode without a warning"
[ "$(xdp_attached eth1)" = generic ] || fail "weir_lb is not attached in generic mode"
"$weirctl" --socket "$tmp/run/weir.sock" --json status | grep -q '"engine": *"xdp"' || fail "auto: status does not say engine xdp"
echo "ok: auto -> $(grep -m1 'DPDK cannot start' "$tmp/weir.log" | cut -c1-160)"
stop_with INT
echo "ok: SIGINT -> exit 0, program detached"
echo "xdp lifecycle: all checks passed"
