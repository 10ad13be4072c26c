#!/usr/bin/env python3
"""A raw GDB remote-protocol client for the gdb stub's integration tests: what gdb itself never
sends (broken checksums, oversized and unknown packets, garbage, a second connection) and what
needs exact timing (Ctrl-C latency). Usage: gdb_rsp.py PORT SCENARIO [ARGS...]; exit status 0
when every check passed, 1 with a message on stderr otherwise."""
import random
import socket
import sys
import time


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def frame(body):
    """"$body#cs", with '$', '#' and '}' escaped as '}' + (byte ^ 0x20)."""
    if isinstance(body, str):
        body = body.encode("latin-1")
    esc = bytearray()
    for b in body:
        if b in b"$#}":
            esc += bytes([0x7d, b ^ 0x20])
        else:
            esc.append(b)
    return b"$" + bytes(esc) + b"#%02x" % (sum(esc) & 0xff)


class Client:
    def __init__(self, port, timeout=5.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.s.close()

    def send_raw(self, data):
        self.s.sendall(data)

    def _fill(self):
        data = self.s.recv(65536)
        if not data:
            raise Fail("the stub closed the connection")
        self.buf += data

    def read_byte(self):
        while not self.buf:
            self._fill()
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def read_packet(self):
        """The next "$body#cs" (acks before it are skipped); checks the checksum, acks it."""
        while True:
            b = self.read_byte()
            if b == b"$":
                break
            check(b in (b"+", b"-"), "unexpected byte %r before a packet" % b)
        while b"#" not in self.buf or len(self.buf) < self.buf.index(b"#") + 3:
            self._fill()
        i = self.buf.index(b"#")
        body, cs, self.buf = self.buf[:i], self.buf[i + 1:i + 3], self.buf[i + 3:]
        check(int(cs, 16) == sum(body) & 0xff, "bad checksum on reply %r" % body)
        self.send_raw(b"+")
        return body.decode("latin-1")

    def ack(self):
        """The stub's answer to a packet in ack mode: '+' or '-'."""
        return self.read_byte().decode()

    def rcmd(self, text):
        """monitor TEXT: the console output of the O packets up to the final OK."""
        out = ""
        r = self.cmd("qRcmd," + text.encode().hex())
        while r.startswith("O") and r != "OK":
            out += bytes.fromhex(r[1:]).decode()
            r = self.read_packet()
        check(r == "OK", "monitor %s ended with %r" % (text, r))
        return out

    def cmd(self, body):
        self.send_raw(frame(body))
        a = self.ack()
        check(a == "+", "packet %r was answered %r, not '+'" % (body, a))
        return self.read_packet()


def scenario_malformed(port):
    c = Client(port)
    r = c.cmd("qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+")
    for feat in ("PacketSize=4000", "qXfer:features:read+", "qXfer:threads:read+", "QStartNoAckMode+",
                 "vContSupported+", "swbreak+", "hwbreak+"):
        check(feat in r.split(";"), "qSupported reply %r lacks %s" % (r, feat))
    check(c.cmd("?").startswith("T05thread:"), "? is not a T05 stop reply")

    c.send_raw(b"$g#00")                          # bad checksum
    check(c.ack() == "-", "a bad checksum was not answered '-'")
    c.send_raw(b"$g#zz")                          # checksum that is not hex
    check(c.ack() == "-", "a non-hex checksum was not answered '-'")
    check(c.cmd("jabberwocky") == "", "an unknown packet did not get the empty reply")
    check(c.cmd("") == "", "an empty packet did not get the empty reply")
    c.send_raw(frame("m" + "1" * 20000))          # longer than PacketSize
    check(c.ack() == "-", "an overlong packet was not answered '-'")
    # Line noise outside packets (without '$', Ctrl-C and '-', which asks for a resend).
    c.send_raw(bytes(b for b in range(256) if b not in b"$-\x03"))
    check(c.cmd("?").startswith("T05"), "no stop reply after line noise")

    errors = ["m", "mzz,4", "m100000", "m100000,zz", "M100000,4:zz", "M100000,2:001122", "X100000,9:ab",
              "Z0", "Z0,zz,1", "z9,100000,1x", "Hx1", "Hgzz", "Hg99", "T99", "Tzz", "p", "pzzzz", "p999",
              "P0=zz", "P999=00", "G0", "Gzz", "vCont;x", "vCont;c:99", "vCont;s:zz", "C", "Szz",
              "qRcmd,zzz", "qThreadExtraInfo,99", "qXfer:features:read:nosuch.xml:0,100",
              "qXfer:features:read:target.xml:zz", "m" + "f" * 17 + ",1", "c1;2", "sffffffffffffffffffffff"]
    for body in errors:
        r = c.cmd(body)
        check(r.startswith("E") or r == "", "malformed %r was answered %r" % (body, r))
    check(c.cmd("mffffffffffff0000,10") == "E14", "unmapped memory is not E14")
    check(c.cmd("Z5,100000,1") == "", "an unknown breakpoint type is not the empty reply")
    check(c.cmd("vMustReplyEmpty") == "", "vMustReplyEmpty")
    check(c.cmd("qC").startswith("QC"), "qC")
    check(c.cmd("qfThreadInfo").startswith("m1"), "qfThreadInfo")
    check(c.cmd("vCont?") == "vCont;c;C;s;S", "vCont?")
    check(len(c.cmd("g")) > 16 * 17, "g after the noise")

    # Random well-framed packets of the read-only and breakpoint kinds (nothing that resumes,
    # kills, detaches or writes the guest): each gets an ack and a reply, none kills the stub.
    rng = random.Random(1234)
    alphabet = "0123456789abcdefABCDEF,:;=-.pPxXZz$#}*?qQ\x00\xff "
    for i in range(3000):
        head = rng.choice(["m", "p", "g", "Hg", "Hc", "T", "Z0,", "z0,", "Z1,", "z1,", "Z2,", "z2,", "Z3,",
                           "z3,", "Z4,", "z4,", "qXfer:threads:read::", "qXfer:features:read:target.xml:",
                           "qThreadExtraInfo,", "qRcmd,", "qC", "?", "vCont?", "q", "Q", "H", "qSupported:"])
        body = head + "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        body = body.encode("latin-1")
        c.send_raw(frame(body))
        check(c.ack() == "+", "random packet %d %r not acked" % (i, body))
        r = c.read_packet()
        while r.startswith("O") and r != "OK":   # monitor output before its OK
            r = c.read_packet()
    for z in range(5):   # whatever the random Z packets planted: gone at the detach below
        c.cmd("z%d,100130,1" % z)
    check(c.cmd("?").startswith("T05"), "no stop reply after the random packets")
    c.close()  # hang up without detaching: the guest must run on
    print("malformed: all answered, stub alive")


def scenario_shadow(port, addr):
    """A planted int3 never shows through m; removing it restores the byte."""
    c = Client(port)
    before = c.cmd("m%x,4" % addr)
    check(len(before) == 8, "m read %r" % before)
    check(c.cmd("Z0,%x,1" % addr) == "OK", "Z0 refused")
    check(c.cmd("m%x,4" % addr) == before, "m shows the int3 instead of the original bytes")
    dump = c.rcmd("phys 0x%x 4" % addr)
    want = " ".join(before[i:i + 2] for i in range(0, 8, 2))
    check(want in dump, "monitor phys shows %r, not the original bytes %s" % (dump, want))
    check(c.cmd("z0,%x,1" % addr) == "OK", "z0 refused")
    check(c.cmd("m%x,4" % addr) == before, "bytes differ after z0")
    check(c.cmd("D") == "OK", "D")
    c.close()
    print("shadow: original bytes %s seen through a planted breakpoint" % before)


def scenario_ctrlc(port, limit_ms):
    """Continue, then 0x03: the T02 must come within limit_ms."""
    c = Client(port)
    c.cmd("QStartNoAckMode")
    worst = 0.0
    for _ in range(5):
        c.send_raw(frame("vCont;c"))
        time.sleep(0.2)
        t0 = time.monotonic()
        c.send_raw(b"\x03")
        r = c.read_packet()
        ms = (time.monotonic() - t0) * 1000
        check(r.startswith("T02thread:"), "Ctrl-C got %r, not T02" % r)
        worst = max(worst, ms)
    check(worst < limit_ms, "Ctrl-C took %.1f ms (limit %d)" % (worst, limit_ms))
    c.send_raw(frame("D"))
    check(c.read_packet() == "OK", "D")
    c.close()
    print("ctrlc: worst stop latency %.2f ms over 5 tries" % worst)


def scenario_second(port):
    """With one client attached, a second connection gets $E01 and is closed."""
    first = Client(port)
    first.cmd("?")
    second = socket.create_connection(("127.0.0.1", port), timeout=5)
    data = b""
    while True:
        chunk = second.recv(100)
        if not chunk:
            break
        data += chunk
    check(data == b"$E01#a6", "the second connection got %r" % data)
    check(first.cmd("?").startswith("T05"), "the first client lost its session")
    first.cmd("D")
    first.close()
    print("second: refused with $E01, first client unaffected")


def main():
    port, scenario, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    try:
        if scenario == "malformed":
            scenario_malformed(port)
        elif scenario == "shadow":
            scenario_shadow(port, int(args[0], 0))
        elif scenario == "ctrlc":
            scenario_ctrlc(port, int(args[0]))
        elif scenario == "second":
            scenario_second(port)
        else:
            raise Fail("unknown scenario " + scenario)
    except (Fail, OSError) as e:
        print("FAIL: %s: %s" % (scenario, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
