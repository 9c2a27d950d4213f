/* weir_icmp.h — the ICMP errors weir itself sends: IPv4 "fragmentation needed" and
 * ICMPv6 "packet too big", answering a packet to a VIP that would exceed the MTU
 * toward the backends once encapsulated (SPEC §4). Shared by the C++ pipeline and
 * the BPF program; pure functions, any thread.
 *
 * The reply is built in the trigger's own buffer without moving its payload: the
 * engine pushes WEIR_ICMP4_PUSH / WEIR_ICMP6_PUSH bytes in front of the trigger's IP
 * header (as for an encapsulation), writes the new IP and ICMP headers there, and
 * trims the frame so that the quoted part of the trigger ends the reply. The quote
 * is as long as the RFCs allow (576 bytes of IPv4, 1280 of IPv6) and never makes
 * the reply longer than the trigger. The reply comes from the VIP (the address
 * the client's packet was sent to), so the client's path-MTU cache for the VIP
 * learns the size. */
#ifndef WEIR_ICMP_H
#define WEIR_ICMP_H

#include "weir_byteorder.h"
#include "weir_common.h"
#include "weir_csum.h"
#include "weir_proto.h"

#define WEIR_ICMP4_PUSH 28 /* IPv4 header + ICMP header */
#define WEIR_ICMP6_PUSH 48 /* IPv6 header + ICMPv6 header */
#define WEIR_ICMP4_MAX_REPLY 576 /* RFC 1812 4.3.2.3 */
#define WEIR_ICMP6_MAX_REPLY 1280 /* RFC 4443 2.4(c) */

/* Bytes of the trigger's IP packet to quote; 0 when the trigger is too short to
 * answer without growing (then no reply is sent). */
WEIR_INLINE __u32 weir_icmp_quote_len(__u32 l3_len, __u32 push, __u32 max_reply)
{
	__u32 q;
	if (l3_len <= push)
		return 0;
	q = l3_len - push;
	if (q > max_reply - push)
		q = max_reply - push;
	return q;
}

/* Stores the checksum of an ICMP/ICMPv6 message at icmp whose 16-bit words (and,
 * for ICMPv6, pseudo-header) add up to `sum`, the checksum field counted as 0. */
WEIR_INLINE void weir_icmp_set_csum(__u8 *icmp, __u32 sum)
{
	__be16 v = WEIR_HTONS(weir_csum_fold(sum));
	__builtin_memcpy(icmp + 2, &v, 2);
}

/* IPv4 + ICMP "fragmentation needed" (type 3 code 4) at h, for `quote` bytes of
 * the trigger that follow in memory; the ICMP checksum is left 0. The XDP
 * program sums the quote in the packet itself and calls weir_icmp_set_csum. */
WEIR_INLINE void weir_write_icmp4_frag_needed_headers(__u8 *h, __be32 saddr, __be32 daddr, __u16 mtu,
                                                      __u32 quote)
{
	__u8 *icmp = h + 20;
	__be16 v;
	h[0] = 0x45;
	h[1] = 0;
	v = WEIR_HTONS((__u16)(WEIR_ICMP4_PUSH + quote));
	__builtin_memcpy(h + 2, &v, 2);
	h[4] = h[5] = h[6] = h[7] = 0;
	h[8] = 64;
	h[9] = WEIR_IPPROTO_ICMP;
	h[10] = h[11] = 0;
	__builtin_memcpy(h + 12, &saddr, 4);
	__builtin_memcpy(h + 16, &daddr, 4);
	v = WEIR_HTONS(weir_csum_fold(weir_csum_add(0, h, 20)));
	__builtin_memcpy(h + 10, &v, 2);

	icmp[0] = 3;
	icmp[1] = 4;
	icmp[2] = icmp[3] = icmp[4] = icmp[5] = 0;
	v = WEIR_HTONS(mtu);
	__builtin_memcpy(icmp + 6, &v, 2);
}

/* The same, checksum included. `mtu` is the largest IPv4 packet that passes. */
WEIR_INLINE void weir_write_icmp4_frag_needed(__u8 *h, __be32 saddr, __be32 daddr, __u16 mtu, __u32 quote)
{
	weir_write_icmp4_frag_needed_headers(h, saddr, daddr, mtu, quote);
	weir_icmp_set_csum(h + 20, weir_csum_add(0, h + 20, 8 + quote));
}

/* IPv6 + ICMPv6 "packet too big" (type 2 code 0) at h, for `quote` bytes of the
 * trigger that follow in memory; the checksum is left 0 (see the IPv4 writer). */
WEIR_INLINE void weir_write_icmp6_too_big_headers(__u8 *h, const __be32 *saddr, const __be32 *daddr,
                                                  __u32 mtu, __u32 quote)
{
	__u8 *icmp = h + 40;
	__be32 first = WEIR_HTONL(6u << 28), m = WEIR_HTONL(mtu);
	__be16 v = WEIR_HTONS((__u16)(8 + quote));
	__builtin_memcpy(h, &first, 4);
	__builtin_memcpy(h + 4, &v, 2);
	h[6] = WEIR_IPPROTO_ICMPV6;
	h[7] = 64;
	__builtin_memcpy(h + 8, saddr, 16);
	__builtin_memcpy(h + 24, daddr, 16);

	icmp[0] = 2;
	icmp[1] = 0;
	icmp[2] = icmp[3] = 0;
	__builtin_memcpy(icmp + 4, &m, 4);
}

/* The pseudo-header sum of an ICMPv6 message of `quote` quoted bytes. */
WEIR_INLINE __u32 weir_icmp6_pseudo(const __be32 *saddr, const __be32 *daddr, __u32 quote)
{
	return weir_pseudo6(saddr, daddr, WEIR_IPPROTO_ICMPV6, 8 + quote);
}

/* The same, checksum included. */
WEIR_INLINE void weir_write_icmp6_too_big(__u8 *h, const __be32 *saddr, const __be32 *daddr, __u32 mtu,
                                          __u32 quote)
{
	weir_write_icmp6_too_big_headers(h, saddr, daddr, mtu, quote);
	weir_icmp_set_csum(h + 40, weir_csum_add(weir_icmp6_pseudo(saddr, daddr, quote), h + 40, 8 + quote));
}

#endif /* WEIR_ICMP_H */
