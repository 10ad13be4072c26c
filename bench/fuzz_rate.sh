#!/usr/bin/env bash
# Fuzzing speed: execs/s of every libFuzzer harness and of the empty harness built the same way, in
# one run on one machine, with each harness's ratio to the empty one (the engine's own cost).
#
# usage: bench/fuzz_rate.sh FUZZ_BUILD_DIR [SECONDS] [MAX_LEN]
#   FUZZ_BUILD_DIR  a DHYVE_FUZZ=ON build (cmake -DDHYVE_FUZZ=ON -DCMAKE_C_COMPILER=clang)
#   SECONDS         fuzzing time per harness (default 10), starting from its committed seeds
#   MAX_LEN         libFuzzer -max_len (default: libFuzzer's own, as CI runs it); the rate of a
#                   device harness falls with input length (each byte is part of a guest operation)
# Goal (fuzz/README.md): >= 200000 execs/s per device harness under ASan+UBSan.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:?usage: bench/fuzz_rate.sh FUZZ_BUILD_DIR [SECONDS] [MAX_LEN]}" && pwd)
SECS=${2:-10}
MAXLEN=${3:-}
TARGETS="empty uart16550 iobus loader gdb_packet config_file cmdline tracefile pagewalk ahci"
DEVICES=" uart16550 iobus "
[ -x "$B/fuzz/fuzz_empty" ] || { echo "fuzz_rate.sh: $B/fuzz/fuzz_empty missing: not a DHYVE_FUZZ build" >&2; exit 1; }
WORK=$(mktemp -d /tmp/dhyve-fuzz-rate.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

echo "fuzz_rate: ${SECS}s per harness, max_len ${MAXLEN:-libFuzzer default}, $(nproc) CPUs, $(uname -m)"
printf '%-12s %12s %8s %12s %10s %12s\n' target execs seconds execs/s vs-empty "avg-input-B"
empty_rate=0
for t in $TARGETS; do
	mkdir -p "$WORK/$t"
	args=(-max_total_time="$SECS" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096)
	[ -n "$MAXLEN" ] && args+=(-max_len="$MAXLEN")
	seeds=()
	[ -d "$SRC/fuzz/corpus/$t" ] && [ "$t" != empty ] && seeds=("$SRC/fuzz/corpus/$t")
	start=$(date +%s%N)
	# No leak check at exit: it would count against the rate and it is not what is measured here.
	if ! ASAN_OPTIONS=detect_leaks=0 "$B/fuzz/fuzz_$t" "${args[@]}" "$WORK/$t" "${seeds[@]}" >"$WORK/$t.log" 2>&1; then
		# pagewalk, say, needs 17 bytes: a tiny MAX_LEN leaves it nothing to run.
		printf '%-12s %s\n' "$t" "failed: $(grep -m1 -E 'ERROR|invariant' "$WORK/$t.log" || tail -1 "$WORK/$t.log")"
		continue
	fi
	end=$(date +%s%N)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$t.log")
	# Our own clock (ns): libFuzzer's exec/s divides by whole seconds.
	rate=$(awk -v n="$execs" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / ((e - s) / 1e9) }')
	avg=$(find "$WORK/$t" -type f -printf '%s\n' | awk '{ s += $1; n++ } END { printf "%.0f", n ? s / n : 0 }')
	[ "$t" = empty ] && empty_rate=$rate
	ratio=$(awk -v r="$rate" -v e="$empty_rate" 'BEGIN { printf "%.3f", e ? r / e : 0 }')
	mark=""
	[[ "$DEVICES" == *" $t "* ]] && { [ "$rate" -ge 200000 ] && mark="  (goal 200000: met)" || mark="  (goal 200000: not met)"; }
	printf '%-12s %12s %8.1f %12s %10s %12s%s\n' "$t" "$execs" "$(awk -v s="$start" -v e="$end" \
		'BEGIN { print (e - s) / 1e9 }')" "$rate" "$ratio" "$avg" "$mark"
done
