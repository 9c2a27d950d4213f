/* weir_packet.h — what the parser learns about a frame (struct weir_pkt) and the
 * parser's result codes. Shared by the C++ pipeline and the BPF programs;
 * definitions only, any thread. The parser itself is weir_parse.h. */
#ifndef WEIR_PACKET_H
#define WEIR_PACKET_H

#include "weir_common.h"
#include "weir_hash.h"
#include "weir_verdict.h"

/* weir_pkt.flags */
#define WEIR_PKT_F_FRAGMENT 0x01 /* an IP fragment (IPv4 MF or offset; IPv6 fragment header) */
#define WEIR_PKT_F_LATER_FRAGMENT 0x02 /* fragment offset != 0: no L4 header, ports are 0 */
#define WEIR_PKT_F_DF 0x04 /* may not be fragmented: IPv4 DF bit; always set for IPv6 */
#define WEIR_PKT_F_ICMP_ERROR 0x08 /* ICMP/ICMPv6 error; `inner` holds the quoted flow */
#define WEIR_PKT_F_TCP_CLOSING 0x10 /* TCP FIN or RST */
#define WEIR_PKT_F_TCP_SYN 0x20 /* TCP SYN without ACK: a new connection */

/* Most VLAN tags parsed (802.1Q, QinQ 802.1ad); deeper stacks are dropped. */
#define WEIR_MAX_VLANS 2
/* Most IPv6 extension headers walked before the transport header. */
#define WEIR_MAX_IPV6_EXT 6

struct weir_pkt {
	/* The flow: source, destination, ports (0 for later fragments and ICMP), the
	 * transport protocol after any IPv6 extension headers. */
	struct weir_flow_key key;
	/* ICMP errors: the flow of the quoted packet as the client sends it, i.e. the
	 * quoted header's addresses and ports swapped (the quoted packet went from the
	 * VIP to the client). Zero otherwise. */
	struct weir_flow_key inner;
	__u16 l3_off; /* IP header offset from the frame start */
	__u16 l4_off; /* transport header offset; 0 when there is none */
	__u16 l3_len; /* IP packet length: IPv4 total length, IPv6 40 + payload length */
	__u16 proto_off; /* offset of the innermost EtherType (rewritten for 4in6) */
	__u8 vlans; /* VLAN tags before the IP header */
	__u8 flags; /* WEIR_PKT_F_* */
	__u8 ttl; /* TTL / hop limit, unchanged by weir */
	__u8 vip_drop; /* a reason (+1) to drop if the destination is a VIP: 0 = none */
	__u8 icmp_type; /* ICMP/ICMPv6 type of an ICMP packet */
	__u8 icmp_code;
	__u8 pad[2];
};

WEIR_STATIC_ASSERT(sizeof(struct weir_pkt) == 2 * sizeof(struct weir_flow_key) + 16, "weir_pkt has no holes");

/* Parser results. For WEIR_PARSE_DROP, *reason says why. */
enum weir_parse_result {
	WEIR_PARSE_IP = 0, /* IPv4/IPv6 with addresses, protocol and (first fragments) ports */
	WEIR_PARSE_PASS = 1, /* not IP (ARP, LLDP, ...): to the kernel */
	WEIR_PARSE_DROP = 2, /* malformed beyond knowing where it goes */
};

#endif /* WEIR_PACKET_H */
