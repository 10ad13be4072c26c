# PCI bus 0 as a guest sees it: guests/pcienum.elf scans it through 0xcf8/0xcfc, prints every
# function and compares ECAM with mechanism #1; the devices of -s appear, and only they.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
out=$TMP/out err=$TMP/err
K=$GUESTS/pcienum.elf

run_dhyve $out $err -s 0:0,hostbridge -s 3:0,lpc -s 31,lpc -l com1,stdio -o kernel=$K vm0
expect_status 1 "pcienum"
cat >$TMP/want <<'WANT'
pci 00:00.0 1275:1275 class 060000
pci 00:03.0 8086:7000 class 060100
pci 00:1f.0 8086:7000 class 060100
pcienum: 3 functions, ecam matches
WANT
diff -u $TMP/want $out >$TMP/diff || fail "pcienum output differs: $(cat $TMP/diff)"
pass "hostbridge at 0:0 and lpc at 3 and 31 through mechanism #1; ECAM agrees"

# A second function sets the multi-function bit, so a scan finds 5.2 behind 5.0.
run_dhyve $out $err -s 0,amd_hostbridge -s 5:0,lpc -s 5:2,hostbridge -l com1,stdio -o kernel=$K vm0
expect_status 1 "pcienum, multi-function slot"
expect_grep "pci 00:00.0 1022:7432 class 060000" $out
expect_grep "pci 00:05.0 8086:7000 class 060100" $out
expect_grep "pci 00:05.2 1275:1275 class 060000" $out
expect_grep "pcienum: 3 functions, ecam matches" $out
pass "amd_hostbridge; function 5.2 found through the multi-function bit"

# No -s: the bus is there (config mechanism #1 answers) but empty.
run_dhyve $out $err -l com1,stdio -o kernel=$K vm0
expect_status 1 "pcienum, no slots"
expect_grep "pcienum: 0 functions" $out
pass "empty bus 0"

# 0xcf9 sits inside the 0xcf8 register: with the PCI bus in place a reset still works.
run_dhyve $out $err -s 0:0,hostbridge -s 31,lpc -l com1,stdio -o kernel=$GUESTS/reset.elf vm0
expect_status 0 "reset through 0xcf9 with PCI devices"
pass "reset through 0xcf9 beside the PCI config ports"

# Only bus 0 exists.
run_dhyve $out $err -s 1:0:0,lpc -l com1,stdio -o kernel=$K vm0
[ "$status" != 0 ] && [ "$status" -lt 128 ] || fail "-s 1:0:0,lpc exited $status (expected a refusal)"
expect_grep "dhyve: " $err
expect_grep "only PCI bus 0" $err
pass "refused: a device on bus 1"

# virtio-blk on a raw file shows up as a modern virtio device; a missing image or an unknown
# option is refused before the guest runs.
truncate -s 16M $TMP/disk.img
run_dhyve $out $err -s 0:0,hostbridge -s 4:0,virtio-blk,$TMP/disk.img,ro -s 31,lpc -l com1,stdio -o kernel=$K vm0
expect_status 1 "pcienum with virtio-blk"
expect_grep "pci 00:04.0 1af4:1042 class 018000" $out
pass "virtio-blk at 4:0 (1af4:1042, mass storage)"
run_dhyve $out $err -s 4:0,virtio-blk,$TMP/missing.img -l com1,stdio -o kernel=$K vm0
expect_status 4 "virtio-blk on a missing image"
expect_grep "missing.img: No such file or directory" $err
run_dhyve $out $err -s 4:0,virtio-blk,$TMP/disk.img,bogus=1 -l com1,stdio -o kernel=$K vm0
expect_status 4 "virtio-blk with an unknown option"
expect_grep "bogus" $err
pass "virtio-blk refuses a missing image and an unknown option"
