# shellcheck shell=bash
# bench/harness/tcp.sh — real TCP through each balancer in the namespace lab of
# scripts/lab.sh (client, lb, three nginx backends): new connections per second
# (wrk, a new connection per request), keep-alive requests per second (wrk) and
# bulk throughput (iperf3, client to server) through weir's DPDK and XDP engines,
# an nftables DNAT load balancer, HAProxy in TCP mode and nginx `stream`, and
# direct to one backend; with the CPU each balancer used. Sourced by scripts/bench
# (needs common.sh and scripts/lab.sh).

TCP_IPERF_PORT=5201
# nftables' SNAT source: an address of its own, so that its connections to the
# backends never meet the TIME_WAIT left there by the proxies' (from the node
# address, with other TCP timestamps: PAWS would drop their SYNs).
TCP_NAT_SRC=10.10.0.3
TCP_CONNS=${WEIR_BENCH_TCP_CONNS:-32}
TCP_ROUNDS=${WEIR_BENCH_TCP_ROUNDS:-3}
TCP_ROUND=1
TCP_XDP_MISSING=0

# tcp_cpu_sample PID... — "process_ticks softirq_ticks system_ticks" now.
tcp_cpu_sample() {
	echo "$(proc_ticks "$@") $(softirq_ticks) $(system_ticks)"
}

# tcp_record BALANCER TEST VALUE UNIT ERRORS CPU_BEFORE CPU_AFTER SECONDS [EXTRA_JSON]
tcp_record() {
	record "$(TCP_ROUND=$TCP_ROUND python3 - "$@" <<'PYEOF'
import json, os, sys
b, test, value, unit, errors, before, after, secs = sys.argv[1:9]
extra = json.loads(sys.argv[9]) if len(sys.argv) > 9 and sys.argv[9] else {}
tck = os.sysconf("SC_CLK_TCK")
d = [(int(a) - int(x)) / tck for x, a in zip(before.split(), after.split())]
r = {"part": "tcp", "balancer": b, "test": test, "round": int(os.environ["TCP_ROUND"]),
     "value": float(value or 0), "unit": unit,
     "errors": int(errors or 0), "seconds": float(secs), "cpu_process_s": d[0], "softirq_s": d[1],
     "system_s": d[2]}
r.update(extra)
print(json.dumps(r))
PYEOF
)"
}

# tcp_wrk BALANCER URL close|keepalive PID... — one wrk run from the client.
tcp_wrk() {
	local b=$1 url=$2 kind=$3 hdr=() before after out rps errors
	shift 3
	[ "$kind" = close ] && hdr=(-H "Connection: close")
	before=$(tcp_cpu_sample "$@")
	out=$(in_ns client wrk -t1 -c"$TCP_CONNS" -d"${BENCH_TCP_SECONDS}s" "${hdr[@]}" "$url" 2>&1)
	after=$(tcp_cpu_sample "$@")
	rps=$(awk '/^Requests\/sec:/{print $2}' <<<"$out")
	errors=$(awk '/Socket errors:/{gsub(",", ""); print $4 + $6 + $8 + $10} /Non-2xx/{print $NF}' <<<"$out" |
		awk '{s += $1} END {print s + 0}')
	local test=conn_per_s
	[ "$kind" = keepalive ] && test=req_per_s
	tcp_record "$b" "$test" "${rps:-0}" "1/s" "$errors" "$before" "$after" "$BENCH_TCP_SECONDS" \
		"{\"requests\": $(awk '/requests in/{print $1}' <<<"$out" | head -1 || echo 0)}"
	note "$(printf '%-14s %-10s %10s /s  (%s errors)' "$b" "$kind" "${rps:-0}" "$errors")"
}

# tcp_iperf BALANCER ADDR PID... — iperf3 for the run's length, client to backend.
tcp_iperf() {
	local b=$1 addr=$2 before after out gbps
	shift 2
	before=$(tcp_cpu_sample "$@")
	out=$(in_ns client iperf3 -c "$addr" -p "$TCP_IPERF_PORT" -t "$BENCH_TCP_SECONDS" -J 2>&1)
	after=$(tcp_cpu_sample "$@")
	gbps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["end"]["sum_received"]["bits_per_second"] / 1e9)' \
		"$out" 2>/dev/null || echo 0)
	tcp_record "$b" gbit_per_s "$gbps" "Gbit/s" "$([ "$gbps" = 0 ] && echo 1 || echo 0)" "$before" "$after" \
		"$BENCH_TCP_SECONDS"
	note "$(printf '%-14s %-10s %10.3f Gbit/s' "$b" iperf3 "$gbps")"
}

# tcp_suite BALANCER URL IPERF_ADDR PID... — the three tests through one balancer.
tcp_suite() {
	local b=$1 url=$2 iperf=$3
	shift 3
	step "tcp: round $TCP_ROUND/$TCP_ROUNDS: $b"
	# Warm caches and ARP first; not measured.
	in_ns client curl -s --max-time 2 -o /dev/null "$url"
	tcp_wrk "$b" "$url" close "$@"
	tcp_wrk "$b" "$url" keepalive "$@"
	tcp_iperf "$b" "$iperf" "$@"
}

# The iperf3 VIP, added to the lab's weir configuration: source-address Maglev,
# so that iperf3's control and data connections meet the same server.
tcp_iperf_vip() {
	cat <<EOT

[[vip]]
name = "iperf"
address = "$LAB_VIP4"
port = $TCP_IPERF_PORT
protocol = "tcp"
scheduler = "maglev_src"
forwarding = "$LAB_MODE"
  [vip.health]
  kind = "none"
EOT
	local i
	for i in 1 2 3; do
		printf '  [[vip.backend]]\n  address = "%s"\n  weight = %s\n' "$(lab_backend_addr "$i" 4)" \
			"${LAB_WEIGHTS[i - 1]}"
	done
}

tcp_weir_dpdk() {
	lab_start_weir || { warn "weir (DPDK) did not start"; return 1; }
	lab_wait_vip "http://$LAB_VIP4/" 30 || return 1
	tcp_suite weir-dpdk "http://$LAB_VIP4/" "$LAB_VIP4" "$LAB_WEIR_PID"
	_lab_end "$LAB_WEIR_PID"
	LAB_WEIR_PID=
}

# After weir's DPDK engine: the kernel owns eth1 again (the other balancers are
# kernel ones; the XDP engine passes everything but the VIPs to the kernel).
tcp_kernel_port() {
	in_ns lb ip addr add "$LAB_NODE4/24" dev eth1
	in_ns lb ip link set eth1 arp on
	in_ns lb sysctl -qw net.ipv4.conf.eth1.rp_filter=0
}

# Back to the lab's set-up for weir's DPDK engine (scripts/lab.sh): eth1 without
# address, ARP or loose reverse-path filtering.
tcp_dpdk_port() {
	in_ns lb ip addr del "$LAB_NODE4/24" dev eth1
	in_ns lb ip link set eth1 arp off
	in_ns lb sysctl -qw net.ipv4.conf.eth1.rp_filter=1
}

tcp_weir_xdp() {
	local cfg=$LAB_DIR/weir-xdp.toml out
	[ "$TCP_XDP_MISSING" = 1 ] && return 0
	# The lab's configuration names eth1 for both engines ([dataplane.xdp] included).
	sed -e 's/^engine = "dpdk"/engine = "xdp"/' \
		-e "s/^mode = \"native\"/mode = \"${WEIR_BENCH_XDP_MODE:-native}\"/" "$LAB_CONFIG" >"$cfg"
	if ! out=$("$LAB_WEIR" --config "$cfg" --check 2>&1); then
		note "xdp engine: not available in this build ($(echo "$out" | head -1))"
		record '{"part": "tcp", "balancer": "weir-xdp", "unavailable": true}'
		TCP_XDP_MISSING=1
		return 0
	fi
	# Native XDP_TX on a veth needs a program on its peer (SPEC §7).
	ip -n "${LAB_PREFIX}sw" link set dev p-lb xdpdrv obj "$(dirname "$LAB_DECAP")/weir_pass.bpf.o" sec xdp
	_lab_spawn lb "$LAB_DIR/weir-xdp.log" "$LAB_WEIR" --config "$cfg"
	local pid=$_LAB_LAST_PID
	LAB_WEIR_LOG=$LAB_DIR/weir-xdp.log LAB_WEIR_PID=$pid
	if ! wait_for_socket "$LAB_SOCKET" 30 || ! lab_wait_vip "http://$LAB_VIP4/" 30; then
		note "xdp engine: not available in this build (weir did not serve: $(tail -1 "$LAB_DIR/weir-xdp.log"))"
		record '{"part": "tcp", "balancer": "weir-xdp", "unavailable": true}'
		TCP_XDP_MISSING=1
	else
		tcp_suite weir-xdp "http://$LAB_VIP4/" "$LAB_VIP4" "$pid"
	fi
	_lab_end "$pid"
	LAB_WEIR_PID=
	ip -n "${LAB_PREFIX}sw" link set dev p-lb xdpdrv off
}

tcp_nftables() {
	local w=$LAB_DIR/nft.conf
	cat >"$w" <<EOT
# DNAT load balancer: random by weight 1:2:3 for HTTP, by source for iperf3;
# SNAT so that backends answer through it.
table ip weirbench {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr $LAB_VIP4 tcp dport $LAB_HTTP_PORT dnat to numgen random mod 6 map { 0 : 10.10.0.21, 1-2 : 10.10.0.22, 3-5 : 10.10.0.23 }
		ip daddr $LAB_VIP4 tcp dport $TCP_IPERF_PORT dnat to jhash ip saddr mod 6 map { 0 : 10.10.0.21, 1-2 : 10.10.0.22, 3-5 : 10.10.0.23 }
	}
	chain post {
		type nat hook postrouting priority srcnat;
		ct status dnat snat to $TCP_NAT_SRC
	}
}
EOT
	in_ns lb sysctl -qw net.ipv4.ip_forward=1
	in_ns lb ip addr add "$TCP_NAT_SRC/24" dev eth1
	in_ns lb nft -f "$w" || { warn "nftables rules rejected"; return 1; }
	tcp_suite nftables "http://$LAB_VIP4/" "$LAB_VIP4"
	in_ns lb nft delete table ip weirbench
	in_ns lb ip addr del "$TCP_NAT_SRC/24" dev eth1
	in_ns lb sysctl -qw net.ipv4.ip_forward=0
}

# tcp_wait_listen PORT — until something in lb listens on the VIP's PORT.
tcp_wait_listen() {
	local i
	for ((i = 0; i < 100; i++)); do
		in_ns lb ss -Htln "src $LAB_VIP4:$1" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

tcp_haproxy() {
	local c=$LAB_DIR/haproxy.cfg i
	{
		printf 'global\n\tnbthread 1\n\tmaxconn 8000\n\tpidfile %s/haproxy.pid\n' "$LAB_DIR"
		printf 'defaults\n\tmode tcp\n\ttimeout connect 2s\n\ttimeout client 30s\n\ttimeout server 30s\n'
		printf 'listen web\n\tbind %s:%s\n\tbalance roundrobin\n' "$LAB_VIP4" "$LAB_HTTP_PORT"
		for i in 1 2 3; do printf '\tserver b%s 10.10.0.2%s:%s weight %s\n' "$i" "$i" "$LAB_HTTP_PORT" "${LAB_WEIGHTS[i - 1]}"; done
		printf 'listen iperf\n\tbind %s:%s\n\tbalance source\n' "$LAB_VIP4" "$TCP_IPERF_PORT"
		for i in 1 2 3; do printf '\tserver b%s 10.10.0.2%s:%s weight %s\n' "$i" "$i" "$TCP_IPERF_PORT" "${LAB_WEIGHTS[i - 1]}"; done
	} >"$c"
	_lab_spawn lb "$LAB_DIR/haproxy.log" haproxy -f "$c" -db
	local pid=$_LAB_LAST_PID
	tcp_wait_listen "$LAB_HTTP_PORT" || { warn "haproxy did not listen"; cat "$LAB_DIR/haproxy.log" >&2; return 1; }
	tcp_suite haproxy "http://$LAB_VIP4/" "$LAB_VIP4" "$pid"
	_lab_end "$pid"
}

tcp_nginx_stream() {
	local d=$LAB_DIR/stream i
	mkdir -p "$d"
	{
		printf 'load_module /usr/lib/nginx/modules/ngx_stream_module.so;\nuser root;\nworker_processes 1;\n'
		printf 'pid %s/nginx.pid;\nerror_log %s/error.log warn;\nevents { worker_connections 20000; }\nstream {\n' "$d" "$d"
		printf '\tupstream web {\n'
		for i in 1 2 3; do printf '\t\tserver 10.10.0.2%s:%s weight=%s;\n' "$i" "$LAB_HTTP_PORT" "${LAB_WEIGHTS[i - 1]}"; done
		printf '\t}\n\tupstream iperf {\n\t\thash $remote_addr;\n'
		for i in 1 2 3; do printf '\t\tserver 10.10.0.2%s:%s weight=%s;\n' "$i" "$TCP_IPERF_PORT" "${LAB_WEIGHTS[i - 1]}"; done
		printf '\t}\n\tserver { listen %s:%s; proxy_pass web; }\n' "$LAB_VIP4" "$LAB_HTTP_PORT"
		printf '\tserver { listen %s:%s; proxy_pass iperf; }\n}\n' "$LAB_VIP4" "$TCP_IPERF_PORT"
	} >"$d/nginx.conf"
	_lab_spawn lb "$d/nginx.out" nginx -c "$d/nginx.conf" -g 'daemon off;'
	local pid=$_LAB_LAST_PID
	tcp_wait_listen "$LAB_HTTP_PORT" || { warn "nginx stream did not listen"; cat "$d/nginx.out" >&2; return 1; }
	# shellcheck disable=SC2046
	tcp_suite nginx-stream "http://$LAB_VIP4/" "$LAB_VIP4" $(children_of "$pid")
	_lab_end "$pid"
}

# tcp_round — one pass over every balancer, starting and ending with the lab's
# set-up for weir's DPDK engine.
tcp_round() {
	[[ " $BENCH_ENGINES " == *" dpdk "* ]] && tcp_weir_dpdk
	tcp_kernel_port
	tcp_suite direct "http://10.10.0.21/" 10.10.0.21
	[[ " $BENCH_ENGINES " == *" xdp "* ]] && tcp_weir_xdp
	tcp_nftables
	# The proxies terminate the client's connection on the VIP: it is theirs now.
	in_ns lb ip addr add "$LAB_VIP4/32" dev lo
	tcp_haproxy
	tcp_nginx_stream
	in_ns lb ip addr del "$LAB_VIP4/32" dev lo
	tcp_dpdk_port
}

tcp_part() {
	step "tcp: building the namespace lab (client, lb, three nginx backends)"
	lab_up "$BENCH_PREFIX" ipip
	local rc=$?
	# lab_up replaced the EXIT trap with its own: the run's cleanup comes too.
	trap 'lab_down; bench_cleanup' EXIT
	[ "$rc" -eq 0 ] || return 1
	local b ns
	for b in "${LAB_BACKENDS[@]}"; do
		_lab_spawn "$b" "$LAB_DIR/$b/iperf3.out" iperf3 -s -p "$TCP_IPERF_PORT"
	done
	for ns in client lb "${LAB_BACKENDS[@]}"; do
		in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
	done
	tcp_iperf_vip >>"$LAB_CONFIG"
	# Rounds over every balancer, so that a burst of other load on the machine
	# hits them all alike; the report takes each figure's median.
	for ((TCP_ROUND = 1; TCP_ROUND <= TCP_ROUNDS; TCP_ROUND++)); do
		tcp_round
	done
	lab_down
	trap bench_cleanup EXIT
}
