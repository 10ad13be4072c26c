# Watchpoints with the real gdb: watch (Old/New value, every write caught, the writing
# instruction just executed), rwatch and awatch (the reading instruction), on the vCPU that
# touched the data. Where DR7 data breakpoints do not fire (this KVM: the stub's start-up probe
# says so) they work by single-stepping; `monitor info` says which.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
source "$(dirname "$0")/../gdb_lib.sh"
require_kvm
require_gdb
ELF=$GUESTS/gdbtest.elf
counter=$(sym $ELF gdb_counter)
input=$(sym $ELF gdb_input)
tick=$(sym $ELF gdb_tick)
out=$TMP/gdb.out

start_vm watchvm $ELF 2
wait_for_text $TMP/watchvm.con "gdbtest: ready"

run_gdb $ELF $out "watch *(int*)$counter" "continue" "continue" "continue" "x/i \$pc" "delete" "monitor info"
n=$(count_lines $out 'hit Hardware watchpoint 1: *(int*)')
[ "$n" = 3 ] || fail "watch stopped $n times, expected 3: $(cat $out)"
olds=($(awk '/^Old value = /{print $4}' $out))
news=($(awk '/^New value = /{print $4}' $out))
for i in 0 1 2; do
	(( news[i] == olds[i] + 1 )) || fail "watch $i: old ${olds[i]}, new ${news[i]}"
	(( i == 0 || olds[i] == news[i - 1] )) || fail "watch missed a write between stops ${olds[*]} / ${news[*]}"
done
# The stop comes right after the writing instruction (mov %ebx, gdb_counter(%rip)).
prev=$(objdump -d $ELF | awk -v c="${counter#0x}" '$0 ~ "# " c " <gdb_counter>" {sub(":", "", $1); print $1}')
[ -n "$prev" ] || fail "no store to gdb_counter in the guest"
stop_pc=$(grep -E '^=> 0x' $out | awk '{print $2}')
len=$(objdump -d $ELF | awk -v a="$prev:" '$1 == a {n = 0; for (i = 2; i <= NF && $i ~ /^[0-9a-f][0-9a-f]$/; i++) n++; print n}')
(( stop_pc == 16#$prev + len )) || fail "watch stopped at $stop_pc, not after the store at 0x$prev (+$len)"
grep -Eq '^watchpoints: (debug registers|single-stepping)' $out || fail "monitor info: $(cat $out)"
pass "watch: 3 stops, Old/New ${olds[*]} -> ${news[*]}, stop after the store ($stop_pc); $(grep '^watchpoints:' $out)"

run_gdb $ELF $out "rwatch *(int*)$input" "continue" "continue" "x/i \$pc" "delete"
n=$(count_lines $out 'hit Hardware read watchpoint 1: *(int*)')
[ "$n" = 2 ] || fail "rwatch stopped $n times, expected 2: $(cat $out)"
expect_grep "Value = 7" $out
# The reading instruction is gdb_tick's first (mov gdb_input(%rip), %eax): the stop is after it.
grep -q "^=> $(printf '0x%x' $((tick + 6))) <gdb_tick+6>" $out || fail "rwatch stop is not after the read: $(cat $out)"
pass "rwatch: 2 stops right after the read, Value = 7"

run_gdb $ELF $out "awatch *(int*)$input" "continue" "delete" "watch *(int*)$counter" "awatch *(int*)$input" \
	"continue" "continue" "delete"
n=$(count_lines $out 'hit Hardware access (read/write) watchpoint')
[ "$n" -ge 2 ] || fail "awatch stopped $n times: $(cat $out)"
n=$(count_lines $out 'hit Hardware watchpoint 2')
[ "$n" -ge 1 ] || fail "watch with awatch set never stopped: $(cat $out)"
pass "awatch, and watch + awatch together"

# Breakpoints keep working while watchpoints make the vCPU step.
run_gdb $ELF $out "watch *(int*)$counter" "break *$tick" "continue" "continue" "continue" "delete"
n=$(count_lines $out "hit Breakpoint 2, $(printf '0x%016x' $tick)")
m=$(count_lines $out "hit Hardware watchpoint 1")
(( n >= 1 && m >= 1 )) || fail "breakpoint ($n) and watchpoint ($m) did not both stop: $(cat $out)"
pass "breakpoint and watchpoint together ($n breakpoint, $m watchpoint stops)"

end_vm watchvm 1
