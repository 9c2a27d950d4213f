#!/usr/bin/env bash
# daemon_lifecycle.sh WEIR WEIRCTL — the weir daemon on the DPDK engine, started
# and stopped as an operator would (SPEC §2, issue: start and stop):
#   - a start-up failure (data port missing) is one log line naming the cause, exit 1;
#   - a good start serves `weirctl status` and `stats`, brings up the exception TAP
#     with node.ipv4 and answers ping on it through the data port;
#   - SIGTERM stops it within a second and leaves no TAP, socket or process.
# Runs in a private network namespace of its own (unshare), so it needs root.
set -u
weir=${1:?weir binary}
weirctl=${2:?weirctl binary}
if [ "$(id -u)" -ne 0 ]; then
	[ "${WEIR_REQUIRE_ALL:-0}" = 1 ] && { echo "FAIL: needs root (WEIR_REQUIRE_ALL=1)"; exit 1; }
	echo "SKIP: needs root"; exit 77
fi
if [ "${WEIR_LIFECYCLE_INNER:-0}" != 1 ]; then
	# Re-run inside a fresh network namespace; everything made there dies with it.
	WEIR_LIFECYCLE_INNER=1 exec unshare --net --fork bash "$0" "$@"
fi

tmp=$(mktemp -d /tmp/weirt$$-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
	ip netns del "weirt$$-peer" 2>/dev/null
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

ip link set lo up
ip netns add "weirt$$-peer"
ip link add eth1 type veth peer name eth0 netns "weirt$$-peer"
ip link set eth1 up
sysctl -qw net.ipv6.conf.eth1.disable_ipv6=1
# AF_PACKET gives weir a copy of each frame; the kernel must not handle eth1's
# frames itself (nftables' ingress hook runs after the packet taps).
nft add table netdev weirt && nft "add chain netdev weirt port { type filter hook ingress device eth1 priority 0; policy drop; }"
ip netns exec "weirt$$-peer" ip link set eth0 up
ip netns exec "weirt$$-peer" ip addr add 10.10.0.10/24 dev eth0
ip netns exec "weirt$$-peer" ethtool -K eth0 tx off >/dev/null

write_config() {  # PORT_IFACE [MEMORY_ARGS]
	local mem=${2:-'"--no-huge", "--no-shconf"'}
	cat >"$tmp/weir.toml" <<EOT
[node]
ipv4 = "10.10.0.2/24"
[dataplane]
engine = "dpdk"
flow_table_size = 65536
[dataplane.dpdk]
eal_args = ["-l", "0-1", $mem, "--no-pci", "-m", "256", "--vdev=net_af_packet0,iface=$1"]
port = "net_af_packet0"
[control]
socket = "$tmp/run/weir.sock"
metrics_listen = ""
[[vip]]
name = "web"
address = "10.10.1.1"
port = 80
  [[vip.backend]]
  address = "10.10.0.21"
EOT
}

# 1. The data port's interface does not exist.
write_config nosuchif
"$weir" --config "$tmp/weir.toml" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "missing port: exit $rc, expected 1"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "missing port: expected one line, got: $(cat "$tmp/err")"
grep -q "net_af_packet0 not found.*No such device" "$tmp/err" || fail "missing port: cause not named: $(cat "$tmp/err")"
echo "ok: missing port is one line, exit 1: $(cat "$tmp/err")"

# 2. Hugepages asked for where there are none (a directory that is no hugetlbfs).
write_config eth1 '"--in-memory", "--huge-dir=/nonexistent-weir-hugepages"'
"$weir" --config "$tmp/weir.toml" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "no hugepages: exit $rc, expected 1"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "no hugepages: expected one line, got: $(cat "$tmp/err")"
grep -q "hugepage" "$tmp/err" || fail "no hugepages: cause not named: $(cat "$tmp/err")"
echo "ok: no hugepages is one line, exit 1: $(cat "$tmp/err")"

# 3. A good start.
write_config eth1
"$weir" --config "$tmp/weir.toml" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/run/weir.sock" ] && break; sleep 0.1; done
[ -S "$tmp/run/weir.sock" ] || fail "no control socket after 10 s: $(cat "$tmp/log")"
"$weirctl" --socket "$tmp/run/weir.sock" --json status | grep -q '"engine": "dpdk"' || fail "status: $(cat "$tmp/log")"
"$weirctl" --socket "$tmp/run/weir.sock" stats >/dev/null || fail "stats"
ip -o addr show weir0 | grep -q "10.10.0.2/24" || fail "TAP weir0 lacks node.ipv4"
ip netns exec "weirt$$-peer" ping -c 3 -i 0.2 -W 1 10.10.0.2 >"$tmp/ping" || fail "ping through the exception path: $(cat "$tmp/ping")"
grep -q "DUP" "$tmp/ping" && fail "duplicate ping replies: $(cat "$tmp/ping")"
echo "ok: status, stats, TAP with node.ipv4, ping through the data port"

# 4. SIGTERM.
start=$(date +%s%N)
kill -TERM "$pid"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
kill -0 "$pid" 2>/dev/null && fail "still running 2 s after SIGTERM"
wait "$pid"
rc=$?
pid=
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" -eq 0 ] || fail "exit $rc after SIGTERM: $(tail -3 "$tmp/log")"
[ "$ms" -le 1000 ] || fail "SIGTERM took $ms ms"
[ -e "$tmp/run/weir.sock" ] && fail "socket left behind"
ip link show weir0 >/dev/null 2>&1 && fail "TAP left behind"
echo "ok: SIGTERM stopped weir in $ms ms; no socket, no TAP"
