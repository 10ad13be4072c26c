# Checkpoint, suspend and resume (dhyvectl --checkpoint/--suspend, dhyve -r) with
# guests/snapcount.elf, whose output depends only on its state (RAM, registers, irqchip, RTC,
# virtio-blk queue), never on timing: a resumed run must print exactly the rest of an
# uninterrupted run. Then snapshots that must be refused, each with its reason.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
K=$GUESTS/snapcount.elf
img=$TMP/disk.img
python3 - "$img" <<'PY'
import random, sys
r = random.Random(8)
open(sys.argv[1], "wb").write(bytes(r.getrandbits(8) for _ in range(64 * 512)))
PY
ARGS=(-m 64M -s 0,hostbridge -s 3,virtio-blk,$img -l com1,stdio -o kernel=$K)

# The whole run, never interrupted.
run_dhyve $TMP/full.out $TMP/full.err "${ARGS[@]}" sc
expect_status 1 "snapcount"
grep -q '^snapcount: done, sum 0x' $TMP/full.out || fail "snapcount did not finish: $(cat $TMP/full.out $TMP/full.err)"
[ "$(grep -c '^snapcount: step' $TMP/full.out)" = 24 ] || fail "snapcount: not 24 steps: $(cat $TMP/full.out)"

# start_bg NAME OUT ERR: dhyve in the background; waits for step 4 (the run is ~3 s long).
start_bg() {
	timeout 60 "$DHYVE" "${ARGS[@]}" "$1" </dev/null >"$2" 2>"$3" &
	bgpid=$!
	PIDS+=($bgpid)
	wait_for_text "$2" "snapcount: step 4 " 20
}

# --- checkpoint: the VM runs on to the same end; the snapshot resumes to the same end ---
start_bg ck $TMP/ck.out $TMP/ck.err
(cd $TMP && "$DHYVECTL" --vm=ck --checkpoint=ck.snap) >$TMP/ctl.out 2>&1 || fail "--checkpoint: $(cat $TMP/ctl.out)"
expect_grep "ck: checkpoint written to $TMP/ck.snap" $TMP/ctl.out
st=0; wait $bgpid || st=$?
[ "$st" = 1 ] || fail "checkpointed VM: exit status $st: $(cat $TMP/ck.err)"
cmp -s $TMP/ck.out $TMP/full.out || fail "a checkpoint changed the run: $(diff $TMP/full.out $TMP/ck.out)"
pass "checkpoint: the VM ran on to the same output"

run_dhyve $TMP/r1.out $TMP/r1.err -r $TMP/ck.snap
expect_status 1 "resume from checkpoint"
expect_grep "ck: resumed from $TMP/ck.snap" $TMP/r1.err
grep -q '^snapcount: step' $TMP/r1.out || fail "resume: no step left to run (the checkpoint came too late?): $(cat $TMP/r1.out)"
[ "$(tail -c "$(stat -c %s $TMP/r1.out)" $TMP/full.out)" = "$(cat $TMP/r1.out)" ] ||
	fail "resumed output is not the rest of the uninterrupted run: $(cat $TMP/r1.out)"
pass "resume from a checkpoint printed the rest of the run ($(grep -c step $TMP/r1.out) steps)"
# Twice from the same file, under another name given on the command line: the same again.
run_dhyve $TMP/r2.out $TMP/r2.err -r $TMP/ck.snap other
expect_status 1 "second resume"
expect_grep "other: resumed" $TMP/r2.err
cmp -s $TMP/r1.out $TMP/r2.out || fail "two resumes differ: $(diff $TMP/r1.out $TMP/r2.out)"
pass "a second resume (named 'other') printed the same"

# --- suspend: the VM stops; what it printed and what the resumed run prints make the whole run ---
start_bg su $TMP/su.out $TMP/su.err
"$DHYVECTL" --vm=su --suspend=$TMP/su.snap >$TMP/ctl.out 2>&1 || fail "--suspend: $(cat $TMP/ctl.out)"
expect_grep "the VM has stopped" $TMP/ctl.out
st=0; wait $bgpid || st=$?
[ "$st" = 1 ] || fail "suspended VM: exit status $st: $(cat $TMP/su.err)"
expect_grep "suspended to a snapshot" $TMP/su.err
grep -q 'snapcount: done' $TMP/su.out && fail "the suspended VM ran on to its end"
run_dhyve $TMP/r3.out $TMP/r3.err -r $TMP/su.snap
expect_status 1 "resume from suspend"
cat $TMP/su.out $TMP/r3.out >$TMP/joined.out
cmp -s $TMP/joined.out $TMP/full.out || fail "suspend + resume != the whole run: $(diff $TMP/full.out $TMP/joined.out)"
pass "suspend, then resume: together exactly the uninterrupted run"

# --- two vCPUs (guests/gdbsmp.elf counts on both, forever): both run on after a resume ---
timeout 60 "$DHYVE" -c 2 -m 64M -l com1,stdio -o kernel=$GUESTS/gdbsmp.elf smp </dev/null >$TMP/smp.out 2>$TMP/smp.err &
bgpid=$!
PIDS+=($bgpid)
wait_for_text $TMP/smp.out "APs up: 1" 20
"$DHYVECTL" --vm=smp --suspend=$TMP/smp.snap >$TMP/ctl.out 2>&1 || fail "--suspend (SMP): $(cat $TMP/ctl.out)"
wait $bgpid || true
timeout 60 "$DHYVE" -r $TMP/smp.snap </dev/null >$TMP/smp2.out 2>$TMP/smp2.err &
bgpid=$!
PIDS+=($bgpid)
wait_for_text $TMP/smp2.err "resumed from" 20
rax() { "$DHYVECTL" --vm=smp --get-all | awk -v r="rax[$1]" '$1 == r { print $2 }'; }
a0=$(rax 0) a1=$(rax 1)
sleep 0.5
b0=$(rax 0) b1=$(rax 1)
"$DHYVECTL" --vm=smp --destroy >/dev/null
wait $bgpid || true
[ -n "$a0" ] && [ -n "$a1" ] && [ "$a0" != "$b0" ] && [ "$a1" != "$b1" ] ||
	fail "SMP resume: both vCPUs should count on: rax[0] $a0 -> $b0, rax[1] $a1 -> $b1 ($(cat $TMP/smp2.err))"
pass "two vCPUs suspended and resumed: both count on"

# --- refusals: each names its reason, and no guest runs ---
refuse() { # refuse WHAT EXPECTED_TEXT ARGS...
	local what=$1 text=$2
	shift 2
	run_dhyve $TMP/bad.out $TMP/bad.err "$@"
	[ "$status" = 4 ] || fail "$what: exit status $status, expected 4: $(cat $TMP/bad.err)"
	expect_grep "$text" $TMP/bad.err
	[ -s $TMP/bad.out ] && fail "$what: the guest ran: $(cat $TMP/bad.out)"
	pass "$what refused: $(head -1 $TMP/bad.err)"
}
size=$(stat -c %s $TMP/su.snap)
head -c $((size / 2)) $TMP/su.snap >$TMP/trunc.snap
refuse "a truncated snapshot" "truncated" -r $TMP/trunc.snap
cp $TMP/su.snap $TMP/damaged.snap
printf '\xff' | dd of=$TMP/damaged.snap bs=1 seek=$((size - 200)) conv=notrunc status=none
refuse "a damaged snapshot" "damaged: " -r $TMP/damaged.snap
python3 - $TMP/su.snap $TMP/foreign.snap <<'PY'
import sys, zlib, struct
d = bytearray(open(sys.argv[1], "rb").read())
d[24:72] = b"dhyve-0123456789ab".ljust(48, b"\0")
d[76:80] = struct.pack("<I", zlib.crc32(bytes(d[:76])))
open(sys.argv[2], "wb").write(d)
PY
refuse "another build's snapshot" "made by another dhyve build ('dhyve-0123456789ab'" -r $TMP/foreign.snap
refuse "a file that is no snapshot" "not a dhyve snapshot" -r $K
refuse "a missing snapshot" "No such file" -r $TMP/nonexistent.snap
refuse "a snapshot with other RAM" "lies outside this VM's RAM" -r $TMP/su.snap -m 32M
cp $TMP/su.snap $TMP/before_touch.snap
touch -d '2001-01-01' $img
refuse "a snapshot whose disk changed" "pci.0.3.0: disk image $img changed since the snapshot" -r $TMP/su.snap
echo "all snapshot tests passed"
