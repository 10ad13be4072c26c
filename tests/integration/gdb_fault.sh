# With gdb attached, what would end the VM becomes a stop there: an instruction neither KVM nor
# dhyve's fallback can complete (vpgatherdd at CPL0 on this KVM) a SIGILL at that instruction, a hang
# the watchdog finds a SIGTRAP; without gdb the same guest ends with status 4 and the report.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
source "$(dirname "$0")/../gdb_lib.sh"
require_kvm
require_gdb
out=$TMP/out err=$TMP/err
ELF=$GUESTS/fb_noemul.elf

run_dhyve $out $err -l com1,stdio -o kernel=$ELF vm0
if [ "$status" = 1 ] && grep -q "FAIL vpgatherdd completed" $out; then
	echo "SKIPPED: this KVM emulates vpgatherdd at CPL0, so there is no fault to stop at"
	exit 77
fi
expect_status 4 "fb_noemul without gdb"
expect_grep "Code:" $err
pass "without gdb: status 4 and the oops report"

start_vm faultvm $ELF 1 w
run_gdb "" $out "continue" "x/i \$pc" "continue" "kill"
expect_grep "received signal SIGILL" $out
grep -q "=> 0x[0-9a-f]*.*vpgatherdd" $out || fail "gdb did not stop at the vpgatherdd: $(cat $out)"
[ "$(count_lines $out 'received signal SIGILL')" = 2 ] || fail "a continue did not stop at the vpgatherdd again: $(cat $out)"
status=0
wait $vm_pid || status=$?
[ "$status" = 1 ] || fail "dhyve after kill: status $status"
expect_grep "Code:" $TMP/faultvm.err
pass "with gdb: SIGILL at the vpgatherdd (twice after a continue), the oops report on stderr, kill ends it"

# A hang the watchdog finds (ring-3 `jmp .`, which no counter sees) becomes a SIGTRAP stop there.
ELF=$GUESTS/fb_hang.elf
port=$(free_port)
timeout 120 "$DHYVE" -m 64M -l com1,file=$TMP/hang.con -o watchdog=2 -G "w$port" -o kernel=$ELF hangvm \
	</dev/null >$TMP/hang.out 2>$TMP/hang.err &
vm_pid=$!
PIDS+=($vm_pid)
wait_for_text $TMP/hang.err "gdb stub listening on 127.0.0.1:$port"
user=$(sym $ELF fb_hang_user)
run_gdb "" $out "continue" "info registers rip" "kill"
expect_grep "received signal SIGTRAP" $out
grep -Eq "^rip +$user " $out || fail "the hang stop is not at fb_hang_user ($user): $(cat $out)"
status=0
wait $vm_pid || status=$?
[ "$status" = 1 ] || fail "dhyve after kill: status $status"
expect_grep "made no progress for 2 seconds" $TMP/hang.err
pass "with gdb: the watchdog's hang becomes a SIGTRAP at the spinning instruction ($user)"
