# virtio-blk from inside a guest: guests/vblkread.elf drives the disk through guests/virtio_guest.c
# (modern capabilities, feature negotiation, a split queue) and prints what it read; the host
# checks it against the image file, and finds in the file what the guest wrote.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
out=$TMP/out err=$TMP/err
K=$GUESTS/vblkread.elf
img=$TMP/disk.img

# 1 MiB of known bytes; the checksum the guest must print is FNV-1a over the first 64 sectors.
python3 - "$img" <<'PY'
import random, sys
r = random.Random(5)
open(sys.argv[1], "wb").write(bytes(r.getrandbits(8) for _ in range(1 << 20)))
PY
fnv() {
	python3 - "$1" "$2" "$3" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()[int(sys.argv[2]):int(sys.argv[2]) + int(sys.argv[3])]
h = 2166136261
for b in d:
    h = ((h ^ b) * 16777619) & 0xffffffff
print("0x%08x" % h)
PY
}
want=$(fnv "$img" 0 32768)
pattern_in_file() {
	python3 - "$1" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()[64 * 512:72 * 512]
sys.exit(0 if d == bytes((i ^ (i >> 8) ^ 0xa5) & 0xff for i in range(4096)) else 1)
PY
}
pattern_in_file "$img" && fail "the pattern is in the image before the guest ran"

run_dhyve $out $err -m 64M -s 0,hostbridge -s 3,virtio-blk,$img -l com1,stdio -o kernel=$K vm0
expect_status 1 "vblkread"
expect_grep "vblkread: capacity 2048 sectors" $out
expect_grep "vblkread: read sectors 0-63 status ok fnv1a $want" $out
pass "the guest read 64 sectors through virtio-blk and its checksum ($want) matches the file"
expect_grep "vblkread: write sectors 64-71 status 0 flush status 0 read back status 0 matches" $out
pattern_in_file "$img" || fail "sectors 64-71 of the image do not hold what the guest wrote"
pass "write, flush and read-back: the guest's bytes are in the image file"
expect_grep "vblkread: id status 0 'disk.img'" $out
expect_grep "vblkread: read past the end status 1" $out
expect_grep "vblkread: device status 15" $out
pass "GET_ID gives the image name; a read past the end is an I/O error and the device stays usable"
expect_grep "vblkread: intx isr 1 msix read status 0 pending while masked 1 after unmask 0 isr 0" $out
pass "MSI-X: a completion on a masked vector sets its pending bit, not the ISR; unmasking sends it (KVM_SIGNAL_MSI)"

# Read-only: the same reads, the write refused (status 1), the file untouched.
python3 - "$img" <<'PY'
import sys
f = open(sys.argv[1], "r+b"); f.seek(64 * 512); f.write(bytes(4096)); f.close()
PY
before=$(fnv "$img" 0 1048576)
run_dhyve $out $err -m 64M -s 0,hostbridge -s 3,virtio-blk,$img,ro -l com1,stdio -o kernel=$K vm0
expect_status 1 "vblkread, ro"
expect_grep "vblkread: read sectors 0-63 status ok fnv1a $want" $out
expect_grep "vblkread: write sectors 64-71 status 1 " $out
expect_grep " read back status 0 differs" $out
[ "$(fnv "$img" 0 1048576)" = "$before" ] || fail "a read-only disk changed"
pass "ro: reads work, the write is refused with IOERR, the file is unchanged"

# A disk too small for the write test: the guest says so (capacity from the config space).
truncate -s 4096 $TMP/small.img
run_dhyve $out $err -m 64M -s 0,hostbridge -s 3,virtio-blk,$TMP/small.img -l com1,stdio -o kernel=$K vm0
expect_status 1 "vblkread, 8-sector disk"
expect_grep "vblkread: capacity 8 sectors" $out
pass "an 8-sector disk reports capacity 8"
