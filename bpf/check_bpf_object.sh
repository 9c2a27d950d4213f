#!/usr/bin/env bash
# check_bpf_object.sh OBJDUMP IN OUT SECTION PROGRAM [MAP...] — the gate between
# clang and a BPF object the build hands out: copies IN to OUT only when IN is a
# BPF ELF object holding the function PROGRAM (non-empty) in section SECTION,
# each MAP in .maps, and a license. Otherwise it says what is missing, leaves no
# OUT, and fails the build: a program that silently vanished from the object
# must never reach a loader or a test as an empty file.
set -euo pipefail
objdump=$1 in=$2 out=$3 section=$4 program=$5
shift 5

rm -f "$out"
fail() {
	echo "check_bpf_object: $in: $*" >&2
	exit 1
}

header=$("$objdump" -f "$in") || fail "not an object file"
grep -q 'file format elf64-bpf' <<<"$header" || fail "not a BPF ELF object"
symbols=$("$objdump" -t "$in") || fail "cannot read the symbol table"

# objdump -t lines: VALUE FLAGS SECTION<tab>SIZE NAME; F = function, O = object.
has_symbol() { # KIND SECTION NAME
	awk -v kind="$1" -v sec="$2" -v name="$3" '
		{ split($0, halves, "\t"); n = split(halves[1], a, " "); split(halves[2], b, " ") }
		a[n] == sec && b[2] == name && b[1] !~ /^0+$/ && index(halves[1], " " kind " ") { found = 1 }
		END { exit !found }' <<<"$symbols"
}

has_symbol F "$section" "$program" || fail "no program '$program' in section '$section'"
for map in "$@"; do
	has_symbol O .maps "$map" || fail "no map '$map' in .maps"
done
has_symbol O license LICENSE || fail "no license"

cp "$in" "$out.tmp"
mv "$out.tmp" "$out"
