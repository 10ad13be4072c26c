# AHCI through a real guest: guests/ahciread.elf finds the HBA on PCI, brings its ports up, reads
# a disk image (IDENTIFY, READ DMA EXT, READ FPDMA QUEUED), writes and reads back a sector, is refused a read past the
# end, and reads an ISO's volume descriptor on the CD (READ CAPACITY, READ(10)). The host checks
# the checksums it printed against the images, and the written bytes in the disk image.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
out=$TMP/out err=$TMP/err
K=$GUESTS/ahciread.elf

# A 1 MiB disk with a known pattern, and a small ISO 9660-shaped image: 2048-byte sectors, a
# primary volume descriptor at sector 16 and the set terminator at 17 (what a reader looks for).
python3 - "$TMP" <<'PY'
import struct, sys
d = sys.argv[1]
open(d + "/disk.img", "wb").write(bytes((i * 7 + (i >> 9)) & 0xff for i in range(1 << 20)))
iso = bytearray((i * 13 + (i >> 11)) & 0xff for i in range(64 * 2048))
pvd = bytearray(2048)
pvd[0:7] = b"\x01CD001\x01"
pvd[40:72] = b"DHYVE_TEST".ljust(32)
pvd[80:88] = struct.pack("<I", 64) + struct.pack(">I", 64)
pvd[128:132] = struct.pack("<H", 2048) + struct.pack(">H", 2048)
iso[16 * 2048:17 * 2048] = pvd
iso[17 * 2048:17 * 2048 + 7] = b"\xffCD001\x01"
open(d + "/cd.iso", "wb").write(iso)
PY
fnv() { python3 -c '
import sys
f, off, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = open(f, "rb").read()[off:off + n]
h = 2166136261
for x in b: h = ((h ^ x) * 16777619) & 0xffffffff
print("%08x" % h)' "$@"; }
written=$(python3 -c '
h = 2166136261
for i in range(512): h = ((h ^ ((i * 3 + 0x5a) & 0xff)) * 16777619) & 0xffffffff
print("%08x" % h)')

run_dhyve $out $err -s 0:0,hostbridge -s 4,ahci,hd:$TMP/disk.img,cd:$TMP/cd.iso -s 31,lpc -l com1,stdio \
	-o kernel=$K vm0
expect_status 1 "ahciread, ahci with hd and cd ports"
cat >$TMP/want <<WANT
ahci at slot 4 version 00010300 ports 2
port 0 sig 00000101
hd model DHYVEHARDDISK sectors 2048
hd read lba 0 count 8 fnv $(fnv $TMP/disk.img 0 4096)
hd ncq read lba 0 count 8 fnv $(fnv $TMP/disk.img 0 4096)
hd write lba 100 fnv $written readback ok
hd read past end: ahciread: error tfd 1451
refused
hd last sector ok
port 1 sig eb140101
cd identify packet 85c0
cd capacity 64 x 2048
cd read lba 16 count 2 fnv $(fnv $TMP/cd.iso 32768 4096) id CD001
ahciread: done
WANT
diff -u $TMP/want $out >$TMP/diff || fail "ahciread output differs: $(cat $TMP/diff)"
[ "$(fnv $TMP/disk.img 51200 512)" = "$written" ] || fail "sector 100 of the image does not hold what the guest wrote"
pass "ahci: IDENTIFY, READ DMA EXT, READ FPDMA QUEUED, WRITE DMA EXT + FLUSH + read-back (bytes in the image), IDNF past the end; CD READ CAPACITY, READ(10)"

# ahci-hd and ahci-cd: one port each, on their own slots; a read-only disk refuses the write.
python3 -c 'open("'$TMP'/disk.img", "r+b").write(bytes(range(256)) * 2)'
run_dhyve $out $err -s 0:0,hostbridge -s 2:0,ahci-hd,$TMP/disk.img,ro -s 3:0,ahci-cd,$TMP/cd.iso -s 31,lpc \
	-l com1,stdio -o kernel=$K vm0
expect_status 1 "ahciread, ahci-hd,ro and ahci-cd"
expect_grep "ahci at slot 2 version 00010300 ports 1" $out
expect_grep "hd read lba 0 count 8 fnv $(fnv $TMP/disk.img 0 4096)" $out
expect_grep "hd write lba 100 fnv $written readback FAILED" $out
expect_grep "ahciread: error tfd 0451" $out
expect_grep "ahciread: done" $out
[ "$(fnv $TMP/disk.img 51200 512)" = "$written" ] || fail "the read-only image changed"
pass "ahci-hd,ro refuses writes (ABRT), image unchanged; ahci-cd on its own slot"

# Bad configurations are refused before the guest runs.
run_dhyve $out $err -s 4,ahci -l com1,stdio -o kernel=$K vm0
expect_status 4 "ahci without ports"
expect_grep "at least one port" $err
run_dhyve $out $err -s 4,ahci-hd,$TMP/disk.img,sectorsize=1000 -l com1,stdio -o kernel=$K vm0
expect_status 4 "ahci-hd with a bad sector size"
expect_grep "sectorsize=1000" $err
run_dhyve $out $err -s 4,ahci,hd:$TMP/missing.img -l com1,stdio -o kernel=$K vm0
expect_status 4 "ahci on a missing image"
expect_grep "missing.img: No such file or directory" $err
pass "ahci refuses no ports, a bad sector size and a missing image"
