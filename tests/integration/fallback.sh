# Boots the fallback's test guests (guests/fb_*.c, smp_cx16.c) with dhyve on real KVM: the
# instructions this KVM cannot emulate at CPL0 must complete with their architectural result,
# what nothing completes must stop the VM with a report (status 4), and the watchdog must stop a
# hung vCPU (status 4) but leave idle and computing ones alone. Each guest prints PASS/FAIL
# lines and "<name>: done, N failures".
source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
out=$TMP/out err=$TMP/err

# expect_pass NAME: status 1 (powered off), no FAIL line, "NAME: done, 0 failures".
expect_pass() {
	expect_status 1 "$1"
	if grep -q "FAIL" $out; then fail "$1: $(grep FAIL $out)"; fi
	expect_grep "$1: done, 0 failures" $out
	pass "$1: $(grep -c PASS $out) checks passed"
}

run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/fb_swint.elf vm0
expect_pass fb_swint
run_dhyve $out $err -m 64M -l com1,stdio -o kernel=$GUESTS/fb_iret32.elf vm0
expect_pass fb_iret32
run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/fb_smap.elf vm0
expect_pass fb_smap
run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/fb_xsave.elf vm0
expect_pass fb_xsave
run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/fb_ud.elf vm0
expect_pass fb_ud
run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/fb_cache.elf vm0
expect_pass fb_cache
run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/fb_hypercall.elf vm0
expect_pass fb_hypercall
run_dhyve $out $err -c 2 -l com1,stdio -o kernel=$GUESTS/smp_cx16.elf vm0
expect_pass smp_cx16

# The instructions whose CPUID bits this KVM forces on guests, completed on the host CPU.
run_dhyve $out $err -l com1,stdio -o trace.file=$TMP/bitops.trace -o kernel=$GUESTS/fb_bitops.elf vm0
expect_pass fb_bitops
# ... and counted per mnemonic in the trace report: fb_bitops runs crc32 exactly 6 times.
"$BUILD/cli/dhyve-report" $TMP/bitops.trace >$TMP/report || fail "dhyve-report failed on the fb_bitops trace"
grep -Eq "^ +6 +[0-9.]+ +[0-9.]+  crc32$" $TMP/report || fail "no '6 crc32' row in the report: $(cat $TMP/report)"
grep -Eq "^ +4 +[0-9.]+ +[0-9.]+  popcnt$" $TMP/report || fail "no '4 popcnt' row in the report: $(cat $TMP/report)"
pass "fb_bitops: the trace report counts the completions per mnemonic (6 crc32, 4 popcnt)"
run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/fb_simd.elf vm0
expect_pass fb_simd
# ... and counted per mnemonic in dhyvectl --get-stats of the running VM.
timeout 60 "$DHYVE" -l com1,stdio -o kernel=$GUESTS/fb_simd.elf -o cmdline=hold simdvm </dev/null >$TMP/hold.out 2>$TMP/hold.err &
PIDS+=($!)
wait_for_text $TMP/hold.out "fb_simd: holding"
"$DHYVECTL" --vm=simdvm --get-stats >$out 2>$err || fail "--get-stats failed: $(cat $err)"
for insn in pshufb aesenc vfmadd231ps vpaddd vpternlogd vaesenc; do
	grep -Eq "^ +0 +$insn +[1-9]" $out || fail "no completed $insn in --get-stats: $(cat $out)"
done
"$DHYVECTL" --vm=simdvm --destroy >/dev/null 2>&1
pass "fb_simd: dhyvectl --get-stats counts the host-executed instructions per mnemonic"

# Nothing completes a gather at CPL0: an oops-like report and status 4, not a hang.
run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/fb_noemul.elf vm0
expect_status 4 "fb_noemul"
expect_grep "KVM could not emulate" $err
expect_grep "Code:" $err
expect_grep "vpgatherdd" $err
expect_grep "RIP:" $err
pass "fb_noemul: an instruction nothing completes stops the VM with a report (status 4)"

# The watchdog: a ring-3 jmp . (no exits, no emulated instructions) is stopped after 2 s.
start=$(date +%s)
run_dhyve $out $err -l com1,stdio -o watchdog=2 -o kernel=$GUESTS/fb_hang.elf vm0
took=$(($(date +%s) - start))
expect_status 4 "fb_hang"
expect_grep "vCPU 0 made no progress for 2 seconds" $err
expect_grep "CPL 3" $err
expect_grep "Code:" $err
expect_grep "jmp" $err
[ "$took" -le 15 ] || fail "fb_hang: the watchdog took $took s to stop a 2 s hang"
pass "fb_hang: a hung vCPU is stopped with a report after the watchdog limit ($took s)"

# ... but not with the watchdog off (0): then it runs until stopped.
status=0
timeout 4 "$DHYVE" -l com1,stdio -o watchdog=0 -o kernel=$GUESTS/fb_hang.elf vm0 </dev/null >$out 2>$err || status=$?
[ "$status" = 124 ] || fail "fb_hang with watchdog=0 ended by itself (status $status): $(cat $err)"
pass "fb_hang: watchdog=0 turns the verdict off"

# Ring-3 code computing for ~5 s and a vCPU halted for 3 s are not hangs.
run_dhyve $out $err -l com1,stdio -o watchdog=2 -o kernel=$GUESTS/fb_busy3.elf vm0
expect_pass fb_busy3
run_dhyve $out $err -l com1,stdio -o watchdog=1 -o kernel=$GUESTS/fb_idle.elf vm0
expect_pass fb_idle
