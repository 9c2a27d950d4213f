#!/usr/bin/env bash
# weirctl_cli.sh WEIRCTL — weirctl as a user meets it without a running weir:
# a missing socket is exit 1 with one line naming the path, the cause and the
# likely fix, for every command; bad usage is exit 2.
set -u
weirctl=${1:?usage: weirctl_cli.sh WEIRCTL}
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

out=$("$weirctl" --socket /nonexistent/weir.sock status 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "missing socket: exit $rc, expected 1"
want="weirctl: cannot connect to /nonexistent/weir.sock: No such file or directory — is weir running?"
[ "$out" = "$want" ] || fail "missing socket: stderr was '$out', expected '$want'"

# A path that exists but where nobody listens: refused, also exit 1.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$dir/stale.sock"
out=$("$weirctl" --socket "$dir/stale.sock" --json stats 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "refused socket: exit $rc, expected 1"
case "$out" in
*"cannot connect to $dir/stale.sock: Connection refused"*"is weir running?") ;;
*) fail "refused socket: stderr was '$out'" ;;
esac

for args in "" "frobnicate" "status --bogus" "status stats" "vip" "vip add web" "vip add web 10.10.1.1:80/tcp extra" \
	"vip frob" "backend" "backend list" "backend add web" "backend weight web 10.10.0.21" \
	"backend weight web 10.10.0.21 heavy" "backend add web 10.10.0.21 --weight x" "explain 1.2.3.4:1 10.10.1.1:80" \
	"explain 1.2.3.4:1 10.10.1.1:80 icmp" "save a b" "reload now"; do
	# shellcheck disable=SC2086
	"$weirctl" --socket /nonexistent/weir.sock $args >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 2 ] || fail "usage '$args': exit $rc, expected 2"
done

for cmd in status stats explain reload save vip backend; do
	"$weirctl" --help | grep -q "^  $cmd " || fail "--help does not list $cmd"
done
for cmd in list add del; do
	"$weirctl" vip --help | grep -q "^  $cmd " || fail "vip --help does not list $cmd"
done
for cmd in list add del weight drain; do
	"$weirctl" backend --help | grep -q "^  $cmd " || fail "backend --help does not list $cmd"
done

# Every command reaches the socket (exit 1 without a weir), none is a usage error.
for args in "vip list" "vip add web 10.10.1.1:80/tcp --scheduler wrr --forwarding gue" "vip del web" \
	"backend list web" "backend add web 10.10.0.21 --weight 2" "backend del web 10.10.0.21" \
	"backend weight web 10.10.0.21 3" "backend drain web 10.10.0.21" "explain 1.2.3.4:1 10.10.1.1:80 tcp" \
	"reload" "save" "save /tmp/x.toml" "--json vip list" "vip list --json"; do
	# shellcheck disable=SC2086
	out=$("$weirctl" --socket /nonexistent/weir.sock $args 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq 1 ] || fail "'$args' without weir: exit $rc, expected 1 ($out)"
done

[ "$fails" -eq 0 ] && echo "weirctl CLI: all checks passed"
[ "$fails" -eq 0 ]
