#!/bin/bash
# dhyve-report on a trace file from a second writer (Python, after docs/trace-format.md), and its
# HTML page rendered by headless Chromium: the charts must be in the DOM and show on a screenshot.

# Needs no KVM. Without python3 or Chromium it skips (77), unless DHYVE_REQUIRE_CHROMIUM=1 (CI).
source "$(dirname "$0")/../kvm_lib.sh" "${1:?usage: report_html.sh BUILD_DIR}"
REPORT=$BUILD/cli/dhyve-report
[ -x "$REPORT" ] || fail "$REPORT is not built"

skip() {
	[ "${DHYVE_REQUIRE_CHROMIUM:-0}" = 1 ] && fail "required (DHYVE_REQUIRE_CHROMIUM=1) but $1"
	echo "SKIPPED: $1"
	exit 77
}
command -v python3 >/dev/null || skip "python3 is not installed"

# A second writer, from the documentation alone: if it and trace/tracefile.c disagree on a byte,
# dhyve-report refuses the file and says where.
python3 - "$TMP/trace.bin" <<'EOF' || fail "the Python trace writer failed"
import random, struct, sys, zlib
random.seed(7)
KINDS = dict(pio=0, mmio=1, hlt=2, msr=11, irq_window=9)
insns = {0x100010: b"\xec", 0x100020: b"\xee", 0x100030: b"\x89\x03", 0x100040: b"\xf4", 0x100050: b"\x0f\x30"}
sites = [  # (kind, rip, addr, is_write, median handling ns)
    ("pio", 0x100020, 0x3f8, 1, 900), ("pio", 0x100010, 0x3fd, 0, 600), ("mmio", 0x100030, 0xfee000b0, 1, 2500),
    ("hlt", 0x100040, 0, 0, 40000), ("msr", 0x100050, 0x6e0, 1, 1500), ("irq_window", 0x100040, 0, 0, 300)]
weights = [50, 30, 10, 4, 4, 2]
vcpus = []
for v in range(2):
    recs, t = [], 1_000_000_000 + v * 1000
    for i in range(400):
        kind, rip, addr, w, med = random.choices(sites, weights)[0]
        t += int(random.expovariate(1 / 60000))
        ns = max(50, int(random.lognormvariate(0, 0.6) * med))
        recs.append(struct.pack("<QQQQIIBBBBBBH", t, rip, addr, 0x41, ns, 1, KINDS[kind], 1 if kind == "pio" else 4,
                                w, 0, 3, v, 2))
    vcpus.append(b"".join(recs))
body = struct.pack("<8sIIIIII Q32s", b"DHYVTRC\n", 1, 72, 48, 2, len(insns), 0, 2_000_000_000, b"vm0 <html&test>")
for v, recs in enumerate(vcpus):
    body += struct.pack("<IIQQII", 0x55504356, v, 3 * v, len(recs) // 48, zlib.crc32(recs), 0) + recs
table = b"".join(struct.pack("<QBB15s7x", rip, 3, len(b), b) for rip, b in sorted(insns.items()))
body += struct.pack("<IIII", 0x4E534E49, len(insns), zlib.crc32(table), 0) + table
body += struct.pack("<II", 0x444E4554, zlib.crc32(body))
open(sys.argv[1], "wb").write(body)
EOF
pass "Python wrote a trace file from docs/trace-format.md"

"$REPORT" "$TMP/trace.bin" >"$TMP/text" 2>"$TMP/err" || fail "dhyve-report refused the Python file: $(cat "$TMP/err")"
expect_grep "2 vCPUs, 800 records, 3 lost" "$TMP/text"
pass "dhyve-report reads the file the Python writer made"

"$REPORT" --format=html --decode -o "$TMP/report.html" "$TMP/trace.bin" 2>"$TMP/err" || fail "html report: $(cat "$TMP/err")"
for want in '<svg id="exits-over-time"' 'class="latency-histogram" data-kind="pio"' 'data-kind="mmio"' \
	'<table id="summary"' '<table id="instructions"' 'vm0 &lt;html&amp;test&gt;' 'out dx, al'; do
	expect_grep "$want" "$TMP/report.html"
done
if grep -qiE '<script|<link|@import|url\(|src=' "$TMP/report.html"; then fail "the page loads something from elsewhere"; fi
pass "the HTML page has its charts and tables and loads nothing from elsewhere"

CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$CHROMIUM" ] || skip "Chromium is not installed (apt-get install chromium)"
# 50 s each: both runs must fit ctest's 120 s limit even when Chromium hangs.
chromium_run() {
	timeout 50 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$TMP/profile.XXXXXX")" "$@" "file://$TMP/report.html"
}
chromium_run --dump-dom >"$TMP/dom.html" 2>"$TMP/chromium.err" || fail "chromium --dump-dom: $(tail -5 "$TMP/chromium.err")"
for want in 'id="exits-over-time"' 'class="latency-histogram"' '<rect' '<line' 'id="summary"'; do
	expect_grep "$want" "$TMP/dom.html"
done
nhist=$(grep -o 'class="latency-histogram"' "$TMP/dom.html" | wc -l)
[ "$nhist" = 5 ] || fail "the DOM has $nhist latency histograms, expected 5 (pio, mmio, hlt, msr, irq-window)"
pass "Chromium parsed the page: both kinds of chart are in its DOM"

chromium_run --screenshot="$TMP/shot.png" --window-size=1200,1600 --hide-scrollbars >/dev/null 2>"$TMP/chromium.err" ||
	fail "chromium --screenshot: $(tail -5 "$TMP/chromium.err")"
[ -f "$TMP/shot.png" ] || fail "Chromium wrote no screenshot"
size=$(stat -c %s "$TMP/shot.png")
[ "$size" -gt 10240 ] || fail "the screenshot is only $size bytes: is the page blank?"
# DHYVE_KEEP_SCREENSHOT=FILE keeps a copy, to look at the page.
[ -n "${DHYVE_KEEP_SCREENSHOT:-}" ] && cp "$TMP/shot.png" "$DHYVE_KEEP_SCREENSHOT"

# The charts drew: count the pixels in the pio and mmio colours of the page (a PNG decoder in a
# few lines, so that no imaging library is needed).
python3 - "$TMP/shot.png" <<'EOF' || fail "the screenshot does not show the charts"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, hdr = 8, b"", None
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    chunk = data[pos + 8:pos + 8 + n]
    if typ == b"IHDR":
        hdr = struct.unpack(">IIBBBBB", chunk)
    elif typ == b"IDAT":
        idat += chunk
    pos += 12 + n
w, h, depth, ctype = hdr[:4]
assert depth == 8 and ctype in (2, 6), f"unexpected PNG format depth {depth} colour type {ctype}"
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows, i = bytearray(stride), [], 0
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
def count(rgb):
    return sum(1 for line in rows for x in range(0, stride, bpp)
               if all(abs(line[x + k] - rgb[k]) <= 3 for k in range(3)))
pio, mmio = count((0x4e, 0x79, 0xa7)), count((0xf2, 0x8e, 0x2b))
print(f"screenshot {w}x{h}: {pio} pio-coloured and {mmio} mmio-coloured pixels")
sys.exit(0 if pio > 2000 and mmio > 200 else 1)
EOF
pass "Chromium rendered the charts (screenshot of $size bytes)"
