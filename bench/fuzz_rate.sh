#!/usr/bin/env bash
# Fuzzing speed: execs/s of every libFuzzer harness and of the empty harness built the same way, in
# one run on one machine, with each harness's ratio to the empty one (the engine's own cost), and,
# given a second build (BASELINE), the same harness of that build run just before it for a
# before/after figure on the same machine under the same load.
#
# usage: bench/fuzz_rate.sh FUZZ_BUILD_DIR [SECONDS] [MAX_LEN]
#   FUZZ_BUILD_DIR  a DHYVE_FUZZ=ON build (cmake -DDHYVE_FUZZ=ON -DCMAKE_C_COMPILER=clang)
#   SECONDS         fuzzing time per harness (default 10), starting from its committed seeds
#   MAX_LEN         libFuzzer -max_len (default: libFuzzer's own, as CI runs it); the rate of a
#                   device harness falls with input length (each byte is part of a guest operation)
#   BASELINE=DIR    (environment) another DHYVE_FUZZ build, e.g. of main: its harnesses run too
#   TARGETS="..."   (environment) the harnesses to run (default: every fuzz_<target> the build has)
# Goal (fuzz/README.md): >= 200000 execs/s per device harness under ASan+UBSan.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:?usage: bench/fuzz_rate.sh FUZZ_BUILD_DIR [SECONDS] [MAX_LEN]}" && pwd)
SECS=${2:-10}
MAXLEN=${3:-}
BASE=${BASELINE:+$(cd "$BASELINE" && pwd)}
DEVICES=" uart16550 iobus pci_config fw_cfg rtc ahci virtio_blk virtio_net "
# Default: the empty harness, the device harnesses, then every other harness the build has (so a
# new target is measured without editing this list).
if [ -z "${TARGETS:-}" ]; then
	TARGETS="empty$DEVICES"
	for f in "$B"/fuzz/fuzz_*; do
		t=${f##*/fuzz_}
		[[ -x "$f" && "$t" != *_repro && "$t" != seeds_from_log && "$t" != empty && "$DEVICES" != *" $t "* ]] &&
			TARGETS+=" $t"
	done
fi
for b in "$B" ${BASE:+"$BASE"}; do
	[ -x "$b/fuzz/fuzz_empty" ] || { echo "fuzz_rate.sh: $b/fuzz/fuzz_empty missing: not a DHYVE_FUZZ build" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/dhyve-fuzz-rate.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# rate BUILD TARGET TAG: runs one harness from the committed seeds; prints "execs/s avg-input-bytes".
# The rate is per second of CPU time the harness got (user + system): on a machine shared with other
# work, wall-clock rates of the same binary varied by a factor of 2 between runs.
rate() {
	local b=$1 t=$2 dir=$WORK/$3-$2
	mkdir -p "$dir"
	local args=(-max_total_time="$SECS" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096) seeds=()
	[ -n "$MAXLEN" ] && args+=(-max_len="$MAXLEN")
	[ -d "$SRC/fuzz/corpus/$t" ] && [ "$t" != empty ] && seeds=("$SRC/fuzz/corpus/$t")
	local execs
	# No leak check at exit: it would count against the rate and it is not what is measured here.
	if ! ASAN_OPTIONS=detect_leaks=0 /usr/bin/time -f '%U %S' -o "$dir.time" \
		"$b/fuzz/fuzz_$t" "${args[@]}" "$dir" "${seeds[@]}" >"$dir.log" 2>&1; then
		# pagewalk, say, needs 17 bytes: a tiny MAX_LEN leaves it nothing to run.
		echo "failed: $(grep -m1 -E 'ERROR|invariant' "$dir.log" || tail -1 "$dir.log")"
		return
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir.log")
	awk -v n="$execs" '{ printf "%.0f ", n / ($1 + $2) }' "$dir.time"
	find "$dir" -type f -printf '%s\n' | awk '{ s += $1; n++ } END { printf "%.0f\n", n ? s / n : 0 }'
}

echo "fuzz_rate: ${SECS}s per harness, max_len ${MAXLEN:-libFuzzer default}, $(nproc) CPUs, $(uname -m)"
echo "build: $B${BASE:+; before: $BASE (run just before each harness of the build)}"
printf '%-12s %10s %10s %8s %10s %12s\n' target execs/cpu-s before speedup vs-empty "avg-input-B"
empty_rate=0
for t in $TARGETS; do
	[ -x "$B/fuzz/fuzz_$t" ] || { printf '%-12s %s\n' "$t" "not built"; continue; }
	before=- speedup=-
	if [ -n "$BASE" ] && [ -x "$BASE/fuzz/fuzz_$t" ]; then
		read -r before _ <<<"$(rate "$BASE" "$t" before)"
	fi
	out=$(rate "$B" "$t" after)
	[[ "$out" == failed:* ]] && { printf '%-12s %s\n' "$t" "$out"; continue; }
	read -r now avg <<<"$out"
	[ "$t" = empty ] && empty_rate=$now
	[[ "$before" =~ ^[0-9]+$ ]] && speedup=$(awk -v a="$now" -v b="$before" 'BEGIN { printf "%.1fx", b ? a / b : 0 }')
	ratio=$(awk -v r="$now" -v e="$empty_rate" 'BEGIN { printf "%.3f", e ? r / e : 0 }')
	mark=""
	[[ "$DEVICES" == *" $t "* ]] && { [ "$now" -ge 200000 ] && mark="  (goal 200000: met)" || mark="  (goal 200000: not met)"; }
	printf '%-12s %10s %10s %8s %10s %12s%s\n' "$t" "$now" "$before" "$speedup" "$ratio" "$avg" "$mark"
done
