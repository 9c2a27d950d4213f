#!/usr/bin/env bash
# daemon_commands.sh WEIR WEIRCTL — every weirctl command against a real weir on
# the DPDK engine (net_af_packet on a veth, in a private network namespace):
#   - vip list/add/del and backend list/add/del/weight/drain, as tables and --json,
#     reflected in `backend list` and in the status fingerprints; invalid edits
#     are exit 1 with one line and change nothing;
#   - explain of a flow the engine tracks (a real TCP SYN) and of one it does not,
#     and of real flows whose IPIP packets reach the backend explain named;
#   - reload of an invalid file returns its problems and changes nothing; a valid
#     one (and SIGHUP) applies; save writes a file `weir --check` accepts;
#   - a malformed line gets an error and the same connection then works (socat);
#     a peer that is neither root nor the socket's owner is refused.
set -u
weir=$(readlink -f "${1:?weir binary}")
weirctl=$(readlink -f "${2:?weirctl binary}")
if [ "$(id -u)" -ne 0 ]; then
	[ "${WEIR_REQUIRE_ALL:-0}" = 1 ] && { echo "FAIL: needs root (WEIR_REQUIRE_ALL=1)"; exit 1; }
	echo "SKIP: needs root"; exit 77
fi
if [ "${WEIR_COMMANDS_INNER:-0}" != 1 ]; then
	WEIR_COMMANDS_INNER=1 exec unshare --net --fork bash "$0" "$@"
fi

tmp=$(mktemp -d /tmp/weirt$$-XXXXXX)
peer="weirt$$-peer"
pid=
listener=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	rm -rf "$tmp"
	ip netns del "$peer" 2>/dev/null
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && tail -5 "$tmp/log"; exit 1; }
ok() { echo "ok: $*"; }

ip link set lo up
ip netns add "$peer"
ip link add eth1 type veth peer name eth0 netns "$peer"
ip link set eth1 up
sysctl -qw net.ipv6.conf.eth1.disable_ipv6=1
nft add table netdev weirt && nft "add chain netdev weirt port { type filter hook ingress device eth1 priority 0; policy drop; }"
ip netns exec "$peer" ip link set eth0 up
ip netns exec "$peer" ip addr add 10.10.0.10/24 dev eth0
ip netns exec "$peer" ip route add 10.10.1.0/24 via 10.10.0.2
ip netns exec "$peer" ethtool -K eth0 tx off >/dev/null

sock="$tmp/run/weir.sock"
conf="$tmp/weir.toml"
ctl() { "$weirctl" --socket "$sock" "$@"; }
# A --json reply, fed to a Python expression over `r`; prints its value.
jq_() { local expr=$1; shift; ctl --json "$@" | python3 -c "import json,sys; r=json.load(sys.stdin); print($expr)"; }
fingerprint() { jq_ "[v['fingerprint'] for v in r['vips'] if v['name']=='$1'][0]" status; }

cat >"$conf" <<EOT
[node]
ipv4 = "10.10.0.2/24"
[dataplane]
engine = "dpdk"
flow_table_size = 65536
[dataplane.dpdk]
eal_args = ["-l", "0-1", "--no-huge", "--no-shconf", "--no-pci", "-m", "256", "--vdev=net_af_packet0,iface=eth1"]
port = "net_af_packet0"
[control]
socket = "$sock"
metrics_listen = ""
[[vip]]
name = "web"
address = "10.10.1.1"
port = 80
table_size = 1009
  # Checked, but slowly: the backends do not exist, and must stay "unknown"
  # (not yet proven down) for the length of this test.
  [vip.health]
  interval_ms = 60000
  timeout_ms = 1000
  [[vip.backend]]
  address = "10.10.0.21"
  [[vip.backend]]
  address = "10.10.0.22"
[[vip]]
name = "dns"
address = "10.10.1.2"
port = 53
protocol = "udp"
  [vip.health]
  kind = "none"
  [[vip.backend]]
  address = "10.10.0.31"
EOT
cp "$conf" "$tmp/original.toml"

"$weir" --config "$conf" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "no control socket after 10 s"

# 1. Lists, as tables and as JSON.
ctl vip list >"$tmp/out" || fail "vip list"
head -1 "$tmp/out" | grep -q "^VIP  *ENDPOINT  *SCHEDULER  *FORWARDING  *TABLE  *BACKENDS  *HEALTH  *FINGERPRINT$" || fail "vip list header: $(cat "$tmp/out")"
grep -q "^web  *10.10.1.1:80/tcp  *maglev  *ipip  *1009  *2/2  *tcp  *[0-9a-f]\{16\}$" "$tmp/out" || fail "vip list row: $(cat "$tmp/out")"
[ "$(jq_ "len(r['vips'])" vip list)" = 2 ] || fail "vip list --json"
ctl backend list dns >"$tmp/out" || fail "backend list"
grep -q "^  10.10.0.31  *1  *none  *active  *0  *0  *0 B$" "$tmp/out" || fail "backend list dns: $(cat "$tmp/out")"
[ "$(jq_ "r['backends'][0]['health']" backend list web)" = unknown ] || fail "health of a checked VIP"
ok "vip list and backend list, table and --json"

# 2. VIP and backend edits.
web_fp=$(fingerprint web)
ctl vip add api 10.10.1.3:443/tcp --scheduler maglev_src >"$tmp/out" 2>"$tmp/err" || fail "vip add: $(cat "$tmp/err")"
grep -q "^vip add api (VIPs added: api), snapshot generation [0-9]*$" "$tmp/out" || fail "vip add output: $(cat "$tmp/out")"
grep -q "warning: vip \"api\": backend: no backends" "$tmp/err" || fail "vip add warning: $(cat "$tmp/err")"
[ "$(jq_ "[v['scheduler'] for v in r['vips'] if v['name']=='api'][0]" vip list)" = maglev_src ] || fail "api not listed"
ctl vip add v6 "[fd00:1::1]:80/tcp" >/dev/null 2>&1 || fail "vip add with an IPv6 endpoint"
ctl vip del v6 >/dev/null || fail "vip del v6"
ctl backend add api 10.10.0.41 --weight 3 >/dev/null || fail "backend add"
api_fp=$(fingerprint api)
ctl backend add api 10.10.0.42 >/dev/null || fail "backend add 2"
[ "$(fingerprint api)" != "$api_fp" ] || fail "api's fingerprint did not change with a second backend"
[ "$(jq_ "[(b['weight'],b['health']) for b in r['backends'] if b['address']=='10.10.0.41'][0]" backend list api)" = "(3, 'unknown')" ] || fail "backend 10.10.0.41"
ctl backend weight web 10.10.0.21 5 >/dev/null || fail "backend weight"
ctl backend drain web 10.10.0.22 >/dev/null || fail "backend drain"
ctl backend list web >"$tmp/out"
grep -q "^  10.10.0.21  *5  *unknown  *active" "$tmp/out" || fail "weight 5 not listed: $(cat "$tmp/out")"
grep -q "^  10.10.0.22  *0  *unknown  *drained" "$tmp/out" || fail "drain not listed: $(cat "$tmp/out")"
[ "$(fingerprint web)" != "$web_fp" ] || fail "web's fingerprint did not change"
ctl backend del api 10.10.0.41 >/dev/null || fail "backend del"
[ "$(jq_ "[b['address'] for b in r['backends']]" backend list api)" = "['10.10.0.42']" ] || fail "backend del not reflected"
ok "vip add/del, backend add/weight/drain/del reflected in backend list and fingerprints"

# 3. Invalid edits: exit 1, one line, nothing changes.
gen=$(jq_ "r['generation']" status)
for args in "vip add bad 10.10.1.4:80/tcp --scheduler fast" "vip add web 10.10.1.4:80/tcp" \
	"backend add web 10.10.0.21" "backend weight web 10.10.0.21 70000" "backend del web 10.10.0.99" \
	"vip del nope" "backend add web 10.10.0.2" "backend list nope"; do
	# shellcheck disable=SC2086
	ctl $args >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 1 ] || fail "'$args': exit $rc, expected 1"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "'$args': expected one line, got $(cat "$tmp/err")"
done
grep -q "scheduler" <(ctl vip add bad 10.10.1.4:80/tcp --scheduler fast 2>&1) || fail "the error does not name the scheduler"
[ "$(jq_ "r['generation']" status)" = "$gen" ] || fail "an invalid edit published a snapshot"
ctl backend weight web 10.10.0.21 >/dev/null 2>&1
[ $? -eq 2 ] || fail "usage error is not exit 2"
ok "invalid edits: exit 1 with one line, generation unchanged; usage errors exit 2"

# 4. explain: a real SYN from the peer is tracked by a DPDK worker.
ip netns exec "$peer" timeout 2 socat -T1 - TCP:10.10.1.1:80,sourceport=40000,connect-timeout=1 </dev/null >/dev/null 2>&1
ctl explain 10.10.0.10:40000 10.10.1.1:80 tcp >"$tmp/out" || fail "explain"
grep -q "^tracked  *yes, on worker 0" "$tmp/out" || fail "the SYN's flow is not tracked: $(cat "$tmp/out") $(ctl stats | head -20)"
[ "$(jq_ "r['backend'] in ('10.10.0.21', '10.10.0.22')" explain 10.10.0.10:40000 10.10.1.1:80 tcp)" = True ] || fail "explain backend"
[ "$(jq_ "(r['tracked'], r['choice'])" explain 10.10.0.10:40001 10.10.1.1:80 tcp)" = "(False, 'maglev')" ] || fail "untracked flow"
ctl explain 10.10.0.10:40000 10.10.1.9:80 tcp | grep -q "not a VIP: passed to the kernel" || fail "non-VIP explain"
ctl explain 10.10.0.10 10.10.1.1:80 tcp >/dev/null 2>&1
[ $? -eq 1 ] || fail "bad explain is not exit 1"
ok "explain: tracked SYN, untracked flow, non-VIP"

# 4b. explain names the backend the engine then sends the flow's packets to. Two
# backends are addresses of the peer, which counts the IPIP packets for each.
ip netns exec "$peer" ip addr add 10.10.0.11/24 dev eth0
ip netns exec "$peer" nft add table netdev cnt
ip netns exec "$peer" nft "add chain netdev cnt in { type filter hook ingress device eth0 priority 0; }"
for b in 10 11; do
	ip netns exec "$peer" nft add rule netdev cnt in ip daddr 10.10.0.$b ip protocol 4 counter comment "\"b$b\""
done
ipip_to() {  # the IPIP packets the peer received for 10.10.0.$1
	ip netns exec "$peer" nft list chain netdev cnt in | sed -n "s/.*counter packets \([0-9]*\) .*comment \"b$1\".*/\1/p"
}
# The backends answer the VIP's tcp health check (port 7), so that none is taken
# out while the flows below are matched.
ip netns exec "$peer" socat TCP-LISTEN:7,fork,reuseaddr /dev/null >/dev/null 2>&1 &
listener=$!
ctl vip add echo 10.10.1.6:7/tcp >/dev/null 2>&1 || fail "vip add echo"
ctl backend add echo 10.10.0.10 >/dev/null && ctl backend add echo 10.10.0.11 >/dev/null || fail "echo backends"
for _ in $(seq 50); do
	[ "$(jq_ "r['verdict']" explain 10.10.0.10:41000 10.10.1.6:7 tcp)" = forward ] && break
	sleep 0.1
done
[ "$(jq_ "r['verdict']" explain 10.10.0.10:41000 10.10.1.6:7 tcp)" = forward ] || fail "the peer's MACs were not resolved: $(ctl explain 10.10.0.10:41000 10.10.1.6:7 tcp)"
matched=0
for sport in $(seq 41000 41011); do
	want=$(jq_ "r['backend'].split('.')[3]" explain 10.10.0.10:$sport 10.10.1.6:7 tcp)
	other=$((want == 10 ? 11 : 10))
	before_want=$(ipip_to "$want") before_other=$(ipip_to "$other")
	ip netns exec "$peer" timeout 2 socat -T1 - TCP:10.10.1.6:7,sourceport=$sport,connect-timeout=0.3 </dev/null >/dev/null 2>&1
	[ "$(ipip_to "$want")" -gt "$before_want" ] || fail "port $sport: explain said 10.10.0.$want, which got no packet"
	[ "$(ipip_to "$other")" -eq "$before_other" ] || fail "port $sport: packets went to 10.10.0.$other, explain said .$want"
	[ "$(jq_ "(r['tracked'], r['backend'])" explain 10.10.0.10:$sport 10.10.1.6:7 tcp)" = "(True, '10.10.0.$want')" ] || fail "port $sport: not tracked to .$want"
	matched=$((matched + 1))
done
[ "$(ipip_to 10)" -gt 0 ] && [ "$(ipip_to 11)" -gt 0 ] || fail "12 flows all went to one backend"
ctl vip del echo >/dev/null || fail "vip del echo"
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
listener=
ok "explain matched the backend of $matched real flows (IPIP packets to .10: $(ipip_to 10), to .11: $(ipip_to 11))"

# 5. reload: an invalid file changes nothing; a valid one applies.
status_before=$(jq_ "[(v['name'], v['fingerprint']) for v in r['vips']]" status)
printf '[[vip]]\nname = "broken"\nadress = "10.10.1.9"\n' >>"$conf"
ctl reload >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "invalid reload: exit $rc"
grep -q "reload: $conf is invalid, nothing changed: $conf:[0-9]*: " "$tmp/err" || fail "invalid reload message: $(cat "$tmp/err")"
grep -q "adress" "$tmp/err" || fail "the problem is not named: $(cat "$tmp/err")"
[ "$(jq_ "[(v['name'], v['fingerprint']) for v in r['vips']]" status)" = "$status_before" ] || fail "an invalid reload changed the state"
cp "$tmp/original.toml" "$conf"
ctl reload >"$tmp/out" || fail "reload"
grep -q "reload of $conf: VIPs removed: api; VIPs changed: web" "$tmp/out" || fail "reload summary: $(cat "$tmp/out")"
[ "$(fingerprint web)" = "$web_fp" ] || fail "reload did not restore web's table"
printf '[[vip]]\nname = "hup"\naddress = "10.10.1.5"\nport = 80\n  [[vip.backend]]\n  address = "10.10.0.51"\n' >>"$conf"
kill -HUP "$pid"
for _ in $(seq 50); do ctl vip list | grep -q "^hup " && break; sleep 0.1; done
ctl vip list | grep -q "^hup " || fail "SIGHUP did not reload"
ok "reload: invalid file returns its problems and changes nothing; valid reload and SIGHUP apply"

# 6. save: what it writes is valid and recreates the state.
ctl backend weight web 10.10.0.22 4 >/dev/null || fail "weight before save"
ctl save "$tmp/saved.toml" >"$tmp/out" || fail "save"
grep -q "^saved 3 VIPs to $tmp/saved.toml" "$tmp/out" || fail "save output: $(cat "$tmp/out")"
"$weir" --config "$tmp/saved.toml" --check >/dev/null || fail "weir --check rejects the saved file"
grep -q "weight = 4" "$tmp/saved.toml" || fail "the live weight is not saved"
(cd "$tmp" && ctl save relative.toml >/dev/null) || fail "save to a relative path"
[ -f "$tmp/relative.toml" ] || fail "relative path not resolved against weirctl's directory"
ctl save >/dev/null || fail "save to the config file"
cmp -s "$conf" "$tmp/saved.toml" || fail "save without a path did not write the config file"
ctl reload | grep -q ": no change" || fail "reload after save is not a no-op"
ls "$tmp/run" "$tmp" | grep -q "\.tmp\." && fail "temporary file left behind"
ok "save: weir --check accepts it, reload of it changes nothing"

# 7. The protocol over a raw connection, and access control.
printf '{bad\n{"cmd":"vip_list"}\n' | socat -t2 - UNIX-CONNECT:"$sock" >"$tmp/out"
[ "$(sed -n 1p "$tmp/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ok"])')" = False ] || fail "malformed line: $(cat "$tmp/out")"
[ "$(sed -n 2p "$tmp/out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["vips"]))')" = 3 ] || fail "same connection after an error: $(cat "$tmp/out")"
chmod 0755 "$tmp"
chmod 0666 "$sock"
setpriv --reuid 65534 --regid 65534 --clear-groups "$weirctl" --socket "$sock" status >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "non-owner: exit $rc"
grep -qi "refused\|not allowed\|permission" "$tmp/err" || fail "non-owner message: $(cat "$tmp/err")"
ok "malformed JSON then a valid request on one connection; uid 65534 refused: $(cat "$tmp/err")"

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ "$rc" -eq 0 ] || fail "exit $rc after SIGTERM"
ok "all weirctl commands against a running weir"
