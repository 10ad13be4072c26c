# Boots every test guest with dhyve on real KVM and checks its output and exit status
# (bhyve's: 0 reset, 1 powered off, 2 halted, 3 triple fault; (v<<1)|1 for debug exit).
source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
out=$TMP/out err=$TMP/err

# The issue's demo line, word for word.
run_dhyve $out $err -c 2 -m 256M -s 0:0,hostbridge -s 31,lpc -l com1,stdio -o kernel=$GUESTS/hello.elf vm0
expect_status 1 "hello"
[ "$(cat $out)" = "Hello from the dhyve guest!" ] || fail "hello printed: $(cat $out)"
expect_grep "powered off" $err
pass "hello: greeting and status 1 (powered off)"

run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/triplefault.elf vm0
expect_status 3 "triplefault"
expect_grep "triplefault: loading an empty IDT" $out
expect_grep "triple fault" $err
pass "triplefault: status 3"

run_dhyve $out $err -c 2 -l com1,stdio -o kernel=$GUESTS/halt.elf vm0
expect_status 2 "halt"
expect_grep "halt: cli; hlt" $out
expect_grep "halted" $err
pass "halt: status 2 with 2 vCPUs"

run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/reset.elf vm0
expect_status 0 "reset"
expect_grep "reset: writing" $out
pass "reset: status 0"

run_dhyve $out $err -l com1,stdio -o debugexit.port=0xf4 -o kernel=$GUESTS/debugexit.elf vm0
expect_status 85 "debugexit"
pass "debugexit: 0x2a gives status 85"
# Without the port the write goes nowhere and the guest powers off.
run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/debugexit.elf vm0
expect_status 1 "debugexit without the port"
pass "debugexit port is off by default"

run_dhyve $out $err -m 64M -l com1,stdio -o kernel=$GUESTS/mbhello.elf -o "cmdline=console=ttyS0 quiet" vm0
expect_status 1 "mbhello"
expect_grep "mbhello: magic ok" $out
expect_grep "mbhello: mem_upper=64512" $out
expect_grep "mbhello: cmdline=console=ttyS0 quiet" $out
expect_grep "mbhello: loader=dhyve" $out
pass "Multiboot ELF32: magic, memory, cmdline, loader name"

run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/mbaout.bin vm0
expect_status 1 "mbaout"
expect_grep "mbaout: magic ok" $out
pass "Multiboot a.out kludge flat binary"

# -k config file with the same settings as flags.
printf 'kernel=%s\nlpc.com1.path=stdio\ncpus=2\nmemory.size=32M\n' "$GUESTS/hello.elf" >$TMP/vm.conf
run_dhyve $out $err -k $TMP/vm.conf vm0
expect_status 1 "-k config file"
expect_grep "Hello from the dhyve guest!" $out
pass "-k config file"

# com1 to a file back-end.
run_dhyve $out $err -l com1,file=$TMP/console.log -o kernel=$GUESTS/hello.elf vm0
expect_status 1 "file back-end"
expect_grep "Hello from the dhyve guest!" $TMP/console.log
[ "$(stat -c %a $TMP/console.log)" = 600 ] || fail "console file mode $(stat -c %a $TMP/console.log)"
pass "com1 file back-end (0600)"

# CPUID as a ring-0 guest sees it: CX16 (lock cmpxchg16b fails to emulate on PVM) is hidden and
# the hypervisor bit is set. (PVM hands some other leaf-1/7 bits through whatever we set: see
# ../shared/PLATFORM.md; those are the gaps issue's to handle.)
run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/cpuid.elf vm0
expect_status 1 "cpuid"
ecx=$(sed -n 's/^cpuid\.1\.ecx=//p' $out)
[ -n "$ecx" ] || fail "cpuid guest printed no leaf 1: $(cat $out)"
(( (ecx & (1 << 13)) == 0 )) || fail "CX16 visible to the guest (leaf 1 ECX $ecx)"
(( (ecx & (1 << 31)) != 0 )) || fail "hypervisor bit clear (leaf 1 ECX $ecx)"
pass "CPUID: CX16 hidden, hypervisor bit set (leaf 1 ECX $ecx)"
