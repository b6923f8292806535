#!/usr/bin/env bash
# run.sh PROGRAM NAME SECONDS ARTIFACTS: one fuzz target under ctest. It
# runs on a scratch copy of its seed corpus (tests/fuzz/corpus/NAME), with
# its dictionary when there is one, for SECONDS; it fails on a crash, a
# leak, a sanitizer report or a broken property (libFuzzer exits non-zero
# and leaves the input in ARTIFACTS/NAME/), and when it ran fewer than
# 1,000 inputs a second. It prints libFuzzer's final stats: executions,
# rate, coverage (cov: edges, ft: features) and corpus size.
set -euo pipefail
prog=$1 name=$2 seconds=$3 artifacts=$4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/invited-fuzz-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts/$name"
cp -r "$here/corpus/$name/." "$work/corpus/" 2>/dev/null || true
dict=()
[ -f "$here/$name.dict" ] && dict=(-dict="$here/$name.dict")
# NAME.options: libFuzzer flags of its own (e.g. a smaller -max_len)
[ -f "$here/$name.options" ] && read -r -a opts <"$here/$name.options" && dict+=("${opts[@]}")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
started=$(date +%s.%N)
status=0
"$prog" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$artifacts/$name/" "$work/corpus" \
	</dev/null >"$work/log" 2>&1 || status=$?
ended=$(date +%s.%N)
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log" | tail -1 || true)
if [ "$status" != 0 ] || [ -z "$runs" ]; then
	cp "$work/log" "$artifacts/$name/log"
	tail -n 80 "$work/log"
	echo "fuzz.$name: FAILED (exit $status); the input and the log are in $artifacts/$name/" >&2
	exit 1
fi
rate=$(awk -v n="$runs" -v a="$started" -v b="$ended" 'BEGIN { printf "%d", n / (b - a) }')
echo "fuzz.$name: $runs inputs in $seconds s, $rate/s; $done_line"
if [ "$rate" -lt 1000 ]; then
	echo "fuzz.$name: FAILED: $rate inputs a second, under 1,000" >&2
	exit 1
fi
