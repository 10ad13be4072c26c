# Drives dhyvectl against a running VM: --get-stats, --get-all, --destroy, the 0600 control
# socket, a second VM with the same name refused, and errors for a VM that is not there.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
out=$TMP/out err=$TMP/err

timeout 60 "$DHYVE" -c 2 -m 64M -l com1,stdio -o kernel=$GUESTS/spin.elf spinvm </dev/null >$TMP/spin1.out 2>$TMP/spin1.err &
vm_pid=$!
PIDS+=($vm_pid)
wait_for_text $TMP/spin1.out "spin: ready"

sock=$DHYVE_RUNDIR/spinvm.sock
[ -S $sock ] || fail "no control socket at $sock"
[ "$(stat -c %a $sock)" = 600 ] || fail "socket mode $(stat -c %a $sock), expected 600"
[ "$(stat -c %a $DHYVE_RUNDIR)" = 700 ] || fail "runtime dir mode $(stat -c %a $DHYVE_RUNDIR)"
pass "control socket is 0600 in a 0700 directory"

"$DHYVECTL" --vm=spinvm --get-stats >$out 2>$err || fail "--get-stats failed: $(cat $err)"
expect_grep "vcpu0:" $out
expect_grep "vcpu1:" $out
pio1=$(awk '/^total:/{t=1} t && $1=="pio"{print $2; exit}' $out)
[ -n "$pio1" ] && [ "$pio1" -gt 0 ] || fail "no pio exits counted: $(cat $out)"
sleep 0.3
"$DHYVECTL" --vm=spinvm --get-stats >$out 2>$err || fail "--get-stats failed: $(cat $err)"
pio2=$(awk '/^total:/{t=1} t && $1=="pio"{print $2; exit}' $out)
[ "$pio2" -gt "$pio1" ] || fail "pio count did not grow ($pio1 then $pio2)"
pass "--get-stats counts port exits ($pio1, then $pio2)"

"$DHYVECTL" --vm=spinvm --get-all >$out 2>$err || fail "--get-all failed: $(cat $err)"
rip=$(awk '$1=="rip[0]"{print $2}' $out)
[ -n "$rip" ] || fail "no rip[0] in --get-all: $(cat $out)"
(( rip >= 0x100000 && rip < 0x200000 )) || fail "rip[0] $rip is not in the guest's code"
expect_grep "rip[1]" $out
expect_grep "efer[0]" $out
grep -q 'cs\[0\].*long' $out || fail "cs[0] not shown as a long-mode segment"
pass "--get-all shows both vCPUs' registers (rip[0]=$rip)"

run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/hello.elf spinvm
expect_status 4 "second VM with the same name"
expect_grep "already running" $err
pass "a second VM named spinvm is refused"

"$DHYVECTL" --vm=nosuchvm --get-stats >$out 2>$err && fail "dhyvectl on a missing VM succeeded"
expect_grep "no VM named 'nosuchvm'" $err
"$DHYVECTL" --get-stats >$out 2>$err && fail "dhyvectl without --vm succeeded"
expect_grep "--vm=NAME is required" $err
"$DHYVECTL" --vm=spinvm >$out 2>$err && fail "dhyvectl without a request succeeded"
"$DHYVECTL" --vm=spinvm --bogus >$out 2>$err && fail "dhyvectl --bogus succeeded"
expect_grep "unknown option" $err
pass "dhyvectl errors: missing VM, no --vm, no request, unknown option"

"$DHYVECTL" --vm=spinvm --destroy >$out 2>$err || fail "--destroy failed: $(cat $err)"
status=0
wait $vm_pid || status=$?
expect_status 1 "destroyed VM"
expect_grep "destroyed by dhyvectl" $TMP/spin1.err
[ ! -e $sock ] || fail "socket $sock left behind"
pass "--destroy ends the VM with status 1 and removes the socket"

# SIGTERM: the VM ends cleanly with 128+15, socket removed.
timeout 60 "$DHYVE" -m 64M -l com1,stdio -o kernel=$GUESTS/spin.elf spinvm </dev/null >$TMP/spin2.out 2>$TMP/spin2.err &
vm_pid=$!
PIDS+=($vm_pid)
wait_for_text $TMP/spin2.out "spin: ready"
kill -TERM $vm_pid
status=0
wait $vm_pid || status=$?
expect_status 143 "SIGTERM"
[ ! -e $sock ] || fail "socket $sock left behind after SIGTERM"
pass "SIGTERM ends the VM with status 143"
