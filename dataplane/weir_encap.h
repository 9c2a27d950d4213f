/* weir_encap.h — the headers weir writes in front of a forwarded packet (SPEC §4):
 * IPIP (4in4, 6in6, 4in6), GUE variant 1 over IPv4 or IPv6, and the Ethernet
 * addresses of every frame it sends. Shared by the C++ pipeline and the BPF
 * program; pure functions over caller-checked buffers, any thread.
 *
 * An engine first makes room: it moves the Ethernet/VLAN header `overhead` bytes
 * earlier (DPDK: into the mbuf's headroom; XDP: after bpf_xdp_adjust_head), then
 * calls the writers below for the gap between the L2 header and the inner IP
 * packet. The inner packet is never touched: TTL and checksums stay as sent. */
#ifndef WEIR_ENCAP_H
#define WEIR_ENCAP_H

#include "weir_abi.h"
#include "weir_byteorder.h"
#include "weir_common.h"
#include "weir_csum.h"
#include "weir_hash.h"
#include "weir_proto.h"

#define WEIR_OUTER_TTL 64

/* GUE outer source ports come from the flow hash, in the dynamic range
 * 49152..65535, so backends' NICs spread flows over their RSS queues while every
 * packet of one flow keeps one port. */
WEIR_INLINE __be16 weir_gue_sport(__u32 flow_hash)
{
	return WEIR_HTONS((__u16)(0xc000u | ((flow_hash ^ (flow_hash >> 16)) & 0x3fffu)));
}

/* IPv6 outer flow label from the flow hash (RFC 6438), for ECMP between weir and
 * the backends. */
WEIR_INLINE __u32 weir_outer_flow_label(__u32 flow_hash)
{
	return (flow_hash ^ (flow_hash >> 12)) & 0xfffffu;
}

/* Bytes added in front of the inner IP packet: 0 for l2dsr. */
WEIR_INLINE __u32 weir_encap_overhead(__u8 forwarding, __u8 outer_family)
{
	__u32 ip = outer_family == WEIR_AF_INET6 ? WEIR_IPV6_FIXED_HLEN : WEIR_IPV4_MIN_HLEN;
	if (forwarding == WEIR_FWD_IPIP)
		return ip;
	if (forwarding == WEIR_FWD_GUE)
		return ip + WEIR_UDP_HDR_LEN;
	return 0;
}

/* Outer IPv4 header at h (20 bytes): DF copied from the inner packet, TOS copied
 * (ECN and DSCP survive the tunnel), TTL 64, id 0, checksum computed. */
WEIR_INLINE void weir_write_ipv4(__u8 *h, __be32 saddr, __be32 daddr, __u8 proto, __u16 total_len, __u8 tos,
                                 int df)
{
	__be16 v;
	h[0] = 0x45;
	h[1] = tos;
	v = WEIR_HTONS(total_len);
	__builtin_memcpy(h + 2, &v, 2);
	h[4] = 0;
	h[5] = 0;
	h[6] = df ? 0x40 : 0;
	h[7] = 0;
	h[8] = WEIR_OUTER_TTL;
	h[9] = proto;
	h[10] = 0;
	h[11] = 0;
	__builtin_memcpy(h + 12, &saddr, 4);
	__builtin_memcpy(h + 16, &daddr, 4);
	v = WEIR_HTONS(weir_csum_fold(weir_csum_add(0, h, WEIR_IPV4_MIN_HLEN)));
	__builtin_memcpy(h + 10, &v, 2);
}

/* Outer IPv6 header at h (40 bytes): traffic class copied from the inner packet,
 * flow label from the flow hash, hop limit 64. */
WEIR_INLINE void weir_write_ipv6(__u8 *h, const __be32 *saddr, const __be32 *daddr, __u8 next_header,
                                 __u16 payload_len, __u8 tclass, __u32 flow_label)
{
	__be32 first = WEIR_HTONL((6u << 28) | ((__u32)tclass << 20) | (flow_label & 0xfffffu));
	__be16 len = WEIR_HTONS(payload_len);
	__builtin_memcpy(h, &first, 4);
	__builtin_memcpy(h + 4, &len, 2);
	h[6] = next_header;
	h[7] = WEIR_OUTER_TTL;
	__builtin_memcpy(h + 8, saddr, 16);
	__builtin_memcpy(h + 24, daddr, 16);
}

/* GUE variant 1 UDP header at h: the UDP payload is the inner IP packet itself.
 * The checksum is left 0 here; over IPv4 that is valid (RFC 768), over IPv6 the
 * caller fills it (weir_udp6_checksum). */
WEIR_INLINE void weir_write_udp(__u8 *h, __be16 sport, __be16 dport, __u16 udp_len)
{
	__be16 len = WEIR_HTONS(udp_len);
	__builtin_memcpy(h, &sport, 2);
	__builtin_memcpy(h + 2, &dport, 2);
	__builtin_memcpy(h + 4, &len, 2);
	h[6] = 0;
	h[7] = 0;
}

/* The UDP checksum field for a sum of the pseudo-header and the UDP bytes. */
WEIR_INLINE __be16 weir_udp6_csum_of(__u32 sum)
{
	__u16 c = weir_csum_fold(sum);
	return WEIR_HTONS(c == 0 ? 0xffff : c); /* 0 means "no checksum", not allowed over IPv6 */
}

/* The UDP checksum of an IPv6 GUE packet whose UDP header is at udp and whose
 * `udp_len` bytes (header + inner packet) follow contiguously. */
WEIR_INLINE __be16 weir_udp6_checksum(const __be32 *saddr, const __be32 *daddr, const __u8 *udp,
                                      __u32 udp_len)
{
	__u32 sum = weir_pseudo6(saddr, daddr, WEIR_IPPROTO_UDP, udp_len);
	return weir_udp6_csum_of(weir_csum_add(sum, udp, udp_len));
}

/* Ethernet addresses of a frame weir sends: to `dst`, from the data port. */
WEIR_INLINE void weir_write_eth_addrs(__u8 *eth, const __u8 *dst, const __u8 *src)
{
	__builtin_memcpy(eth, dst, 6);
	__builtin_memcpy(eth + 6, src, 6);
}

#endif /* WEIR_ENCAP_H */
