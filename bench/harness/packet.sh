# shellcheck shell=bash
# bench/harness/packet.sh — the packet benchmarks of scripts/bench: weir_pktgen
# against weir (DPDK engine) and against the ceiling (dpdk-testpmd macswap when
# installed, else weir_macswap) over the same net_memif link, generator on core 0
# and the device's worker on core 1; then the XDP engine and the XDP_TX-only
# ceiling on a veth pair, driven by weir_pktgen over AF_XDP. Sourced by
# scripts/bench (needs common.sh).

PKT_GEN_MAC=02:00:00:00:00:10
PKT_DUT_MAC=02:00:00:00:00:02
PKT_VIP=10.10.1.1
PKT_NODE=10.10.0.2
PKT_BACKENDS=(10.10.0.21 10.10.0.22 10.10.0.23)
PKT_WEIGHTS=(1 2 3)

pkt_eal_common() {
	echo "--no-huge -m 1024 --no-shconf --no-pci --no-telemetry"
}

pkt_backend_mac() {  # ADDR -> its MAC in the benchmark (02:00:00:00:00:2N)
	echo "02:00:00:00:00:${1##*.}"
}

pkt_backend_args() {
	local i
	for i in "${!PKT_BACKENDS[@]}"; do
		printf -- '--backend %s,%s,%s ' "${PKT_BACKENDS[i]}" "$(pkt_backend_mac "${PKT_BACKENDS[i]}")" \
			"${PKT_WEIGHTS[i]}"
	done
}

# pkt_weir_config FILE ENGINE FLOW_TABLE — weir with one IPIP VIP of three backends.
# ENGINE dpdk: a net_memif server port; xdp: the veth's other end.
pkt_weir_config() {
	local file=$1 engine=$2 table=$3 i
	{
		cat <<EOT
# weir for scripts/bench: one VIP, three backends (weights 1:2:3), IPIP.
[node]
ipv4 = "$PKT_NODE/24"

[dataplane]
engine = "$engine"
workers = 1
flow_table_size = $table
mtu = 9000  # backends' links take jumbo frames: 1518-byte frames stay whole after IPIP

EOT
		if [ "$engine" = dpdk ]; then
			cat <<EOT
[dataplane.dpdk]
eal_args = ["-l", "0-1", $(pkt_eal_common | sed 's/\([^ ]*\)/"\1",/g') "--file-prefix=${BENCH_PREFIX}weir",
            "--vdev=net_memif0,role=server,socket=$BENCH_DIR/memif.sock,socket-abstract=no,mac=$PKT_DUT_MAC"]
port = "net_memif0"
EOT
		else
			printf '[dataplane.xdp]\ninterface = "veth1"\nmode = "native"\n'
		fi
		cat <<EOT

[control]
socket = "$BENCH_DIR/weir-$engine.sock"
metrics_listen = ""

[[vip]]
name = "bench"
address = "$PKT_VIP"
port = 80
protocol = "tcp"
forwarding = "ipip"
  [vip.health]
  kind = "none"
EOT
		for i in "${!PKT_BACKENDS[@]}"; do
			printf '  [[vip.backend]]\n  address = "%s"\n  weight = %s\n' "${PKT_BACKENDS[i]}" \
				"${PKT_WEIGHTS[i]}"
		done
	} >"$file"
}

# pkt_wait_socket SOCKET PID — until weir answers (30 s).
pkt_wait_socket() {
	local i
	for ((i = 0; i < 300; i++)); do
		"$WEIRCTL" --socket "$1" status >/dev/null 2>&1 && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# pkt_wait_memif — until the device's memif server socket exists (30 s), so that
# the generator's client finds it at once.
pkt_wait_memif() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ -S "$BENCH_DIR/memif.sock" ] && return 0
		kill -0 "$DUT_PID" 2>/dev/null || break
		sleep 0.1
	done
	warn "$DUT_NAME: no memif socket"
	return 1
}

# pkt_neighbours NS DEV — the backends' MACs in the kernel's neighbour table,
# where weir resolves next hops (the DPDK engine's TAP; the XDP engine's
# bpf_fib_lookup), as ARP would have filled it on a real segment.
pkt_neighbours() {
	local a
	for a in "${PKT_BACKENDS[@]}"; do
		ip -n "$BENCH_PREFIX$1" neigh replace "$a" lladdr "$(pkt_backend_mac "$a")" dev "$2" nud permanent ||
			return 1
	done
}

# pkt_start_dut KIND FLOW_TABLE — starts the device under test on the memif link:
# KIND weir (in namespace PREFIXdut, with its exception TAP) or ceiling. Sets DUT_PID
# and DUT_NAME.
pkt_start_dut() {
	local kind=$1 table=$2
	rm -f "$BENCH_DIR/memif.sock"
	if [ "$kind" = ceiling ]; then
		# shellcheck disable=SC2046
		if command -v dpdk-testpmd >/dev/null; then
			DUT_NAME="testpmd macswap"
			spawn "$BENCH_DIR/ceiling.log" dpdk-testpmd -l 0,1 $(pkt_eal_common) \
				--file-prefix="${BENCH_PREFIX}ceil" \
				--vdev="net_memif0,role=server,socket=$BENCH_DIR/memif.sock,socket-abstract=no,mac=$PKT_DUT_MAC" -- \
				--forward-mode=macswap --auto-start --nb-cores=1 --rxq=1 --txq=1 --rxd=1024 \
				--txd=1024 --burst=32 --stats-period=60
		else
			DUT_NAME="weir_macswap"
			spawn "$BENCH_DIR/ceiling.log" "$BUILD/bench/weir_macswap" -l 0,1 $(pkt_eal_common) \
				--file-prefix="${BENCH_PREFIX}ceil" \
				--vdev="net_memif0,role=server,socket=$BENCH_DIR/memif.sock,socket-abstract=no,mac=$PKT_DUT_MAC" -- \
				--port net_memif0
		fi
		DUT_PID=$SPAWNED
		pkt_wait_memif
		return
	fi
	DUT_NAME="weir (DPDK engine, 1 worker)"
	pkt_weir_config "$BENCH_DIR/weir-dpdk.toml" dpdk "$table"
	"$WEIR" --config "$BENCH_DIR/weir-dpdk.toml" --check >/dev/null || return 1
	spawn "$BENCH_DIR/weir-dpdk.log" ip netns exec "${BENCH_PREFIX}dut" "$WEIR" --config "$BENCH_DIR/weir-dpdk.toml"
	DUT_PID=$SPAWNED
	pkt_wait_socket "$BENCH_DIR/weir-dpdk.sock" "$DUT_PID" || { tail -5 "$BENCH_DIR/weir-dpdk.log" >&2; return 1; }
	pkt_wait_memif || return 1
	pkt_neighbours dut weir0 || return 1
	sleep 2  # weir reads the neighbour table once a second
}

# The generator's link: memif to the DPDK devices by default; the XDP part sets
# an AF_XDP port on a veth in a namespace.
GEN_NS=
GEN_VDEV=
GEN_PORT=net_memif0
GEN_DST_MAC=$PKT_DUT_MAC

# pkt_sample_load SOCKET OUT — weir's counters once a second until killed: a
# line "T <epoch seconds>" then `weirctl --json stats`. One weirctl call a
# second (a few ms of core 0) is all it costs the generator.
pkt_sample_load() {
	while :; do
		echo "T $(date +%s.%N)" >>"$2"
		"$WEIRCTL" --socket "$1" --json stats >>"$2" 2>/dev/null
		sleep 1
	done
}

# pkt_busy SAMPLES — weir's worker load while it forwarded at its peak: over
# the one-second intervals whose RX rate was within 10 % of the run's highest,
# the median busy fraction (busy seconds / elapsed) and packets per busy poll
# (the burst size, at most 32), as "BUSY BURST" or "null null". A worker that
# cannot keep up is busy nearly all the time AND finds full bursts; one that
# keeps up but is kept busy by a steady trickle finds bursts of a few packets.
pkt_busy() {
	python3 - "$1" <<'PYEOF'
import json, statistics, sys
dec, pts, t = json.JSONDecoder(), [], None
text = open(sys.argv[1]).read()
i = 0
while i < len(text):
    if text.startswith("T ", i):
        end = text.index("\n", i)
        t = float(text[i + 2:end]); i = end + 1; continue
    if text[i].isspace():
        i += 1; continue
    try:
        obj, i = dec.raw_decode(text, i)
    except ValueError:
        break
    w = (obj.get("workers") or [{}])[0]
    if t is not None and w.get("busy_seconds") is not None:
        pts.append((t, w["busy_seconds"], w["rx_packets"], w["polls"] - w["empty_polls"]))
iv = [((b2 - b1) / (t2 - t1), (r2 - r1) / (t2 - t1), (r2 - r1) / max(1, p2 - p1))
      for (t1, b1, r1, p1), (t2, b2, r2, p2) in zip(pts, pts[1:]) if t2 > t1]
top = max((v[1] for v in iv), default=0)
peak = [v for v in iv if top > 0 and v[1] >= 0.9 * top]
if peak:
    print(round(statistics.median(v[0] for v in peak), 3), round(statistics.median(v[2] for v in peak), 1))
else:
    print("null null")
PYEOF
}

# pkt_summary KIND JSON — one progress line for a weir_pktgen report.
pkt_summary() {
	python3 - "$@" <<'PYEOF'
import json, sys
r = json.loads(sys.argv[2])
l = r["latency_ns"]
bad = {k: v for k, v in r["invalid"].items() if k != "not_ours"}
print(f"           {sys.argv[1]:>12}: offered {r['offered_mpps']:.3f} Mpps, forwarded {r['forwarded_mpps']:.3f} Mpps, "
      f"loss {100 * r['loss']:.2f}%, latency p50 {l['p50'] / 1000:.1f} us p99 {l['p99'] / 1000:.1f} us, "
      f"bad replies {bad or 0}, flows moved {r['flows_moved']}")
PYEOF
}

# pkt_generate NAME DUT_KIND TRAFFIC FLOWS SIZE RATE — one weir_pktgen run;
# records its report with the device's name (DUT_NAME). Once the report is out,
# runs GEN_BEFORE_STOP, stops the device (DUT_PID), then the generator: the
# memif link goes down while no one polls it (see pktgen.cpp, linger).
pkt_generate() {
	local name=$1 kind=$2 traffic=$3 flows=$4 size=$5 rate=$6 reply=ipip out wrap=() gen i
	[[ $kind == *ceiling ]] && reply=macswap
	[ -n "$GEN_NS" ] && wrap=(ip netns exec "$BENCH_PREFIX$GEN_NS")
	local vdev=${GEN_VDEV:-net_memif0,role=client,socket=$BENCH_DIR/memif.sock,socket-abstract=no,mac=$PKT_GEN_MAC}
	local json=$BENCH_DIR/gen-$name-$kind.json log=$BENCH_DIR/gen-$name-$kind.log
	# Gone before the generator starts: the shell truncates it only once the
	# background job runs, and the previous run's report must not be read.
	rm -f "$json"
	# shellcheck disable=SC2046
	"${wrap[@]}" "$BUILD/bench/weir_pktgen" -l 0 $(pkt_eal_common) --file-prefix="${BENCH_PREFIX}gen" \
		--vdev="$vdev" -- --port "$GEN_PORT" --reply "$reply" --traffic "$traffic" --flows "$flows" \
		--size "$size" --rate "$rate" --duration "$BENCH_SECONDS" --vip "$PKT_VIP:80" --node "$PKT_NODE" \
		--dst-mac "$GEN_DST_MAC" --linger 60 $(pkt_backend_args) >"$json" 2>"$log" &
	gen=$!
	BENCH_PIDS+=("$gen")
	local sampler= samples=$BENCH_DIR/load-$name-$kind.txt
	if [ "$kind" = weir ]; then
		rm -f "$samples"
		pkt_sample_load "$BENCH_DIR/weir-dpdk.sock" "$samples" &
		sampler=$!
		BENCH_PIDS+=("$sampler")
	fi
	for ((i = 0; i < 10 * (BENCH_SECONDS + 120); i++)); do
		grep -q '^{' "$json" 2>/dev/null && break
		kill -0 "$gen" 2>/dev/null || break
		sleep 0.1
	done
	out=$(grep -m1 '^{' "$json")
	local busy=null burst=null
	if [ -n "$sampler" ]; then
		lab_end_pid "$sampler"
		read -r busy burst <<<"$(pkt_busy "$samples")"
	fi
	[ -n "$out" ] && [ -n "${GEN_BEFORE_STOP:-}" ] && $GEN_BEFORE_STOP
	[ -n "${DUT_PID:-}" ] && lab_end_pid "$DUT_PID"
	DUT_PID=
	lab_end_pid "$gen"
	if [ -z "$out" ]; then
		warn "weir_pktgen failed ($name, $kind):"
		grep -v '^EAL' "$log" | tail -5 >&2
		return 1
	fi
	record "$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(part="packet", scenario=sys.argv[2], dut=sys.argv[3], dut_name=sys.argv[4], dut_busy=json.loads(sys.argv[5]), dut_burst=json.loads(sys.argv[6])); print(json.dumps(r))' \
		"$out" "$name" "$kind" "$DUT_NAME" "$busy" "$burst")"
	pkt_summary "$kind" "$out"
	if [ "$busy" != null ]; then
		note "             weir's worker at its peak rate: busy $busy of the time, $burst packets per busy poll"
	fi
	return 0
}

# pkt_scenario NAME TRAFFIC FLOWS SIZE RATE — the ceiling, then weir, same
# generator; BENCH_REPEAT times, interleaved, so that a burst of other load on the
# machine hits both (the report takes each one's median).
pkt_scenario() {
	local name=$1 traffic=$2 flows=$3 size=$4 rate=$5 kind table rep
	# A table with room for every flow of a pass (4-way buckets).
	table=$(python3 -c "import math; print(1 << max(16, math.ceil(math.log2($flows * 1.6))))")
	step "packet: $name ($traffic, $flows flows, $size-byte frames, $([ "$rate" = 0 ] && echo "flat out" || echo "$rate Mpps"), ${BENCH_REPEAT}x)"
	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		for kind in ceiling weir; do
			local hook=
			[ "$kind" = weir ] && hook="pkt_weir_stats $name"
			pkt_start_dut "$kind" "$table" || { warn "$kind did not start"; return 1; }
			if ! GEN_BEFORE_STOP=$hook pkt_generate "$name" "$kind" "$traffic" "$flows" "$size" "$rate"; then
				note "retrying once with a fresh $kind"
				pkt_start_dut "$kind" "$table" || return 1
				GEN_BEFORE_STOP=$hook pkt_generate "$name" "$kind" "$traffic" "$flows" "$size" "$rate"
			fi
		done
	done
}

# pkt_weir_stats NAME — weir's own counters after a run (drops by reason,
# untracked flows), kept with the results.
pkt_weir_stats() {
	"$WEIRCTL" --socket "$BENCH_DIR/weir-dpdk.sock" --json stats >"$BENCH_DIR/weir-stats.json" 2>/dev/null || return 0
	record "$(python3 - "$BENCH_DIR/weir-stats.json" "$1" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
print(json.dumps({"part": "weir_stats", "scenario": sys.argv[2], "totals": s.get("totals"),
                  "drops": {k: v for k, v in (s.get("drops") or {}).items() if v}}))
PYEOF
)"
}

# pkt_median_rate SCENARIO DUT — the median forwarded Mpps of these runs so far.
pkt_median_rate() {
	python3 - "$BENCH_DIR/results.jsonl" "$1" "$2" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
v = [r["forwarded_mpps"] for r in rows if r.get("scenario") == sys.argv[2] and r.get("dut") == sys.argv[3]]
print(statistics.median(v) if v else 0)
PYEOF
}

packet_part() {
	bench_netns dut || return 1
	ip netns exec "${BENCH_PREFIX}dut" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	pkt_scenario established-64 established "$BENCH_FLOWS" 64 0
	pkt_scenario syn-64 syn "$BENCH_SYN_FLOWS" 64 0
	pkt_scenario established-1518 established "$BENCH_FLOWS" 1518 0
	# Latency without queueing in the rings: half the rate weir forwarded flat out.
	local rate
	rate=$(python3 -c "print(round(max(0.01, $(pkt_median_rate established-64 weir) / 2), 3))")
	pkt_scenario latency-64 established "$BENCH_FLOWS" 64 "$rate"
}

# xdp_generate NAME KIND — weir_pktgen over AF_XDP on veth0 (namespace PREFIXxa)
# toward veth1 (PREFIXxb), where the device under test is attached.
xdp_generate() {
	GEN_NS=xa GEN_VDEV="net_af_xdp0,iface=veth0" GEN_PORT=net_af_xdp0 \
		GEN_DST_MAC=$(ip -n "${BENCH_PREFIX}xb" link show veth1 | awk '/ether/{print $2}') \
		pkt_generate "$1" "$2" established "$BENCH_XDP_FLOWS" 64 0
}

# xdp_start_weir — weir's XDP engine on veth1, if this build has it.
xdp_start_weir() {
	local out
	pkt_weir_config "$BENCH_DIR/weir-xdp.toml" xdp 1048576
	if ! out=$("$WEIR" --config "$BENCH_DIR/weir-xdp.toml" --check 2>&1); then
		note "xdp engine: not available in this build ($(echo "$out" | head -1))"
		return 1
	fi
	spawn "$BENCH_DIR/weir-xdp.log" ip netns exec "${BENCH_PREFIX}xb" "$WEIR" --config "$BENCH_DIR/weir-xdp.toml"
	DUT_PID=$SPAWNED
	if ! pkt_wait_socket "$BENCH_DIR/weir-xdp.sock" "$DUT_PID"; then
		note "xdp engine: not available in this build (weir did not start: $(tail -1 "$BENCH_DIR/weir-xdp.log"))"
		return 1
	fi
	pkt_neighbours xb veth1
}

xdp_part() {
	bench_netns xa && bench_netns xb || return 1
	ip -n "${BENCH_PREFIX}xa" link add veth0 type veth peer name veth1 netns "${BENCH_PREFIX}xb" || return 1
	local ns
	for ns in xa:veth0 xb:veth1; do
		ip -n "$BENCH_PREFIX${ns%%:*}" link set "${ns#*:}" up
		ip netns exec "$BENCH_PREFIX${ns%%:*}" ethtool -K "${ns#*:}" tx off >/dev/null
	done
	ip -n "${BENCH_PREFIX}xb" addr add "$PKT_NODE/24" dev veth1
	# xdp-trafficgen only sends; weir_pktgen also checks what comes back, so it
	# drives both runs. Whether xdp-trafficgen works here is reported all the same.
	local tg
	if tg=$(timeout 10 ip netns exec "${BENCH_PREFIX}xa" xdp-trafficgen udp -n 100 veth0 2>&1); then
		note "xdp-trafficgen runs here; the generator is weir_pktgen over AF_XDP, which checks replies"
	else
		note "xdp-trafficgen does not run here ($(echo "$tg" | grep -m1 -i 'error' || echo "exit status $?"))"
		note "the generator is weir_pktgen over AF_XDP"
	fi
	step "xdp: established, $BENCH_XDP_FLOWS flows, 64-byte frames, AF_XDP generator on a veth"
	DUT_NAME="xdp_tx.bpf.o (XDP_TX only)" DUT_PID=
	ip -n "${BENCH_PREFIX}xb" link set veth1 xdpdrv obj "$BUILD/bench/xdp_tx.bpf.o" sec xdp || return 1
	xdp_generate xdp-64 xdp-ceiling
	ip -n "${BENCH_PREFIX}xb" link set veth1 xdpdrv off
	DUT_NAME="weir (XDP engine)"
	if xdp_start_weir; then
		xdp_generate xdp-64 weir-xdp
	else
		record '{"part": "packet", "scenario": "xdp-64", "dut": "weir-xdp", "unavailable": true}'
	fi
}
