#!/usr/bin/env bash
# e2e_control.sh ENGINE WEIR WEIRCTL DECAP_OBJ PROMTOOL — the control plane end to
# end, in the namespace lab of scripts/lab.sh (IPv4, ipip): a real client, weir on
# ENGINE (dpdk | xdp), three nginx backends. Asserts (issue: control plane):
#   1. explain: for 40 client source ports, `weirctl explain` names the backend
#      that then answers a request from that port; after the request it reports
#      the flow as tracked, to the same backend;
#   2. backend failure: nginx on b1 stops while a client loop runs; b1 is marked
#      down within interval x fall + timeout; after that no request fails; two
#      downloads on other backends complete intact;
#   3. drain: a download on the drained backend completes intact; no new request
#      reaches it;
#   4. add under load: with 50 downloads open, a backend is added; none of the 50
#      breaks and new flows reach the new backend;
#   5. weight change 1 -> 3: the new-flow shares follow the weights (within 5 points);
#   6. reload of an invalid file: the error comes back, the configuration (snapshot
#      generation, fingerprints) is unchanged, traffic flows;
#   7. the socket: a uid that is neither root nor the owner is refused; malformed
#      JSON gets an error and the same connection then answers `status`;
#   8. metrics: /metrics passes `promtool check metrics`, and received packets
#      = forwarded + passed + dropped (by reason), engine drops taken into account.
# Needs root: exits 77 (skip) otherwise, or 1 under WEIR_REQUIRE_ALL=1.
set -uo pipefail

if [ $# -ne 5 ]; then
	echo "usage: $0 dpdk|xdp WEIR WEIRCTL DECAP_OBJ PROMTOOL" >&2
	exit 2
fi
engine=$1
here=$(cd "$(dirname "$0")" && pwd)
LAB_WEIR=$(realpath -m "$2")
LAB_WEIRCTL=$(realpath -m "$3")
LAB_DECAP=$(realpath -m "$4")
promtool=$5
LAB_ENGINE=$engine
LAB_BIG_FILE_MB=${LAB_BIG_FILE_MB:-2}  # 8 s per download, paced by nginx

for f in "$2" "$3" "$4"; do
	[ -e "$f" ] || { echo "FAIL: $f not found (build first)"; exit 1; }
done
# shellcheck source=e2e_lib.sh
source "$here/e2e_lib.sh"
e2e_require_root

# shellcheck source=../../scripts/lab.sh
source "$here/../../scripts/lab.sh"

vip=$LAB_VIP4
url="http://$LAB_VIP4/"
metrics_port=9310
py() { python3 -c "$@"; }

# backend_field VIP ADDR FIELD — from `weirctl backend list VIP --json`.
backend_field() {
	weirctl_json backend list "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(next(b for b in r["backends"] if b["address"] == sys.argv[1])[sys.argv[2]])' "$2" "$3"
}
status_field() { weirctl_json status | python3 -c "import json, sys; s = json.load(sys.stdin); print($1)"; }
fingerprints() { status_field '" ".join(str(v["fingerprint"]) for v in s["vips"])'; }

# request PORT — one request from client source port PORT; prints the answering
# backend's name or "fail".
request() {
	local out rc
	out=$(in_ns client curl -sg --max-time 2 --local-port "$1" "$url" 2>/dev/null)
	rc=$?
	case $out in
	b[1-3]) echo "$out" ;;
	*) echo fail; echo "$1:$rc" >>"$LAB_DIR/request.err" ;;
	esac
}

# failed_requests — lists the requests that failed since the last call, with
# curl's exit code and what explain says of the flow now.
failed_requests() {
	local f=$LAB_DIR/request.err line
	[ -s "$f" ] || return 0
	while read -r line; do
		echo "  request from port ${line%%:*} failed: curl exit ${line#*:}; explain: $(explain "${line%%:*}")"
	done <"$f"
	: >"$f"
}

# explain PORT — the backend address weir names for the client's flow from PORT,
# and whether it is tracked ("ADDR tracked|new").
explain() {
	weirctl_json explain "$LAB_CLIENT4:$1" "$vip:$LAB_HTTP_PORT" tcp | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["backend"], "tracked" if r["tracked"] else "new")'
}

name_of() {  # backend address -> lab backend name (bN); .24 is on b3
	case $1 in 10.10.0.21) echo b1 ;; 10.10.0.22) echo b2 ;; 10.10.0.23 | 10.10.0.24) echo b3 ;; *) echo "?" ;; esac
}

# download PORT — starts a paced download of /big from client port PORT in the
# background; its exit status and body land in $LAB_DIR/dl.PORT.*.
download() {
	_lab_spawn client "$LAB_DIR/dl.$1.log" bash -c \
		"curl -sg --max-time 60 --local-port $1 -o '$LAB_DIR/dl.$1.out' '${url}big'; echo \$? >'$LAB_DIR/dl.$1.rc'"
}
# download_ok PORT — waits for it; true when it completed and is intact.
download_ok() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ -s "$LAB_DIR/dl.$1.rc" ] && break
		sleep 0.1
	done
	[ "$(cat "$LAB_DIR/dl.$1.rc" 2>/dev/null)" = 0 ] && cmp -s "$LAB_DIR/www/big" "$LAB_DIR/dl.$1.out"
}

echo "== e2e control plane: engine $engine"
lab_up "weirt$$-" ipip || die "lab set-up failed"
sed -i "s|^metrics_listen = .*|metrics_listen = \"127.0.0.1:$metrics_port\"|" "$LAB_CONFIG"
lab_start_weir || die "weir did not start"
lab_wait_vip "$url" 30 || die "VIP $url never answered"
# Every backend up before the scenarios start.
for ((i = 0; i < 50; i++)); do
	up=$(weirctl_json backend list web4 | py 'import json, sys; print(sum(b["health"] == "up" for b in json.load(sys.stdin)["backends"]))')
	[ "$up" = 4 ] && break
	sleep 0.2
done
check $([ "$up" = 4 ]; echo $?) "all 4 backends of web4 healthy ($up)"

# ---- 1. explain names the backend that answers ----
mismatch=0
tracked_ok=0
for ((p = 40000; p < 40040; p++)); do
	read -r addr state <<<"$(explain "$p")"
	got=$(request "$p")
	[ "$state" = new ] && [ "$(name_of "$addr")" = "$got" ] || {
		mismatch=$((mismatch + 1))
		echo "  port $p: explain said $addr ($state), answered by $got"
	}
	read -r addr2 state2 <<<"$(explain "$p")"
	# The connection has closed: its entry lives on (tcp_closing) for a few seconds.
	[ "$state2" = tracked ] && [ "$addr2" = "$addr" ] && tracked_ok=$((tracked_ok + 1))
done
echo "explain: 40 flows, $mismatch mismatches, $tracked_ok reported tracked to the same backend afterwards"
check $((mismatch == 0 ? 0 : 1)) "explain named the answering backend for 40 of 40 flows"
check $((tracked_ok == 40 ? 0 : 1)) "explain reported each flow tracked to its backend afterwards ($tracked_ok/40)"

# Ports whose flows go to each backend, from explain (for the downloads below).
declare -A port_on=()
for ((p = 41000; p < 41100; p++)); do
	read -r addr _ <<<"$(explain "$p")"
	n=$(name_of "$addr")
	[ -z "${port_on[$n]:-}" ] && port_on[$n]=$p
done
[ -n "${port_on[b1]:-}" ] && [ -n "${port_on[b2]:-}" ] && [ -n "${port_on[b3]:-}" ] ||
	die "no source port found for every backend"

# ---- 2. backend failure ----
interval=500 timeout=300 fall=3
download "${port_on[b2]}"
download "${port_on[b3]}"
sleep 1
loop_log=$LAB_DIR/loop.log
_lab_spawn client "$LAB_DIR/loop.out" bash -c "while :; do
	r=\$(curl -sg --max-time 2 '$url' 2>/dev/null); echo \"\$(date +%s.%N) \${r:-fail}\"; sleep 0.02
done >'$loop_log'"
loop_pid=$_LAB_LAST_PID
sleep 1
t_kill=$(now)
kill -TERM "$(cat "$LAB_DIR/b1/nginx.pid")"
t_down=
for ((i = 0; i < 100; i++)); do
	if [ "$(backend_field web4 10.10.0.21 health)" = down ]; then t_down=$(now); break; fi
	sleep 0.05
done
sleep 3
kill -TERM "$loop_pid"
[ -n "$t_down" ] || die "b1 never marked down"
detect=$(py "print(f'{$t_down - $t_kill:.2f}')")
# interval x fall + timeout, with the schedule's jitter (each interval +-10 %),
# and 0.3 s for this loop's own polling (a weirctl process per look).
limit=$(py "print(round((1.1 * $interval * $fall + $timeout) / 1000 + 0.3, 2))")
read -r before_fail after_ok after_fail <<<"$(python3 - "$loop_log" "$t_down" <<'EOF'
import sys
down = float(sys.argv[2])
bf = ok = af = 0
for line in open(sys.argv[1]):
    t, r = line.split()[:2]
    if float(t) < down:
        bf += r == "fail"
    else:
        ok += r != "fail"
        af += r == "fail"
print(bf, ok, af)
EOF
)"
echo "failure: b1 marked down ${detect} s after nginx stopped (limit $limit s);" \
	"$before_fail requests failed before, $after_fail of $((after_ok + after_fail)) after"
check $(py "import sys; sys.exit($detect > $limit)"; echo $?) "marked down within 1.1 x interval x fall + timeout (${detect} s <= $limit s)"
check $((after_fail == 0 && after_ok > 20 ? 0 : 1)) "0 failed requests after b1 was marked down ($after_fail of $((after_ok + after_fail)))"
download_ok "${port_on[b2]}"
check $? "download on b2 intact across b1's failure"
download_ok "${port_on[b3]}"
check $? "download on b3 intact across b1's failure"

# ---- 3. drain ----
# A new port on b2 (the earlier one may still be in TIME_WAIT on the client).
drain_port=
for ((p = 41100; p < 41200; p++)); do
	read -r addr _ <<<"$(explain "$p")"
	[ "$addr" = 10.10.0.22 ] && { drain_port=$p; break; }
done
[ -n "$drain_port" ] || die "no source port found for b2"
download "$drain_port"
sleep 1
weirctl_text backend drain web4 10.10.0.22 >/dev/null
check $? "weirctl backend drain web4 10.10.0.22"
declare -A got=()
for ((p = 42000; p < 42100; p++)); do
	r=$(request "$p")
	got[$r]=$((${got[$r]:-0} + 1))
done
echo "drain: 100 new flows after draining b2: b2 ${got[b2]:-0}, b3 ${got[b3]:-0}, failed ${got[fail]:-0}"
check $((${got[b2]:-0} == 0 && ${got[fail]:-0} == 0 ? 0 : 1)) "0 new flows to the drained backend, none failed"
failed_requests
download_ok "$drain_port"
check $? "the download on the drained backend completed intact"

# ---- 4. add a backend under load ----
weirctl_text backend del web4 10.10.0.24 >/dev/null
check $? "weirctl backend del web4 10.10.0.24"
weirctl_text backend weight web4 10.10.0.22 2 >/dev/null
ports=()
for ((p = 43000; p < 43050; p++)); do
	download "$p"
	ports+=("$p")
done
sleep 2
weirctl_text backend add web4 10.10.0.24 --weight 3 >/dev/null
check $? "weirctl backend add web4 10.10.0.24 --weight 3 with 50 downloads open"
on_new=0
for ((p = 44000; p < 44060; p++)); do
	read -r addr _ <<<"$(explain "$p")"
	[ "$addr" = 10.10.0.24 ] && [ "$(request "$p")" = b3 ] && on_new=$((on_new + 1))
done
broken=0
for p in "${ports[@]}"; do
	download_ok "$p" && continue
	broken=$((broken + 1))
	echo "  download from port $p: curl exit $(cat "$LAB_DIR/dl.$p.rc" 2>/dev/null)," \
		"$(stat -c %s "$LAB_DIR/dl.$p.out" 2>/dev/null || echo 0) bytes; explain: $(explain "$p")"
done
pk=$(backend_field web4 10.10.0.24 packets)
echo "add: $broken of 50 downloads broke; $on_new of 60 new flows answered through 10.10.0.24 ($pk packets)"
check $((broken == 0 ? 0 : 1)) "0 of 50 long-lived connections broke ($broken)"
check $((on_new > 0 && pk > 0 ? 0 : 1)) "new flows reach the new backend ($on_new flows, $pk packets)"

# ---- 5. weight change 1 -> 3 ----
weirctl_text backend del web4 10.10.0.24 >/dev/null
weirctl_text backend weight web4 10.10.0.22 2 >/dev/null
weirctl_text backend weight web4 10.10.0.23 3 >/dev/null
weirctl_text backend weight web4 10.10.0.21 1 >/dev/null
# b1's nginx is back, and healthy again before the shares are measured.
_lab_spawn b1 "$LAB_DIR/b1/nginx2.out" nginx -c "$LAB_DIR/b1/nginx.conf" -g 'daemon off;'
for ((i = 0; i < 100; i++)); do
	[ "$(backend_field web4 10.10.0.21 health)" = up ] && break
	sleep 0.1
done
shares() {  # shares N PORT0 — new-flow shares of b1 b2 b3 in percent
	local -A c=()
	local p r
	for ((p = $2; p < $2 + $1; p++)); do
		r=$(request "$p")
		c[$r]=$((${c[$r]:-0} + 1))
	done
	py "print(*(f'{100 * n / $1:.1f}' for n in (${c[b1]:-0}, ${c[b2]:-0}, ${c[b3]:-0})), ${c[fail]:-0})"
}
read -r s1 s2 s3 sf <<<"$(shares 300 45000)"
weirctl_text backend weight web4 10.10.0.21 3 >/dev/null
check $? "weirctl backend weight web4 10.10.0.21 3"
read -r t1 t2 t3 tf <<<"$(shares 1000 46000)"
echo "weights: 1:2:3 -> b1 $s1 b2 $s2 b3 $s3 %; 3:2:3 -> b1 $t1 b2 $t2 b3 $t3 % ($sf, $tf failed)"
py "import sys; sys.exit(abs($t1 - 37.5) > 5 or abs($t2 - 25) > 5 or abs($t3 - 37.5) > 5)"
check $? "after 1 -> 3 the shares follow 3:2:3 within 5 points (37.5/25/37.5)"
check $((sf + tf == 0 ? 0 : 1)) "no request failed during the weight change"
failed_requests

# ---- 6. invalid reload ----
gen0=$(status_field 's["generation"]')
fp0=$(fingerprints)
cp "$LAB_CONFIG" "$LAB_DIR/good.toml"
printf '\n[[vip]]\nname = "broken"\naddress = "not-an-address"\n' >>"$LAB_CONFIG"
out=$(weirctl_text reload 2>&1)
rc=$?
echo "invalid reload: exit $rc: $(head -n 2 <<<"$out" | tr '\n' ' ')"
check $((rc == 1 ? 0 : 1)) "weirctl reload of an invalid file exits 1"
grep -q "not-an-address" <<<"$out"
check $? "the error names the bad value"
check $([ "$(status_field 's["generation"]')" = "$gen0" ] && [ "$(fingerprints)" = "$fp0" ]; echo $?) \
	"generation and fingerprints unchanged ($gen0)"
check $([ "$(request 47000)" != fail ]; echo $?) "traffic unaffected"
cp "$LAB_DIR/good.toml" "$LAB_CONFIG"

# ---- 7. the socket ----
# The file modes let uid 65534 connect: the refusal must come from weir itself
# (SO_PEERCRED), not from the file system.
chmod 0711 "$LAB_DIR"
chmod 0666 "$LAB_SOCKET"
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$LAB_WEIRCTL" --socket "$LAB_SOCKET" status 2>&1)
rc=$?
chmod 0700 "$LAB_DIR"
echo "uid 65534: exit $rc: $out"
check $((rc != 0 ? 0 : 1)) "a uid that is neither root nor the owner is refused (exit $rc)"
grep -q "neither root nor the owner" <<<"$out"
check $? "refused by weir, after connecting"
out=$(python3 - "$LAB_SOCKET" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
f.write(b'{"cmd": "status"\n'); f.flush()
a = json.loads(f.readline())
f.write(b'{"cmd": "status"}\n'); f.flush()
b = json.loads(f.readline())
print(a.get("ok"), repr(a.get("error", "")), b.get("ok"), "engine" in b)
EOF
)
echo "malformed then valid on one connection: $out"
check $([[ $out == "False "*" True True" ]]; echo $?) "malformed JSON gets an error; the same connection then answers status"

# ---- 8. metrics ----
metrics=$LAB_DIR/metrics.txt
in_ns lb curl -s --max-time 5 "http://127.0.0.1:$metrics_port/metrics" >"$metrics"
check $? "GET /metrics"
"$promtool" check metrics <"$metrics" >"$LAB_DIR/promtool.out" 2>&1
rc=$?
check $rc "promtool check metrics ($(wc -l <"$metrics") lines)"
[ "$rc" -ne 0 ] && head -n 20 "$LAB_DIR/promtool.out"
read -r rx fwd pass drop <<<"$(python3 - "$metrics" <<'EOF'
import re, sys
v = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    name, value = line.rsplit(" ", 1)
    base = re.sub(r"\{.*", "", name)
    v[base] = v.get(base, 0) + float(value)
# Engine drops (TX queue full) hit packets already counted as forwarded or
# passed, and are among the drops by reason (docs/metrics.md).
print(int(v.get("weir_received_packets_total", -1) + v.get("weir_engine_drops_total", 0)),
      int(v.get("weir_forwarded_packets_total", -1)), int(v.get("weir_passed_packets_total", -1)),
      int(v.get("weir_drops_total", -1)))
EOF
)"
echo "metrics: received $rx = forwarded $fwd + passed $pass + dropped $drop"
# Health checks flow while the counters are read: a few packets of slack.
diff=$((rx - fwd - pass - drop))
check $((rx > 0 && diff <= 20 && diff >= -20 ? 0 : 1)) "received = forwarded + passed + dropped (difference $diff)"

# The worker's load: the DPDK engine's poll loop reports polls and busy seconds
# (a fraction of its uptime while traffic is light); XDP has no poll loop.
read -r polls empty busy <<<"$(awk '$1 ~ /^weir_worker_(polls|empty_polls|busy_seconds)_total/ {
	split($1, n, "{"); v[n[1]] += $2 }
	END { print v["weir_worker_polls_total"] + 0, v["weir_worker_empty_polls_total"] + 0,
	      v["weir_worker_busy_seconds_total"] + 0 }' "$metrics")"
uptime=$(awk '$1 == "weir_uptime_seconds" { print $2 }' "$metrics")
echo "worker load: $polls polls, $empty empty, $busy s busy in $uptime s"
if [ "$engine" = dpdk ]; then
	py "import sys; sys.exit(not ($empty < $polls and 0 < $busy < $uptime))"
	check $? "the worker's polls and busy time are counted ($busy s of $uptime s)"
else
	check $((polls == 0 ? 0 : 1)) "no poll-loop families on the XDP engine"
fi

echo "== control plane on $engine: detection ${detect} s; $after_fail failed after down; $broken of 50 broken on add;" \
	"shares $t1/$t2/$t3; $failures failed checks"
e2e_exit
