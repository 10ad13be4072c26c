# Every kind of bad input gets "dhyve: <what>: <why>" and a non-zero status, never a crash:
# flags, names, sizes, slots, back-ends, config files and kernel images.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
out=$TMP/out err=$TMP/err
K=$GUESTS/hello.elf

# expect_refused "WHAT THE MESSAGE MUST SAY" ARGS...
expect_refused() {
	local want=$1
	shift
	run_dhyve $out $err "$@"
	[ "$status" != 0 ] && [ "$status" -lt 128 ] || fail "dhyve $* exited $status (expected a refusal)"
	grep -q '^dhyve: ' $err || fail "dhyve $*: message does not start with 'dhyve: ': $(cat $err)"
	expect_grep "$want" $err
	echo "ok: refused: dhyve $* -> $(head -1 $err)"
}

# Command line: needs no KVM, checked before the VM is created.
expect_refused "unknown device emulation 'bogus'" -s 3,bogus -o kernel=$K vm0
expect_refused "not implemented in this build yet" -s 1:0,virtio-rnd -o kernel=$K vm0
expect_refused "already used" -s 3,lpc -s 3,hostbridge -o kernel=$K vm0
expect_refused "slot 0-31" -s 32,lpc -o kernel=$K vm0
expect_refused "not a slot number" -s x,lpc -o kernel=$K vm0
expect_refused "not a size" -m lots -o kernel=$K vm0
expect_refused "between 2M and 1T" -m 1M -o kernel=$K vm0
expect_refused "at least one vCPU" -c 0 -o kernel=$K vm0
expect_refused "must equal cpus" -c cpus=4,sockets=3 -o kernel=$K vm0
expect_refused "longer than 31 characters" -o kernel=$K abcdefghijabcdefghijabcdefghijXY
expect_refused "may not contain" -o kernel=$K "a/b"
expect_refused "no VM name given" -o kernel=$K
expect_refused "no kernel to boot" vm0
expect_refused "unknown option" -Z -o kernel=$K vm0
expect_refused "needs an argument" -o kernel=$K vm0 -m
expect_refused "unexpected argument" -o kernel=$K vm0 extra
expect_refused "unknown LPC device 'com3'" -l com3,stdio -o kernel=$K vm0
expect_refused "expected name=value" -o novalue -o kernel=$K vm0
expect_refused "not a number" -o debugexit.port=0x10000 -o kernel=$K vm0
printf 'cpus=2\nthis line is bad\n' >$TMP/bad.conf
expect_refused "bad.conf:2" -k $TMP/bad.conf -o kernel=$K vm0
expect_refused "No such file" -k $TMP/missing.conf vm0

# Everything below creates a VM.
require_kvm
expect_refused "unknown back-end" -l com1,bogus -o kernel=$K vm0
expect_refused "com1" -l com1,unix=/nonexistent-dir/sock -o kernel=$K vm0
expect_refused "debugexit.port=0x3f8" -l com1,stdio -o debugexit.port=0x3f8 -o kernel=$K vm0

# Kernel images: missing, a directory, empty, random bytes, truncated ELF, ELF whose segment
# lies outside RAM.
expect_refused "missing.elf" -o kernel=$TMP/missing.elf vm0
expect_refused "$TMP" -o kernel=$TMP vm0
: >$TMP/empty.elf
expect_refused "empty.elf" -o kernel=$TMP/empty.elf vm0
head -c 4096 /dev/urandom >$TMP/random.bin
expect_refused "random.bin" -o kernel=$TMP/random.bin vm0
head -c 100 $K >$TMP/truncated.elf
expect_refused "truncated.elf" -o kernel=$TMP/truncated.elf vm0
head -c 4200 $K >$TMP/cut.elf # the segment is file bytes 0x1000-0x1171
expect_refused "cut.elf" -o kernel=$TMP/cut.elf vm0
# hello.elf with its segment's p_paddr (ELF64 phdr 0 at 0x40, p_paddr at +0x18) moved to 256 MiB.
cp $K $TMP/far.elf
printf '\x00\x00\x00\x10\x00\x00\x00\x00' | dd of=$TMP/far.elf bs=1 seek=88 conv=notrunc status=none
expect_refused "outside guest RAM" -m 64M -o kernel=$TMP/far.elf vm0

# Linux bzImages: a header with Debian's init_size (64 MiB) at 16 MiB in 32 MiB of RAM, an old
# protocol, an initrd with a kernel that is no bzImage, a missing initrd.
mkbz() { # mkbz FILE VERSION
	python3 - "$1" "$2" <<'PY'
import struct, sys
img = bytearray(4 * 512 + 0x400)
img[0x1f1] = 3
img[0x201] = 0x6a
img[0x202:0x206] = b"HdrS"
struct.pack_into("<H", img, 0x206, int(sys.argv[2], 16))
img[0x211] = 1
struct.pack_into("<I", img, 0x22c, 0x7fffffff)
struct.pack_into("<H", img, 0x236, 1)
struct.pack_into("<I", img, 0x238, 0x7ff)
struct.pack_into("<QI", img, 0x258, 0x1000000, 0x4000000)
open(sys.argv[1], "wb").write(img)
PY
}
mkbz $TMP/big.bz 0x20f
expect_refused "big.bz: kernel does not fit" -m 32M -o kernel=$TMP/big.bz vm0
mkbz $TMP/old.bz 0x205
expect_refused "old.bz: Linux boot protocol 2.05 is older than 2.06" -o kernel=$TMP/old.bz vm0
printf 'x' >$TMP/initrd.img
expect_refused "only be given with a Linux bzImage" -o kernel=$K -o initrd=$TMP/initrd.img vm0
expect_refused "initrd $TMP/missing.img" -m 128M -o kernel=$TMP/big.bz -o initrd=$TMP/missing.img vm0

# Without /dev/kvm (a private mount namespace with an empty /dev): one clear message.
if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	status=0
	unshare -m sh -c "mount -t tmpfs none /dev && exec timeout 20 '$DHYVE' -o kernel=$K vm0" </dev/null >$out 2>$err || status=$?
	[ "$status" = 4 ] || fail "without /dev/kvm: status $status"
	expect_grep "/dev/kvm: no such device" $err
	echo "ok: refused: no /dev/kvm -> $(head -1 $err)"
else
	echo "note: unshare unavailable; the missing-/dev/kvm case is not exercised here"
fi
