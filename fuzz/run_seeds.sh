#!/usr/bin/env bash
# CI's fuzz check: every committed seed and regression input through every reproducer, twice, in two
# orders, with the same outcome each time (always; see reproduce_main.c), then,
# where clang's libFuzzer is available, a short bounded fuzzing run per target that fails on a crash.
#
# usage: fuzz/run_seeds.sh BUILD_DIR
#   BUILD_DIR        a configured and built dhyve tree (any compiler): holds fuzz/fuzz_<target>_repro.
#                    If it is a DHYVE_FUZZ build, its libFuzzer harnesses are used for step 2; else
#                    one is configured with clang in $FUZZ_BUILD_DIR (default BUILD_DIR/fuzz-libfuzzer).
#   FUZZ_TARGETS     targets to fuzz in step 2 (default: all; step 1 always runs all)
#   FUZZ_SECONDS     seconds per target in step 2 (default: per target, about 65 s in all); 0 skips it
#   DHYVE_REQUIRE_CLANG=1  fail, instead of skipping step 2, when clang/libFuzzer is missing (CI)
# Exit status: 0 all good, 1 a crash or a failure (never 77, which ctest reads as "skipped").
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: fuzz/run_seeds.sh BUILD_DIR}" && pwd)
ALL="uart16550 iobus loader gdb_packet config_file cmdline tracefile pagewalk pci_config fw_cfg rtc ahci virtio_blk virtio_net rlog"
# Device harnesses get the most time; the whole step stays near a minute.
declare -A SECONDS_FOR=([uart16550]=20 [iobus]=10 [gdb_packet]=10 [loader]=5 [config_file]=5 [cmdline]=5
			[tracefile]=5 [pagewalk]=5 [pci_config]=5 [fw_cfg]=5 [rtc]=5 [ahci]=10 [virtio_blk]=5
			[virtio_net]=5 [rlog]=5)
ALL="$ALL snapfile"
SECONDS_FOR[snapfile]=5
# Longest input each target needs (gdb_packet: a packet past the 16 KiB limit).
declare -A MAX_LEN=([gdb_packet]=20000)
MAX_LEN[snapfile]=20000 # a whole snapshot of the snapcount guest is 12.5 KiB

fail() { echo "run_seeds.sh: FAIL: $*" >&2; exit 1; }

# ---- 1. seeds and regressions through the plain reproducers -----------------------------------
for t in $ALL; do
	repro=$BUILD/fuzz/fuzz_${t}_repro
	[ -x "$repro" ] || fail "$repro is missing: build BUILD_DIR first (cmake --build $BUILD)"
	inputs=("$SRC/fuzz/corpus/$t")
	[ -d "$SRC/fuzz/regressions/$t" ] && inputs+=("$SRC/fuzz/regressions/$t")
	# The self-test runs each input on a fresh machine, then all again in reverse order on the
	# machine the harness keeps: an outcome that differs means a reset between inputs missed something.
	if ! out=$(DHYVE_FUZZ_SELFTEST=1 "$repro" "${inputs[@]}" 2>&1); then
		echo "$out" | tail -20 >&2
		last=$(echo "$out" | sed -n 's/^running \(.*\) ([0-9]* bytes)$/\1/p' | tail -1)
		echo "$out" | grep -q "the first time$" &&
			fail "$t: an input's outcome depends on the input before it (self-test above)"
		fail "$t crashed on a committed input; reproduce with: $repro $last"
	fi
	echo "ok: $t: $(echo "$out" | tail -1 | sed 's/.*: //')"
done

# ---- 2. a short fuzzing run per target -----------------------------------------------------------
[ "${FUZZ_SECONDS:-}" = 0 ] && { echo "fuzzing skipped (FUZZ_SECONDS=0)"; exit 0; }

have_libfuzzer() {
	command -v clang >/dev/null &&
		echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' |
		clang -x c -fsanitize=fuzzer,address,undefined - -o /dev/null 2>/dev/null
}

FB=$BUILD
if [ ! -x "$BUILD/fuzz/fuzz_uart16550" ]; then
	if ! have_libfuzzer; then
		why="clang with libFuzzer is not installed (apt-get install clang libclang-rt-14-dev)"
		[ "${DHYVE_REQUIRE_CLANG:-0}" = 1 ] && fail "DHYVE_REQUIRE_CLANG=1 but $why"
		echo "fuzzing skipped: $why"
		exit 0
	fi
	FB=${FUZZ_BUILD_DIR:-$BUILD/fuzz-libfuzzer}
	echo "configuring a libFuzzer build in $FB"
	cmake -S "$SRC" -B "$FB" -DDHYVE_FUZZ=ON -DCMAKE_C_COMPILER=clang >"$FB.log" 2>&1 ||
		{ tail -20 "$FB.log" >&2; fail "cmake (libFuzzer build) failed; see $FB.log"; }
fi
targets=${FUZZ_TARGETS:-$ALL}
if [ "$FB" != "$BUILD" ]; then
	cmake --build "$FB" -j"$(nproc)" --target $(for t in $targets; do printf 'fuzz_%s ' "$t"; done) >>"$FB.log" 2>&1 ||
		{ tail -20 "$FB.log" >&2; fail "building the libFuzzer harnesses failed; see $FB.log"; }
fi

WORK=$(mktemp -d /tmp/dhyve-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
KEEP=$BUILD/fuzz-artifacts
for t in $targets; do
	secs=${FUZZ_SECONDS:-${SECONDS_FOR[$t]:-5}}
	mkdir -p "$WORK/$t" "$WORK/artifacts/$t"
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	      -artifact_prefix="$WORK/artifacts/$t/" -dict="$SRC/fuzz/$t.dict")
	[ -n "${MAX_LEN[$t]:-}" ] && args+=(-max_len="${MAX_LEN[$t]}")
	# New inputs go to the scratch directory (the first one); the committed seeds are only read.
	status=0
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$FB/fuzz/fuzz_$t" "${args[@]}" "$WORK/$t" "$SRC/fuzz/corpus/$t" \
		>"$WORK/$t.log" 2>&1 || status=$?
	found=$(ls "$WORK/artifacts/$t" 2>/dev/null | head -1)
	if [ "$status" != 0 ] || [ -n "$found" ]; then
		tail -40 "$WORK/$t.log" >&2
		[ -n "$found" ] || fail "fuzz_$t exited with status $status and left no input"
		mkdir -p "$KEEP/$t" && cp "$WORK/artifacts/$t/$found" "$KEEP/$t/"
		echo "run_seeds.sh: $t: the fuzzer found an input that fails ($found); reproduce with:" >&2
		echo "  $BUILD/fuzz/fuzz_${t}_repro $KEEP/$t/$found" >&2
		echo "(once fixed, commit it as $SRC/fuzz/regressions/$t/<what-it-was>)" >&2
		exit 1
	fi
	echo "ok: $t: fuzzed ${secs}s: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$WORK/$t.log" |
		grep -o '[0-9]*$') execs, $(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$WORK/$t.log" |
		grep -o '[0-9]*$') execs/s, no crash"
done
