#!/usr/bin/env python3
"""decap_send.py KIND OUTER_DST INNER_SRC INNER_DST PORT TOKEN [GUE_PORT]

Sends one packet the way weir forwards it to a backend, for decap_load.sh: a UDP
datagram from INNER_SRC to INNER_DST:PORT carrying TOKEN, encapsulated toward
OUTER_DST. KIND is one of
  4in4, 6in6, 4in6            IPIP: a raw socket of protocol 4 or 41, whose
                              payload the kernel puts behind the outer header
  gue4, gue6, gue6-inner4     GUE: an ordinary UDP datagram to GUE_PORT (default
                              6080) whose payload is the inner IP packet
The inner packet is built here, checksums included, so that the backend's stack
accepts it only if it arrives intact."""
import ipaddress
import socket
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    length = 8 + len(payload)
    zero_sum = struct.pack("!HHHH", sport, dport, length, 0) + payload
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_UDP, length)
    else:
        pseudo = src + dst + struct.pack("!IxxxB", length, socket.IPPROTO_UDP)
    c = checksum(pseudo + zero_sum) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, c) + payload


def inner_packet(src_text: str, dst_text: str, port: int, token: bytes) -> bytes:
    src = ipaddress.ip_address(src_text).packed
    dst = ipaddress.ip_address(dst_text).packed
    l4 = udp(src, dst, 40000, port, token)
    if len(src) == 4:
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0x1234, 0x4000, 61, socket.IPPROTO_UDP, 0,
                             src, dst)
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        return header + l4
    return struct.pack("!IHBB16s16s", 6 << 28, len(l4), socket.IPPROTO_UDP, 61, src, dst) + l4


def main() -> int:
    if len(sys.argv) not in (7, 8):
        print(__doc__, file=sys.stderr)
        return 2
    kind, outer_dst, inner_src, inner_dst, port, token = sys.argv[1:7]
    gue_port = int(sys.argv[7]) if len(sys.argv) == 8 else 6080
    packet = inner_packet(inner_src, inner_dst, int(port), token.encode() + b"\n")
    outer6 = ipaddress.ip_address(outer_dst).version == 6
    family = socket.AF_INET6 if outer6 else socket.AF_INET
    if kind in ("4in4", "6in6", "4in6"):
        proto = socket.IPPROTO_IPV6 if kind == "6in6" else socket.IPPROTO_IPIP
        with socket.socket(family, socket.SOCK_RAW, proto) as s:
            s.sendto(packet, (outer_dst, 0))
    elif kind in ("gue4", "gue6", "gue6-inner4"):
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.sendto(packet, (outer_dst, gue_port))
    else:
        print(f"decap_send.py: unknown kind {kind}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
