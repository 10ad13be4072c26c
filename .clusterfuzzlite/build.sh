#!/bin/bash -eu
# ClusterFuzzLite/OSS-Fuzz build: every fuzz/ harness built with $CC $CFLAGS and linked with $CXX and
# $LIB_FUZZING_ENGINE into $OUT, each with its seed corpus, dictionary and options. Runs in $SRC/dhyve.
#
# Locally (from the repository root), as those engines set the variables:
#   CC=clang CXX=clang++ CFLAGS="-fsanitize=address,undefined -fsanitize=fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out SRC=/tmp bash .clusterfuzzlite/build.sh
ROOT=${DHYVE_SRC:-$PWD}
[ -f "$ROOT/fuzz/CMakeLists.txt" ] || { echo "build.sh: run it from the dhyve checkout (or set DHYVE_SRC)" >&2; exit 1; }
BUILD=${WORK:-/tmp}/dhyve-cflite-build
TARGETS="uart16550 iobus loader gdb_packet config_file cmdline tracefile pagewalk pci_config fw_cfg rtc ahci virtio_blk virtio_net rlog"
: "${CXXFLAGS:=$CFLAGS}" # OSS-Fuzz sets both; the link step (C++) needs the sanitizer flags too

# The sanitizers come from $CFLAGS. An address build also gets UBSan, as every dhyve fuzz run does.
extra=""
if [ "${SANITIZER:-address}" = address ]; then
	extra="-fsanitize=undefined -fno-sanitize-recover=undefined"
fi
# -Wno-error: a newer clang than the project's may warn about something new; that must not stop fuzzing.
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=None \
	-DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
	-DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
	-DDHYVE_FUZZ=ON -DDHYVE_FUZZ_CFLAGS="-Wno-error $extra" -DDHYVE_FUZZ_LDFLAGS="$extra" \
	-DDHYVE_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" -DDHYVE_FUZZ_LINK_CXX=ON
cmake --build "$BUILD" -j"$(nproc)" --target $(for t in $TARGETS; do printf 'fuzz_%s ' "$t"; done)

for t in $TARGETS; do
	name=fuzz_$t
	cp "$BUILD/fuzz/$name" "$OUT/"
	cp "$ROOT/fuzz/$t.dict" "$OUT/$name.dict"
	{
		echo "[libfuzzer]"
		echo "dict = $name.dict"
		[ "$t" = gdb_packet ] && echo "max_len = 20000" # a packet past the 16 KiB limit
		true
	} >"$OUT/$name.options"
	# Seeds and past crashes together: the regressions are the most interesting inputs there are.
	rm -f "$OUT/${name}_seed_corpus.zip"
	for d in "$ROOT/fuzz/corpus/$t" "$ROOT/fuzz/regressions/$t"; do
		[ -n "$(ls -A "$d" 2>/dev/null)" ] || continue # absent or empty
		(cd "$d" && zip -q -j "$OUT/${name}_seed_corpus.zip" ./*)
	done
done
