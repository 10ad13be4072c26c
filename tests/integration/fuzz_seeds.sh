# Every committed fuzz seed and regression input through every reproducer (no crash allowed), then,
# where clang's libFuzzer is installed, 15 s of fuzzing each for uart16550 and gdb_packet under ASan+UBSan.
# usage: bash fuzz_seeds.sh BUILD_DIR. Exit 77 (skipped) only when the reproducers were not built;
# without clang the fuzzing part is skipped unless DHYVE_REQUIRE_CLANG=1 (CI), which makes it a failure.
BUILD=$(cd "${1:?usage: fuzz_seeds.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -x "$BUILD/fuzz/fuzz_uart16550_repro" ]; then
	echo "SKIPPED: $BUILD/fuzz/fuzz_uart16550_repro was not built"
	exit 77
fi
# run_seeds.sh never exits 77, so a failure here cannot be mistaken for a skip.
FUZZ_TARGETS="uart16550 gdb_packet" FUZZ_SECONDS=15 bash "$SRC/fuzz/run_seeds.sh" "$BUILD" || exit 1
