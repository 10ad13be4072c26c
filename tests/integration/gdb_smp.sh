# The gdb stub on an SMP guest (the BSP starts its APs with INIT-SIPI-SIPI): every vCPU a thread,
# all-stop with the stop reported on the vCPU that caused it, stepping one vCPU while the others
# stay held (scheduler-locking), watchpoints per vCPU, and four vCPUs hitting one breakpoint.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
source "$(dirname "$0")/../gdb_lib.sh"
require_kvm
require_gdb
ELF=$GUESTS/gdbsmp.elf
bspc=$(sym $ELF bsp_counter)
apc=$(sym $ELF ap_counter)
out=$TMP/gdb.out

start_vm smpvm $ELF 2
wait_for_text $TMP/smpvm.con "gdbsmp: ready, APs up: 1"

run_gdb $ELF $out "info threads" "break ap_tick" "continue" "continue" "delete" "break bsp_tick" "continue" "delete"
grep -Eq '^ +2 +Thread 2 "vCPU 1" .* in ap_(main|tick) \(\)' $out || fail "thread 2 is not in the AP's loop: $(cat $out)"
n=$(count_lines $out 'Thread 2 "vCPU 1" hit Breakpoint 1, ')
[ "$n" = 2 ] || fail "ap_tick was hit $n times by thread 2: $(cat $out)"
expect_grep 'Thread 1 "vCPU 0" hit Breakpoint 2, ' $out
pass "breakpoints report the vCPU that hit them (ap_tick: thread 2, bsp_tick: thread 1)"

# Step vCPU 1 alone: vCPU 0 must not run meanwhile (vCont;s:2 with the others held).
run_gdb $ELF $out "break ap_tick" "continue" "delete" "set scheduler-locking step" "echo MARK\n" "x/wx $bspc" \
	"p/x \$pc" "stepi" "stepi" "stepi" "stepi" "x/wx $bspc" "p/x \$pc" "info threads"
b=($(sed -n '/MARK/,$p' $out | grep '<bsp_counter>:' | awk '{print $NF}'))
p=($(sed -n '/MARK/,$p' $out | grep -E '^\$[0-9]+ = 0x' | awk '{print $3}'))
[ ${#b[@]} = 2 ] && [ "${b[0]}" = "${b[1]}" ] || fail "bsp_counter moved while vCPU 1 stepped alone: ${b[*]}"
[ "${p[0]}" != "${p[1]}" ] || fail "vCPU 1 did not step: pc ${p[*]}"
grep -Eq '^\* 2 +Thread 2 "vCPU 1"' $out || fail "the current thread is not 2 after stepping it: $(cat $out)"
pass "scheduler-locking stepi on thread 2: pc ${p[0]} -> ${p[1]}, bsp_counter stays ${b[0]}"

run_gdb $ELF $out "watch *(int*)$apc" "continue" "continue" "delete" "watch *(int*)$bspc" "continue" "delete"
n=$(count_lines $out 'Thread 2 "vCPU 1" hit Hardware watchpoint 1')
[ "$n" = 2 ] || fail "watch ap_counter: $n stops on thread 2: $(cat $out)"
expect_grep 'Thread 1 "vCPU 0" hit Hardware watchpoint 2' $out
pass "watchpoints stop on the writing vCPU"

# Ctrl-C with both vCPUs running.
run_gdb $ELF $out "python import os, subprocess; subprocess.Popen(['sh', '-c', 'sleep 0.5; kill -INT %d' % os.getpid()])" \
	"continue" "info threads"
expect_grep "received signal SIGINT" $out
expect_grep 'Thread 2 "vCPU 1"' $out
pass "Ctrl-C stops both vCPUs"
end_vm smpvm 1

# Four vCPUs: every AP is a thread, and the APs all hit ap_tick.
start_vm smp4 $ELF 4
wait_for_text $TMP/smp4.con "gdbsmp: ready, APs up: 3"
# Which AP gets to ap_tick first after a resume is up to the host's scheduler (4 vCPU threads on
# 2 cores here), so give it enough rounds to see more than one.
conts=()
for ((i = 0; i < 40; i++)); do conts+=("continue"); done
run_gdb $ELF $out "info threads" "break ap_tick" "${conts[@]}"
for t in 1 2 3; do
	expect_grep "Thread $((t + 1)) \"vCPU $t\"" $out
done
hitters=$(grep -o 'Thread [0-9] "vCPU [0-9]" hit Breakpoint 1' $out | sort -u | wc -l)
[ "$hitters" -ge 2 ] || fail "only $hitters vCPU(s) hit ap_tick in 40 continues: $(cat $out)"
grep -q 'Thread 1 "vCPU 0" hit Breakpoint 1' $out && fail "the BSP hit ap_tick"
pass "4 vCPUs: threads 1-4, $hitters different APs hit ap_tick"
end_vm smp4 1
