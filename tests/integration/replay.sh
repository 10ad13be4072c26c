# Record and replay on real KVM: a guest whose checksum depends on exactly where 192 RTC
# interrupts land in a busy loop (plus console input and the CMOS clock) is recorded once and
# replayed REPLAY_RUNS times (default 20) with the same output, exits and async points; a guest
# whose panic depends on interrupt timing replays to the same panic; real gdb stops at the same
# place with the same registers in every replay; damaged, truncated and tampered bundles are
# refused or reported as divergence.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
source "$(dirname "$0")/../gdb_lib.sh"
require_kvm
RUNS=${REPLAY_RUNS:-20}
out=$TMP/out err=$TMP/err

# record NAME KERNEL DIR INPUT: a run with INPUT on the console; sets $status.
record() {
	status=0
	printf '%s' "$4" | timeout 60 "$DHYVE" -m 64M -l com1,stdio -o kernel="$2" -o record="$3" "$1" \
		>$TMP/$1.rec.out 2>$TMP/$1.rec.err || status=$?
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

# --- the tick guest: record once --------------------------------------------------------------
record rt $GUESTS/replaytick.elf $TMP/rt "hello replay"
[ "$status" = 1 ] || fail "recording replaytick: status $status: $(cat $TMP/rt.rec.err)"
line=$(grep '^replaytick: ticks 192 checksum' $TMP/rt.rec.out) || fail "no checksum line: $(cat $TMP/rt.rec.out)"
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
grep -q '^# totals: config=1 exit=[0-9]* io-read=[0-9]* .*irq=[0-9]* .*async=[0-9]* .*end=1' $TMP/dump ||
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
