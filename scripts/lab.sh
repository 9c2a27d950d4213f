# shellcheck shell=bash
# scripts/lab.sh — the network-namespace lab that scripts/demo and the end-to-end
# tests (tests/e2e/) run weir in: one place for the topology. Source it, set the
# paths below, then `lab_up PREFIX MODE`; everything it creates is removed by
# `lab_down`, which lab_up arranges to run on EXIT, INT and TERM.
#
#                 PREFIXsw: Linux bridge br0 (the L2 segment)
#        ┌──────────┬───────────┴─┬─────────────┬─────────────┐
#   PREFIXclient  PREFIXlb       PREFIXb1      PREFIXb2      PREFIXb3
#   eth0          eth1 = DPDK    eth0 .21      eth0 .22      eth0 .23 (+ .24)
#   10.10.0.10    port; weir0    VIPs on lo, decap XDP on eth0,
#   fd00::10      TAP: 10.10.0.2 nginx :80 ("bN"), UDP echo :5353 ("bN")
#                 fd00::2
#
# The client routes the VIP prefixes 10.10.1.0/24 and fd00:1::/64 via weir's node
# address, found by ARP/NDP through weir's exception path; backends answer the
# client directly. Backend 4 (10.10.0.24 / fd00::24, a second address of b3) is in
# every VIP with weight 0: drained, it must never receive a flow.
#
# MTU: 1500 on every link but the client's, which is 1400, so that a full-size
# client packet still fits 1500 once encapsulated (at most 48 bytes: GUE in IPv6).
#
# Inputs (environment):
#   LAB_WEIR, LAB_WEIRCTL   the weir and weirctl binaries (lab_start_weir, weirctl_json)
#   LAB_DECAP               weir_decap.bpf.o, attached to every backend's eth0
#   LAB_XDP_MODE            xdpgeneric (default) or xdpdrv for the decap program
#   LAB_ENGINE              dpdk (default) or xdp: weir's engine. With xdp, eth1 is the
#                           kernel's interface with the node addresses (no TAP), weir_lb
#                           runs natively on it, and the switch side of its veth carries
#                           weir_pass.bpf.o, found beside LAB_DECAP (native XDP_TX on a
#                           veth needs a program on the peer: SPEC §7)
#   LAB_KEEP=1              keep the temporary directory (logs, configs) after lab_down
# Outputs: LAB_PREFIX, LAB_MODE, LAB_DIR (temporary directory), LAB_CONFIG,
# LAB_SOCKET, LAB_WEIR_PID, LAB_WEIR_LOG.

LAB_VIP4=10.10.1.1
LAB_VIP6=fd00:1::1
LAB_NODE4=10.10.0.2
LAB_NODE6=fd00::2
LAB_CLIENT4=10.10.0.10
LAB_CLIENT6=fd00::10
LAB_HTTP_PORT=80
LAB_UDP_PORT=5353
LAB_EPHEMERAL="50000 60999"   # the client's ephemeral ports; chosen ones are below
LAB_BACKENDS=(b1 b2 b3)
LAB_WEIGHTS=(1 2 3)   # of b1 b2 b3; the drained fourth backend has weight 0
LAB_BIG_FILE_MB=${LAB_BIG_FILE_MB:-8}
LAB_ENGINE=${LAB_ENGINE:-dpdk}

LAB_PREFIX=
LAB_MODE=
LAB_DIR=
LAB_CONFIG=
LAB_SOCKET=
LAB_WEIR_PID=
LAB_WEIR_LOG=
LAB_NAMESPACES=()   # created by this run, deleted by lab_down
LAB_PIDS=()         # started by this run, ended by lab_down

lab_log() { printf '%s\n' "$*"; }
lab_err() { printf 'lab: %s\n' "$*" >&2; }

# Runs a command; on failure says which one and returns 1.
_lab() {
	"$@" || { lab_err "failed: $*"; return 1; }
}

# in_ns NAME CMD... — runs CMD in the lab namespace NAME (client, lb, sw, b1...; a
# full namespace name works too).
in_ns() {
	local ns=$1
	shift
	[[ $ns == "$LAB_PREFIX"* ]] || ns=$LAB_PREFIX$ns
	ip netns exec "$ns" "$@"
}

# The index (1-based) of backend address ADDR (10.10.0.2N or fd00::2N).
lab_backend_index() {
	local a=$1
	echo "${a: -1}"
}

# Backend address of b$1 for a family (4|6).
lab_backend_addr() {
	if [ "$2" = 6 ]; then echo "fd00::2$1"; else echo "10.10.0.2$1"; fi
}

# wait_for_socket PATH [SECONDS] — until PATH is a socket that weir answers on;
# fails at once if weir has exited.
wait_for_socket() {
	local path=$1 limit=${2:-30} i
	for ((i = 0; i < limit * 10; i++)); do
		if [ -S "$path" ] && "$LAB_WEIRCTL" --socket "$path" status >/dev/null 2>&1; then
			return 0
		fi
		if [ -n "$LAB_WEIR_PID" ] && ! kill -0 "$LAB_WEIR_PID" 2>/dev/null; then
			lab_err "weir exited before its control socket answered; its log:"
			tail -n 30 "$LAB_WEIR_LOG" >&2
			return 1
		fi
		sleep 0.1
	done
	lab_err "no answer on $path after ${limit}s"
	return 1
}

# weirctl_json ARGS... — `weirctl --json ARGS` against the lab's weir.
weirctl_json() {
	"$LAB_WEIRCTL" --socket "$LAB_SOCKET" --json "$@"
}

# weirctl_text ARGS... — the same, as weirctl's tables.
weirctl_text() {
	"$LAB_WEIRCTL" --socket "$LAB_SOCKET" "$@"
}

# _lab_spawn NS LOG CMD... — starts CMD in the background in namespace NS (`ip
# netns exec` execs it, so $! is CMD's own PID) and records the PID.
_lab_spawn() {
	local ns=$1 log=$2
	shift 2
	[[ $ns == "$LAB_PREFIX"* ]] || ns=$LAB_PREFIX$ns
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	LAB_PIDS+=("$!")
	_LAB_LAST_PID=$!
}

_lab_netns() {
	local ns=$LAB_PREFIX$1
	if ip netns list | grep -q "^$ns\b"; then
		lab_err "namespace $ns exists already (another run, or a killed one: remove it with 'ip netns del $ns')"
		return 1
	fi
	_lab ip netns add "$ns" || return 1
	LAB_NAMESPACES+=("$ns")
	_lab ip -n "$ns" link set lo up || return 1
	# No duplicate address detection: addresses are usable at once, and the TAP
	# weir creates later inherits `default`.
	in_ns "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
}

# _lab_port NS IF — a veth from the bridge to namespace NS, named IF there, with
# TX checksum offload off on both ends (see SPEC §7, veth quirks).
_lab_port() {
	local ns=$1 ifname=$2 sw=${LAB_PREFIX}sw
	_lab ip -n "$sw" link add "p-$ns" type veth peer name "$ifname" netns "$LAB_PREFIX$ns" || return 1
	_lab ip -n "$sw" link set "p-$ns" master br0 up || return 1
	_lab in_ns sw ethtool -K "p-$ns" tx off >/dev/null || return 1
	_lab in_ns "$ns" ethtool -K "$ifname" tx off >/dev/null || return 1
	_lab ip -n "$LAB_PREFIX$ns" link set "$ifname" up
}

_lab_topology() {
	local n
	for n in sw client lb "${LAB_BACKENDS[@]}"; do
		_lab_netns "$n" || return 1
	done
	# No multicast snooping: NDP's solicited-node multicast reaches every port.
	_lab ip -n "${LAB_PREFIX}sw" link add br0 type bridge mcast_snooping 0 || return 1
	_lab ip -n "${LAB_PREFIX}sw" link set br0 up || return 1
	_lab_port client eth0 || return 1
	_lab_port lb eth1 || return 1
	for n in "${LAB_BACKENDS[@]}"; do
		_lab_port "$n" eth0 || return 1
	done

	local c=${LAB_PREFIX}client
	_lab ip -n "$c" link set eth0 mtu 1400 || return 1
	_lab ip -n "$c" addr add "$LAB_CLIENT4/24" dev eth0 || return 1
	_lab ip -n "$c" addr add "$LAB_CLIENT6/64" dev eth0 nodad || return 1
	_lab ip -n "$c" route add 10.10.1.0/24 via "$LAB_NODE4" || return 1
	_lab ip -n "$c" -6 route add fd00:1::/64 via "$LAB_NODE6" || return 1
	# The kernel picks the client's ephemeral ports from $LAB_EPHEMERAL only:
	# tests that choose a source port (curl --local-port) take one below it, so
	# that no earlier connection of an ephemeral port, still tracked by weir or
	# in TIME_WAIT on the client, shares its 5-tuple.
	_lab in_ns client sysctl -qw net.ipv4.ip_local_port_range="$LAB_EPHEMERAL" >/dev/null || return 1

	if [ "$LAB_ENGINE" = xdp ]; then
		# eth1 is the kernel's, shared with weir_lb: it passes the host's own traffic.
		_lab ip -n "${LAB_PREFIX}lb" addr add "$LAB_NODE4/24" dev eth1 || return 1
		_lab ip -n "${LAB_PREFIX}lb" addr add "$LAB_NODE6/64" dev eth1 nodad || return 1
		_lab ip -n "${LAB_PREFIX}sw" link set dev "p-lb" xdpdrv obj "$(dirname "$LAB_DECAP")/weir_pass.bpf.o" \
			sec xdp || return 1
		return 0
	fi
	# eth1 belongs to DPDK (AF_PACKET): the kernel of this namespace must not answer
	# on it as well as on weir0, which has the same MAC. No ARP, no IPv6, and strict
	# reverse-path filtering (the node's subnet is routed via weir0).
	_lab ip -n "${LAB_PREFIX}lb" link set eth1 arp off || return 1
	_lab in_ns lb sysctl -qw net.ipv6.conf.eth1.disable_ipv6=1 net.ipv4.conf.eth1.rp_filter=1 \
		net.ipv4.ip_forward=0 >/dev/null || return 1
}

_lab_backend_net() {
	local i=$1 ns=$LAB_PREFIX$1
	local idx=${1#b}
	_lab ip -n "$ns" addr add "10.10.0.2$idx/24" dev eth0 || return 1
	_lab ip -n "$ns" addr add "fd00::2$idx/64" dev eth0 nodad || return 1
	if [ "$idx" = 3 ]; then  # the drained fourth backend's addresses
		_lab ip -n "$ns" addr add 10.10.0.24/24 dev eth0 || return 1
		_lab ip -n "$ns" addr add fd00::24/64 dev eth0 nodad || return 1
	fi
	_lab ip -n "$ns" addr add "$LAB_VIP4/32" dev lo || return 1
	_lab ip -n "$ns" addr add "$LAB_VIP6/128" dev lo || return 1
	# The VIP is on lo: never answer ARP for it, never use it as an ARP source.
	_lab in_ns "$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 \
		net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.lo.rp_filter=0 >/dev/null || return 1
	_lab ip -n "$ns" link set dev eth0 "${LAB_XDP_MODE:-xdpgeneric}" obj "$LAB_DECAP" sec xdp
}

_lab_nginx_conf() {
	local b=$1 dir=$2 idx=${1#b} listen a
	listen="listen $LAB_VIP4:$LAB_HTTP_PORT; listen [$LAB_VIP6]:$LAB_HTTP_PORT;"
	listen+=" listen 10.10.0.2$idx:$LAB_HTTP_PORT; listen [fd00::2$idx]:$LAB_HTTP_PORT;"
	[ "$idx" = 3 ] && listen+=" listen 10.10.0.24:$LAB_HTTP_PORT; listen [fd00::24]:$LAB_HTTP_PORT;"
	mkdir -p "$dir/tmp"
	for a in body proxy fastcgi uwsgi scgi; do mkdir -p "$dir/tmp/$a"; done
	cat >"$dir/nginx.conf" <<EOF
# nginx for lab backend $b (scripts/lab.sh); started with -g 'daemon off;'.
user root;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	default_type text/plain;
	server {
		$listen
		# Paced by the sender, so that a download keeps packets flowing through
		# weir for its whole length: LAB_BIG_FILE_MB MiB take 4 s per MiB.
		location = /big { root $LAB_DIR/www; limit_rate 256k; }
		location / { return 200 "$b\n"; }
	}
}
EOF
}

# A UDP server answering every datagram with its backend's name, from the address
# the datagram was sent to (one socket per address: the VIP and the backend's own,
# which weir's udp health check probes).
_LAB_UDP_ECHO='
import selectors, socket, sys
name, port, addrs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
sel = selectors.DefaultSelector()
for a in addrs:
    s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a, port))
    sel.register(s, selectors.EVENT_READ)
print("listening", flush=True)
reply = (name + "\n").encode()
while True:
    for key, _ in sel.select():
        _, peer = key.fileobj.recvfrom(4096)
        key.fileobj.sendto(reply, peer)
'

_lab_backend_servers() {
	local b=$1 dir=$LAB_DIR/$1 idx=${1#b}
	mkdir -p "$dir" || return 1
	_lab_nginx_conf "$b" "$dir" || return 1
	_lab_spawn "$b" "$dir/nginx.out" nginx -c "$dir/nginx.conf" -g 'daemon off;'
	local addrs=("$LAB_VIP4" "$LAB_VIP6" "10.10.0.2$idx" "fd00::2$idx")
	[ "$idx" = 3 ] && addrs+=(10.10.0.24 fd00::24)
	_lab_spawn "$b" "$dir/udp.out" python3 -c "$_LAB_UDP_ECHO" "$b" "$LAB_UDP_PORT" "${addrs[@]}"
}

# Waits until every backend serves HTTP and UDP on its own address (from inside
# its namespace).
_lab_wait_backends() {
	local b idx i
	for b in "${LAB_BACKENDS[@]}"; do
		idx=${b#b}
		for ((i = 0; i < 100; i++)); do
			in_ns "$b" curl -s --max-time 1 "http://10.10.0.2$idx/" 2>/dev/null | grep -qx "$b" &&
				grep -q listening "$LAB_DIR/$b/udp.out" 2>/dev/null && break
			sleep 0.1
		done
		if [ "$i" -eq 100 ]; then
			lab_err "backend $b does not serve; its logs:"
			cat "$LAB_DIR/$b/nginx.out" "$LAB_DIR/$b/error.log" "$LAB_DIR/$b/udp.out" >&2 2>/dev/null
			return 1
		fi
	done
}

# DPDK's file prefix for this lab's weir: its runtime directory is
# /var/run/dpdk/PREFIX, apart from any other DPDK process, and removed by lab_down.
# (--no-huge implies legacy memory, which DPDK refuses with --in-memory; --no-shconf
# and a prefix of its own keep the lab's weir from sharing anything.)
lab_dpdk_prefix() {
	echo "${LAB_PREFIX}weir"
}

# lab_write_config FILE W1 W2 W3 — weir's configuration for the lab, with these
# weights for b1..b3 (the fourth backend is drained). Written atomically: weir may
# reload it at any time.
lab_write_config() {
	local file=$1 tmp=$1.tmp
	shift
	local w=("$@")
	{
		cat <<EOF
# weir configuration for the lab (scripts/lab.sh): forwarding $LAB_MODE.
[node]
ipv4 = "$LAB_NODE4/24"
ipv6 = "$LAB_NODE6/64"

[dataplane]
engine = "$LAB_ENGINE"
workers = 1
flow_table_size = 65536

[dataplane.dpdk]
eal_args = ["-l", "0-1", "--no-huge", "--no-shconf", "--file-prefix=$(lab_dpdk_prefix)", "--no-pci",
            "--no-telemetry", "--vdev=net_af_packet0,iface=eth1"]
port = "net_af_packet0"

[dataplane.xdp]
interface = "eth1"
mode = "native"

[control]
socket = "$LAB_SOCKET"
metrics_listen = ""
EOF
		local name addr port proto kind fam
		for name in web4 web6 udp4 udp6; do
			case $name in
			web4) addr=$LAB_VIP4 port=$LAB_HTTP_PORT proto=tcp kind=tcp fam=4 ;;
			web6) addr=$LAB_VIP6 port=$LAB_HTTP_PORT proto=tcp kind=tcp fam=6 ;;
			udp4) addr=$LAB_VIP4 port=$LAB_UDP_PORT proto=udp kind=udp fam=4 ;;
			udp6) addr=$LAB_VIP6 port=$LAB_UDP_PORT proto=udp kind=udp fam=6 ;;
			esac
			cat <<EOF

[[vip]]
name = "$name"
address = "$addr"
port = $port
protocol = "$proto"
forwarding = "$LAB_MODE"

  [vip.health]
  kind = "$kind"
  interval_ms = 500
  timeout_ms = 300
EOF
			local i
			for i in 1 2 3 4; do
				printf '\n  [[vip.backend]]\n  address = "%s"\n  weight = %s\n' \
					"$(lab_backend_addr "$i" "$fam")" "${w[i - 1]:-0}"
			done
		done
	} >"$tmp" && mv -f "$tmp" "$file"
}

# lab_up PREFIX MODE — builds the topology with forwarding MODE (ipip|gue|l2dsr),
# starts the backends' servers and writes weir's configuration ($LAB_CONFIG).
# weir itself is started by lab_start_weir.
lab_up() {
	LAB_PREFIX=$1
	LAB_MODE=$2
	case $LAB_MODE in
	ipip | gue | l2dsr) ;;
	*) lab_err "forwarding mode '$LAB_MODE': expected ipip, gue or l2dsr"; return 1 ;;
	esac
	trap lab_down EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local t
	for t in ip ethtool nginx curl python3; do
		command -v "$t" >/dev/null || { lab_err "$t is not installed (scripts/setup installs it)"; return 1; }
	done
	[ -f "$LAB_DECAP" ] || { lab_err "decapsulation program '$LAB_DECAP' not found"; return 1; }
	LAB_DIR=$(mktemp -d "/tmp/${LAB_PREFIX}XXXXXX") || return 1
	LAB_CONFIG=$LAB_DIR/weir.toml
	LAB_SOCKET=$LAB_DIR/weir.sock
	LAB_WEIR_LOG=$LAB_DIR/weir.log
	mkdir -p "$LAB_DIR/www" &&
		head -c "$((LAB_BIG_FILE_MB << 20))" /dev/urandom >"$LAB_DIR/www/big" || return 1
	_lab_topology || return 1
	local b
	for b in "${LAB_BACKENDS[@]}"; do
		_lab_backend_net "$b" || return 1
	done
	for b in "${LAB_BACKENDS[@]}"; do
		_lab_backend_servers "$b" || return 1
	done
	_lab_wait_backends || return 1
	lab_write_config "$LAB_CONFIG" "${LAB_WEIGHTS[@]}"
}

# lab_start_weir [ARGS...] — checks the configuration, then runs weir in the lb
# namespace (log: $LAB_WEIR_LOG) and waits for its control socket and (DPDK) its TAP.
lab_start_weir() {
	local out
	if ! out=$("$LAB_WEIR" --config "$LAB_CONFIG" --check 2>&1); then
		lab_err "weir --check rejects the lab configuration:"
		printf '%s\n' "$out" >&2
		return 1
	fi
	_lab_spawn lb "$LAB_WEIR_LOG" "$LAB_WEIR" --config "$LAB_CONFIG" "$@"
	LAB_WEIR_PID=$_LAB_LAST_PID
	wait_for_socket "$LAB_SOCKET" 60 || return 1
	[ "$LAB_ENGINE" = xdp ] && return 0  # no TAP: eth1 has the addresses already
	local i
	for ((i = 0; i < 100; i++)); do
		in_ns lb ip -4 addr show dev weir0 2>/dev/null | grep -q "inet $LAB_NODE4/" &&
			in_ns lb ip -6 addr show dev weir0 2>/dev/null | grep -q "inet6 $LAB_NODE6/" && return 0
		sleep 0.1
	done
	lab_err "weir's TAP weir0 did not come up with $LAB_NODE4/24 and $LAB_NODE6/64:"
	in_ns lb ip addr >&2
	return 1
}

# lab_wait_vip URL [SECONDS] — until the client gets an answer from URL.
lab_wait_vip() {
	local url=$1 limit=${2:-30} i
	for ((i = 0; i < limit * 2; i++)); do
		in_ns client curl -sg --max-time 1 "$url" >/dev/null 2>&1 && return 0
		if [ -n "$LAB_WEIR_PID" ] && ! kill -0 "$LAB_WEIR_PID" 2>/dev/null; then
			lab_err "weir exited; its log:"
			tail -n 30 "$LAB_WEIR_LOG" >&2
			return 1
		fi
		sleep 0.5
	done
	lab_err "the client gets no answer from $url after ${limit}s"
	return 1
}

# lab_client_counter NAME — a counter of the client's eth0 (tx_packets...).
lab_client_counter() {
	in_ns client cat "/sys/class/net/eth0/statistics/$1"
}

# lab_decap_counters NS — the decapsulation program's counters on NS's eth0,
# summed over CPUs, in weir_decap.h's order: 4in4 6in4 4in6 6in6 gue4 gue6
# not_local passed.
lab_decap_counters() {
	local id
	id=$(ip -n "$LAB_PREFIX$1" -d link show dev eth0 | grep -o 'prog/xdp id [0-9]*' | awk '{print $3}')
	[ -n "$id" ] || { lab_err "no XDP program on $1's eth0"; return 1; }
	python3 - "$id" <<'PYEOF'
import json, subprocess, sys
def bpftool(*args):
    return json.loads(subprocess.run(["bpftool", "-j", *args], check=True, capture_output=True).stdout)
prog = bpftool("prog", "show", "id", sys.argv[1])
for m in prog["map_ids"]:
    if bpftool("map", "show", "id", str(m))["name"].startswith("weir_decap_coun"):
        counts = [0] * 8
        for row in bpftool("map", "dump", "id", str(m)):
            row = row.get("formatted", row)  # bpftool adds it when the map has BTF
            counts[int(row["key"])] = sum(int(v["value"]) for v in row["values"])
        print(*counts)
        sys.exit(0)
sys.exit("no weir_decap_counters map")
PYEOF
}

# lab_reload — SIGHUP to weir.
lab_reload() {
	kill -HUP "$LAB_WEIR_PID"
}

# lab_end_pid PID — SIGTERM, then SIGKILL after 5 s; waits for it.
lab_end_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# lab_down — ends the processes and deletes the namespaces this run created, and
# its temporary directory (unless LAB_KEEP=1). Safe to call more than once.
lab_down() {
	local pid ns i
	# weir first: it stops its port and removes its socket.
	[ -n "$LAB_WEIR_PID" ] && lab_end_pid "$LAB_WEIR_PID"
	for ((i = ${#LAB_PIDS[@]} - 1; i >= 0; i--)); do
		lab_end_pid "${LAB_PIDS[i]}"
	done
	LAB_PIDS=()
	LAB_WEIR_PID=
	for ns in "${LAB_NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	LAB_NAMESPACES=()
	[ -n "$LAB_PREFIX" ] && rm -rf "/var/run/dpdk/$(lab_dpdk_prefix)"
	if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
		if [ "${LAB_KEEP:-0}" = 1 ]; then
			lab_log "lab: kept $LAB_DIR"
		else
			rm -rf "$LAB_DIR"
		fi
	fi
	LAB_DIR=
	return 0
}
