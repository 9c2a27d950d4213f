#!/usr/bin/env bash
# check_format.sh SOURCE_ROOT — fails when a C/C++ source differs from what
# clang-format (.clang-format at the top of the tree) would write.
set -u
root=${1:?usage: check_format.sh SOURCE_ROOT}
cd "$root" || exit 1
mapfile -t files < <(find dataplane control bpf tests bench -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' -o -name '*.hpp' \) | sort)
if [ "${#files[@]}" -eq 0 ]; then
	echo "no sources found under $root" >&2
	exit 1
fi
bad=0
for f in "${files[@]}"; do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (run: clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
echo "checked ${#files[@]} files, $bad not formatted"
[ "$bad" -eq 0 ]
