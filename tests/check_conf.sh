#!/usr/bin/env bash
# check_conf.sh WEIR_BINARY SOURCE_ROOT — `weir --check` as a user runs it:
# every conf/*.toml is valid (exit 0, one summary line), every
# tests/bad_configs/*.toml is invalid (exit 2) and prints each problem its
# `# expect: LINE: key: message-substring` lines name, and nothing else; plus
# the command line's own failures (missing file, bad options).
set -u
weir=${1:?usage: check_conf.sh WEIR_BINARY SOURCE_ROOT}
root=${2:?usage: check_conf.sh WEIR_BINARY SOURCE_ROOT}
shopt -s nullglob
fails=0
checks=0
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# run EXPECTED_STATUS ARGS...: runs weir, leaves stdout/stderr in $out/$err.
run() {
	local want=$1 rc
	shift
	checks=$((checks + 1))
	"$weir" "$@" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "weir $* exited $rc, expected $want; stderr:"
		sed 's/^/    /' "$err"
		return 1
	fi
	return 0
}

good=("$root"/conf/*.toml)
bad=("$root"/tests/bad_configs/*.toml)
[ "${#good[@]}" -gt 0 ] || fail "no conf/*.toml under $root"
[ "${#bad[@]}" -gt 0 ] || fail "no tests/bad_configs/*.toml under $root"

for f in "${good[@]}"; do
	if run 0 --config "$f" --check; then
		grep -qF "$f: valid: " "$out" || fail "$f: no summary line on stdout"
		echo "ok: $(cat "$out")"
	fi
done

for f in "${bad[@]}"; do
	mapfile -t expects < <(sed -n 's/^# expect: //p' "$f")
	if [ "${#expects[@]}" -eq 0 ]; then
		fail "$f: no '# expect: LINE: key: message' lines"
		continue
	fi
	run 2 --config "$f" --check || continue
	before=$fails
	for e in "${expects[@]}"; do
		grep -qF -- "$f:$e" "$err" || fail "$f: missing problem \"$f:$e\""
	done
	# Every problem printed must be one the file expects: no surprise errors.
	while IFS= read -r line; do
		hit=0
		for e in "${expects[@]}"; do
			[[ "$line" == *"$f:$e"* ]] && hit=1
		done
		[ "$hit" -eq 1 ] || fail "$f: unexpected problem: $line"
	done <"$err"
	[ "$fails" -eq "$before" ] && echo "ok: $f: rejected with its ${#expects[@]} expected problem(s), no others"
done

if run 2 --config /nonexistent/weir.toml --check; then
	grep -qF "/nonexistent/weir.toml: cannot open: No such file or directory" "$err" ||
		fail "missing file: unclear message: $(cat "$err")"
	echo "ok: missing file: $(cat "$err")"
fi
if run 2 --bogus; then
	grep -qF -- "--bogus" "$err" || fail "--bogus: message does not name the option: $(cat "$err")"
	echo "ok: --bogus: $(head -1 "$err")"
fi
if run 2 --config "$root/conf/minimal.toml" --engine warp --check; then
	echo "ok: --engine warp: $(head -1 "$err")"
fi
# --engine overrides the file: minimal.toml has no DPDK port.
if run 2 --config "$root/conf/minimal.toml" --engine dpdk --check; then
	grep -qF "dataplane.dpdk.port: required with engine \"dpdk\"" "$err" ||
		fail "--engine dpdk: not applied: $(cat "$err")"
	echo "ok: --engine dpdk overrides the file"
fi
run 0 --config "$root/conf/minimal.toml" --engine xdp --check && echo "ok: --engine xdp"
# Without --check, a file whose engine cannot start here (engine "auto" without a
# DPDK port, and no XDP engine in this build) is one clear line and exit 1.
if run 1 --config "$root/conf/minimal.toml"; then
	[ "$(wc -l <"$err")" -eq 1 ] || fail "without --check: expected one line on stderr, got: $(cat "$err")"
	echo "ok: without --check: $(cat "$err")"
fi
run 0 --help && echo "ok: --help"

echo "check_conf: $checks runs, $fails failures"
[ "$fails" -eq 0 ]
