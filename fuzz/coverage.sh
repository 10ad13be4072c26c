#!/usr/bin/env bash
# Line coverage of the fuzzed code by the committed corpus: builds the reproducers with clang's
# source-based coverage, runs fuzz/corpus and fuzz/regressions through them, prints llvm-cov's report.
#
# usage: fuzz/coverage.sh [BUILD_DIR]          (default: a fresh directory under /tmp)
#   EXTRA_CORPUS=DIR   also run DIR/<target>/ (a grown campaign corpus) through each reproducer
#   UART_MIN=80        fail when devmodel/uart16550.c's line coverage is below this percentage
# Needs clang and llvm (llvm-profdata, llvm-cov): apt-get install clang llvm
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$(mktemp -d /tmp/dhyve-fuzz-coverage.XXXXXX)}
TARGETS="uart16550 iobus loader gdb_packet config_file cmdline tracefile pagewalk pci_config fw_cfg rtc ahci virtio_blk virtio_net rlog"
# The files each target exists to exercise (what the report lists).
FILES="devmodel/uart16550.c devmodel/iobus.c devmodel/pci.c devmodel/pci_config.c devmodel/pci_bar.c devmodel/pci_intx.c devmodel/pci_msi.c devmodel/fw_cfg.c devmodel/rtc.c devmodel/ahci.c devmodel/ahci_ata.c devmodel/ahci_atapi.c loader/loader.c loader/elf.c loader/multiboot.c loader/segments.c devmodel/pci_msix.c devmodel/virtqueue.c devmodel/virtio_pci.c devmodel/virtio_blk.c devmodel/virtio_net.c devmodel/net_backend.c
       gdbstub/packet.c cli/config.c cli/options.c trace/tracefile.c base/pagewalk.c base/gmem.c replay/rlog_read.c replay/rlog_dump.c"

tool() { command -v "$1" || command -v "$1-14" || { echo "coverage.sh: $1 not found (apt-get install llvm)" >&2; exit 1; }; }
PROFDATA=$(tool llvm-profdata)
COV=$(tool llvm-cov)
command -v clang >/dev/null || { echo "coverage.sh: clang not found (apt-get install clang)" >&2; exit 1; }

# -O0 so that every line maps to code; vmm/ needs clang's GNU-extension warning off (see CMakeLists.txt).
cmake -S "$SRC" -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DDHYVE_FUZZ=OFF \
	-DCMAKE_C_FLAGS="-fprofile-instr-generate -fcoverage-mapping" >/dev/null
cmake --build "$B" -j"$(nproc)" --target $(for t in $TARGETS; do printf 'fuzz_%s_repro ' "$t"; done) >/dev/null

rm -rf "$B/profiles" && mkdir -p "$B/profiles"
objects=()
for t in $TARGETS; do
	inputs=("$SRC/fuzz/corpus/$t")
	[ -d "$SRC/fuzz/regressions/$t" ] && inputs+=("$SRC/fuzz/regressions/$t")
	[ -n "${EXTRA_CORPUS:-}" ] && [ -d "$EXTRA_CORPUS/$t" ] && inputs+=("$EXTRA_CORPUS/$t")
	LLVM_PROFILE_FILE="$B/profiles/$t.profraw" "$B/fuzz/fuzz_${t}_repro" "${inputs[@]}" 2>/dev/null
	objects+=(-object "$B/fuzz/fuzz_${t}_repro")
done
"$PROFDATA" merge -sparse "$B"/profiles/*.profraw -o "$B/profiles/all.profdata"
# The first -object is positional for llvm-cov; the rest are extra objects.
(cd "$SRC" && "$COV" report "${objects[@]:1}" -instr-profile "$B/profiles/all.profdata" $FILES)

uart=$(cd "$SRC" && "$COV" report "${objects[@]:1}" -instr-profile "$B/profiles/all.profdata" devmodel/uart16550.c |
	awk '$1 ~ /uart16550\.c$/ { print $10 }')
echo "devmodel/uart16550.c line coverage: $uart (build and profiles in $B)"
if [ -n "${UART_MIN:-}" ] && awk -v c="${uart%\%}" -v m="$UART_MIN" 'BEGIN { exit !(c < m) }'; then
	echo "coverage.sh: uart16550.c line coverage $uart is below $UART_MIN%" >&2
	exit 1
fi
