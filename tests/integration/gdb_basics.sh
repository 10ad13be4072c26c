# The gdb stub with the real gdb: vCPUs as named threads, registers (general, control, SSE),
# memory against the ELF image, software and hardware breakpoints hit again and again, stepi by
# exactly one instruction, register and memory writes, monitor commands, and a detach after
# which the guest runs on and gdb can attach again.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
source "$(dirname "$0")/../gdb_lib.sh"
require_kvm
require_gdb
ELF=$GUESTS/gdbtest.elf
tick=$(sym $ELF gdb_tick)
input=$(sym $ELF gdb_input)
out=$TMP/gdb.out

start_vm gdbvm $ELF 2
wait_for_text $TMP/gdbvm.con "gdbtest: ready"

run_gdb $ELF $out "info threads" "echo MARK-REGS\n" "info registers rip cr3 fs_base efer" "p \$xmm0" \
	"echo MARK-MEM\n" "x/4xb $tick" "echo MARK-END\n"
expect_grep 'Thread 1 "vCPU 0"' $out
expect_grep 'Thread 2 "vCPU 1"' $out
pass "info threads: vCPU 0 and vCPU 1 by name"
grep -Eq '^cr3 +0x2000 ' $out || fail "cr3 is not the loader's 0x2000: $(cat $out)"
grep -Eq '^fs_base +0x0 ' $out || fail "no fs_base: $(cat $out)"
grep -Eq '^rip +0x1[0-9a-f]{5} ' $out || fail "rip not in the guest's code: $(cat $out)"
grep -q 'v4_int32 = {' $out || fail "p \$xmm0 printed no vector: $(cat $out)"
pass "registers: rip, cr3, fs_base, efer, xmm0"
want=$(python3 - "$ELF" "$tick" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
addr = int(sys.argv[2], 16)
phoff, = struct.unpack_from("<Q", data, 0x20)
phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
for i in range(phnum):
    typ, flags, off, vaddr, paddr, filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
    if typ == 1 and vaddr <= addr < vaddr + filesz:
        print(" ".join("0x%02x" % b for b in data[off + addr - vaddr:off + addr - vaddr + 4]))
PY
)
got=$(sed -n '/MARK-MEM/,/MARK-END/p' $out | grep '<gdb_tick>:' | cut -d: -f2 | xargs)
[ -n "$want" ] && [ "$got" = "$want" ] || fail "x/4xb $tick: '$got', the ELF has '$want'"
pass "x/4xb $tick matches the ELF image ($got)"

# Software breakpoint, three hits in a row: each continue steps over it and runs one round.
run_gdb $ELF $out "break *$tick" "continue" "p/x \$pc" "p/x \$rdi" "continue" "p/x \$rdi" "continue" "p/x \$rdi" \
	"x/4xb $tick" "delete"
hits=$(count_lines $out "hit Breakpoint 1, $(printf '0x%016x' $tick)")
[ "$hits" = 3 ] || fail "software breakpoint hit $hits times, expected 3: $(cat $out)"
rdis=($(grep -E '^\$[0-9]+ = 0x' $out | sed -n '2,4p' | awk '{print $3}'))
(( rdis[1] == rdis[0] + 1 && rdis[2] == rdis[1] + 1 )) || fail "rounds between hits: ${rdis[*]} (expected consecutive)"
grep -q "<gdb_tick>:	$(echo $want | sed 's/ /\t/g')" $out || fail "x/4xb at a stop does not show the original bytes: $(cat $out)"
pass "break/continue: 3 hits at $tick in consecutive rounds (${rdis[*]})"

# Hardware breakpoint (DR0 + USE_HW_BP): continue disarms, steps and re-arms.
hb=$((tick + 20))
run_gdb $ELF $out "hbreak *$hb" "continue" "continue" "continue" "delete"
hits=$(count_lines $out "hit Breakpoint 1, $(printf '0x%016x' $hb)")
[ "$hits" = 3 ] || fail "hardware breakpoint hit $hits times, expected 3: $(cat $out)"
expect_grep "Hardware assisted breakpoint 1" $out
pass "hbreak: 3 hits at $(printf '0x%x' $hb)"

# stepi: exactly one instruction, whatever its length.
run_gdb $ELF $out "break *$tick" "continue" "delete" "x/2i \$pc" "stepi" "echo MARK-PC\n" "p/x \$pc" "stepi" "p/x \$pc" \
	"x/2i \$pc" "stepi" "p/x \$pc"
next1=$(grep -A1 "^=> $(printf '0x%x' $tick)" $out | tail -1 | awk '{print $1}')
pcs=($(sed -n '/MARK-PC/,$p' $out | grep -E '^\$[0-9]+ = 0x' | awk '{print $3}'))
[ "${pcs[0]}" = "$next1" ] || fail "stepi from $tick went to ${pcs[0]}, the next instruction is $next1: $(cat $out)"
next3=$(grep -A1 "^=> ${pcs[1]}" $out | tail -1 | awk '{print $1}')
[ "${pcs[2]}" = "$next3" ] || fail "stepi from ${pcs[1]} went to ${pcs[2]}, expected $next3"
pass "stepi: $tick -> ${pcs[0]} -> ${pcs[1]} -> ${pcs[2]}, one instruction each"

# Writes: a register and guest memory (the guest reads gdb_input every round).
run_gdb $ELF $out "set var \$rbx = 0x1234abcd" "p/x \$rbx" "set var *(int*)$input = 9" "x/wx $input" \
	"set var *(int*)$input = 7" "x/wx $input"
expect_grep "= 0x1234abcd" $out
expect_grep ":	0x00000009" $out
expect_grep ":	0x00000007" $out
pass "register and memory writes read back"

# Monitor commands.
run_gdb $ELF $out "monitor help" "monitor regs" "monitor disas" "monitor disas $tick 3" "monitor phys 0x100000 16" \
	"monitor stats" "monitor bogus"
expect_grep "dhyve monitor commands:" $out
expect_grep "vCPU 1 (thread 2):" $out
expect_grep "cr0 80050033" $out
grep -q '^=> 0x0000000000100' $out || fail "monitor disas shows no current instruction: $(cat $out)"
grep -q "^=> $(printf '0x%016x' $tick): 8b 05" $out || fail "monitor disas ADDR: $(cat $out)"
grep -q '^0000000000100000: 48 c7 c4 00 f0 09 00' $out || fail "monitor phys: $(cat $out)"
grep -Eq '^vCPU 0: [0-9]+ exits' $out || fail "monitor stats: $(cat $out)"
expect_grep "unknown monitor command 'bogus'" $out
pass "monitor help, regs, disas, disas ADDR N, phys, stats, unknown"

# Detach: the guest runs on (it keeps printing), and gdb can come back.
before=$(count_lines $TMP/gdbvm.con "gdbtest: alive")
run_gdb $ELF $out "break *$tick" "continue" "detach"
expect_grep "(Remote target) detached" $out
for ((i = 0; i < 50; i++)); do
	[ "$(count_lines $TMP/gdbvm.con "gdbtest: alive")" -gt $((before + 1)) ] && break
	sleep 0.1
done
after=$(count_lines $TMP/gdbvm.con "gdbtest: alive")
[ "$after" -gt $((before + 1)) ] || fail "the guest did not run on after detach ($before, then $after alive lines)"
run_gdb $ELF $out "info threads"
expect_grep 'Thread 2 "vCPU 1"' $out
pass "detach: the guest runs on ($before -> $after alive lines), gdb attaches again"

end_vm gdbvm 1
pass "dhyvectl --destroy ends the VM after the gdb sessions (status 1)"
