#!/usr/bin/env bash
# e2e.sh ENGINE MODE FAMILY WEIR WEIRCTL DECAP_OBJ — weir end to end on one
# engine, in the namespace lab of scripts/lab.sh: a real client (curl, UDP
# sockets), weir (DPDK: on an AF_PACKET port; XDP: weir_lb native on the lb's
# veth), three nginx backends with the decapsulation program.
# ENGINE: dpdk | xdp; MODE: ipip | gue | l2dsr; FAMILY: ipv4 | ipv6. Asserts, for
# that VIP family:
#   1. HTTP: WEIR_E2E_REQUESTS (default 1200, at least 300) requests, a new
#      connection each, all answered; backend shares within 5 points of the
#      weights 1:2:3; the drained backend gets nothing;
#   2. UDP: 100 datagrams from distinct source ports, at least 98 answered;
#   3. a download through the VIP (5 MiB, paced by nginx at 256 KiB/s, so that it
#      outlasts the reloads even on a busy machine) completes intact while the
#      configuration is reloaded (SIGHUP) five times with changing weights, each
#      reload publishing a new snapshot, and new connections keep working;
#   4. weir's counters agree with the client: per-VIP packets match the client's
#      transmitted packets, per-backend packets follow the requests each backend
#      answered, no drops;
#   5. SIGTERM stops weir cleanly (exit 0, control socket removed).
# Needs root: exits 77 (skip) otherwise, or 1 under WEIR_REQUIRE_ALL=1.
set -uo pipefail

if [ $# -ne 6 ]; then
	echo "usage: $0 dpdk|xdp ipip|gue|l2dsr ipv4|ipv6 WEIR WEIRCTL DECAP_OBJ" >&2
	exit 2
fi
engine=$1
shift
case $engine in
dpdk | xdp) ;;
*) echo "engine '$engine': expected dpdk or xdp" >&2; exit 2 ;;
esac
LAB_ENGINE=$engine
mode=$1
family=$2
here=$(cd "$(dirname "$0")" && pwd)
LAB_WEIR=$(realpath -m "$3")
LAB_WEIRCTL=$(realpath -m "$4")
LAB_DECAP=$(realpath -m "$5")
requests=${WEIR_E2E_REQUESTS:-1200}
# 20 s at nginx's 256 KiB/s: the reloads below take about 10 s.
LAB_BIG_FILE_MB=${LAB_BIG_FILE_MB:-5}
[ "$requests" -ge 300 ] || { echo "WEIR_E2E_REQUESTS must be at least 300" >&2; exit 2; }

for f in "$3" "$4" "$5"; do
	[ -e "$f" ] || { echo "FAIL: $f not found (build first)"; exit 1; }
done
# shellcheck source=e2e_lib.sh
source "$here/e2e_lib.sh"
e2e_require_root

# shellcheck source=../../scripts/lab.sh
source "$here/../../scripts/lab.sh"

case $family in
ipv4) fam=4 vip=$LAB_VIP4 url="http://$LAB_VIP4/" web=web4 udp=udp4 ;;
ipv6) fam=6 vip=$LAB_VIP6 url="http://[$LAB_VIP6]/" web=web6 udp=udp6 ;;
*) echo "family '$family': expected ipv4 or ipv6" >&2; exit 2 ;;
esac

elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

# jget FILE PYTHON_EXPR — evaluates EXPR over weirctl's JSON in FILE, where `vip(n)`
# and `backend(vip, addr)` find entries and `s` is the whole reply.
jget() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
def vip(n): return next(v for v in s["vips"] if v["name"] == n)
def backend(v, a): return next(b for b in s["backends"] if b["vip"] == v and b["address"] == a)
print(eval(sys.argv[2]))
EOF
}

echo "== e2e $engine: forwarding $mode, $family"
t_start=$(now)
lab_up "weirt$$-" "$mode" || die "lab set-up failed"
lab_start_weir || die "weir did not start"
lab_wait_vip "$url" 30 || die "VIP $url never answered"
echo "lab up and weir answering in $(elapsed "$t_start" "$(now)") s ($LAB_DIR)"

# ---- 1. HTTP: a new connection per request ----
weirctl_json stats >"$LAB_DIR/stats0.json" || die "weirctl stats failed"
tx0=$(lab_client_counter tx_packets)
t0=$(now)
declare -A answered=()
ok=0
bad=0
# One curl process for all of them (a process per request would cost more than the
# requests): "Connection: close" makes nginx end each connection, so every request
# opens a new one, from a new source port. Each transfer prints its body ("bN")
# and then "|CODE"; a failed one prints only "|000".
urls=()
for ((i = 0; i < requests; i++)); do urls+=("$url"); done
prev=
i=0
while IFS= read -r line; do
	case $line in
	b[123]) prev=$line ;;
	"|200")
		if [ -n "$prev" ]; then
			ok=$((ok + 1))
			answered[$prev]=$((${answered[$prev]:-0} + 1))
		else
			bad=$((bad + 1))
		fi
		prev= i=$((i + 1)) ;;
	"|"*)
		bad=$((bad + 1)); [ "$bad" -le 5 ] && echo "  request $i: answered '${prev}${line}'"
		prev= i=$((i + 1)) ;;
	*) prev=$line ;;
	esac
done < <(in_ns client curl -sg --max-time 2 -H 'Connection: close' -w '|%{http_code}\n' "${urls[@]}")
bad=$((bad + requests - i))  # transfers that printed nothing at all
t1=$(now)
tx1=$(lab_client_counter tx_packets)
weirctl_json stats >"$LAB_DIR/stats1.json" || die "weirctl stats failed"
http_secs=$(elapsed "$t0" "$t1")
echo "http: $ok/$requests answered in $http_secs s (b1 ${answered[b1]:-0}, b2 ${answered[b2]:-0}, b3 ${answered[b3]:-0})"
check $((ok == requests ? 0 : 1)) "every request answered ($ok/$requests, $bad failed)"
wsum=$((LAB_WEIGHTS[0] + LAB_WEIGHTS[1] + LAB_WEIGHTS[2]))
shares=""
for i in 1 2 3; do
	n=${answered[b$i]:-0}
	want=$(python3 -c "print(f'{100 * $((LAB_WEIGHTS[i - 1])) / $wsum:.1f}')")
	got=$(python3 -c "print(f'{100 * $n / $requests:.1f}')")
	shares+=" b$i $got% (weight ${LAB_WEIGHTS[i - 1]}: $want%)"
	python3 -c "import sys; sys.exit(abs($got - $want) > 5)"
	check $? "b$i share $got% within 5 points of $want%"
done

# weir's view of the same traffic.
d() { echo $(($(jget "$LAB_DIR/stats1.json" "$1") - $(jget "$LAB_DIR/stats0.json" "$1"))); }
vip_pkts=$(d "vip('$web')['packets']")
client_pkts=$((tx1 - tx0))
drops=$(d "s['totals']['dropped']")
echo "counters: client sent $client_pkts packets; weir counted $vip_pkts for $web, $drops dropped"
# The client sends nothing else but a few ARP/NDP packets meanwhile.
check $((vip_pkts <= client_pkts && vip_pkts >= client_pkts - 30 ? 0 : 1)) \
	"$web packets ($vip_pkts) = client's transmitted packets ($client_pkts) less ARP/NDP (at most 30)"
check $((drops == 0 ? 0 : 1)) "no drops while the requests ran ($drops)"
sum=0
for i in 1 2 3 4; do
	addr=$(lab_backend_addr "$i" "$fam")
	p=$(d "backend('$web', '$addr')['packets']")
	sum=$((sum + p))
	if [ "$i" -eq 4 ]; then
		check $((p == 0 ? 0 : 1)) "drained backend $addr got no packets ($p)"
		continue
	fi
	n=${answered[b$i]:-0}
	# Every request is the same exchange, so each backend's packets per answered
	# request are the VIP's average, within a small margin (retransmits, delayed ACKs).
	python3 -c "import sys; a = $vip_pkts / $ok; sys.exit(not ($n > 0 and abs($p / $n - a) <= 0.15 * a))"
	check $? "backend $addr: $p packets for $n requests (VIP average $(python3 -c "print(f'{$vip_pkts / $ok:.2f}')") per request)"
done
check $((sum == vip_pkts ? 0 : 1)) "backend packets add up to the VIP's ($sum = $vip_pkts)"

# ---- 2. UDP: 100 datagrams from distinct source ports ----
t0=$(now)
udp_out=$(in_ns client python3 - "$vip" "$LAB_UDP_PORT" <<'EOF'
import collections, socket, sys
vip, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in vip else socket.AF_INET
got = collections.Counter()
for i in range(100):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(("", 31000 + i))  # distinct source ports: 100 flows
    s.settimeout(1.0)
    s.sendto(b"ping %d\n" % i, (vip, port))
    try:
        data, peer = s.recvfrom(2048)
        if peer[0] == vip:
            got[data.decode().strip()] += 1
    except socket.timeout:
        pass
    s.close()
print(sum(got.values()), " ".join(f"{k} {v}" for k, v in sorted(got.items())))
EOF
)
t1=$(now)
read -r udp_ok udp_detail <<<"$udp_out"
weirctl_json stats >"$LAB_DIR/stats2.json" || die "weirctl stats failed"
udp_pkts=$(($(jget "$LAB_DIR/stats2.json" "vip('$udp')['packets']") - $(jget "$LAB_DIR/stats1.json" "vip('$udp')['packets']")))
echo "udp: ${udp_ok:-0}/100 answered in $(elapsed "$t0" "$t1") s ($udp_detail); weir counted $udp_pkts for $udp"
check $((${udp_ok:-0} >= 98 ? 0 : 1)) "at least 98 of 100 datagrams answered (${udp_ok:-0})"
check $((udp_pkts >= ${udp_ok:-0} && udp_pkts <= 100 ? 0 : 1)) "$udp packets between answered and sent ($udp_pkts)"
udp_drained=$(jget "$LAB_DIR/stats2.json" "backend('$udp', '$(lab_backend_addr 4 "$fam")')['packets']")
check $((udp_drained == 0 ? 0 : 1)) "drained backend got no datagrams ($udp_drained)"

# ---- 3. a long-lived connection across reloads ----
big=$LAB_DIR/www/big
_lab_spawn client "$LAB_DIR/big.code" curl -sg --max-time 120 -o "$LAB_DIR/big.out" \
	-w '%{http_code}' "${url}big"
dl_pid=$_LAB_LAST_PID
t0=$(now)
generation() { weirctl_json status | python3 -c 'import json, sys; print(json.load(sys.stdin)["generation"])'; }
fingerprint() { jget <(weirctl_json stats) "vip('$web')['fingerprint']"; }
fp_orig=$(fingerprint)
reloads=0
during_ok=0
during=0
sleep 1
for weights in "3 2 1" "1 2 3" "3 2 1" "2 2 2" "1 2 3"; do
	gen=$(generation)
	# shellcheck disable=SC2086
	lab_write_config "$LAB_CONFIG" $weights
	lab_reload
	for ((i = 0; i < 50; i++)); do
		[ "$(generation)" -gt "$gen" ] && break
		sleep 0.1
	done
	g=$(generation)
	check $((g > gen ? 0 : 1)) "reload with weights $weights published a new snapshot (generation $gen -> $g)"
	[ "$g" -gt "$gen" ] && reloads=$((reloads + 1))
	fp=$(fingerprint)
	if [ "$weights" = "1 2 3" ]; then
		check $([ "$fp" = "$fp_orig" ]; echo $?) "weights 1 2 3: the original table again ($fp)"
	else
		check $([ "$fp" != "$fp_orig" ]; echo $?) "weights $weights: a different table ($fp)"
	fi
	for ((j = 0; j < 10; j++)); do
		during=$((during + 1))
		in_ns client curl -sg --max-time 2 "$url" 2>/dev/null | grep -qx 'b[123]' && during_ok=$((during_ok + 1))
	done
	sleep 1
done
kill -0 "$dl_pid" 2>/dev/null
check $? "the download was still running after the reloads"
wait "$dl_pid"
dl_rc=$?
t1=$(now)
size=$(stat -c %s "$LAB_DIR/big.out" 2>/dev/null || echo 0)
echo "long-lived: $size bytes in $(elapsed "$t0" "$t1") s across $reloads reloads (curl exit $dl_rc, HTTP $(cat "$LAB_DIR/big.code"));" \
	"$during_ok/$during new connections answered meanwhile"
check $((dl_rc == 0 ? 0 : 1)) "the download completed (curl exit $dl_rc)"
cmp -s "$big" "$LAB_DIR/big.out"
check $? "the downloaded file is intact ($size bytes)"
check $((during_ok == during ? 0 : 1)) "new connections during the reloads answered ($during_ok/$during)"

# ---- 4. totals ----
weirctl_json stats >"$LAB_DIR/stats3.json" || die "weirctl stats failed"
python3 - "$LAB_DIR/stats3.json" "$web" "$udp" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
t = s["totals"]
print("weir totals: rx %d, tx %d, passed %d, dropped %d; flows active %s of %s" % (
    t["rx_packets"], t["tx_packets"], t["passed"], t["dropped"], t["flows_active"], t["flow_capacity"]))
for v in s["vips"]:
    if v["name"] in sys.argv[2:]:
        print("  vip %-5s %8d packets %10d bytes %5s flows" % (v["name"], v["packets"], v["bytes"], v["flows_active"]))
for b in s["backends"]:
    if b["vip"] in sys.argv[2:]:
        print("  %-5s %-11s weight %d: %8d packets %10d bytes %5s flows" % (
            b["vip"], b["address"], b["weight"], b["packets"], b["bytes"], b["flows_active"]))
print("  drops:", ", ".join(f"{k} {v}" for k, v in s["drops"].items() if v) or "none")
EOF
# What reached each backend, as its decapsulation program counted it: every packet
# weir sent there, in the configured encapsulation and no other.
case $mode$fam in
ipip4) want=0 kind="IPv4-in-IPv4" ;;
ipip6) want=3 kind="IPv6-in-IPv6" ;;
gue4) want=4 kind="GUE in IPv4" ;;
gue6) want=5 kind="GUE in IPv6" ;;
l2dsr*) want=-1 kind="no encapsulation" ;;
esac
for i in 1 2 3; do
	read -r -a dc <<<"$(lab_decap_counters "b$i")" || die "cannot read b$i's decapsulation counters"
	sent=$(jget "$LAB_DIR/stats3.json" "sum(b['packets'] for b in s['backends'] if b['address'] in \
		('10.10.0.2$i', 'fd00::2$i') + (('10.10.0.24', 'fd00::24') if $i == 3 else ()))")
	got=0
	other=0
	for k in 0 1 2 3 4 5; do
		if [ "$k" -eq "$want" ]; then got=${dc[k]}; else other=$((other + dc[k])); fi
	done
	echo "b$i decap counters (4in4 6in4 4in6 6in6 gue4 gue6 not_local passed): ${dc[*]}; weir sent $sent"
	if [ "$want" -ge 0 ]; then
		check $((got == sent && other == 0 ? 0 : 1)) "b$i decapsulated $got $kind packets, as many as weir sent ($sent), and no other kind ($other)"
	else
		check $((other == 0 && dc[7] >= sent ? 0 : 1)) "b$i: $kind (none decapsulated: $other), at least $sent passed (${dc[7]})"
	fi
done

rx=$(jget "$LAB_DIR/stats3.json" "s['totals']['rx_packets']")
accounted=$(jget "$LAB_DIR/stats3.json" "s['totals']['tx_packets'] + s['totals']['passed'] + s['totals']['dropped']")
# Health checks keep flowing while the counters are read: allow a few packets.
check $((rx - accounted <= 20 && accounted - rx <= 20 ? 0 : 1)) "rx ($rx) = tx + passed + dropped ($accounted)"

# ---- 5. clean stop ----
kill -TERM "$LAB_WEIR_PID"
for ((i = 0; i < 100; i++)); do
	kill -0 "$LAB_WEIR_PID" 2>/dev/null || break
	sleep 0.1
done
wait "$LAB_WEIR_PID"
weir_rc=$?
LAB_WEIR_PID=
check $((weir_rc == 0 ? 0 : 1)) "weir stopped on SIGTERM with status 0 ($weir_rc)"
check $([ ! -e "$LAB_SOCKET" ]; echo $?) "weir removed its control socket"

echo "== $engine $mode $family: http $ok/$requests in $http_secs s,$shares; udp ${udp_ok:-0}/100;" \
	"download across $reloads reloads rc $dl_rc; total $(elapsed "$t_start" "$(now)") s; $failures failed checks"
e2e_exit
