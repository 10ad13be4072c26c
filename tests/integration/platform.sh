# The platform devices under real KVM: the RTC's date and time against the host's (UTC with -u,
# local time without), the CMOS memory sizes against -m, IRQ 8, and fw_cfg's items and files.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
out=$TMP/out err=$TMP/err

# rtc_seconds FILE: the guest's "rtc: YYYY-MM-DD HH:MM:SS" line as seconds since the epoch,
# read as UTC (the zone is the test's business: it compares with the same reading of host time).
# Fails (status 1, no output) when there is no such line.
rtc_seconds() {
	local t
	t=$(sed -n 's/^rtc: \([0-9-]* [0-9:]*\)$/\1/p' "$1")
	[ -n "$t" ] && date -u -d "$t" +%s
}

# check_clock WHAT TZ_FLAG...: boots rtcread.elf and checks that its clock lies between the
# host's clock (read the same way) just before and just after the run.
check_clock() {
	local what=$1 before after got
	shift
	before=$(date -u -d "$(date "$@" '+%Y-%m-%d %H:%M:%S')" +%s)
	run_dhyve $out $err -l com1,stdio $DHYVE_TZ_ARGS -o kernel=$GUESTS/rtcread.elf rtcvm
	after=$(date -u -d "$(date "$@" '+%Y-%m-%d %H:%M:%S')" +%s)
	expect_status 1 "rtcread ($what)"
	got=$(rtc_seconds $out) || fail "$what: no date from the guest: $(cat $out)"
	((got >= before && got <= after + 1)) ||
		fail "$what: the guest's RTC says $(grep '^rtc:' $out), the host said $(date -u -d @$before '+%F %T') .. $(date -u -d @$after '+%F %T')"
	pass "RTC keeps $what: $(grep '^rtc:' $out)"
}

# -u: the RTC keeps UTC.
DHYVE_TZ_ARGS=-u check_clock "UTC with -u" -u
# Without -u it keeps local time: a zone far from UTC (POSIX form, no tzdata needed) shows it.
export TZ=IST-5:30
DHYVE_TZ_ARGS= check_clock "local time by default (TZ=$TZ)"
unset TZ

# CMOS memory sizes as BIOSes read them (KiB above 1 MiB capped at 65535; 64 KiB units above
# 16 MiB below the 3 GiB PCI hole, and above 4 GiB).
check_cmos() {
	local mem=$1 expect=$2
	run_dhyve $out $err -m $mem -l com1,stdio -o kernel=$GUESTS/rtcread.elf rtcvm
	expect_status 1 "rtcread -m $mem"
	[ "$(grep '^cmos:' $out)" = "cmos: $expect" ] || fail "-m $mem: $(grep '^cmos:' $out), expected cmos: $expect"
	pass "CMOS memory sizes for -m $mem"
}
check_cmos 32M "base_kib=640 ext_kib=31744 ext2_kib=31744 above16m_64k=256 above4g_64k=0"
check_cmos 256M "base_kib=640 ext_kib=65535 ext2_kib=65535 above16m_64k=3840 above4g_64k=0"
check_cmos 3G "base_kib=640 ext_kib=65535 ext2_kib=65535 above16m_64k=48896 above4g_64k=0"
check_cmos 6G "base_kib=640 ext_kib=65535 ext2_kib=65535 above16m_64k=48896 above4g_64k=49152"

# IRQ 8: update, 1024 Hz periodic and alarm interrupts, each acknowledged through status C.
run_dhyve $out $err -l com1,stdio -o kernel=$GUESTS/rtcirq.elf rtcvm
expect_status 1 "rtcirq"
expect_grep "rtcirq: done, 0 failures" $out
pass "RTC interrupts: $(grep 'per second' $out)"

# fw_cfg: items, the file directory, and the VM's name read by DMA.
run_dhyve $out $err -c 2 -m 256M -l com1,stdio -o kernel=$GUESTS/fwcfgread.elf platvm
expect_status 1 "fwcfgread"
for line in "fw_cfg: signature=QEMU" "fw_cfg: id=3" "fw_cfg: ram_mib=256" "fw_cfg: cpus=2 max_cpus=2" \
	"fw_cfg: file etc/dhyve/name size=6 select=0x00" "fw_cfg: dma etc/dhyve/name=platvm"; do
	expect_grep "$line" $out
done
pass "fw_cfg: signature, ID with DMA, RAM size, CPUs, file directory, etc/dhyve/name by DMA"

# ACPI (-A) tables as a guest finds them in its memory (no MP table for an ELF kernel); it powers off through the FADT's
# PM1a control port with the DSDT's \_S5 value, so status 1 proves those two are right.
run_dhyve $out $err -A -c 3 -m 256M -s 0,hostbridge -s 31,lpc -l com1,stdio -o kernel=$GUESTS/acpiread.elf acpivm
expect_status 1 "acpiread -A"
for line in "mp: none" "rsdp: 0xe0000 checksum ok" "table: FACP checksum ok" \
	"table: APIC checksum ok" "table: MCFG checksum ok" "madt: 3 cpus, ioapic 0xfec00000" \
	"fadt: sci 9, pm1a_cnt 0x404, reset 0xcf9=0x6, dsdt DSDT checksum ok, _S5 5"; do
	expect_grep "$line" $out
done
pass "ACPI: $(grep -c checksum $out) tables found and checked in guest memory, power-off through FADT and \\_S5"
run_dhyve $out $err -m 64M -l com1,stdio -o kernel=$GUESTS/acpiread.elf acpivm
expect_status 1 "acpiread without -A"
expect_grep "rsdp: none" $out
expect_grep "mp: none" $out
pass "without -A: no RSDP (and no MP table: it is written for Linux bzImages only)"

# SYSCALL from ring 3 (every Linux process's first step) reaches LSTAR with RCX = the return
# address. Where it arrives in ring 3 instead of ring 0 (this software KVM: Linux's /init then
# faults at entry_SYSCALL_64), that is said, not hidden: it is the KVM's, not dhyve's.
run_dhyve $out $err -m 64M -l com1,stdio -o kernel=$GUESTS/syscall3.elf sysvm
expect_status 1 "syscall3"
expect_grep "syscall3: at LSTAR" $out
expect_grep "syscall3: done, 0 failures" $out
if grep -q "then vector" $out; then
	echo "note: this KVM runs the SYSCALL target in ring 3: $(grep 'at LSTAR' $out)"
else
	pass "SYSCALL from ring 3 arrives at LSTAR in ring 0"
fi
