#!/bin/bash
# bench/record_overhead.sh BUILD_DIR [ROUNDS]: the cost of -o record=DIR. Each guest runs with
# and without recording, interleaved, best of ROUNDS (default 5), in the same run:
#   exitloop    100000 port writes and 20000 MMIO writes (every exit fingerprinted)
#   replaytick  192 RTC interrupts landing in a busy loop (async points)
#   vblkread    virtio-blk reads and writes (DMA logged), when the guest was built
# Prints seconds, the ratio record/plain (goal <= 1.10) and log bytes per second of guest time.
set -e
BUILD=$(cd "${1:-build}" && pwd)
ROUNDS=${2:-5}
DHYVE=$BUILD/cli/dhyve
TMP=$(mktemp -d /tmp/dhyve-bench.XXXXXX)
trap 'rm -rf $TMP' EXIT

now() { date +%s.%N; }

# run NAME KERNEL [record] -- EXTRA...: seconds of one run (startup included, the same both ways)
run() {
	local kernel=$1 rec=$2
	shift 2
	local args=(-m 64M -l com1,file=$TMP/con -o watchdog=0 -o kernel=$kernel "$@")
	[ "$rec" = record ] && { rm -rf $TMP/bundle; args+=(-o record=$TMP/bundle); }
	local t0 t1
	t0=$(now)
	"$DHYVE" "${args[@]}" bench </dev/null >/dev/null 2>$TMP/err || [ $? = 1 ] || { cat $TMP/err >&2; exit 1; }
	t1=$(now)
	echo "$t1 - $t0" | bc
}

bench() {
	local name=$1 kernel=$2
	shift 2
	[ -f "$kernel" ] || { echo "$name: $kernel not built, skipped"; return; }
	local best_p=999 best_r=999 p r
	for ((i = 0; i < ROUNDS; i++)); do
		p=$(run $kernel plain "$@")
		r=$(run $kernel record "$@")
		best_p=$(echo "if ($p < $best_p) $p else $best_p" | bc)
		best_r=$(echo "if ($r < $best_r) $r else $best_r" | bc)
	done
	local bytes
	bytes=$(stat -c %s $TMP/bundle/log.rlog)
	printf '%-10s plain %.3f s  record %.3f s  ratio %.3f (goal <= 1.10)  log %d bytes, %.0f bytes/s\n' \
		"$name" "$best_p" "$best_r" "$(echo "$best_r / $best_p" | bc -l)" "$bytes" "$(echo "$bytes / $best_r" | bc -l)"
}

bench exitloop $BUILD/guests/exitloop.elf
bench replaytick $BUILD/guests/replaytick.elf
if [ -f $BUILD/guests/vblkread.elf ]; then
	head -c 8M /dev/urandom >$TMP/disk.img
	bench vblkread $BUILD/guests/vblkread.elf -s 0,hostbridge -s 3,virtio-blk,$TMP/disk.img
fi
