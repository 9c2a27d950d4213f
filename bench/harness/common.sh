# shellcheck shell=bash
# bench/harness/common.sh — what every part of scripts/bench shares: progress
# lines, the run's temporary directory and namespaces, the result records, CPU
# accounting from /proc, and starting/ending the processes this run owns.
# Sourced by scripts/bench; every process and namespace it creates is recorded and
# removed by bench_cleanup (on EXIT). Processes end through lab_end_pid
# (scripts/lab.sh, which scripts/bench also sources).

BENCH_PIDS=()        # started by this run
BENCH_NAMESPACES=()  # created by this run

step() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
note() { printf '           %s\n' "$*"; }
warn() { printf '[%s] warning: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# record JSON — appends one result object (a JSON text) to the run's results.
record() {
	printf '%s\n' "$1" >>"$BENCH_DIR/results.jsonl"
}

# bench_netns NAME — a namespace PREFIX+NAME with lo up, removed at exit.
bench_netns() {
	local ns=$BENCH_PREFIX$1
	ip netns add "$ns" || return 1
	BENCH_NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up
}

# spawn LOG CMD... — runs CMD in the background (its PID in $SPAWNED), recorded
# for the cleanup.
spawn() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	SPAWNED=$!
	BENCH_PIDS+=("$SPAWNED")
}

bench_cleanup() {
	local i ns
	for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
		lab_end_pid "${BENCH_PIDS[i]}"
	done
	BENCH_PIDS=()
	for ns in "${BENCH_NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	BENCH_NAMESPACES=()
	rm -rf "/var/run/dpdk/${BENCH_PREFIX}"* 2>/dev/null
	if [ -n "${BENCH_DIR:-}" ] && [ -d "$BENCH_DIR" ] && [ "${WEIR_BENCH_KEEP:-0}" != 1 ]; then
		rm -rf "$BENCH_DIR"
	fi
	return 0
}

# CPU accounting. proc_ticks PID... — user+system clock ticks of these processes
# (all their threads). softirq_ticks / system_ticks — the whole machine's, from
# /proc/stat (kernel forwarding, NAT and XDP run there, in no process).
proc_ticks() {
	local pid sum=0 f
	for pid in "$@"; do
		f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		f=${f##*) }  # fields after the command name, which may hold spaces
		# shellcheck disable=SC2086
		set -- $f
		sum=$((sum + ${12} + ${13}))
	done
	echo "$sum"
}
softirq_ticks() { awk '/^cpu /{print $8}' /proc/stat; }
system_ticks() { awk '/^cpu /{print $4}' /proc/stat; }
clk_tck() { getconf CLK_TCK; }

# children_of PID — PID and its direct children (an nginx master's workers).
children_of() {
	local p
	echo "$1"
	for p in /proc/[0-9]*; do
		[ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done
	return 0
}

# The machine, for the report.
machine_json() {
	python3 - <<'PYEOF'
import json, os, platform, subprocess
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((int(l.split()[1]) // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
def out(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
print(json.dumps({"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "mem_mib": mem,
                  "kernel": platform.release(), "load": open("/proc/loadavg").read().split()[:3],
                  "commit": out("git", "rev-parse", "--short", "HEAD"),
                  "dirty": bool(out("git", "status", "--porcelain", "--untracked-files=no")),
                  "dpdk": out("pkg-config", "--modversion", "libdpdk")}))
PYEOF
}
