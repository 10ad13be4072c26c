# Opt-in (ctest label "linux"): boots a Debian kernel (bzImage, -A ACPI tables) with a busybox
# initramfs whose /init prints a marker and powers off; dhyve must end with status 1 (powered
# off) after the marker. Slow on a KVM that emulates guest ring 0 (minutes): it runs only with
# DHYVE_LINUX_TEST=1 or when ctest was asked for the label (ctest -L linux).
#
# Environment:
#   DHYVE_LINUX_KERNEL=PATH   a bzImage to boot instead of Debian's
#   DHYVE_LINUX_FLAVOUR=cloud-amd64 (default) or amd64: which Debian kernel package to fetch
#   DHYVE_LINUX_CACHE=DIR     where fetched packages and the initramfs are kept (BUILD/linux-cache)
#   DHYVE_LINUX_TIMEOUT=S     seconds for the whole boot (default 3000: it takes 20+ minutes here)
#   DHYVE_LINUX_CMDLINE=...   extra kernel arguments (default: the workarounds below)
#   DHYVE_LINUX_ARGS=...      extra dhyve arguments (e.g. "-c 2")
# The console, with each line's wall time since dhyve started, is kept in BUILD/linux_boot.log.

# Runs when asked: by the variable, or by ctest's own command line (-L linux, --label-regex linux).
asked_by_ctest() {
	local args=() i
	mapfile -d '' args </proc/$PPID/cmdline 2>/dev/null || return 1
	[[ "${args[0]##*/}" == ctest ]] || return 1
	for ((i = 1; i < ${#args[@]}; i++)); do
		case "${args[i]}" in
		-L | --label-regex) [[ "${args[i + 1]:-}" == *linux* ]] && return 0 ;;
		-L*linux*) return 0 ;;
		--label-regex=*linux*) return 0 ;;
		esac
	done
	return 1
}
if [ "${DHYVE_LINUX_TEST:-0}" != 1 ] && ! asked_by_ctest; then
	echo "SKIPPED: opt-in test (minutes long): DHYVE_LINUX_TEST=1 or ctest -L linux"
	exit 77
fi

source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
CACHE=${DHYVE_LINUX_CACHE:-$BUILD/linux-cache}
TIMEOUT=${DHYVE_LINUX_TIMEOUT:-3000}
LOG=$BUILD/linux_boot.log
MARKER=DHYVE-LINUX-BOOT-OK
mkdir -p "$CACHE"

# fetch_pkg NAME: a Debian package unpacked under $CACHE/NAME (apt-get download by name only).
fetch_pkg() {
	local name=$1
	[ -d "$CACHE/$name" ] && return 0
	(cd "$CACHE" && apt-get download "$name" >/dev/null 2>&1) ||
		fail "cannot download Debian package $name (apt-get update first?)"
	dpkg -x "$CACHE/${name}"_*.deb "$CACHE/$name" || fail "cannot unpack $name"
}

kernel=${DHYVE_LINUX_KERNEL:-}
if [ -z "$kernel" ]; then
	flavour=${DHYVE_LINUX_FLAVOUR:-cloud-amd64}
	pkg=$(apt-cache depends "linux-image-$flavour" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || fail "apt-cache knows no linux-image-$flavour (apt-get update first?)"
	fetch_pkg "$pkg"
	kernel=$(ls "$CACHE/$pkg"/boot/vmlinuz-* 2>/dev/null | head -1)
fi
[ -f "$kernel" ] || fail "no kernel image found ($kernel)"

# busybox must be static: the initramfs has no libraries.
fetch_pkg busybox-static
busybox=$CACHE/busybox-static/bin/busybox
[ -x "$busybox" ] || fail "busybox-static has no bin/busybox"

# The initramfs, as a newc cpio written here (no cpio tool needed).
initrd=$TMP/initrd.cpio
python3 - "$busybox" "$initrd" "$MARKER" <<'EOF' || fail "cannot build the initramfs"
import sys
busybox, out, marker = sys.argv[1:]
init = f"""#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox echo "{marker} uptime $(/bin/busybox cat /proc/uptime)"
/bin/busybox poweroff -f
""".encode()
entries = [("bin", 0o040755, b""), ("proc", 0o040755, b""), ("dev", 0o040755, b""),
           ("bin/busybox", 0o100755, open(busybox, "rb").read()), ("init", 0o100755, init)]
def rec(ino, name, mode, data):
    n = name.encode() + b"\0"
    h = b"070701" + b"".join(b"%08X" % v for v in (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(n), 0))
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return pad(h + n) + pad(data)
blob = b"".join(rec(i + 1, *e) for i, e in enumerate(entries)) + rec(0, "TRAILER!!!", 0, b"")
open(out, "wb").write(blob + b"\0" * (-len(blob) % 512))
EOF

# Kernel options for this kind of KVM (PLATFORM.md), honest ones that make Linux choose another
# code path, not skip a check:
#   clearcpuid=151,137  hides POPCNT (X86_FEATURE_POPCNT = 4*32+23) and SSSE3 (4*32+9): the guest
#                   sees the host's CPUID bits, but KVM fails to emulate popcnt (Linux's hweight)
#                   and the SSE state instructions (ldmxcsr in kernel_fpu_begin, which the built-in
#                   SSSE3 BLAKE2s of the random driver runs) at CPL0. dhyve's fallback completes
#                   them now, but each completion is an exit to user space; without the features
#                   Linux runs plain integer code instead. Before the fallback had them, these
#                   options were what got the kernel past them.
#   cryptomgr.notests  no boot-time self-tests of the SIMD crypto code.
#   nokaslr         the same layout every run, so RIPs in a report can be compared.
cmdline="console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 ${DHYVE_LINUX_CMDLINE-clearcpuid=151,137 cryptomgr.notests nokaslr}"

echo "kernel: $kernel"
echo "cmdline: $cmdline"
echo "console log: $LOG"
status=0
start=$(date +%s)
# shellcheck disable=SC2086
(timeout "$TIMEOUT" "$DHYVE" -A -m 512M -c 1 -s 0,hostbridge -s 31,lpc -l com1,stdio ${DHYVE_LINUX_ARGS:-} \
	-o kernel="$kernel" -o initrd="$initrd" -o cmdline="$cmdline" linuxvm </dev/null 2>&1
 echo "dhyve exit status $?") |
	perl -MTime::HiRes=time -e '$| = 1; $t0 = time; while (<STDIN>) { printf "[%7.1f s] %s", time - $t0, $_ }' >"$LOG"
status=$(sed -n 's/.*dhyve exit status \([0-9]*\)$/\1/p' "$LOG" | tail -1)
elapsed=$(($(date +%s) - start))

# Milestones, for the reader of the test output.
for m in "Linux version" "Trying to unpack rootfs" "Freeing unused kernel" "Run /init" "$MARKER" \
	"reboot: Power down" "Kernel panic" "could not emulate"; do
	line=$(grep -m1 -F "$m" "$LOG") && echo "  ${line%%]*}] $m"
done
[ "$status" = 124 ] && { tail -20 "$LOG"; fail "Linux did not power off within $TIMEOUT s (log: $LOG)"; }
grep -q "$MARKER" "$LOG" || { tail -40 "$LOG"; fail "no '$MARKER' from /init (dhyve status $status; log: $LOG)"; }
[ "$status" = 1 ] || { tail -20 "$LOG"; fail "dhyve ended with status $status, expected 1 (powered off)"; }
pass "Linux booted to /init and powered off in $elapsed s ($(basename "$kernel"))"
