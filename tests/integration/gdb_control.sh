# The gdb stub's life cycle and robustness: a VM with -G runs normally until gdb comes; -G w holds
# every vCPU before its first instruction; Ctrl-C stops the guest promptly (within 1 s, a bound
# for "not hung"; bench/gdb_step.sh measures the latency); kill ends dhyve with status 1; a guest that powers off while gdb is attached gives gdb "exited with code"; a second
# client is refused; malformed and random packets get '-', errors or empty replies and leave the
# VM running and the stub usable; int3s never show through memory reads. Also prints the stepi
# rate through gdb.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
source "$(dirname "$0")/../gdb_lib.sh"
require_kvm
require_gdb
ELF=$GUESTS/gdbtest.elf
tick=$(sym $ELF gdb_tick)
quit=$(sym $ELF gdb_quit)
out=$TMP/gdb.out

# Without gdb the guest just runs.
start_vm freevm $ELF 2
wait_for_text $TMP/freevm.con "gdbtest: alive"
pass "with -G and no gdb attached the guest runs"

python3 $RSP $port ctrlc 1000 >$out 2>&1 || fail "$(cat $out)"
pass "Ctrl-C: $(cat $out)"
python3 $RSP $port second >$out 2>&1 || fail "$(cat $out)"
expect_grep "dhyve: gdb: refusing a second connection" $TMP/freevm.err
pass "a second connection is refused while gdb is attached"
python3 $RSP $port shadow $tick >$out 2>&1 || fail "$(cat $out)"
pass "$(cat $out)"

before=$(count_lines $TMP/freevm.con "gdbtest: alive")
python3 $RSP $port malformed >$out 2>&1 || fail "$(cat $out)"
for ((i = 0; i < 50; i++)); do
	[ "$(count_lines $TMP/freevm.con "gdbtest: alive")" -gt "$before" ] && break
	sleep 0.1
done
[ "$(count_lines $TMP/freevm.con "gdbtest: alive")" -gt "$before" ] || fail "the guest stopped after the malformed packets"
run_gdb $ELF $out "break *$tick" "continue" "delete"
expect_grep "hit Breakpoint 1, $(printf '0x%016x' $tick)" $out
pass "malformed and random packets: answered, the guest runs on, gdb still works"

# gdb killed while the guest runs under a breakpoint and a watchpoint: the stub cleans up (no
# int3 left behind to kill the guest, no single-stepping) and the guest runs on.
timeout 30 gdb -batch -nx -ex "target remote 127.0.0.1:$port" -ex "break *$((tick + 20))" \
	-ex "watch *(int*)$(sym $ELF gdb_sum)" -ex "continue" -ex "continue" -ex "continue" -ex "continue" \
	-ex "continue" -ex "continue" -ex "continue" -ex "continue" $ELF >$out 2>&1 &
gdb_pid=$!
sleep 0.5
kill -9 $gdb_pid
wait $gdb_pid 2>/dev/null
before=$(count_lines $TMP/freevm.con "gdbtest: alive")
for ((i = 0; i < 100; i++)); do
	[ "$(count_lines $TMP/freevm.con "gdbtest: alive")" -gt "$before" ] && break
	sleep 0.1
done
[ "$(count_lines $TMP/freevm.con "gdbtest: alive")" -gt "$before" ] || fail "the guest stopped after gdb was killed"
kill -0 $vm_pid || fail "dhyve died after gdb was killed: $(cat $TMP/freevm.err)"
pass "gdb killed mid-session: breakpoints and watchpoints removed, the guest runs on"

# stepi rate through the real gdb.
python3 -c 'print("python import time; t0 = time.time()"); [print("stepi") for _ in range(2000)];
print("python print(\"stepi rate: %d per second\" % (2000 / (time.time() - t0)))")' >$TMP/steps.gdb
timeout 120 gdb -batch -nx -ex "target remote 127.0.0.1:$port" -x $TMP/steps.gdb $ELF >$out 2>&1
grep -q "^stepi rate: " $out || fail "the stepi loop did not finish: $(tail -5 $out)"
pass "$(grep '^stepi rate: ' $out) (2000 stepi through gdb)"

run_gdb $ELF $out "kill"
expect_grep "(Remote target) killed" $out
status=0
wait $vm_pid || status=$?
[ "$status" = 1 ] || fail "dhyve after kill: status $status, expected 1"
expect_grep "killed by gdb" $TMP/freevm.err
pass "kill: dhyve ends with status 1 (killed by gdb)"

# -G w: nothing runs before gdb attaches; gdb finds thread 1 at the entry point.
start_vm waitvm $ELF 2 w
sleep 0.5
[ ! -s $TMP/waitvm.con ] || fail "the guest ran before gdb attached: $(cat $TMP/waitvm.con)"
entry=$(readelf -h $ELF | awk '/Entry point/ {print $4}')
run_gdb $ELF $out "info registers rip" "info threads" "break *$tick" "continue" "delete" \
	"set var *(int*)$quit = 1" "continue"
grep -Eq "^rip +$entry " $out || fail "rip at attach is not the entry point $entry: $(cat $out)"
grep -Eq '^\* 1 +Thread 1 "vCPU 0"' $out || fail "the current thread at attach is not 1: $(cat $out)"
expect_grep "hit Breakpoint 1" $out
expect_grep "(Remote target) exited with code 01" $out
status=0
wait $vm_pid || status=$?
[ "$status" = 1 ] || fail "dhyve after the guest powered off: status $status"
expect_grep "gdbtest: ready" $TMP/waitvm.con
pass "-G w: held at the entry point $entry until gdb came; power-off reported to gdb as exit code 1"
