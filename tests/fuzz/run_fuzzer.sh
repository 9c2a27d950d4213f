#!/usr/bin/env bash
# run_fuzzer.sh FUZZER CORPUS_WRITER SECONDS ARTIFACT_DIR [WRITER_ARG...] — a
# bounded libFuzzer run for the fuzz suite: seeds a fresh corpus (CORPUS_WRITER
# DIR WRITER_ARG... writes it), fuzzes for SECONDS, and fails on any finding. A
# crashing input is kept in ARTIFACT_DIR; turn it into a fixture before fixing
# the bug.
set -u
fuzzer=${1:?fuzzer}
writer=${2:?corpus writer}
seconds=${3:?seconds}
artifacts=${4:?artifact dir}
# The corpus and whatever the target writes under TMPDIR go when the run ends,
# a crashed target's files included.
work=$(mktemp -d /tmp/weir-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
corpus=$work/corpus
mkdir "$corpus"
export TMPDIR=$work
mkdir -p "$artifacts"
"$writer" "$corpus" "${@:5}" || { echo "cannot write the seed corpus"; exit 1; }
echo "seed corpus: $(ls "$corpus" | wc -l) inputs"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
	-artifact_prefix="$artifacts/" "$corpus" 2>&1 | grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY|.*deadly signal|Test unit written)' 
rc=${PIPESTATUS[0]}
echo "fuzzer exit status: $rc"
exit "$rc"
