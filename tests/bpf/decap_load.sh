#!/usr/bin/env bash
# decap_load.sh OBJECT SENDER — weir_decap.bpf.o as a backend operator uses it.
# Two private namespaces joined by a veth: a client (playing weir) and a backend
# with the VIPs on lo and UDP servers (socat) bound to them. The client sends real
# IPIP (4in4, 6in6, 4in6) and GUE (outer IPv4 / IPv6, inner IPv4 / IPv6) packets
# built by SENDER (decap_send.py). Without the program the servers receive
# nothing (this kernel has no ipip/fou); with it attached by `xdp-loader load -m
# skb`, `ip link ... xdpgeneric obj`, `ip link ... xdp obj` (native veth) and
# `xdp-loader load -m native`, every kind arrives, also when the backend routes.
# Namespaces and processes are removed on every exit path. Exit 77 = skipped.
set -uo pipefail
obj=${1:?usage: decap_load.sh OBJECT SENDER}
sender=${2:?usage: decap_load.sh OBJECT SENDER}

fail() {
	echo "FAIL: $*"
	exit 1
}
skip_or_fail() {
	[ "${WEIR_REQUIRE_ALL:-}" = 1 ] && fail "$* (WEIR_REQUIRE_ALL=1: no skipping)"
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip_or_fail "needs root (network namespaces, XDP)"
for tool in ip xdp-loader socat python3 bpftool; do
	command -v "$tool" >/dev/null || skip_or_fail "$tool not installed (scripts/setup)"
done
[ -s "$obj" ] || fail "no BPF object at $obj"

prefix=weirt$$-
client=${prefix}client
backend=${prefix}backend
work=$(mktemp -d /tmp/weir-decap.XXXXXX)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	ip netns del "$client" 2>/dev/null
	ip netns del "$backend" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Addresses (documentation ranges, inside the two namespaces only).
weir4=192.0.2.1 weir6=2001:db8::1
host4=192.0.2.2 host6=2001:db8::2
vip4=198.51.100.1 vip6=2001:db8:f::1
client4=203.0.113.7 client6=2001:db8:c::7 # clients behind weir: the inner sources
port=9000

in_client() { ip netns exec "$client" "$@"; }
in_backend() { ip netns exec "$backend" "$@"; }

setup() {
	ip netns add "$client" && ip netns add "$backend" || return 1
	ip -n "$backend" link add b0 type veth peer name c0 netns "$client" || return 1
	ip -n "$client" link set lo up && ip -n "$backend" link set lo up || return 1
	ip -n "$client" addr add "$weir4/24" dev c0 && ip -n "$client" addr add "$weir6/64" dev c0 nodad &&
		ip -n "$client" link set c0 up || return 1
	ip -n "$backend" addr add "$host4/24" dev b0 && ip -n "$backend" addr add "$host6/64" dev b0 nodad &&
		ip -n "$backend" link set b0 up || return 1
	# The backend: VIPs on lo, replies straight to clients through its default
	# route, loose reverse-path filtering (docs/decap.md).
	ip -n "$backend" addr add "$vip4/32" dev lo && ip -n "$backend" addr add "$vip6/128" dev lo nodad || return 1
	ip -n "$backend" route add default via "$weir4" && ip -n "$backend" -6 route add default via "$weir6" || return 1
	in_backend sysctl -qw net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.b0.rp_filter=2 || return 1
	# The client reaches the VIPs directly too, to prove the servers listen.
	ip -n "$client" route add "$vip4/32" via "$host4" && ip -n "$client" -6 route add "$vip6/128" via "$host6" ||
		return 1
	# Checksums computed in software: no partial checksums reach the backend.
	if command -v ethtool >/dev/null; then
		in_client ethtool -K c0 tx off >/dev/null 2>&1
	fi
	return 0
}
setup || fail "namespace setup"

# Started without a function or subshell in between, so that $! is the server
# itself (ip netns exec execs it), and away from our stdout, which meson reads
# until every holder has closed it.
touch "$work/recv4" "$work/recv6"
ip netns exec "$backend" socat -u "UDP4-RECV:$port,bind=$vip4" "OPEN:$work/recv4,append" \
	</dev/null >/dev/null 2>>"$work/servers.log" &
pids+=($!)
ip netns exec "$backend" socat -u "UDP6-RECV:$port,bind=[$vip6]" "OPEN:$work/recv6,append" \
	</dev/null >/dev/null 2>>"$work/servers.log" &
pids+=($!)

# Both servers bound before anything is sent.
for _ in $(seq 50); do
	[ "$(in_backend ss -Hnul "sport = :$port" | wc -l)" -ge 2 ] && break
	sleep 0.1
done
[ "$(in_backend ss -Hnul "sport = :$port" | wc -l)" -ge 2 ] || {
	cat "$work/servers.log"
	fail "the UDP servers did not start"
}

# received TOKEN: the token reached one of the servers within about 3 s.
received() {
	for _ in $(seq 30); do
		grep -qx -- "$1" "$work/recv4" "$work/recv6" && return 0
		sleep 0.1
	done
	return 1
}

# send KIND TOKEN: one encapsulated datagram to the backend.
send() {
	local kind=$1 token=$2 outer=$host4 src=$client4 dst=$vip4
	case $kind in
	6in6 | gue6) outer=$host6 src=$client6 dst=$vip6 ;;
	4in6 | gue6-inner4) outer=$host6 ;;
	esac
	in_client python3 "$sender" "$kind" "$outer" "$src" "$dst" "$port" "$token" ||
		fail "sending $kind"
}

kinds=(4in4 6in6 4in6 gue4 gue6 gue6-inner4)
passed=0

# The servers work: plain datagrams to the VIPs arrive.
echo plain-v4 | in_client socat -u - "UDP4-SENDTO:$vip4:$port"
echo plain-v6 | in_client socat -u - "UDP6-SENDTO:[$vip6]:$port"
received plain-v4 && received plain-v6 || {
	cat "$work/servers.log"
	fail "the servers do not receive plain datagrams"
}
passed=$((passed + 1))

# Without the program, encapsulated datagrams are not delivered.
for kind in "${kinds[@]}"; do
	send "$kind" "none-$kind"
done
sleep 1
for kind in "${kinds[@]}"; do
	grep -qx -- "none-$kind" "$work/recv4" "$work/recv6" && fail "$kind delivered without the program"
done
passed=$((passed + 1))

attach() { # MODE
	case $1 in
	loader-skb) in_backend xdp-loader load -m skb b0 "$obj" ;;
	loader-native) in_backend xdp-loader load -m native b0 "$obj" ;;
	ip-generic) ip -n "$backend" link set dev b0 xdpgeneric obj "$obj" sec xdp ;;
	ip-native) ip -n "$backend" link set dev b0 xdp obj "$obj" sec xdp ;;
	esac
}

detach() { # MODE
	case $1 in
	loader-*) in_backend xdp-loader unload b0 --all ;;
	ip-generic) ip -n "$backend" link set dev b0 xdpgeneric off ;;
	ip-native) ip -n "$backend" link set dev b0 xdp off ;;
	esac
}

is_attached() { # MODE
	local link
	link=$(ip -n "$backend" -d link show dev b0)
	case $1 in
	loader-*) in_backend xdp-loader status b0 | grep -q weir_decap ;;
	ip-generic) grep -q 'xdpgeneric' <<<"$link" && grep -q 'prog/xdp' <<<"$link" ;;
	ip-native) grep -q 'prog/xdp' <<<"$link" && ! grep -q 'xdpgeneric' <<<"$link" ;;
	esac
}

# The decapsulation counters of the program attached by `ip link`, summed over
# CPUs, as "index=count ..." (read through bpftool, as an operator would).
counters() {
	local prog
	prog=$(ip -n "$backend" -j -d link show dev b0 |
		python3 -c 'import json,sys; l=json.load(sys.stdin)[0]; print(l["xdp"]["prog"]["id"])') || return 1
	bpftool -j prog show id "$prog" | python3 -c '
import json, subprocess, sys
for m in json.load(sys.stdin).get("map_ids", []):
    info = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", str(m)],
                                     capture_output=True, check=True).stdout)
    if not info["name"].startswith("weir_decap_coun"):
        continue
    dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "id", str(m)],
                                     capture_output=True, check=True).stdout)
    for e in dump:
        e = e.get("formatted", e)
        print("%d=%d" % (int(e["key"]), sum(int(v["value"]) for v in e["values"])), end=" ")
    print()'
}

for mode in loader-skb ip-generic ip-native loader-native; do
	attach "$mode" >"$work/attach.log" 2>&1 || {
		cat "$work/attach.log"
		fail "$mode: attach"
	}
	is_attached "$mode" || fail "$mode: not shown as attached"
	for kind in "${kinds[@]}"; do
		send "$kind" "$mode-$kind"
	done
	for kind in "${kinds[@]}"; do
		received "$mode-$kind" || fail "$mode: $kind not delivered"
	done
	if [ "$mode" = ip-generic ]; then
		# One of each kind so far: 4in4 (0), 4in6 (2), 6in6 (3), gue4 (4), two gue6 (5).
		c=$(counters) || fail "reading counters"
		echo "counters: $c"
		for want in 0=1 2=1 3=1 4=1 5=2; do
			grep -qw -- "$want" <<<"$c" || fail "$mode: counter $want not in: $c"
		done
	fi
	detach "$mode" >"$work/detach.log" 2>&1 || {
		cat "$work/detach.log"
		fail "$mode: detach"
	}
	ip -n "$backend" link show dev b0 | grep -q 'prog/xdp' && fail "$mode: still attached after unload"
	echo "ok: $mode: ${#kinds[@]} kinds delivered"
	passed=$((passed + 1))
done

# A backend that routes: the FIB now answers, and says the host's addresses are local.
in_backend sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1 || fail "forwarding on"
attach ip-generic >/dev/null 2>&1 || fail "attach with forwarding on"
for kind in "${kinds[@]}"; do
	send "$kind" "routing-$kind"
done
for kind in "${kinds[@]}"; do
	received "routing-$kind" || fail "forwarding on: $kind not delivered"
done
detach ip-generic >/dev/null 2>&1 || fail "detach with forwarding on"
echo "ok: forwarding on: ${#kinds[@]} kinds delivered"
passed=$((passed + 1))

# Detached again: nothing is delivered any more.
send 4in4 after-4in4
send gue4 after-gue4
sleep 1
grep -qx -- after-4in4 "$work/recv4" && fail "4in4 delivered after unload"
grep -qx -- after-gue4 "$work/recv4" && fail "gue4 delivered after unload"
passed=$((passed + 1))

echo "$passed passed, 0 failed"
