#!/bin/bash
# fuzz/seeds_from_replay.sh BUILD_DIR: seeds from real guest traffic. Records test guests with
# -o record=DIR (needs /dev/kvm) and turns each device's share of the log into guest-operation
# seeds with fuzz_seeds_from_log, written to fuzz/corpus/<target>/replay-*:
#   rtc, uart16550   replaytick (192 RTC interrupts, console input)
#   virtio_blk       vblkread (virtio-blk reads and writes), when that guest and harness exist
set -e
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/dhyve-seeds.XXXXXX)
trap 'rm -rf $TMP' EXIT
CONVERT=$BUILD/fuzz/fuzz_seeds_from_log

record() { # NAME KERNEL ARGS...: a bundle in $TMP/NAME
	local name=$1 kernel=$2
	shift 2
	printf 'seed input\n' | "$BUILD/cli/dhyve" -m 64M -l com1,stdio -o kernel="$kernel" -o record=$TMP/$name "$@" $name \
		>/dev/null 2>$TMP/$name.err || [ $? = 1 ] || { cat $TMP/$name.err >&2; exit 1; }
}

convert() { # BUNDLE WINDOW TARGET
	mkdir -p "$HERE/corpus/$3"
	rm -f "$HERE/corpus/$3"/replay-*
	"$CONVERT" $TMP/$1/log.rlog $2 "$HERE/corpus/$3" 256
}

record tick $BUILD/guests/replaytick.elf
convert tick pio:0x70:2 rtc
convert tick pio:0x3f8:8 uart16550
