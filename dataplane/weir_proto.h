/* weir_proto.h — protocol numbers, EtherTypes, header sizes and TCP flags that
 * the parser, the encapsulation writers and the ICMP generator share.
 * Definitions only. */
#ifndef WEIR_PROTO_H
#define WEIR_PROTO_H

#define WEIR_ETH_HLEN 14
#define WEIR_VLAN_HLEN 4
#define WEIR_IPV4_MIN_HLEN 20
#define WEIR_IPV6_FIXED_HLEN 40
#define WEIR_TCP_MIN_HLEN 20
#define WEIR_UDP_HDR_LEN 8
#define WEIR_ICMP_HLEN 8

#define WEIR_ETH_P_IPV4 0x0800
#define WEIR_ETH_P_IPV6 0x86dd
#define WEIR_ETH_P_8021Q 0x8100
#define WEIR_ETH_P_8021AD 0x88a8

#define WEIR_IPPROTO_HOPOPTS 0
#define WEIR_IPPROTO_ICMP 1
#define WEIR_IPPROTO_IPIP 4
#define WEIR_IPPROTO_TCP 6
#define WEIR_IPPROTO_UDP 17
#define WEIR_IPPROTO_IPV6 41
#define WEIR_IPPROTO_ROUTING 43
#define WEIR_IPPROTO_FRAGMENT 44
#define WEIR_IPPROTO_ICMPV6 58
#define WEIR_IPPROTO_DSTOPTS 60

/* The default destination port of GUE encapsulation ([dataplane] gue_port), and
 * what the backend decapsulator listens on unless told otherwise. */
#define WEIR_GUE_PORT_DEFAULT 6080

#define WEIR_TCP_FIN 0x01
#define WEIR_TCP_SYN 0x02
#define WEIR_TCP_RST 0x04
#define WEIR_TCP_ACK 0x10

#endif /* WEIR_PROTO_H */
