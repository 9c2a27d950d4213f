# shellcheck shell=bash
# tests/e2e/e2e_lib.sh — what every end-to-end script shares: the root check,
# counted checks, fatal errors and the exit with weir's log. Sourced after
# scripts/lab.sh.

# e2e_require_root — exits 77 (skip) when not root, 1 under WEIR_REQUIRE_ALL=1.
e2e_require_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	echo "e2e: needs root (network namespaces, XDP, DPDK)"
	[ "${WEIR_REQUIRE_ALL:-0}" = 1 ] && { echo "FAIL: WEIR_REQUIRE_ALL=1 and not root"; exit 1; }
	exit 77
}

failures=0
# check STATUS MESSAGE — prints ok/FAIL and counts failures.
check() {
	if [ "$1" -eq 0 ]; then
		echo "  ok: $2"
	else
		echo "  FAIL: $2"
		failures=$((failures + 1))
	fi
}

_e2e_weir_log() {
	[ -n "${LAB_WEIR_LOG:-}" ] && [ -f "$LAB_WEIR_LOG" ] && { echo "--- weir log (tail)"; tail -n 40 "$LAB_WEIR_LOG"; }
	return 0
}

# die MESSAGE — a failure the script cannot go on after.
die() {
	echo "FAIL: $*"
	_e2e_weir_log
	exit 1
}

# e2e_exit — 0 when every check passed, else 1 with the end of weir's log.
e2e_exit() {
	[ "$failures" -eq 0 ] && exit 0
	_e2e_weir_log
	exit 1
}

now() { date +%s.%N; }
