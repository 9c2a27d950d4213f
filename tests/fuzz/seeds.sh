#!/usr/bin/env bash
# seeds.sh DIR files FILE... | seeds.sh DIR lines FILE — writes a libFuzzer seed
# corpus into DIR: a copy of each FILE, or one seed per non-empty line of FILE
# (its newline kept, as a client sends it).
set -eu
dir=${1:?dir}
mode=${2:?files or lines}
shift 2
n=0
case "$mode" in
files)
	for f in "$@"; do
		cp "$f" "$dir/file-$n-$(basename "$f")"
		n=$((n + 1))
	done
	;;
lines)
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		printf '%s\n' "$line" >"$dir/line-$n"
		n=$((n + 1))
	done <"${1:?file}"
	;;
*)
	echo "unknown mode $mode" >&2
	exit 2
	;;
esac
echo "$n seeds written to $dir"
[ "$n" -gt 0 ]
