#!/usr/bin/env python3
"""The far end of a virtio-net unix=PATH back-end for tests: listens on a SOCK_SEQPACKET socket,
answers ARP requests for 10.0.2.2 and ICMP echo requests to it, as a gateway would, and logs
every frame it receives and sends (hex, one per line, "rx "/"tx " prefixed) to LOG. With PATH
"packet:IFACE" it does the same on a network interface (a tap) through an AF_PACKET socket.

usage: net_responder.py PATH LOG GATEWAY_MAC [DELAY_SECONDS]
DELAY_SECONDS: wait that long before each answer (so the guest is asleep when it comes).
"""
import socket
import struct
import sys
import time

path, log_path, gw_mac = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3].replace(":", ""))
delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
GW_IP = bytes([10, 0, 2, 2])


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def answer(f):
    if len(f) >= 42 and f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x01" and f[38:42] == GW_IP:
        arp = b"\x00\x01\x08\x00\x06\x04\x00\x02" + gw_mac + GW_IP + f[22:28] + f[28:32]
        return (f[6:12] + gw_mac + b"\x08\x06" + arp).ljust(60, b"\0")
    if len(f) >= 42 and f[12:14] == b"\x08\x00" and f[23] == 1 and f[30:34] == GW_IP and f[34] == 8:
        ihl = (f[14] & 15) * 4
        ip, icmp = bytearray(f[14:14 + ihl]), bytearray(f[14 + ihl:])
        ip[12:16], ip[16:20] = f[30:34], f[26:30]
        ip[10:12] = b"\0\0"
        ip[10:12] = struct.pack("!H", csum(bytes(ip)))
        icmp[0] = 0
        icmp[2:4] = b"\0\0"
        icmp[2:4] = struct.pack("!H", csum(bytes(icmp)))
        return f[6:12] + gw_mac + b"\x08\x00" + bytes(ip) + bytes(icmp)
    return None


if path.startswith("packet:"):
    conn = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
    conn.bind((path[7:], 0))
    print("listening", flush=True)
else:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(path)
    srv.listen(1)
    print("listening", flush=True)
    conn, _ = srv.accept()
with open(log_path, "w") as log:
    while True:
        frame, addr = conn.recvfrom(70000)
        if not frame:
            break
        if isinstance(addr, tuple) and addr[2] == socket.PACKET_OUTGOING:
            continue  # our own replies, seen on the way out of the interface
        log.write("rx " + frame.hex() + "\n")
        reply = answer(frame)
        if reply:
            time.sleep(delay)
            conn.send(reply)
            log.write("tx " + reply.hex() + "\n")
        log.flush()
