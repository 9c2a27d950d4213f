#!/usr/bin/env bash
# weirctl_cli.sh WEIRCTL — weirctl as a user meets it without a running weir:
# a missing socket is exit 1 with one line naming the path, the cause and the
# likely fix; bad usage is exit 2.
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

for args in "" "frobnicate" "status --bogus" "status stats"; do
	# shellcheck disable=SC2086
	"$weirctl" --socket /nonexistent/weir.sock $args >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 2 ] || fail "usage '$args': exit $rc, expected 2"
done

"$weirctl" --help | grep -q "status" || fail "--help does not list status"

[ "$fails" -eq 0 ] && echo "weirctl CLI: all checks passed"
[ "$fails" -eq 0 ]
