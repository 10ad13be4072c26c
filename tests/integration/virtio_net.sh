# virtio-net from inside a guest: guests/vnetecho.elf (on guests/virtio_guest.c, mergeable receive
# buffers of 512 bytes) ARPs for 10.0.2.2 and pings it with 1400 bytes. Through unix=PATH a
# responder of ours answers and logs every frame, so the test checks the bytes both ways; through
# slirp libslirp answers without privileges; through null nothing answers.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
out=$TMP/out err=$TMP/err
K=$GUESTS/vnetecho.elf
HERE=$(cd "$(dirname "$0")" && pwd)

# start_responder NAME [DELAY]: a responder listening at $TMP/NAME.sock, logging to $TMP/NAME.log
start_responder() {
	python3 "$HERE/net_responder.py" "$TMP/$1.sock" "$TMP/$1.log" 52:54:00:12:34:56 ${2:-} >"$TMP/$1.out" 2>&1 &
	PIDS+=($!)
	wait_for_text "$TMP/$1.out" listening 10
}
fnv_of() { # FNV-1a of a hex string
	python3 -c 'import sys
h = 2166136261
for b in bytes.fromhex(sys.argv[1]):
    h = ((h ^ b) * 16777619) & 0xffffffff
print("0x%08x" % h)' "$1"
}

start_responder a
run_dhyve $out $err -m 64M -s 0,hostbridge -s 1:0,virtio-net,unix=$TMP/a.sock,mac=02:00:de:ad:be:ef \
	-l com1,stdio -o kernel=$K vm0
expect_status 1 "vnetecho over unix="
expect_grep "vnetecho: mac 02:00:de:ad:be:ef link 1" $out
pass "mac= reaches the guest's config space; link up"
# What the guest sent, byte for byte: its ARP request (from the mac= address) and its ping.
arp_req=ffffffffffff0200deadbeef080600010800060400010200deadbeef0a00020f0000000000000a000202
expect_grep "rx $arp_req" $TMP/a.log
grep -q "^rx 5254001234560200deadbeef080045000594123440004001" $TMP/a.log || fail "no ping from the guest: $(cut -c1-120 $TMP/a.log)"
pass "the guest's ARP request and 1442-byte ping left through the back-end unchanged"
# What it received: each reply's checksum as the guest printed it equals the responder's frame.
arp_rep=$(grep '^tx ' $TMP/a.log | sed -n 1p | cut -c4-)
icmp_rep=$(grep '^tx ' $TMP/a.log | sed -n 2p | cut -c4-)
expect_grep "vnetecho: arp reply: 10.0.2.2 is at 52:54:00:12:34:56 (len 60 buffers 1 fnv1a $(fnv_of $arp_rep))" $out
expect_grep "vnetecho: icmp echo reply from 10.0.2.2 payload matches (len 1442 buffers 3 fnv1a $(fnv_of $icmp_rep))" $out
expect_grep "vnetecho: device status 15" $out
pass "the replies arrived intact; the 1442-byte one merged from 3 receive buffers (MRG_RXBUF)"

# Without mac=: a locally administered address derived from the VM name and slot, the same each run.
want_mac=$(python3 -c 'h = 14695981039346656037
for c in b"vm7/1/0":
    h = ((h ^ c) * 1099511628211) & (2**64 - 1)
print(":".join(["02"] + ["%02x" % ((h >> (8 * i)) & 255) for i in range(1, 6)]))')
start_responder b
run_dhyve $out $err -m 64M -s 0,hostbridge -s 1:0,virtio-net,unix=$TMP/b.sock -l com1,stdio -o kernel=$K vm7
expect_status 1 "vnetecho, default MAC"
expect_grep "vnetecho: mac $want_mac link 1" $out
pass "default MAC $want_mac from the VM name and slot"

# slirp: libslirp's gateway answers ARP, ping and DHCP, no privileges involved.
run_dhyve $out $err -m 64M -s 0,hostbridge -s 1:0,virtio-net,slirp -l com1,stdio -o kernel=$K -o cmdline=dhcp vm0
if grep -q "built without libslirp" $err; then
	echo "SKIPPED: slirp (built without libslirp)"
else
	expect_status 1 "vnetecho over slirp"
	expect_grep "vnetecho: arp reply: 10.0.2.2 is at 52:55:0a:00:02:02" $out
	expect_grep "vnetecho: icmp echo reply from 10.0.2.2 payload matches (len 1442 buffers 3" $out
	expect_grep "vnetecho: dhcp offer 10.0.2.15 from 10.0.2.2" $out
	pass "slirp: ARP, a 1400-byte ping to the gateway and a DHCP offer of 10.0.2.15, answered by libslirp"
fi

# Interrupts: guests/vnetirq.elf sleeps in hlt and is woken by MSI-X vectors through the LAPIC. The
# responder answers 0.3 s late, so the frame arrives while the vCPU is halted (door 5 at the kick
# exit, then MSI-X); slirp answers at once.
start_responder c 0.3
run_dhyve $out $err -m 64M -s 0,hostbridge -s 1:0,virtio-net,unix=$TMP/c.sock -l com1,stdio \
	-o kernel=$GUESTS/vnetirq.elf vm0
expect_status 1 "vnetirq over unix="
expect_grep "vnetirq: PASS a received frame woke the halted vCPU through the rx vector" $out
expect_grep "vnetirq: done, 0 failures" $out
if ! grep -q "built without libslirp" $err; then
	run_dhyve $out $err -m 64M -s 0,hostbridge -s 1:0,virtio-net,slirp -l com1,stdio -o kernel=$GUESTS/vnetirq.elf vm0
	expect_status 1 "vnetirq over slirp"
	expect_grep "vnetirq: done, 0 failures" $out
fi
pass "MSI-X: transmit and receive interrupts reach the guest's IDT; a frame wakes a halted vCPU"

# tap: a tap interface made for the test (root only: it is a host interface, without addresses, gone
# at the end); the responder answers on it through an AF_PACKET socket.
tap=dhyvet$$
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
	echo "SKIPPED: tap (needs root, /dev/net/tun and ip)"
elif ! ip tuntap add dev $tap mode tap 2>$TMP/ip.err || ! ip link set $tap up 2>>$TMP/ip.err; then
	ip link del $tap 2>/dev/null
	echo "SKIPPED: tap: cannot create $tap: $(cat $TMP/ip.err)"
else
	trap 'ip link del '$tap' 2>/dev/null; cleanup' EXIT
	python3 "$HERE/net_responder.py" packet:$tap "$TMP/tap.log" 52:54:00:12:34:56 >"$TMP/tap.out" 2>&1 &
	PIDS+=($!)
	wait_for_text "$TMP/tap.out" listening 10
	run_dhyve $out $err -m 64M -s 0,hostbridge -s 1:0,virtio-net,tap=$tap,mac=02:00:de:ad:be:ef -l com1,stdio \
		-o kernel=$K vm0
	expect_status 1 "vnetecho over tap"
	expect_grep "rx $arp_req" $TMP/tap.log
	expect_grep "vnetecho: arp reply: 10.0.2.2 is at 52:54:00:12:34:56" $out
	expect_grep "vnetecho: icmp echo reply from 10.0.2.2 payload matches (len 1442 buffers 3" $out
	ip link del $tap
	pass "tap: the guest's frames reach a host tap interface and the answers come back"
fi

# null: the frames go nowhere and the guest gives up waiting.
run_dhyve $out $err -m 64M -s 0,hostbridge -s 1:0,virtio-net,null -l com1,stdio -o kernel=$K vm0
expect_status 1 "vnetecho over null"
expect_grep "vnetecho: no ARP reply" $out
pass "null: nothing comes back"

# Refusals, before the guest runs.
run_dhyve $out $err -s 1:0,virtio-net,unix=$TMP/nobody.sock -l com1,stdio -o kernel=$K vm0
expect_status 4 "unix= without a peer"
expect_grep "nobody.sock: " $err
run_dhyve $out $err -s 1:0,virtio-net,null,mac=01:00:5e:00:00:01 -l com1,stdio -o kernel=$K vm0
expect_status 4 "a multicast mac="
expect_grep "mac=01:00:5e:00:00:01" $err
run_dhyve $out $err -s 1:0,virtio-net,carrier-pigeon -l com1,stdio -o kernel=$K vm0
expect_status 4 "an unknown back-end"
expect_grep "unknown network back-end 'carrier-pigeon'" $err
pass "refused: a missing socket peer, a multicast MAC, an unknown back-end"
