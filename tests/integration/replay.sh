# Record and replay on real KVM: a guest whose checksum depends on exactly where 192 RTC
# interrupts land in a busy loop (plus console input, the CMOS clock and virtio-blk sectors read
# meanwhile) is recorded once and replayed REPLAY_RUNS times (default 20), with its disk image
# deleted, to the same output, exits and async points; a guest
# whose panic depends on interrupt timing replays to the same panic; real gdb stops at the same
# place with the same registers in every replay; a two-vCPU guest whose output depends on how its
# vCPUs interleaved replays to the same output; damaged, truncated and tampered bundles are
# refused or reported as divergence.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
source "$(dirname "$0")/../gdb_lib.sh"
require_kvm
RUNS=${REPLAY_RUNS:-20}
out=$TMP/out err=$TMP/err

# record NAME KERNEL DIR INPUT [ARGS...]: a run with INPUT on the console; sets $status.
record() {
	local name=$1 kernel=$2 dir=$3 input=$4
	shift 4
	status=0
	printf '%s' "$input" | timeout 60 "$DHYVE" -m 64M -l com1,stdio -o kernel="$kernel" -o record="$dir" "$@" "$name" \
		>$TMP/$name.rec.out 2>$TMP/$name.rec.err || status=$?
}

# replay NAME DIR [ARGS...]: sets $status; output in $TMP/NAME.out and .err.
replay() {
	local name=$1 dir=$2
	shift 2
	status=0
	timeout 120 "$DHYVE" -o replay="$dir" "$@" "$name" </dev/null >$TMP/$name.out 2>$TMP/$name.err || status=$?
	[ "$status" = 124 ] && fail "replay of $dir did not end within 120 s"
	return 0
}

# What the recording said it recorded: "N exits and M async points".
counts() { sed -n 's/.*recorded \([0-9]* exits and [0-9]* async points\).*/\1/p' "$1"; }

# --- the tick guest: record once, with a virtio-blk disk -----------------------------------------
head -c 1M /dev/urandom >$TMP/disk.img
record rt $GUESTS/replaytick.elf $TMP/rt "hello replay" -s 0,hostbridge -s 3,virtio-blk,$TMP/disk.img
[ "$status" = 1 ] || fail "recording replaytick: status $status: $(cat $TMP/rt.rec.err)"
line=$(grep '^replaytick: ticks 192 sectors [1-9][0-9]* checksum' $TMP/rt.rec.out) ||
	fail "no checksum line with disk sectors: $(cat $TMP/rt.rec.out)"
rm $TMP/disk.img # a replay touches no disk"
recorded=$(counts $TMP/rt.rec.err)
async=$(echo "$recorded" | sed 's/.* and \([0-9]*\) async.*/\1/')
((async >= 150)) || fail "only $async async points recorded (192 interrupts in a busy loop): $(cat $TMP/rt.rec.err)"
for f in config kernel log.rlog trace.dtrace README.txt; do [ -s $TMP/rt/$f ] || fail "bundle lacks $f"; done
expect_grep "dhyve -o replay=$TMP/rt rt" $TMP/rt/README.txt
[ "$(stat -c %a $TMP/rt)" = 700 ] || fail "bundle directory is not 0700"
pass "recorded: $line, $recorded"

"$DHYVECTL" --log-dump=$TMP/rt/log.rlog >$TMP/dump || fail "dhyvectl --log-dump failed"
expect_grep 'input     com1 "h"' $TMP/dump
expect_grep "async     before #" $TMP/dump
grep -q '^# totals: config=1 exit=[0-9]* io-read=[0-9]* dma-write=[0-9]* dma-read=[0-9]* irq=[0-9]* .*async=[0-9]* .*end=1' $TMP/dump ||
	fail "log totals: $(tail -1 $TMP/dump)"
pass "log dump: $(tail -1 $TMP/dump)"

# --- replays: same output, same exits, same async points, every time --------------------------
start=$(date +%s.%N)
for ((i = 1; i <= RUNS; i++)); do
	replay rt $TMP/rt
	[ "$status" = 1 ] || fail "replay $i: status $status: $(tail -5 $TMP/rt.err)"
	[ "$(cat $TMP/rt.out)" = "$line" ] || fail "replay $i printed '$(cat $TMP/rt.out)', recorded '$line'"
	expect_grep "replay reached the recorded end: $recorded matched" $TMP/rt.err
done
secs=$(echo "$(date +%s.%N) - $start" | bc)
pass "$RUNS replays: the same checksum, $recorded matched each time ($secs s)"

# --- AHCI: a disk and a CD recorded, replayed with both images gone ---------------------------
head -c 2M /dev/urandom >$TMP/a.img
python3 - $TMP/a.iso <<'PY'
import os, sys
b = bytearray(os.urandom(2048 * 40)); b[16 * 2048:16 * 2048 + 6] = b"\x01CD001"
open(sys.argv[1], "wb").write(b)
PY
status=0
timeout 60 "$DHYVE" -m 64M -s 0:0,hostbridge -s 4,ahci,hd:$TMP/a.img,cd:$TMP/a.iso -s 31,lpc -l com1,stdio \
	-o kernel=$GUESTS/ahciread.elf -o record=$TMP/ah ah </dev/null >$TMP/ah.rec.out 2>$TMP/ah.rec.err || status=$?
[ "$status" = 1 ] || fail "recording ahciread: status $status: $(cat $TMP/ah.rec.err)"
rm $TMP/a.img $TMP/a.iso
replay ah $TMP/ah
[ "$status" = 1 ] || fail "AHCI replay: status $status: $(tail -3 $TMP/ah.err)"
cmp -s $TMP/ah.rec.out $TMP/ah.out || fail "AHCI replay printed otherwise: $(diff $TMP/ah.rec.out $TMP/ah.out)"
pass "AHCI disk and CD: $(counts $TMP/ah.rec.err), replayed without the images to the same output"

# --- virtio-net: frames from slirp recorded (the big reply in 3 mergeable buffers); the replay
# builds no network back-end at all ---
status=0
timeout 60 "$DHYVE" -m 64M -s 0,hostbridge -s 1:0,virtio-net,slirp -l com1,stdio -o kernel=$GUESTS/vnetecho.elf \
	-o record=$TMP/vn vn </dev/null >$TMP/vn.rec.out 2>$TMP/vn.rec.err || status=$?
[ "$status" = 1 ] || fail "recording vnetecho: status $status: $(cat $TMP/vn.rec.err)"
expect_grep "icmp echo reply from 10.0.2.2 payload matches (len 1442 buffers 3" $TMP/vn.rec.out
replay vn $TMP/vn
[ "$status" = 1 ] || fail "virtio-net replay: status $status: $(tail -3 $TMP/vn.err)"
cmp -s $TMP/vn.rec.out $TMP/vn.out || fail "virtio-net replay printed otherwise: $(diff $TMP/vn.rec.out $TMP/vn.out)"
pass "virtio-net over slirp: $(counts $TMP/vn.rec.err), replayed without a network to the same output"

# --- damage -------------------------------------------------------------------------------------
cp -r $TMP/rt $TMP/bad
size=$(stat -c %s $TMP/rt/log.rlog)
python3 - $TMP/bad/log.rlog $((size / 2)) <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= 0x01
open(p, "wb").write(b)
PY
replay rt $TMP/bad
[ "$status" = 4 ] || fail "a log with one byte changed: status $status"
grep -Eq "offset [0-9]+: corrupt|diverged at exit #[0-9]+" $TMP/rt.err || fail "one byte changed: $(cat $TMP/rt.err)"
pass "one byte changed: $(grep -Eo 'offset [0-9]+: corrupt[^)]*\)|diverged at exit #[0-9]+' $TMP/rt.err | head -1)"

cp $TMP/rt/log.rlog $TMP/bad/log.rlog
truncate -s $((size - 7)) $TMP/bad/log.rlog
replay rt $TMP/bad
[ "$status" = 4 ] || fail "a truncated log: status $status"
expect_grep "truncated" $TMP/rt.err
[ ! -s $TMP/rt.out ] || fail "a truncated log ran the guest: $(cat $TMP/rt.out)"
pass "truncated log refused: $(grep -o 'offset [0-9]*: truncated[^)]*)' $TMP/rt.err)"

cp $TMP/rt/log.rlog $TMP/bad/log.rlog
echo "memory.size=128M" >>$TMP/bad/config
replay rt $TMP/bad
[ "$status" = 4 ] && grep -q "config was changed after the recording" $TMP/rt.err || fail "tampered config: $(cat $TMP/rt.err)"
cp $TMP/rt/config $TMP/bad/config
printf 'x' >>$TMP/bad/kernel
replay rt $TMP/bad
[ "$status" = 4 ] && grep -q "is not the image that was recorded" $TMP/rt.err || fail "changed kernel: $(cat $TMP/rt.err)"
pass "changed configuration and kernel refused"

# record.copy_images=off: the bundle names the kernel by path, CRC and size; the replay loads it
# from there and refuses it once it changed.
cp $GUESTS/replaytick.elf $TMP/own.elf
record ci $TMP/own.elf $TMP/ci "x" -o record.copy_images=off
[ "$status" = 1 ] && [ ! -e $TMP/ci/kernel ] || fail "copy_images=off: status $status, kernel copied anyway?"
replay ci $TMP/ci
[ "$status" = 1 ] && cmp -s $TMP/ci.rec.out $TMP/ci.out || fail "copy_images=off replay: status $status: $(tail -2 $TMP/ci.err)"
printf 'x' >>$TMP/own.elf
replay ci $TMP/ci
[ "$status" = 4 ] && grep -q "kernel $TMP/own.elf is not the image that was recorded" $TMP/ci.err ||
	fail "a changed original kernel: status $status: $(tail -2 $TMP/ci.err)"
pass "record.copy_images=off: replayed from the original kernel, refused once it changed"

record rp $GUESTS/replaypanic.elf $TMP/rp ""
[ "$status" = 6 ] || fail "recording replaypanic: status $status (expected 6, guest panic): $(cat $TMP/rp.rec.err)"
pass "guest panic recorded: $(grep 'panic at' $TMP/rp.rec.out), $(counts $TMP/rp.rec.err)"

# --- the panic guest: the same panic, at the same counter and tick, every time ----------------
panic=$(grep '^replaypanic: panic at' $TMP/rp.rec.out) || fail "no panic line: $(cat $TMP/rp.rec.out)"
expect_grep "guest panic" $TMP/rp/README.txt
for ((i = 1; i <= RUNS; i++)); do
	replay rp $TMP/rp
	[ "$status" = 6 ] || fail "panic replay $i: status $status: $(tail -5 $TMP/rp.err)"
	[ "$(cat $TMP/rp.out)" = "$panic" ] || fail "panic replay $i printed '$(cat $TMP/rp.out)', recorded '$panic'"
done
pass "$RUNS replays of the panic: '$panic', status 6 each time"

# record.panic_at: reaching a kernel symbol is the panic; the replay ends at the same RIP.
status=0
timeout 60 "$DHYVE" -m 64M -l com1,null -o kernel=$GUESTS/replaytick.elf -o record=$TMP/pa -o record.panic_at=on_rtc pa \
	</dev/null >/dev/null 2>$TMP/pa.err || status=$?
[ "$status" = 6 ] || fail "record.panic_at=on_rtc: status $status: $(cat $TMP/pa.err)"
want=$(sym $GUESTS/replaytick.elf on_rtc)
expect_grep "guest reached record.panic_at=on_rtc (rip $want)" $TMP/pa.err
replay pa $TMP/pa
[ "$status" = 6 ] || fail "replay of a panic_at bundle: status $status: $(tail -3 $TMP/pa.err)"
expect_grep "replay: guest reached record.panic_at=on_rtc (rip $want)" $TMP/pa.err
status=0
"$DHYVE" -m 64M -o kernel=$GUESTS/replaytick.elf -o record=$TMP/pb -o record.panic_at=no_such_symbol pb </dev/null >/dev/null 2>$TMP/pb.err || status=$?
[ "$status" = 4 ] && grep -q "no symbol 'no_such_symbol'" $TMP/pb.err || fail "unknown panic_at symbol: $(cat $TMP/pb.err)"
pass "record.panic_at=on_rtc: recorded and replayed to status 6 at rip $want; an unknown symbol refused"

# --- SMP: one vCPU at a time, switched at recorded points; the same interleaving on replay ------
status=0
timeout 120 "$DHYVE" -c 2 -m 64M -l com1,stdio -o kernel=$GUESTS/replaysmp.elf -o record=$TMP/smp smp \
	</dev/null >$TMP/smp.rec.out 2>$TMP/smp.rec.err || status=$?
[ "$status" = 1 ] || fail "recording replaysmp: status $status: $(cat $TMP/smp.rec.err)"
smpline=$(grep '^replaysmp: handovers' $TMP/smp.rec.out) || fail "no replaysmp line: $(cat $TMP/smp.rec.out)"
switches=$(sed -n 's/.*(\([0-9]*\) vCPU switches.*/\1/p' $TMP/smp.rec.err)
((switches >= 20)) || fail "only '$switches' vCPU switches recorded: $(cat $TMP/smp.rec.err)"
for ((i = 1; i <= ${REPLAY_SMP_RUNS:-5}; i++)); do
	replay smp $TMP/smp
	[ "$status" = 1 ] || fail "SMP replay $i: status $status: $(grep -v "^ \|^Code\|^=>" $TMP/smp.err | tail -4)"
	[ "$(cat $TMP/smp.out)" = "$smpline" ] || fail "SMP replay $i printed '$(cat $TMP/smp.out)', recorded '$smpline'"
	expect_grep "($switches vCPU switches," $TMP/smp.err
done
pass "2 vCPUs: '$smpline', $switches switches, the same in ${REPLAY_SMP_RUNS:-5} replays"

# --- gdb on the replay: a breakpoint before the panic, the same registers every time ---------
require_gdb
ELF=$TMP/rp/kernel
for ((i = 1; i <= 3; i++)); do
	port=$(free_port)
	timeout 120 "$DHYVE" -o replay=$TMP/rp -G w$port rp </dev/null >$TMP/g.out 2>$TMP/g.err &
	PIDS+=($!)
	wait_for_text $TMP/g.err "gdb stub listening on 127.0.0.1:$port"
	run_gdb $ELF $TMP/gdb$i "break serial_puts" "continue" "echo MARK\n" "info registers rip rsp rdi eflags" \
		"p/x *(unsigned long *)&counter" "p *(unsigned *)&ticks" "continue"
	wait
	grep -q "Breakpoint 1, .*serial_puts" $TMP/gdb$i || fail "gdb did not stop at serial_puts: $(cat $TMP/gdb$i)"
	sed -n '/^MARK/,$p' $TMP/gdb$i | grep -E '^(rip|rsp|rdi|eflags|\$[0-9]+) ' >$TMP/regs$i
	[ -s $TMP/regs$i ] || fail "no registers from gdb: $(cat $TMP/gdb$i)"
	[ $i = 1 ] || cmp -s $TMP/regs1 $TMP/regs$i || fail "replay $i stopped elsewhere: $(diff $TMP/regs1 $TMP/regs$i)"
	grep -q "$panic" $TMP/g.out || fail "gdb replay $i did not reach the panic: $(cat $TMP/g.out)"
done
pass "gdb on 3 replays: breakpoint before the panic with identical registers ($(tr '\n' ' ' <$TMP/regs1 | tr -s ' '))"

# A software watchpoint steps the guest across points where the recording delivered interrupts:
# the replay hands each interrupt over (the step ends in the handler) and still reaches the end.
port=$(free_port)
timeout 120 "$DHYVE" -o replay=$TMP/rt -G w$port rt </dev/null >$TMP/g.out 2>$TMP/g.err &
PIDS+=($!)
wait_for_text $TMP/g.err "gdb stub listening on 127.0.0.1:$port"
run_gdb $TMP/rt/kernel $TMP/gdbw "watch *(unsigned *)&ticks" "continue" "continue" "continue" "delete" "continue"
wait
grep -q "New value = 3" $TMP/gdbw || fail "watchpoint on ticks did not trigger 3 times: $(cat $TMP/gdbw)"
[ "$(cat $TMP/g.out)" = "$line" ] || fail "replay with a watchpoint printed '$(cat $TMP/g.out)', recorded '$line': $(grep -v "^ \|^Code\|^=>" $TMP/g.err | tail -3) gdb: $(tail -3 $TMP/gdbw)"
expect_grep "replay reached the recorded end: $recorded matched" $TMP/g.err
pass "a watchpoint stepping across delivered interrupts: ticks 0->1->2->3 seen, the replay still reaches the recorded end"

# A developer who changes the guest during a replay makes it diverge: the replay names the exit,
# shows expected and actual, and stops in gdb there (SIGTRAP); the VM then ends with status 4.
port=$(free_port)
timeout 120 "$DHYVE" -o replay=$TMP/rt -G w$port rt </dev/null >$TMP/g.out 2>$TMP/g.err &
PIDS+=($!)
wait_for_text $TMP/g.err "gdb stub listening on 127.0.0.1:$port"
run_gdb $TMP/rt/kernel $TMP/gdbd "break on_rtc" "continue" "set var *(unsigned long *)&counter = *(unsigned long *)&counter + 12345" "delete" "continue" \
	"echo MARK\n" "info registers rip" "kill"
status=0
wait $! || status=$?
grep -q "SIGTRAP" $TMP/gdbd || fail "gdb saw no stop at the divergence: $(cat $TMP/gdbd)"
grep -Eq "replay diverged at exit #[0-9]+ \(log event [0-9]+\)" $TMP/g.err || fail "no divergence report: $(cat $TMP/g.err)"
grep -q "code at the recorded rip" $TMP/g.err || fail "divergence report without code: $(cat $TMP/g.err)"
[ "$status" = 4 ] || fail "diverged replay: status $status"
pass "poked by gdb: $(grep -Eo 'replay diverged at exit #[0-9]+[^:]*: [^(]*' $TMP/g.err | head -1)"
