#!/usr/bin/env bash
# bench/gdb_step: instructions single-stepped per second through real gdb (a stepi loop), with
# dhyve's stub and with QEMU's (qemu-system-x86_64 -enable-kvm -gdb) on the same Multiboot guest
# (guests/mbspin.elf), in one run; prints both and the ratio (target: dhyve >= QEMU).
# Usage: bench/gdb_step.sh [BUILD_DIR] [STEPS]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
STEPS=${2:-2000}
KERNEL=$BUILD/guests/mbspin.elf
LOOP=$(nm "$KERNEL" | awk '$3 == "mb_main" {print $1}')
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
command -v qemu-system-x86_64 >/dev/null || { echo "gdb_step: qemu-system-x86_64 missing (apt-get install qemu-system-x86)"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The stepi loop, timed inside gdb so that start-up and the way to the loop do not count.
# $1: what gets the guest to the counting loop after "target remote".
steps_per_second() {
	local port=$1 approach=$2
	cat >"$TMP/cmds" <<GDB
set pagination off
set confirm off
target remote :$port
$approach
continue
delete
shell date +%s.%N >$TMP/t0
set \$n = $STEPS
while \$n > 0
  stepi
  set \$n = \$n - 1
end
shell date +%s.%N >$TMP/t1
printf "final pc %#lx\\n", \$pc
kill
GDB
	# No symbol file: gdb would take i386 from the ELF32 and refuse both stubs' x86-64 registers.
	timeout 300 gdb -batch -nx -x "$TMP/cmds" >"$TMP/gdb.out" 2>&1 || true
	[ -s "$TMP/t1" ] || { echo "gdb_step: the stepi loop did not finish: $(tail -5 "$TMP/gdb.out")" >&2; exit 1; }
	# Both must have stepped the counting loop itself (add; jmp), not BIOS or set-up code.
	local pc
	pc=$(sed -n 's/^final pc 0x//p' "$TMP/gdb.out")
	(( 0x$pc >= 0x$LOOP + 0x18 && 0x$pc <= 0x$LOOP + 0x1b )) || { echo "gdb_step: stepped outside the loop (pc 0x$pc)" >&2; exit 1; }
	python3 -c "import sys; print('%.0f' % ($STEPS / (float(open('$TMP/t1').read()) - float(open('$TMP/t0').read()))))"
	rm -f "$TMP/t0" "$TMP/t1"
}

# The loop is in mb_main after its print: a hardware breakpoint there works in both (QEMU loads
# the kernel through its option ROM after the breakpoint is set, which would undo an int3).
approach="hbreak *(0x$LOOP + 0x18)"

port=$(free_port)
"$BUILD/cli/dhyve" -m 64M -l com1,null -G "w127.0.0.1:$port" -o kernel="$KERNEL" gdbstep$$ 2>"$TMP/dhyve.err" &
sleep 0.3
dhyve_rate=$(steps_per_second "$port" "$approach")
wait || true

port=$(free_port)
qemu-system-x86_64 -enable-kvm -cpu qemu64,-cx16 -m 64 -display none -serial null -monitor none \
	-kernel "$KERNEL" -S -gdb "tcp:127.0.0.1:$port" 2>"$TMP/qemu.err" &
sleep 0.5
qemu_rate=$(steps_per_second "$port" "$approach")
wait || true

echo "dhyve: $dhyve_rate stepi/s through gdb ($STEPS steps)"
echo "QEMU:  $qemu_rate stepi/s through gdb ($STEPS steps)"
python3 -c "print('ratio dhyve/QEMU: %.2f (target >= 1.0)' % ($dhyve_rate / $qemu_rate))"
