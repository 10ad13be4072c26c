#!/usr/bin/env python3
# Writes the committed seed corpus, fuzz/corpus/<target>/<name>: small hand-made inputs that do what
# real users do (a Linux 8250 probe, gdb's first packets, a bhyve command line, a tiny ELF...).
"""Regenerate with: python3 fuzz/make_seeds.py  (deterministic: same files every time)."""
import os
import struct
import sys
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- the guest-operation byte code (fuzz/README.md, "Guest operations") ----------------------

KIND = dict(pio_read=0, pio_write=1, mmio_read=2, mmio_write=3, mem_write=4, notify=5, irq_ack=6,
            time=7, host_input=8, device=9)
LOG2 = {1: 0, 2: 1, 4: 2, 8: 3}


def width_for(v):
    return 1 if v < 1 << 8 else 2 if v < 1 << 16 else 4 if v < 1 << 32 else 8


def le(v, n):
    return (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little")


def op_access(kind, off, size=1, value=None, width=None):
    w = width or width_for(off)
    b = bytes([KIND[kind] | LOG2[size] << 4 | LOG2[w] << 6]) + le(off, w)
    if kind.endswith("write"):
        b += le(value, size)
    return b


def outb(off, v, size=1):
    return op_access("pio_write", off, size, v)


def inb(off, size=1):
    return op_access("pio_read", off, size)


def host(data):
    return bytes([KIND["host_input"], len(data)]) + data


def dev(sub, payload=b""):
    return bytes([KIND["device"], sub, len(payload)]) + payload


def mem_write(gpa, data):
    w = width_for(gpa)
    return bytes([KIND["mem_write"] | LOG2[w] << 6]) + le(gpa, w) + bytes([len(data)]) + data


def other_doors():
    """One of each door the UART does not use, and two reserved opcodes (skipped alone)."""
    return (mem_write(0x100, b"abc") + mem_write(0x1_0000_0000, b"x") + bytes([KIND["notify"], 1, 0]) +
            bytes([KIND["irq_ack"], 4]) + bytes([KIND["time"] | 2 << 6]) + le(1000000, 4) + b"\x0a\x0f")


# ---- uart16550: COM1 registers, as drivers use them -----------------------------------------

THR = RBR = DLL = 0
IER = DLM = 1
IIR = FCR = 2
LCR, MCR, LSR, MSR, SCR = 3, 4, 5, 6, 7


def uart_init(ier=0x00, fcr=0xc7, mcr=0x0b, divisor=1):
    return (outb(LCR, 0x80) + outb(DLL, divisor & 0xff) + outb(DLM, divisor >> 8) + outb(LCR, 0x03) +
            outb(FCR, fcr) + outb(MCR, mcr) + outb(IER, ier))


def uart_seeds():
    # Linux 8250 autoconfig(): IER test, scratch test, LCR/EFR probe, FIFO probe, loopback test.
    probe = (inb(LCR) + outb(IER, 0) + inb(IER) + outb(IER, 0x0f) + inb(IER) + outb(IER, 0) +
             outb(SCR, 0xa5) + inb(SCR) + outb(SCR, 0x5a) + inb(SCR) +
             outb(LCR, 0xbf) + inb(IIR) + outb(LCR, 0x80) + inb(DLL) + inb(DLM) + outb(DLL, 0x0c) +
             outb(DLM, 0) + outb(LCR, 0x03) + outb(FCR, 0x07) + inb(IIR) + outb(FCR, 0xe7) + inb(IIR) +
             outb(FCR, 0) + inb(IIR) + outb(MCR, 0x1a) + inb(MSR) + outb(MCR, 0x1f) + inb(MSR) +
             outb(MCR, 0x0b) + inb(LSR) + inb(RBR) + inb(IIR) + inb(MSR))
    write("uart16550", "linux_8250_probe", probe)

    # Console output with THRE interrupts, as a polled and an interrupt-driven driver do it.
    tx = uart_init(ier=0x02) + inb(IIR) + inb(IIR)
    for c in b"Linux version 6.1\r\n":
        tx += inb(LSR) + outb(THR, c) + inb(IIR)
    tx += outb(IER, 0x00) + inb(IIR) + outb(IER, 0x02) + outb(IER, 0x02) + inb(IIR)
    write("uart16550", "console_tx", tx)

    # Receive with a trigger level of 8: more input than fits, RDA then timeout, reads drain it.
    rx = uart_init(ier=0x05, fcr=0x81) + host(b"abcdefghijklmnopqrstuvwxyz0123456789") + inb(IIR) + inb(LSR)
    for _ in range(20):
        rx += inb(IIR) + inb(RBR)
    rx += inb(LSR) + inb(IIR)
    write("uart16550", "rx_fifo_trigger8", rx)

    # Each trigger level, FIFO clear with FCR1, FIFO off (8250 mode: one holding register).
    tl = b""
    for fcr in (0x01, 0x41, 0x81, 0xc1):
        tl += (uart_init(ier=0x01, fcr=fcr) + host(b"0123456789abcdef") + inb(IIR) + inb(RBR) + inb(IIR) +
               outb(FCR, fcr | 0x02) + inb(LSR) + inb(IIR))
    tl += (outb(FCR, 0x00) + host(b"xyz") + inb(IIR) + inb(LSR) + inb(RBR) + inb(RBR) + inb(RBR) + inb(RBR) +
           outb(FCR, 0x07) + outb(FCR, 0x09) + inb(IIR))
    write("uart16550", "rx_trigger_levels", tl)

    # Loopback: transmit into the receiver, overrun in both modes, OE as a line-status interrupt,
    # modem lines following MCR (TERI on RI's trailing edge), modem-status interrupt.
    lb = uart_init(ier=0x0f, fcr=0x00, mcr=0x1b) + outb(THR, 0x41) + outb(THR, 0x42) + inb(IIR) + inb(LSR)
    lb += inb(RBR) + outb(FCR, 0x01)
    for i in range(18):
        lb += outb(THR, 0x30 + i)
    lb += inb(IIR) + inb(LSR) + inb(IIR) + host(b"held") + inb(RBR)
    lb += outb(MCR, 0x1f) + inb(MSR) + outb(MCR, 0x10) + inb(IIR) + inb(MSR) + outb(MCR, 0x14) + outb(MCR, 0x10)
    lb += inb(IIR) + inb(MSR) + outb(MCR, 0x0b) + inb(MSR) + inb(IIR) + inb(RBR) + inb(LSR)
    write("uart16550", "loopback_modem", lb)

    # Device actions: reset, state images good and bad, short saves, raw accesses off the end.
    good = bytes([1, 0x05, 0x03, 0x0b, 0xc1, 0x5a, 0x01, 0x00, 0x63, 0xb0, 1, 2]) + b"hi" + bytes(14)
    da = (uart_init(ier=0x07) + host(b"data") + dev(0) + inb(IIR) + dev(1, good) + inb(IIR) + inb(LSR) +
          inb(RBR) + dev(1, good[:27]) + dev(1, bytes([2]) + good[1:]) + dev(1, good[:1] + b"\xff" + good[2:]) +
          dev(1, good[:11] + b"\x11" + good[12:]) + dev(1, good[:8] + b"\x60" + good[9:]) +
          dev(1, good[:9] + b"\x00" + good[10:]) + dev(1, good[:3] + b"\xff" + good[4:]) +
          dev(1, good[:4] + b"\x02" + good[5:]) + dev(1, good[:10] + b"\x02" + good[11:]) +
          dev(1, good[:8] + b"\xe3" + good[9:]) + dev(1, good[:4] + b"\x00" + good[5:]) +
          dev(3, b"\x10") + dev(3, b"\x28") + dev(3) +
          dev(2, bytes([9, 0, 0])) + dev(2, bytes([200, 1, 7])) + dev(2, bytes([7, 1, 0x42])) +
          dev(2, bytes([7, 4])) + dev(2, bytes([0, 1, 0x21])) + dev(7))
    write("uart16550", "reset_and_state", da)

    # Wide and odd accesses: 2/4/8-byte ports, one running off the end, ports nobody owns.
    wa = (uart_init() + inb(LSR, 2) + inb(LSR, 4) + inb(RBR, 8) + outb(SCR, 0x1234, 2) + inb(SCR) +
          inb(7, 2) + outb(6, 0xffff, 4) + inb(0x100) + outb(0x100, 1) + op_access("pio_read", 0x10000) +
          op_access("pio_read", 0xfffffffffffffc08, width=8) + op_access("mmio_read", 0) +
          op_access("mmio_write", 0, 4, 7) + outb(LSR, 0xff) + outb(MSR, 0xff) + other_doors() + inb(IIR))
    write("uart16550", "odd_accesses", wa)

    # A polled 8250-mode console with interrupts on, as early boot code and BIOSes drive it.
    early = uart_init(ier=0x03, fcr=0x00, divisor=0x0c) + host(b"root\r")
    for _ in range(6):
        early += inb(LSR) + inb(IIR) + inb(RBR)
    early += outb(THR, 0x23) + inb(IIR) + inb(IIR)
    write("uart16550", "early_console", early)


# ---- iobus: DEVICE sub 0 register16, 1 register64, 2 find, 3 raw access, 4 reset --------------

def reg16(base, length, flags=0):
    return dev(0, le(base, 2) + le(length, 1) + bytes([flags]))


def reg64(base, length, flags=0):
    return dev(1, le(base, 8) + le(length, 8) + bytes([flags]))


def find(addr):
    return dev(2, le(addr, 8))


def raw(addr, size, write, value=0):
    return dev(3, le(addr, 8) + bytes([size, write]) + le(value, 8))


def bus_read(addr, size=1):
    return op_access("mmio_read", addr, size)


def bus_write(addr, value, size=1):
    return op_access("mmio_write", addr, size, value)


def iobus_seeds():
    pc = (reg16(0x3f8, 8) + reg16(0x2f8, 8) + reg16(0x600, 4) + reg16(0x604, 2) + reg16(0xcf9, 1) +
          reg16(0x64, 1) + reg16(0xf4, 1, flags=1) + reg16(0x3fc, 2) + reg16(0x3f0, 9) + reg16(0x300, 0) +
          find(0x3f8) + find(0x3ff) + find(0x400) + find(0) +
          bus_read(0x3f8) + bus_read(0x3fd) + bus_write(0x3f8, 0x41) + bus_read(0x600, 4) + bus_read(0x602, 4) +
          bus_read(0x604, 2) + bus_write(0xcf9, 6) + bus_write(0xf4, 0x10) + bus_read(0xf4) + bus_read(0x500) +
          op_access("pio_read", 0x3f8, 8) + op_access("pio_write", 0x600, 4, 0x2000))
    write("iobus", "pc_ports", pc)

    top = 0xffffffffffffffff
    edges = (reg64(top - 0xf, 0x10) + reg64(top - 0xf, 0xf) + reg64(top, 1) + reg64(0, 1) + reg64(1, top) +
             reg64(0x1000, 0x1000) + reg64(0xfee00000, 0x1000) + reg64(0x800, 0x801) +
             find(top) + find(top - 0xf) + find(0xfee00fff) +
             op_access("mmio_read", top - 0xf, 8, width=8) + op_access("mmio_read", top - 3, 8, width=8) +
             op_access("mmio_write", 0xfee000b0, 4, 0, width=4) + raw(0x1000, 3, 0) + raw(0x1000, 0, 1, 5) +
             raw(0x1000, 16, 0) + raw(0x1ffc, 8, 0) + raw(0x1ff8, 8, 1, 0x1122334455667788) +
             raw(0x1001, 2, 1, 0xabcdef) + dev(4) + bus_read(0x1000) + reg64(0x1000, 0x10) + bus_read(0x100f))
    write("iobus", "address_space_edges", edges)

    many = b""
    for i in range(40):
        many += reg16(0x100 + 16 * ((i * 7) % 40), 8 + (i % 3), flags=i & 1)
    for i in range(0, 0x300, 0x1d):
        many += bus_read(0x100 + i, 2) + bus_write(0x100 + i, i, 1)
    write("iobus", "many_regions", many + other_doors())


# ---- loader: tiny kernels built here (no toolchain needed) ----------------------------------

def elf64(entry=0x100000, segs=((0x100000, b"\xf4" * 16, 0x2000),), etype=2, machine=62):
    phoff, phnum = 64, len(segs)
    data_off = phoff + 56 * phnum
    hdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    hdr += struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, entry, phoff, 0, 0, 64, 56, phnum, 64, 0, 0)
    ph, body, off = b"", b"", data_off
    for paddr, data, memsz in segs:
        ph += struct.pack("<IIQQQQQQ", 1, 7, off, paddr, paddr, len(data), memsz, 0x1000)
        body += data
        off += len(data)
    return hdr + ph + body


def elf32(entry=0x100000, segs=((0x100000, b"\xf4" * 16, 0x1000),), prefix_in_seg=b""):
    phoff, phnum = 52, len(segs)
    data_off = phoff + 32 * phnum
    hdr = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
    hdr += struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, entry, phoff, 0, 0, 52, 32, phnum, 40, 0, 0)
    ph, body, off = b"", b"", data_off
    for paddr, data, memsz in segs:
        data = prefix_in_seg + data
        ph += struct.pack("<IIIIIIII", 1, off, paddr, paddr, len(data), max(memsz, len(data)), 7, 0x1000)
        body += data
        off += len(data)
    return hdr + ph + body


MB_MAGIC = 0x1BADB002


def mb_header(flags, extra=b""):
    return struct.pack("<III", MB_MAGIC, flags, (-(MB_MAGIC + flags)) & 0xffffffff) + extra


def bzimage(version=0x20f, xloadflags=0x7f, init_size=0x8000, klen=0x400):
    """A Linux setup header (protocol 2.15 by default) with a tiny 'kernel' at 1 MiB."""
    img = bytearray(4 * 512)
    img[0x1f1] = 3
    struct.pack_into("<H", img, 0x1fe, 0xaa55)
    img[0x200:0x202] = bytes([0xeb, 0x6a])
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, version)
    img[0x211] = 0x01
    struct.pack_into("<IIII", img, 0x214, 0x100000, 0, 0, 0)
    struct.pack_into("<I", img, 0x22c, 0x7fffffff)
    struct.pack_into("<H", img, 0x236, xloadflags)
    struct.pack_into("<I", img, 0x238, 0x7ff)
    struct.pack_into("<QI", img, 0x258, 0x100000, init_size)
    return bytes(img) + b"\xf4" * klen


def loader_seeds():
    write("loader", "elf64_min", elf64())
    write("loader", "elf64_two_segments", elf64(entry=0x101000, segs=((0x100000, b"\x90" * 32, 0x1000),
                                                                     (0x101000, b"\xf4" * 8, 0x800))))
    # The harness's RAM: [0, 640 KiB), [1 MiB, +64 KiB), [1 MiB + 64 KiB, +16 KiB).
    write("loader", "elf64_second_slot", elf64(entry=0x110010, segs=((0x110000, b"\xf4" * 32, 0x2000),)))
    write("loader", "elf64_across_slots", elf64(entry=0x10fff0, segs=((0x10fff0, b"\xf4" * 32, 0x20),)))
    write("loader", "elf32_min", elf32())
    # Multiboot header inside the ELF32's loaded segment (how GRUB-style kernels ship).
    write("loader", "multiboot_elf32", elf32(prefix_in_seg=mb_header(0x3)))
    # a.out kludge: header_addr/load_addr/load_end/bss_end/entry describe a flat binary.
    hdr_addr = 0x100000
    aout = mb_header(0x10003, struct.pack("<IIIII", hdr_addr, hdr_addr, hdr_addr + 64, hdr_addr + 0x2000,
                                           hdr_addr + 32))
    write("loader", "multiboot_aout", aout + bytes(32 - len(aout) % 32) + b"\xf4" * 32)
    write("loader", "multiboot_bad_checksum", struct.pack("<III", MB_MAGIC, 0, 0) + elf64())
    write("loader", "elf64_dyn", elf64(etype=3))
    write("loader", "bzimage_64", bzimage())
    write("loader", "bzimage_32", bzimage(version=0x20b))


# ---- gdb_packet: flag byte, then what gdb sends ---------------------------------------------

def pkt(body):
    return b"$" + body + b"#" + b"%02x" % (sum(body) & 0xff)


def gdb_seeds():
    hello = (b"+" + pkt(b"qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vContSupported+") +
             b"+" + pkt(b"vMustReplyEmpty") + b"+" + pkt(b"QStartNoAckMode") + b"+" + pkt(b"Hgp0.0") +
             pkt(b"qXfer:features:read:target.xml:0,ffb") + pkt(b"qTStatus") + pkt(b"?") + pkt(b"qfThreadInfo") +
             pkt(b"qsThreadInfo") + pkt(b"qAttached") + pkt(b"Hc-1") + pkt(b"qC") + pkt(b"qOffsets") + pkt(b"g"))
    write("gdb_packet", "session_start", b"\x00" + hello)
    run = (pkt(b"m100000,40") + pkt(b"M100000,4:deadBEEF") + pkt(b"p10") + pkt(b"P10=0000100000000000") +
           pkt(b"Z0,100000,1") + pkt(b"z0,100000,1") + pkt(b"Z2,2000,8") + pkt(b"vCont?") +
           pkt(b"vCont;s:1;c") + b"\x03" + pkt(b"qRcmd,7265736574") + pkt(b"D") + b"-" + pkt(b"k"))
    write("gdb_packet", "session_run", b"\x00" + run)
    # Binary data with escapes ('}' then byte ^ 0x20), as "X" sends it; a dangling escape at '#'.
    x = b"X100000,6:" + b"}\x03}\x04}]}\x0aab"
    write("gdb_packet", "binary_write", b"\x00" + pkt(x) + pkt(b"X0,1:}") + b"$abc#zz" + b"$m10$m20,4#" +
          pkt(b"g") + b"$g#0")
    # Flag 1 fixes checksums: bodies here carry placeholder digits.
    write("gdb_packet", "fixed_checksums", b"\x01" + b"$qSupported#00$vCont;c#00$m0,10#00$X0,2:}\x5d}\x03#00" +
          b"$0123456789abcdefABCDEF#00$ffffffffffffffff1,2#00$#00")
    write("gdb_packet", "small_hex_buffer", b"\x0a" + b"$00112233445566778899aabbccddeeff00112233#00")
    write("gdb_packet", "overflow", b"\x00" + b"$" + b"a" * 16400 + b"#00" + pkt(b"g"))


# ---- config_file and cmdline -----------------------------------------------------------------

def config_seeds():
    full = (b"# a dhyve -k file\n\nname=vm0\ncpus=4\nsockets=2\ncores=2\nthreads=1\nmemory.size=512M\n"
            b"kernel=/boot/kernel.elf\ncmdline=console=ttyS0 root=/dev/vda\nlpc.com1.path=stdio\n"
            b"lpc.com2.path=file=/tmp/com2.log\npci.0.0.0.device=hostbridge\npci.0.31.0.device=lpc\n"
            b"pci.0.3.0.device=amd_hostbridge\npci.0.3.0.config=x=1\ngdb.port=1234\ngdb.address=127.0.0.1\n"
            b"gdb.wait=true\ntrace.entries=4096\ntrace.file=/tmp/trace.dht\ndebugexit.port=0xf4\n"
            b"acpi_tables=yes\nx86.vmexit_on_hlt=on\nx86.vmexit_on_pause=1\nx86.strictmsr=false\n"
            b"rtc.use_localtime=off\n   spaced.name = padded value \t\n")
    write("config_file", "full", full)
    write("config_file", "minimal", b"name=vm0\nkernel=k\n")
    write("config_file", "bad_line", b"cpus=2\nthis line is bad\n")
    write("config_file", "bad_values", b"name=vm0\nkernel=k\ncpus=0x40\nmemory.size=1T\ngdb.port=70000\n"
          b"pci.0.32.0.device=lpc\npci.1.2.3.device=virtio-net\ngdb.wait=maybe\ntrace.entries=3\n")
    write("config_file", "long_line", b"name=" + b"x" * 4100 + b"\n")
    write("config_file", "no_newline_nul", b"name=vm0\nkernel=k\x00hidden\ncpus=1")


def argv(*words):
    return b"\x00".join(w.encode() for w in words)


def cmdline_seeds():
    write("cmdline", "bhyve_style", argv("-c", "2", "-m", "256M", "-s", "0:0,hostbridge", "-s", "31,lpc",
                                         "-l", "com1,stdio", "-o", "kernel=build/guests/hello.elf", "vm0"))
    write("cmdline", "topology_gdb", argv("-AHPuw", "-c", "cpus=4,sockets=2,cores=2,threads=1", "-G",
                                          "w127.0.0.1:1234", "-m", "1G", "-s", "0:3:0,amd_hostbridge,conf",
                                          "-l", "com2,file=/tmp/x", "-o", "trace.entries=1024", "-o",
                                          "trace.file=/tmp/t", "-o", "debugexit.port=0xf4", "-okernel=/k",
                                          "-o", "cmdline=quiet", "guest"))
    write("cmdline", "errors", argv("-s", "32,lpc", "-s", "x,lpc", "-c", "cpus=4,sockets=3", "-Z", "vm0", "extra"))
    write("cmdline", "help", argv("-h"))
    write("cmdline", "missing_arg", argv("-o", "kernel=k", "vm0", "-m"))
    write("cmdline", "future_device", argv("-s", "1:0,virtio-net,tap0", "-o", "kernel=k", "-G", ":0", "vm0"))


# ---- tracefile: version 1 files (docs/trace-format.md) --------------------------------------

def record(vcpu, kind=0, rip=0x1000, addr=0x3f8, value=0x41, mode=3):
    return struct.pack("<QQQQIIBBBBBBH", 1000 + rip, rip, addr, value, 250, 1, kind, 1, 1, 0, mode, vcpu, 2)


def trace(vcpus, insns, name=b"vm0"):
    body = b""
    for index, recs in vcpus:
        r = b"".join(recs)
        body += struct.pack("<IIQQII", 0x55504356, index, 0, len(recs), zlib.crc32(r), 0) + r
    ents = b""
    for rip, mode, code in insns:
        ents += struct.pack("<QBB", rip, mode, len(code)) + code + bytes(22 - len(code))
    body += struct.pack("<IIII", 0x4e534e49, len(insns), zlib.crc32(ents), 0) + ents
    hdr = b"DHYVTRC\n" + struct.pack("<IIIIIIQ", 1, 72, 48, len(vcpus), len(insns), 0, 123456789)
    hdr += name + bytes(32 - len(name))
    f = hdr + body
    return f + struct.pack("<II", 0x444e4554, zlib.crc32(f))


def trace_seeds():
    one = trace([(0, [record(0), record(0, kind=2, rip=0x1004), record(0, kind=1, addr=0xfee000b0)])],
                [(0x1000, 3, b"\xe6\xf8"), (0x1004, 3, b"\xf4")])
    write("tracefile", "one_vcpu", b"\x00" + one)
    two = trace([(0, [record(0, kind=k, rip=0x2000 + k) for k in range(13)]), (3, [record(3, mode=0)])],
                [(0x2000 + k, m, b"\x90" * (k % 16)) for k in range(4) for m in (0, 2)])
    write("tracefile", "two_vcpus", b"\x00" + two)
    write("tracefile", "empty_trace", b"\x00" + trace([], []))
    # Flag 1 fixes the CRCs: this one is damaged (kind 13, unsorted table) behind valid-looking sums.
    bad = trace([(1, [record(1, kind=13)])], [(0x10, 3, b"\x90"), (0x08, 3, b"\x90")])
    write("tracefile", "bad_fixed_crc", b"\x01" + bad)
    write("tracefile", "truncated", b"\x00" + one[:100])


# ---- pagewalk: mode byte, cr3, gva, then guest memory ---------------------------------------

PG, PAE, LMA, LA57, PSE, NXE = 1, 2, 4, 8, 16, 32


def walk(mode, cr3, gva, mem):
    # The harness zero-pads memory to whole pages: trailing zeroes need not be stored.
    return bytes([mode]) + le(cr3, 8) + le(gva, 8) + mem.rstrip(b"\0")


def tables(entries, size=0x5000):
    """entries: {(table_gpa, index): (value, width)}"""
    mem = bytearray(size)
    for (tbl, idx), (val, width) in entries.items():
        mem[tbl + idx * width: tbl + idx * width + width] = le(val, width)
    return bytes(mem)


def pagewalk_seeds():
    p, rw, us, ps, xd = 1, 2, 4, 0x80, 1 << 63
    va = 1 << 30 | 1 << 21 | 1 << 12 | 0x234  # PML4 0, PDPT 1, PD 1, PT 1, offset 0x234
    lm4 = tables({(0, 0): (0x1000 | p | rw | us, 8), (0x1000, 1): (0x2000 | p | rw | us, 8),
                  (0x2000, 1): (0x3000 | p | rw, 8), (0x3000, 1): (0x4000 | p | rw | us | xd, 8)})
    write("pagewalk", "long4_4k", walk(PG | PAE | LMA | NXE, 0, va, lm4))
    write("pagewalk", "long4_2m", walk(PG | PAE | LMA, 0, va, tables({(0, 0): (0x1000 | p, 8),
          (0x1000, 1): (0x2000 | p, 8), (0x2000, 1): (0x200000 | p | ps, 8)})))
    write("pagewalk", "long4_1g", walk(PG | PAE | LMA, 0, va, tables({(0, 0): (0x1000 | p, 8),
          (0x1000, 1): (0x40000000 | p | ps | rw, 8)})))
    va5 = 0xff00_0000_0000_0000 | va  # canonical for 57 bits; PML5 index 0x100
    lm5 = bytearray(lm4 + bytes(0x1000))
    at = 0x5000 + 8 * ((va5 >> 48) & 511)
    lm5[at:at + 8] = le(0 | p, 8)
    write("pagewalk", "long5", walk(PG | PAE | LMA | LA57, 0x5000, va5, bytes(lm5)))
    write("pagewalk", "noncanonical", walk(PG | PAE | LMA, 0, 0x0000_8000_0000_0000, lm4))
    write("pagewalk", "reserved_ps_pml4", walk(PG | PAE | LMA, 0, va, tables({(0, 0): (0x1000 | p | ps, 8)})))
    write("pagewalk", "reserved_xd_no_nxe", walk(PG | PAE | LMA, 0, va, lm4))
    # PAE: a 4-entry PDPT at CR3 (32-byte aligned), then PD and PT.
    pae = tables({(0x20, 0): (0x1000 | p, 8), (0x1000, 1): (0x2000 | p | rw, 8), (0x2000, 1): (0x3000 | p, 8)})
    write("pagewalk", "pae_4k", walk(PG | PAE | NXE, 0x20, 0x0020_1abc, pae))
    write("pagewalk", "pae_2m", walk(PG | PAE, 0x20, 0x0020_1abc, tables({(0x20, 0): (0x1000 | p, 8),
          (0x1000, 1): (0x400000 | p | ps, 8)})))
    # 32-bit paging: 4 KiB pages, and with PSE a 4 MiB page with PSE-36 high bits.
    p32 = tables({(0x1000, 1): (0x2000 | p | rw | us, 4), (0x2000, 1): (0x3000 | p | us, 4)})
    write("pagewalk", "legacy32_4k", walk(PG, 0x1000, 0x0040_1abc, p32))
    write("pagewalk", "legacy32_4m_pse36", walk(PG | PSE, 0x1000, 0x0040_1abc,
                                                tables({(0x1000, 1): (0x00c0_0000 | 0x2000 | p | ps, 4)})))
    write("pagewalk", "paging_off", walk(0, 0, 0x1_0000_0123, b""))
    write("pagewalk", "table_outside_ram", walk(PG | PAE | LMA, 0x7fff000, va, b"\x00" * 64))
    write("pagewalk", "not_present", walk(PG | PAE | LMA, 0, va, tables({(0, 0): (0x1000 | p, 8)})))


# ---- pci_config: bus 0 through 0xcf8/0xcfc, ECAM and the BAR windows (pio base 0, mmio base 0xc0000000) --

def time_op(ns):
    w = width_for(ns)
    return bytes([KIND["time"] | LOG2[w] << 6]) + le(ns, w)


def cf8(slot, reg, fn=0):
    return outb(0xcf8, 0x80000000 | slot << 11 | fn << 8 | (reg & 0xfc), 4)


def cfg_read(slot, reg, size=4, fn=0):
    return cf8(slot, reg, fn) + inb(0xcfc + (reg & 3), size)


def cfg_write(slot, reg, value, size=4, fn=0):
    return cf8(slot, reg, fn) + outb(0xcfc + (reg & 3), value, size)


ECAM = 0x2000_0000  # offset of 0xe0000000 from the memory window's base


def ecam_read(slot, reg, size=4, fn=0):
    return op_access("mmio_read", ECAM | slot << 15 | fn << 12 | reg, size, width=4)


def ecam_write(slot, reg, value, size=4, fn=0):
    return op_access("mmio_write", ECAM | slot << 15 | fn << 12 | reg, size, value, width=4)


def pci_seeds():
    probe = b""
    for slot in (0, 1, 3, 31):
        probe += cfg_read(slot, 0) + cfg_read(slot, 0x08) + cfg_read(slot, 0x0e, 1) + cfg_read(slot, 0x2c)
    probe += cfg_read(3, 0, 4, fn=1) + outb(0xcf8, 0x00001800, 4) + inb(0xcfc, 4) + inb(0xcf8, 4) + inb(0xcf8, 2)
    write("pci_config", "linux_probe", probe)
    sizing = b""
    for i, orig in enumerate((0xc001, 0xc0000000, 0xc0004000 | 0xc, 0)):
        reg = 0x10 + 4 * i
        sizing += cfg_write(3, 0x04, 0x0000, 2) + cfg_read(3, reg) + cfg_write(3, reg, 0xffffffff) + cfg_read(3, reg)
        sizing += cfg_write(3, reg, orig) + cfg_read(3, reg)
    sizing += cfg_write(3, 0x04, 0x0007, 2) + cfg_write(3, 0x11, 0xd0, 1)
    sizing += (outb(0xc000, 1) + inb(0xc000) + inb(0xc000, 4) + outb(0xc03c, 0x12345678, 4) + inb(0xc03f, 2) +
               inb(0xc000, 8) + outb(0xc000, 0) + inb(0xc040))
    sizing += (op_access("mmio_write", 0, 4, 0xdeadbeef) + op_access("mmio_read", 0, 4) +
               op_access("mmio_read", 0xffc, 8) + op_access("mmio_write", 0x4000, 8, 0x0123456789abcdef) +
               op_access("mmio_read", 0x4000, 8) + op_access("mmio_read", 0x7ffe, 2) + op_access("mmio_read", 0x1000))
    write("pci_config", "bar_sizing_and_access", sizing)
    msi = (cfg_read(3, 0x34, 1) + cfg_read(3, 0x40) + cfg_write(3, 0x44, 0xfee00000) + cfg_write(3, 0x48, 0) +
           cfg_write(3, 0x4c, 0x4041, 2) + cfg_write(3, 0x42, 0x0021, 2) + cfg_write(3, 0x04, 0x0007, 2) +
           dev(5, b"\x00") + dev(5, b"\x03") + dev(5, b"\x04") + dev(4, b"\x01") + cfg_read(3, 0x04) +
           cfg_write(3, 0x42, 0x0000, 2) + cfg_read(3, 0x04) + cfg_write(3, 0x04, 0x0407, 2) + cfg_read(3, 0x06, 2) +
           cfg_write(3, 0x06, 0xffff, 2) + cfg_write(3, 0x04, 0x0003, 2) + dev(5, b"\x00") + dev(4, b"\x00") +
           cfg_write(3, 0x3c, 0xff, 1) + cfg_write(3, 0x3d, 0x02, 1))
    write("pci_config", "msi_and_intx", msi)
    ecam = b""
    for slot in (0, 2, 3, 31):
        ecam += ecam_read(slot, 0) + ecam_read(slot, 0x0e, 1) + ecam_read(slot, 0x100) + ecam_read(slot, 0xffc)
    ecam += (ecam_read(3, 2, 2) + ecam_read(3, 1, 2) + ecam_read(3, 0, 8) + ecam_write(3, 0x04, 0x0006, 2) +
             ecam_write(3, 0x10, 0xffffffff) + ecam_read(3, 0x10) + ecam_write(3, 0x3c, 0x0b, 1) + ecam_read(3, 0x3c) +
             ecam_read(0, 0, 4, fn=7) + op_access("mmio_read", 0x200f_fffc, 4) + op_access("mmio_read", 0x2010_0000, 4))
    write("pci_config", "ecam", ecam)
    snap = (cfg_write(3, 0x04, 0x0007, 2) + outb(0xc000, 1) + dev(2) + dev(0) + cfg_read(3, 0x04) + dev(1, b"\x01\x00") +
            dev(3, b"\x0a\x07\x05") + dev(3, b"\x20\x00\x00\x00\xd0") + dev(3, b"\x00\x01\x03\x00") + dev(2) +
            outb(0xcf9, 0x06) + inb(0xcf9) + dev(0))
    write("pci_config", "snapshot_and_reset", snap)


# ---- fw_cfg: ports 0x510/0x511 and DMA at 0x514 (pio base 0x510), 16 KiB of guest RAM ---------

def fw_select(key):
    return outb(0, key, 2)


def fw_read(n):
    return inb(1) * n


def be_value(v, n):
    """The number whose little-endian bytes are v big-endian: what the guest's outl of a BE word is."""
    return int.from_bytes(v.to_bytes(n, "big"), "little")


def fw_desc(gpa, ctl, length, addr):
    return mem_write(gpa, ctl.to_bytes(4, "big") + length.to_bytes(4, "big") + addr.to_bytes(8, "big"))


def fw_dma(gpa):
    return outb(4, be_value(gpa >> 32, 4), 4) + outb(8, be_value(gpa & 0xffffffff, 4), 4)


def fw_cfg_seeds():
    write("fw_cfg", "signature_and_id", fw_select(0) + fw_read(5) + fw_select(1) + fw_read(4) + inb(0) +
          fw_select(5) + fw_read(3) + fw_select(3) + fw_read(8) + fw_select(0x8000) + fw_read(2) +
          fw_select(0x4003) + fw_read(2) + outb(1, 0x55) + outb(1, 0x1234, 2) + inb(1, 2) + inb(0, 4))
    write("fw_cfg", "file_dir", fw_select(0x19) + fw_read(4 + 64 + 10) + fw_select(0x21) + fw_read(41) +
          fw_select(0x22) + fw_read(40) + fw_select(0x23) + fw_read(2) + fw_select(0x24) + fw_read(2))
    SEL, READ, SKIP, WR = 0x08, 0x02, 0x04, 0x10
    dma = (inb(4, 4) + inb(8, 4) + inb(4, 8) + inb(6, 2) +
           fw_desc(0x1000, 0x19 << 16 | SEL | READ, 4 + 4 * 64, 0x2000) + fw_dma(0x1000) +
           fw_desc(0x1000, 0x21 << 16 | SEL | SKIP, 8, 0) + fw_dma(0x1000) +
           fw_desc(0x1000, READ, 64, 0x2100) + fw_dma(0x1000) +
           fw_desc(0x1010, 0x09 << 16 | SEL | READ, 16, 0x3ff8) + fw_dma(0x1010) +
           fw_desc(0x1020, 0x00 << 16 | SEL | WR, 4, 0x2200) + fw_dma(0x1020) +
           fw_desc(0x1030, READ, 16, 0x1030) + fw_dma(0x1030) +
           fw_desc(0x3ff0, READ, 0xffffffff, 0) + fw_dma(0x3ff0) + fw_dma(0x3ffe) + fw_dma(0x1_0000_1000) +
           outb(0, be_value(0x1000, 8), 8) + fw_select(0) + fw_read(1))
    write("fw_cfg", "dma", dma)
    write("fw_cfg", "state", fw_select(0x19) + fw_read(3) + outb(4, be_value(1, 4), 4) + dev(2, b"\x10") +
          dev(2, b"\x04") + dev(1, b"\x01\x00\x19\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00") + fw_read(1) +
          dev(1, b"\x01\x00\x19\x00\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00") + dev(3, b"\x20\x00") +
          fw_read(2) + dev(0) + fw_read(4) + other_doors())


# ---- rtc: ports 0x70/0x71 (pio base 0x70), a fake clock advanced by TIME ---------------------

def rtc_read(idx):
    return outb(0, idx) + inb(1)


def rtc_write(idx, v):
    return outb(0, idx) + outb(1, v)


def rtc_seeds():
    clock = b""
    for idx in (0x0a, 0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32, 0x0b, 0x0d):
        clock += rtc_read(idx)
    clock += time_op(1_000_000_000) + rtc_read(0x00) + time_op(999_800_000) + rtc_read(0x0a) + inb(0) + inb(1, 2)
    write("rtc", "read_clock", clock)
    setc = (rtc_write(0x0b, 0x82) + rtc_write(0x00, 0x59) + rtc_write(0x02, 0x59) + rtc_write(0x04, 0x23) +
            rtc_write(0x07, 0x31) + rtc_write(0x08, 0x12) + rtc_write(0x09, 0x99) + rtc_write(0x32, 0x19) +
            rtc_write(0x0b, 0x02) + time_op(1_000_000_000) + rtc_read(0x09) + rtc_read(0x32) +
            rtc_write(0x0b, 0x86) + rtc_write(0x04, 13) + rtc_write(0x0b, 0x06) + rtc_read(0x04) +
            rtc_write(0x0b, 0x80) + rtc_write(0x04, 0x92) + rtc_write(0x0b, 0x00) + rtc_read(0x04) +
            rtc_write(0x0a, 0x76) + time_op(5_000_000_000) + rtc_write(0x0a, 0x26) + rtc_read(0x00))
    write("rtc", "set_time_modes", setc)
    per = rtc_write(0x0a, 0x26) + rtc_write(0x0b, 0x42) + rtc_read(0x0c)
    for _ in range(4):
        per += time_op(976_562) + rtc_read(0x0c)
    per += rtc_write(0x0a, 0x2f) + time_op(600_000_000) + rtc_read(0x0c) + rtc_write(0x0a, 0x23) + time_op(200_000)
    per += rtc_read(0x0c) + rtc_write(0x0b, 0x02) + time_op(10_000_000) + rtc_read(0x0c)
    write("rtc", "periodic", per)
    alarm = (rtc_write(0x01, 0xc0) + rtc_write(0x03, 0xc0) + rtc_write(0x05, 0xc0) + rtc_write(0x0b, 0x32) +
             time_op(1_000_000_000) + rtc_read(0x0c) + time_op(1_000_000_000) + rtc_read(0x0c) +
             rtc_write(0x01, 0x30) + time_op(86_400_000_000_000) + rtc_read(0x0c) + rtc_write(0x0b, 0xa2) +
             time_op(3_000_000_000) + rtc_read(0x0c))
    write("rtc", "alarm_update", alarm)
    snap = (rtc_write(0x0b, 0x42) + time_op(2_000_000) + dev(2, b"\x90") + dev(2, b"\x10") + dev(4) + rtc_write(0x40, 0xab) +
            outb(0, 0x8e) + inb(1) + dev(3, le(0x8000_0000, 8) + le(0x1_0000_0000, 8)) + rtc_read(0x34) + dev(0) +
            dev(1, b"\x01" + bytes(143)) + dev(1, b"\x01") + outb(0, 0x0c, 2) + inb(0, 2) + other_doors())
    write("rtc", "snapshot_reset", snap)


# ---- ahci: BAR 5 (mmio base = ABAR), disk on port 0, CD on port 1, 64 KiB of guest RAM ------------
# Guest RAM as the harness's drivers lay it out: command lists, FIS areas, tables, data.

def abar_w(off, v):
    return op_access("mmio_write", off, 4, v)


def abar_r(off):
    return op_access("mmio_read", off, 4)


def px(p, r):
    return 0x100 + p * 0x80 + r


def ahci_clb(p):
    return p * 0x400


def ahci_fb(p):
    return 0x800 + p * 0x100


def ahci_ctba(p, slot):
    return 0x1000 + p * 0x2000 + slot * 0x100


AHCI_DATA = 0x8000


def ahci_port_start(p):
    return (abar_w(px(p, 0x18), 0) + abar_w(px(p, 0x00), ahci_clb(p)) + abar_w(px(p, 0x04), 0) +
            abar_w(px(p, 0x08), ahci_fb(p)) + abar_w(px(p, 0x0c), 0) + abar_w(px(p, 0x30), 0xffffffff) +
            abar_w(px(p, 0x10), 0xffffffff) + abar_w(px(p, 0x14), 0xfdc000ff) + abar_w(px(p, 0x18), 0x10) +
            abar_w(px(p, 0x18), 0x11))


def h2d(cmd, lba=0, count=0, feat=0, c=True, ctl=0):
    return bytes([0x27, 0x80 if c else 0, cmd, feat & 0xff, lba & 0xff, (lba >> 8) & 0xff, (lba >> 16) & 0xff,
                  0x40, (lba >> 24) & 0xff, (lba >> 32) & 0xff, (lba >> 40) & 0xff, feat >> 8, count & 0xff,
                  count >> 8, 0, ctl, 0, 0, 0, 0])


def ahci_cmd(p, slot, fis, prds=(), packet=None, flags=0, cfl=5, issue=True, sact=False):
    """Header, FIS, packet and PRDT of one slot in guest RAM, then PxSACT/PxCI."""
    t = ahci_ctba(p, slot)
    hdr = struct.pack("<IIII", cfl | (0x20 if packet else 0) | flags | len(prds) << 16, 0, t, 0)
    b = mem_write(ahci_clb(p) + slot * 32, hdr) + mem_write(t, fis)
    if packet:
        b += mem_write(t + 0x40, bytes(packet).ljust(16, b"\0"))
    if prds:
        b += mem_write(t + 0x80, b"".join(struct.pack("<IIII", a & 0xffffffff, a >> 32, 0, (n - 1) | irq << 31)
                                          for a, n, irq in prds))
    if sact:
        b += abar_w(px(p, 0x34), 1 << slot)
    if issue:
        b += abar_w(px(p, 0x38), 1 << slot)
    return b + abar_r(px(p, 0x38)) + abar_r(px(p, 0x20)) + abar_r(px(p, 0x10))


def ahci_ack(p):
    return abar_r(0x08) + abar_r(px(p, 0x10)) + abar_w(px(p, 0x10), 0xffffffff) + abar_w(0x08, 0xffffffff)


def ahci_restart(p):
    return abar_w(px(p, 0x18), 0x10) + ahci_ack(p) + abar_w(px(p, 0x18), 0x11)


def atapi_pkt(p, slot, cdb, n, dma=True):
    return ahci_cmd(p, slot, h2d(0xa0, lba=(n & 0xffff) << 8, feat=1 if dma else 0), [(AHCI_DATA, max(n, 2), 1)] if n else [],
                    packet=cdb) + ahci_ack(p)


def ahci_seeds():
    hba = (abar_w(0x04, 1) + abar_r(0x04) + abar_w(0x04, 0x80000002) + abar_r(0x00) + abar_r(0x0c) + abar_r(0x10) +
           abar_r(0x24) + abar_r(px(0, 0x28)) + abar_r(px(0, 0x24)))
    # A Linux-like disk bring-up: COMRESET, start, IDENTIFY, SET FEATURES, logs, reads, writes, flush.
    hd = (hba + abar_w(px(0, 0x2c), 0x301) + abar_w(px(0, 0x2c), 0x300) + abar_r(px(0, 0x28)) + ahci_port_start(0) +
          ahci_cmd(0, 0, h2d(0xec), [(AHCI_DATA, 512, 0)]) + ahci_ack(0) +
          ahci_cmd(0, 1, h2d(0xef, count=0x46, feat=0x03)) + ahci_cmd(0, 2, h2d(0xef, feat=0x02)) +
          ahci_cmd(0, 3, h2d(0x2f, lba=0, count=1), [(AHCI_DATA, 512, 0)]) +
          ahci_cmd(0, 4, h2d(0x25, lba=0, count=8), [(AHCI_DATA, 2048, 0), (AHCI_DATA + 0x1000, 2048, 1)]) +
          ahci_cmd(0, 5, h2d(0x35, lba=100, count=1), [(AHCI_DATA, 512, 0)]) + ahci_cmd(0, 6, h2d(0xea)) +
          ahci_cmd(0, 7, h2d(0xc8, lba=3, count=2), [(AHCI_DATA, 1024, 0)]) +
          ahci_cmd(0, 8, h2d(0x24, lba=9, count=1), [(AHCI_DATA, 512, 0)]) +
          ahci_cmd(0, 9, h2d(0xe5)) + ahci_cmd(0, 10, h2d(0xc6, count=16)) + ahci_cmd(0, 11, h2d(0x42, lba=4, count=4)) +
          ahci_ack(0))
    write("ahci", "linux_disk", hd)
    ncq = ahci_port_start(0)
    for slot in range(4):
        ncq += ahci_cmd(0, slot, h2d(0x60, lba=slot * 4, count=slot << 3, feat=2), [(AHCI_DATA + slot * 1024, 1024, 0)],
                        issue=False, sact=True)
    ncq += abar_w(px(0, 0x38), 0xf) + abar_r(px(0, 0x34)) + ahci_ack(0)
    ncq += ahci_cmd(0, 4, h2d(0x61, lba=40, count=4 << 3, feat=1), [(AHCI_DATA, 512, 0)], sact=True)
    ncq += ahci_cmd(0, 5, h2d(0x60, lba=127, count=5 << 3, feat=2), [(AHCI_DATA, 1024, 0)], sact=True)
    ncq += ahci_restart(0) + ahci_cmd(0, 0, h2d(0x2f, lba=0x10, count=1), [(AHCI_DATA, 512, 0)])
    ncq += ahci_cmd(0, 1, h2d(0x60, lba=0, count=1 << 3, feat=1), [(AHCI_DATA, 512, 0)])
    write("ahci", "ncq", ncq)
    cd = hba + ahci_port_start(1) + ahci_cmd(1, 0, h2d(0xec), [(AHCI_DATA, 512, 0)]) + ahci_restart(1)
    cd += ahci_cmd(1, 0, h2d(0xa1), [(AHCI_DATA, 512, 0)]) + ahci_cmd(1, 1, h2d(0xef, count=0x42, feat=3))
    cd += atapi_pkt(1, 2, [0x00], 0) + atapi_pkt(1, 3, [0x12, 0, 0, 0, 36], 36) + atapi_pkt(1, 4, [0x25], 8)
    cd += atapi_pkt(1, 5, [0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 128], 128) + atapi_pkt(1, 6, [0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 128], 128)
    cd += atapi_pkt(1, 7, [0x46, 0, 0, 0, 0, 0, 0, 0, 200], 200) + atapi_pkt(1, 8, [0x46, 2, 0, 0x1e, 0, 0, 0, 0, 200], 200)
    cd += atapi_pkt(1, 9, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8], 8) + atapi_pkt(1, 10, [0x43, 0, 0, 0, 0, 0, 0, 0, 100], 100)
    cd += atapi_pkt(1, 11, [0x43, 2, 1, 0, 0, 0, 0, 0, 100], 100) + atapi_pkt(1, 12, [0x43, 0, 2, 0, 0, 0, 0, 0, 100], 100, dma=False)
    cd += atapi_pkt(1, 13, [0x28, 0, 0, 0, 0, 16, 0, 0, 2], 4096) + atapi_pkt(1, 14, [0xa8, 0, 0, 0, 0, 20, 0, 0, 0, 1], 2048)
    cd += atapi_pkt(1, 15, [0x51, 0, 0, 0, 0, 0, 0, 0, 34], 34) + atapi_pkt(1, 16, [0x1e, 0, 0, 0, 1], 0)
    cd += atapi_pkt(1, 17, [0x1b, 0, 0, 0, 2], 0) + ahci_restart(1) + atapi_pkt(1, 18, [0x03, 0, 0, 0, 18], 18)
    cd += atapi_pkt(1, 19, [0x1e], 0) + atapi_pkt(1, 20, [0x1b, 0, 0, 0, 2], 0) + atapi_pkt(1, 21, [0x00], 0) + ahci_restart(1)
    cd += atapi_pkt(1, 22, [0x1b, 0, 0, 0, 3], 0) + atapi_pkt(1, 23, [0x00], 0) + ahci_restart(1) + atapi_pkt(1, 24, [0x03, 0, 0, 0, 18], 18)
    cd += atapi_pkt(1, 25, [0xbd], 8) + ahci_restart(1) + atapi_pkt(1, 26, [0x28, 0, 0, 0, 0, 23, 0, 0, 2], 4096)
    write("ahci", "atapi_sr", cd)
    bad = (ahci_port_start(0) + ahci_cmd(0, 0, h2d(0x25, count=1), [(0xfffff000, 512, 0)]) + ahci_restart(0) +
           ahci_cmd(0, 0, h2d(0x25, count=1), [(0xff00, 512, 0)]) + ahci_restart(0) +
           ahci_cmd(0, 0, h2d(0x25, count=2), [(AHCI_DATA, 100, 0)]) + ahci_restart(0) +
           ahci_cmd(0, 0, h2d(0x35, count=1), []) + ahci_restart(0) +
           ahci_cmd(0, 0, bytes([0x34]) + h2d(0xec)[1:], [(AHCI_DATA, 512, 0)]) + ahci_restart(0) +
           ahci_cmd(0, 0, h2d(0xec), [(AHCI_DATA, 512, 0)], cfl=2) + ahci_restart(0) +
           ahci_cmd(0, 1, h2d(0, ctl=4, c=False), flags=0x500) + ahci_cmd(0, 1, h2d(0, c=False)) +
           ahci_cmd(0, 2, h2d(0xa0), [(AHCI_DATA, 512, 0)]) + ahci_restart(0) +
           abar_w(px(0, 0x18), 0x19) + abar_w(px(0, 0x38), 1 << 31) +
           dev(5, b"\x07") + ahci_cmd(0, 3, h2d(0x25, count=1), [(AHCI_DATA, 512, 0)]) + ahci_restart(0) +
           ahci_cmd(0, 3, h2d(0x35, count=1), [(AHCI_DATA, 512, 0)]) + ahci_restart(0) + ahci_cmd(0, 4, h2d(0xe7)) +
           dev(5, b"\x00") + abar_w(px(0, 0x18), 0) + abar_w(px(0, 0x00), 0xfffffc00) + abar_w(px(0, 0x18), 0x11) +
           abar_w(px(0, 0x38), 1) + abar_r(px(0, 0x10)))
    # A table outside RAM, a PRDT running off its end, a FIS area outside RAM; odd register accesses.
    t_out = struct.pack("<IIII", 5 | 1 << 16, 0, 0xfffff000, 0)
    t_edge = struct.pack("<IIII", 5 | 1 << 16, 0, 0xff80, 0)
    bad += (ahci_restart(0) + mem_write(ahci_clb(0), t_out) + abar_w(px(0, 0x38), 1) + ahci_restart(0) +
            mem_write(ahci_clb(0), t_edge) + mem_write(0xff80, h2d(0x25, count=1)) + abar_w(px(0, 0x38), 1) +
            ahci_restart(0) + abar_w(px(0, 0x18), 0) + abar_w(px(0, 0x08), 0xffffff00) + abar_w(px(0, 0x0c), 0xffffffff) +
            abar_w(px(0, 0x18), 0x11) + ahci_cmd(0, 0, h2d(0xe5)) + abar_w(px(0, 0x3c), 0xffffffff) +
            abar_w(px(0, 0x70), 1) + abar_w(0x0c, 0) + op_access("mmio_write", px(0, 0x10), 8, 0xffffffffffffffff) +
            op_access("mmio_read", px(0, 0x20), 8) + op_access("mmio_read", px(0, 0x21), 1) +
            op_access("mmio_read", px(0, 0x22), 2) + op_access("mmio_write", px(0, 0x38), 2, 1) +
            op_access("mmio_read", 0x1ffc, 4) + abar_r(px(0, 0x40)))
    write("ahci", "hostile", bad)
    trim = ahci_port_start(0) + mem_write(AHCI_DATA, struct.pack("<QQ", 4 | 2 << 48, 120 | 8 << 48))
    trim += ahci_cmd(0, 0, h2d(0x06, count=1, feat=1), [(AHCI_DATA, 512, 0)]) + ahci_ack(0)
    trim += ahci_cmd(0, 1, h2d(0x06, count=1, feat=1), [(AHCI_DATA, 512, 0)])
    write("ahci", "trim", trim)
    # Every other ATA command the disk knows, good and bad, and back-end failures.
    misc = ahci_port_start(0)
    for slot, (cmd, lba, count, feat, n) in enumerate([
            (0xef, 0, 0x0c, 3, 0), (0xef, 0, 0x22, 3, 0), (0xec, 0, 0, 0, 512), (0xef, 0, 0, 0x82, 0),
            (0xef, 0, 0, 0xaa, 0), (0xef, 0, 0, 0x10, 0), (0x34, 5, 1, 0, 512), (0xca, 6, 1, 0, 512),
            (0x20, 7, 1, 0, 512), (0x30, 8, 1, 0, 512), (0x40, 120, 8, 0, 0), (0x40, 127, 2, 0, 0),
            (0xe0, 0, 0, 0, 0), (0xe1, 0, 0, 0, 0), (0x91, 0, 0, 0, 0), (0x10, 0, 0, 0, 0), (0x70, 0, 0, 0, 0),
            (0xc6, 0, 3, 0, 0), (0x47, 0x10, 1, 0, 512), (0x2f, 0x30, 1, 0, 512), (0x2f, 0, 2, 0, 1024),
            (0x06, 0, 9, 1, 512), (0x06, 0, 1, 0, 512), (0x08, 0, 0, 0, 0), (0xa1, 0, 0, 0, 512), (0xb0, 0, 0, 0xd0, 512)]):
        misc += ahci_cmd(0, slot, h2d(cmd, lba=lba, count=count, feat=feat), [(AHCI_DATA, n, 0)] if n else [])
        misc += ahci_restart(0)
    misc += dev(5, b"\x07") + ahci_cmd(0, 0, h2d(0x25, count=1), [(AHCI_DATA, 512, 0)]) + ahci_restart(0)
    misc += ahci_cmd(0, 1, h2d(0x35, count=1), [(AHCI_DATA, 512, 0)]) + ahci_restart(0) + ahci_cmd(0, 2, h2d(0xea))
    misc += ahci_restart(0) + ahci_cmd(0, 3, h2d(0x60, count=3 << 3, feat=1), [(AHCI_DATA, 512, 0)], sact=True)
    misc += ahci_restart(0) + ahci_cmd(0, 4, h2d(0x60, count=4 << 3, feat=1), [(AHCI_DATA, 512, 0)], sact=True)
    misc += dev(5, b"\x00") + ahci_restart(0) + ahci_cmd(0, 5, h2d(0x2f, lba=0x10, count=1), [(AHCI_DATA, 512, 0)])
    write("ahci", "ata_misc", misc)
    # The CD's error answers: no VPD, bad TOC formats, saved mode pages, no medium, read errors.
    cde = ahci_port_start(1)
    for slot, (cdb, n) in enumerate([
            ([0x12, 1, 0x80, 0, 36], 36), ([0x43, 0, 5, 0, 0, 0, 0, 0, 100], 100), ([0x43, 0, 0, 0, 0, 0, 5, 0, 100], 100),
            ([0x43, 0, 0, 0, 0, 0, 0xaa, 0, 100], 100), ([0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0x40], 100),
            ([0x46, 3], 8), ([0x46, 1, 0, 0x10, 0, 0, 0, 0, 100], 100), ([0x4a, 0, 0, 0, 0x10], 8),
            ([0x4a, 1, 0, 0, 0x02, 0, 0, 0, 8], 8), ([0x5a, 0, 0xc1, 0, 0, 0, 0, 0, 64], 64),
            ([0x5a, 0, 0x41, 0, 0, 0, 0, 0, 64], 64), ([0x5a, 0, 0x6a, 0, 0, 0, 0, 0, 64], 64),
            ([0x5a, 0, 0x7f, 0, 0, 0, 0, 0, 64], 64), ([0x2b], 0), ([0xbb], 0)]):
        cde += atapi_pkt(1, slot, cdb, n) + ahci_restart(1)
    cde += dev(5, b"\x08") + atapi_pkt(1, 0, [0x28, 0, 0, 0, 0, 1, 0, 0, 1], 2048) + dev(5, b"\x00") + ahci_restart(1)
    for slot, (cmd, feat, count) in enumerate([(0x08, 0, 0), (0xef, 3, 0x0c), (0xef, 3, 0x22), (0xef, 3, 0x99), (0xef, 2, 0),
                                               (0xe5, 0, 0), (0xe0, 0, 0), (0x25, 0, 1), (0xa1, 0, 0)]):
        cde += ahci_cmd(1, slot, h2d(cmd, count=count, feat=feat), [(AHCI_DATA, 512, 0)]) + ahci_restart(1)
    cde += atapi_pkt(1, 0, [0x1b, 0, 0, 0, 2], 0) + atapi_pkt(1, 1, [0x25], 8) + ahci_restart(1)
    cde += atapi_pkt(1, 2, [0x43], 8) + ahci_restart(1) + atapi_pkt(1, 3, [0x51], 8) + ahci_restart(1)
    cde += atapi_pkt(1, 4, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8], 8)
    write("ahci", "atapi_errors", cde)
    snap = (dev(4, b"\x01") + hba + ahci_port_start(0) + ahci_port_start(1) + ahci_cmd(0, 0, h2d(0xe5)) +
            abar_w(0x08, 1) + ahci_ack(0) + atapi_pkt(1, 0, [0x1b, 0, 0, 0, 2], 0) + dev(2) + dev(3, b"\x18\x00\x04") +
            dev(3, b"\x20\x01") + dev(1, b"\x41\x48\x43\x49") + dev(0) + abar_r(px(0, 0x18)) + dev(4, b"\x00") +
            ahci_port_start(0) + ahci_cmd(0, 0, h2d(0x25, lba=200, count=1), [(AHCI_DATA, 512, 0)]) + dev(2))
    write("ahci", "snapshot_msi", snap)
    # What guests/ahciread.c does (the integration test's guest traffic).
    guest = (abar_r(0x10) + abar_r(0x00) + abar_w(0x04, 0x80000000) + abar_r(0x0c) + abar_r(px(0, 0x28)) +
             ahci_port_start(0) + abar_r(px(0, 0x24)) + ahci_cmd(0, 0, h2d(0xec), [(AHCI_DATA, 512, 0)]) + ahci_ack(0) +
             ahci_cmd(0, 0, h2d(0x25, count=8), [(AHCI_DATA, 4096, 0)]) + ahci_ack(0) +
             ahci_cmd(0, 3, h2d(0x60, count=3 << 3, feat=8), [(AHCI_DATA, 4096, 0)], sact=True) + ahci_ack(0) +
             ahci_cmd(0, 0, h2d(0x35, lba=100, count=1), [(AHCI_DATA, 512, 0)]) + ahci_ack(0) +
             ahci_cmd(0, 0, h2d(0xea)) + ahci_ack(0) + ahci_cmd(0, 0, h2d(0x25, lba=128, count=1), [(AHCI_DATA, 512, 0)]) +
             ahci_ack(0) + ahci_port_start(0) + ahci_cmd(0, 0, h2d(0x25, lba=127, count=1), [(AHCI_DATA, 512, 0)]) +
             abar_r(px(1, 0x28)) + ahci_port_start(1) + abar_r(px(1, 0x24)) +
             ahci_cmd(1, 0, h2d(0xa1), [(AHCI_DATA, 512, 0)]) + ahci_ack(1) + atapi_pkt(1, 0, [0], 0) + atapi_pkt(1, 0, [0x25], 8) +
             atapi_pkt(1, 0, [0x28, 0, 0, 0, 0, 16, 0, 0, 2], 4096))
    write("ahci", "ahciread_guest", guest)
# ---- virtio_blk, virtio_net: a virtio function at 4:0 (mmio base 0xc0000000: BAR 4 at +0, the MSI-X
# BAR 1 at +0x4000, ECAM at +0x20000000); rings of the setup action at 0x1000 + 0x3000 * q -----------

VQ_COMMON, VQ_ISR, VQ_DEVCFG, VQ_NOTIFY, VQ_MSIX = 0x0000, 0x1000, 0x2000, 0x3000, 0x4000
VSLOT = 4


def vring(q):
    return 0x1000 + 0x3000 * q


def vw(off, value, size):
    return op_access("mmio_write", off, size, value, width=2)


def vr(off, size):
    return op_access("mmio_read", off, size, width=2)


def vnotify(q):
    return bytes([KIND["notify"]]) + le(q, 2)


def vdesc(ring, i, addr, length, flags=0, nxt=0):
    return mem_write(ring + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))


def vavail(ring, idx, heads, flags=0):
    """The avail ring of the queue whose descriptors are at ring: flags, idx, then the new heads."""
    start = (idx - len(heads)) % 65536
    b = mem_write(ring + 0x1000, struct.pack("<HH", flags, idx))
    for k, h in enumerate(heads):
        b += mem_write(ring + 0x1000 + 4 + 2 * ((start + k) % 16), struct.pack("<H", h))
    return b


def linux_virtio_init(nqueues, features_lo, msix=True):
    """What virtio_pci_modern does, by hand: config, status, features, MSI-X, queues, DRIVER_OK."""
    b = ecam_write(VSLOT, 0x04, 0x0006, 2) + ecam_read(VSLOT, 0x34, 1) + ecam_read(VSLOT, 0x40)
    b += vw(VQ_COMMON + 20, 0, 1) + vr(VQ_COMMON + 20, 1) + vw(VQ_COMMON + 20, 1, 1) + vw(VQ_COMMON + 20, 3, 1)
    b += vw(VQ_COMMON + 0, 0, 4) + vr(VQ_COMMON + 4, 4) + vw(VQ_COMMON + 0, 1, 4) + vr(VQ_COMMON + 4, 4)
    b += vw(VQ_COMMON + 8, 0, 4) + vw(VQ_COMMON + 12, features_lo, 4) + vw(VQ_COMMON + 8, 1, 4)
    b += vw(VQ_COMMON + 12, 1, 4) + vw(VQ_COMMON + 20, 0x0b, 1) + vr(VQ_COMMON + 20, 1)
    if msix:
        for v in range(nqueues + 1):
            b += (vw(VQ_MSIX + 16 * v, 0xfee00000, 4) + vw(VQ_MSIX + 16 * v + 4, 0, 4) +
                  vw(VQ_MSIX + 16 * v + 8, 0x41 + v, 4) + vw(VQ_MSIX + 16 * v + 12, 0, 4))
        b += ecam_write(VSLOT, 0x52, 0x8000, 2) + ecam_read(VSLOT, 0x50) + vw(VQ_COMMON + 16, 0, 2) + vr(VQ_COMMON + 16, 2)
    b += vr(VQ_COMMON + 18, 2)
    for q in range(nqueues):
        r = vring(q)
        b += vw(VQ_COMMON + 22, q, 2) + vr(VQ_COMMON + 24, 2) + vw(VQ_COMMON + 24, 16, 2)
        if msix:
            b += vw(VQ_COMMON + 26, q + 1, 2) + vr(VQ_COMMON + 26, 2)
        b += (vw(VQ_COMMON + 32, r, 4) + vw(VQ_COMMON + 36, 0, 4) + vw(VQ_COMMON + 40, r + 0x1000, 4) +
              vw(VQ_COMMON + 44, 0, 4) + vw(VQ_COMMON + 48, r + 0x2000, 4) + vw(VQ_COMMON + 52, 0, 4) +
              vr(VQ_COMMON + 30, 2) + vw(VQ_COMMON + 28, 1, 2))
    return b + vw(VQ_COMMON + 20, 0x0f, 1) + vr(VQ_COMMON + 20, 1)


BUF = 0x10000


def blk_req(head, typ, sector, data_len, data_in, avail_idx, data_addr=BUF + 0x1000):
    """Header at BUF + 0x100 * head, data, status byte; descriptors head.. of queue 0."""
    r, hdr, st = vring(0), BUF + 0x100 * head, BUF + 0x800 + head
    b = mem_write(hdr, struct.pack("<IIQ", typ, 0, sector))
    b += vdesc(r, head, hdr, 16, 1, head + 1)
    if data_len:
        b += vdesc(r, head + 1, data_addr, data_len, 1 | (2 if data_in else 0), head + 2)
        b += vdesc(r, head + 2, st, 1, 2)
    else:
        b += vdesc(r, head + 1, st, 1, 2)
    return b + vavail(r, avail_idx, [head]) + vnotify(0)


def virtio_blk_seeds():
    # Linux's driver: init with MSI-X, a read of sector 0, the ISR, a GET_ID.
    b = linux_virtio_init(1, 0x0000_2264) + vr(VQ_DEVCFG, 8) + vr(VQ_DEVCFG + 20, 4) + vr(VQ_DEVCFG + 24, 1)
    b += blk_req(0, 0, 0, 512, True, 1) + blk_req(3, 8, 0, 20, True, 2) + vr(VQ_ISR, 1) + vr(VQ_MSIX + 0x800, 8)
    write("virtio_blk", "linux_init_read", b"\x00" + b)
    # Every request type through the setup action (INTx): write, read back, flush, discard, unknown, past the end.
    b = dev(1, b"\x01") + blk_req(0, 1, 2, 1024, False, 1) + blk_req(3, 0, 2, 1024, True, 2)
    b += blk_req(6, 4, 0, 0, False, 3) + mem_write(BUF + 0x2000, struct.pack("<QII", 4, 2, 0))
    b += blk_req(9, 11, 0, 16, False, 4, BUF + 0x2000) + blk_req(12, 0x55, 0, 0, False, 5)
    b += blk_req(0, 0, 31, 1024, True, 6) + vr(VQ_ISR, 1) + vr(VQ_ISR, 1)
    write("virtio_blk", "requests_intx", b"\x00" + b)
    # Indirect descriptors: one descriptor pointing at a table of three.
    t = BUF + 0x3000
    b = dev(1, b"\x01") + mem_write(BUF, struct.pack("<IIQ", 0, 0, 1))
    b += mem_write(t, struct.pack("<QIHH", BUF, 16, 1, 1) + struct.pack("<QIHH", BUF + 0x1000, 512, 3, 2) +
                   struct.pack("<QIHH", BUF + 0x800, 1, 2, 0))
    b += vdesc(vring(0), 0, t, 48, 4) + vavail(vring(0), 1, [0]) + vnotify(0)
    write("virtio_blk", "indirect", b"\x00" + b)
    # Hostile: a loop, a buffer past RAM, an avail index jump; reset, snapshots, an image patch.
    r = vring(0)
    b = dev(1) + vdesc(r, 0, BUF, 16, 1, 1) + vdesc(r, 1, BUF, 16, 1, 0) + vavail(r, 1, [0]) + vnotify(0)
    b += vr(VQ_COMMON + 20, 1) + dev(2) + dev(1) + vdesc(r, 0, 0x1_ffff_f000, 0x2000, 2) + vavail(r, 1, [0]) + vnotify(0)
    b += dev(1) + vavail(r, 40, [0]) + vnotify(0) + dev(0) + dev(3, b"\x10\x00\x0f\xff") + dev(2)
    b += dev(4, b"\x00") + dev(4, b"\x01")
    write("virtio_blk", "hostile", b"\x00" + b)
    # A read-only disk with 4 KiB sectors: a write is refused; MSI-X masking and pending bits.
    b = dev(1) + vw(VQ_MSIX + 16 + 12, 1, 4) + blk_req(0, 1, 8, 4096, False, 1) + vr(VQ_MSIX + 0x800, 4)
    b += vw(VQ_MSIX + 16 + 12, 0, 4) + ecam_write(VSLOT, 0x52, 0xc000, 2) + blk_req(3, 0, 8, 4096, True, 2)
    b += vr(VQ_MSIX + 0x800, 8) + ecam_write(VSLOT, 0x52, 0x8000, 2) + ecam_write(VSLOT, 0x04, 0x0002, 2)
    b += blk_req(6, 0, 0, 512, True, 3) + dev(4, b"\x01")
    write("virtio_blk", "ro_4k_msix_masks", b"\x07" + b)
    # A disk whose last 4 KiB fail (4 KiB physical blocks): reads, writes, discard and flush there.
    b = dev(1, b"\x01") + blk_req(0, 0, 30, 1024, True, 1) + blk_req(3, 1, 24, 4096, False, 2)
    b += mem_write(BUF + 0x2000, struct.pack("<QII", 28, 4, 0)) + blk_req(6, 11, 0, 16, False, 3, BUF + 0x2000)
    b += blk_req(9, 4, 0, 0, False, 4) + blk_req(12, 0, 0, 1024, True, 5)
    write("virtio_blk", "media_errors", b"\x30" + b)
    # The option parser of -s N,virtio-blk,PATH,... (on a path that does not exist).
    b = dev(8, b"ro,nodelete,sectorsize=4096/8192") + dev(8, b"sectorsize=512/1000") + dev(8, b"bogus=1") + dev(8, b"")
    write("virtio_blk", "conf_options", b"\x00" + b)


def net_frame(n, seed=0):
    return bytes((i * 7 + seed) & 0xff for i in range(n))


def virtio_net_seeds():
    arp = bytes.fromhex("ffffffffffff02000000000108060001080006040001020000000001") + bytes([10, 0, 2, 15]) + bytes(6) + bytes([10, 0, 2, 2])
    rx, tx = vring(0), vring(1)
    # Linux's driver: init with MSI-X, four receive buffers, an ARP request out, a reply in.
    b = linux_virtio_init(2, 0x0001_8020) + vr(VQ_DEVCFG, 4) + vr(VQ_DEVCFG + 4, 2) + vr(VQ_DEVCFG + 6, 2)
    for i in range(4):
        b += vdesc(rx, i, BUF + 0x800 * i, 0x800, 2)
    b += vavail(rx, 4, [0, 1, 2, 3]) + vnotify(0)
    b += mem_write(BUF + 0x4000, bytes(12) + arp) + vdesc(tx, 0, BUF + 0x4000, 12 + len(arp)) + vavail(tx, 1, [0]) + vnotify(1)
    b += host(bytes.fromhex("020000000001525400123456080600010800060400025254001234560a000202020000000001") + bytes([10, 0, 2, 15]))
    write("virtio_net", "linux_arp", b)
    # Mergeable buffers of 256 bytes: a 1000-byte frame spans four; a frame waits for buffers.
    b = dev(1, b"\x00")
    for i in range(6):
        b += vdesc(rx, i, BUF + 0x100 * i, 0x100, 2)
    b += vavail(rx, 2, [0, 1]) + vnotify(0) + dev(8, le(999, 2) + b"\xab\xcd") + host(net_frame(200))
    b += vavail(rx, 6, [2, 3, 4, 5]) + vnotify(0) + vr(VQ_MSIX + 0x800, 8)
    b += mem_write(BUF + 0x4000, bytes(12)) + mem_write(BUF + 0x4100, net_frame(64, 3))
    b += vdesc(tx, 0, BUF + 0x4000, 12, 1, 1) + vdesc(tx, 1, BUF + 0x4100, 64) + vavail(tx, 1, [0]) + vnotify(1)
    write("virtio_net", "mergeable_rx_tx", b)
    # Without MRG_RXBUF (INTx): a frame too big for a buffer is dropped, the next one fits.
    b = dev(1, b"\x05") + vdesc(rx, 0, BUF, 0x80, 2) + vavail(rx, 1, [0]) + vnotify(0)
    b += host(net_frame(200)) + host(net_frame(60, 1)) + vr(VQ_ISR, 1) + vr(VQ_ISR, 1)
    b += vdesc(tx, 0, BUF, 11) + vavail(tx, 1, [0]) + vnotify(1) + dev(8, le(65535, 2))
    write("virtio_net", "no_mrg_intx", b)
    # Hostile: receive buffer past RAM, transmit loop, frames before the driver is up; snapshots.
    b = host(net_frame(100)) + dev(1) + vdesc(rx, 0, 0x1fff8, 0x100, 2) + vavail(rx, 1, [0]) + host(net_frame(90))
    b += vr(VQ_COMMON + 20, 1) + dev(1) + vdesc(tx, 0, BUF, 12, 1, 1) + vdesc(tx, 1, BUF, 12, 1, 0)
    b += vavail(tx, 1, [0]) + vnotify(1) + dev(2) + dev(0) + dev(3, b"\x30\x00\x01\x00") + host(net_frame(10))
    write("virtio_net", "hostile", b)
    # The option parser of -s N,virtio-net,null,... and MAC addresses as users write them.
    b = dev(9, b"mac=02:00:de:ad:be:ef") + dev(9, b"") + dev(9, b"mac=01:00:5e:00:00:01") + dev(9, b"speed=10")
    b += dev(10, b"02:aB:cd:EF:00:99") + dev(10, b"02-00-00-00-00-01") + dev(10, b"02:00:00:00:00") + dev(10, b"0x:00:00:00:00:01")
    write("virtio_net", "conf_and_mac", b)


def main():
    uart_seeds()
    iobus_seeds()
    loader_seeds()
    gdb_seeds()
    config_seeds()
    cmdline_seeds()
    trace_seeds()
    pagewalk_seeds()
    pci_seeds()
    fw_cfg_seeds()
    rtc_seeds()
    ahci_seeds()
    virtio_blk_seeds()
    virtio_net_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
