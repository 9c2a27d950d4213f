/* weir_parse.h — the packet parser: from an Ethernet frame to struct weir_pkt.
 * Shared by the C++ pipeline and the BPF programs; a pure function over
 * [data, end), any thread.
 *
 * Written for the BPF verifier: every read is preceded by a check of the same
 * pointer against `end`, loops have small constant bounds and are unrolled,
 * offsets stay below 64 KiB, and there are no globals or calls. Offsets are kept
 * as scalars and compared with each other (IP packet end, header lengths); the
 * pointer check against `end` is done as well right before each read, because
 * that is the only bound the verifier knows.
 *
 * Three outcomes: PASS (not IP: ARP, LLDP, ... go to the kernel), DROP (the frame
 * is malformed beyond knowing where it goes; *drop_reason is written only then),
 * IP (addresses known). An IP packet that is well-formed enough to route but that
 * weir cannot forward carries pkt->vip_drop = reason + 1: the pipeline drops it
 * only when it is addressed to a VIP, so the kernel still sees everything else.
 * The first such reason found wins (IPv4 options, TTL 0, IPv6 extension chain,
 * L4 header, ICMP quote: in that order).
 *
 * Choices and what is not handled:
 * - VLAN: 0x8100 and 0x88a8 are accepted at either of the WEIR_MAX_VLANS depths
 *   (as the Linux stack does); a third tag is dropped, not passed: the kernel
 *   would not deliver it to anything either.
 * - IPv4: trailing Ethernet padding is allowed (l3_len is the total length and
 *   L4 parsing never looks past it). The header checksum is not verified: the
 *   backend's stack does that, and checking it per packet costs more than the
 *   rare corrupt header it would catch.
 * - IPv6: the extension headers weir walks are hop-by-hop (0), routing (43),
 *   destination options (60) and fragment (44), in any order and at most
 *   WEIR_MAX_IPV6_EXT of them. Any other next header ends the walk and becomes
 *   key.proto: AH (51), ESP (50), mobility (135), no-next-header (59) and
 *   unknown values are not errors, they simply are not TCP/UDP and so match no
 *   VIP. Jumbograms (payload length 0 with a jumbo option) are not supported:
 *   weir never forwards more than an MTU, so they would be dropped later anyway;
 *   with payload length 0 the hop-by-hop header lies past the packet, and the
 *   walk ends as truncated.
 * - A truncated or too long extension chain sets vip_drop ipv6_ext_unsupported;
 *   key.proto is then the extension header at which the walk stopped, and ports
 *   are 0 (the pipeline can only match such a packet to a VIP by address).
 * - L4: l4_off is set only for headers the parser checked (TCP, UDP, ICMP,
 *   ICMPv6) and never for later fragments. Ports are filled as soon as their 4
 *   bytes are inside the IP packet, even when the rest of the header is cut
 *   (vip_drop truncated_l4), so that such a packet still finds its VIP and is
 *   counted as a drop there. The UDP length field and L4 checksums are not
 *   checked (the backend's stack does).
 * - ICMP errors (IPv4 3, 11, 12; ICMPv6 1, 2, 3, 4): the quoted header must be of
 *   the outer family, complete, and for TCP/UDP followed by the 8 bytes RFC 792
 *   guarantees; a quoted IPv6 header's extension chain is walked like the outer
 *   one, but only WEIR_MAX_IPV6_QUOTE_EXT headers deep (longer: bad_icmp_error).
 *   The quote's own length fields are not checked: quotes are cut. */
#ifndef WEIR_PARSE_H
#define WEIR_PARSE_H

#include "weir_byteorder.h"
#include "weir_common.h"
#include "weir_hash.h"
#include "weir_packet.h"
#include "weir_proto.h"
#include "weir_verdict.h"

/* Loops over headers are unrolled: BPF needs it, and the counts are tiny. */
#if defined(__clang__)
#define WEIR_UNROLL _Pragma("unroll")
#else
#define WEIR_UNROLL _Pragma("GCC unroll 8")
#endif

/* Most extension headers walked in a packet quoted by an ICMPv6 error. The quote
 * is a packet a backend sent (VIP -> client), which carries a fragment header and
 * perhaps one options header, not more; and every quoted header walked multiplies
 * the paths the BPF verifier explores (about 20k instructions each). */
#define WEIR_MAX_IPV6_QUOTE_EXT 2
/* Bytes of a quoted transport header an ICMP error must carry (RFC 792). */
#define WEIR_ICMP_QUOTE_L4 8

/* The bytes [off, off + len) of the frame, or 0 when the frame ends before. */
WEIR_INLINE const __u8 *weir_pull(const __u8 *data, const __u8 *end, __u32 off, __u32 len)
{
	const __u8 *p = data + off;
	if (p + len > end)
		return 0;
	return p;
}

WEIR_INLINE void weir_set_vip_drop(struct weir_pkt *pkt, enum weir_drop_reason reason)
{
	if (!pkt->vip_drop)
		pkt->vip_drop = (__u8)(reason + 1);
}

WEIR_INLINE int weir_is_vlan(__u16 ethertype)
{
	return ethertype == WEIR_ETH_P_8021Q || ethertype == WEIR_ETH_P_8021AD;
}

/* Ethernet and VLAN tags. On success *ethertype is the innermost EtherType and
 * pkt->l3_off the offset after it; returns a drop reason + 1 on failure. */
WEIR_INLINE int weir_parse_l2(const __u8 *data, const __u8 *end, struct weir_pkt *pkt, __u16 *ethertype)
{
	const __u8 *eth = weir_pull(data, end, 0, WEIR_ETH_HLEN);
	if (!eth)
		return WEIR_DROP_truncated_l2 + 1;
	__u16 type = weir_load_be16(eth + 12);
	__u32 off = WEIR_ETH_HLEN;
	pkt->proto_off = 12;
	WEIR_UNROLL
	for (int i = 0; i < WEIR_MAX_VLANS; i++) {
		if (!weir_is_vlan(type))
			break;
		const __u8 *tag = weir_pull(data, end, off, WEIR_VLAN_HLEN);
		if (!tag)
			return WEIR_DROP_truncated_l2 + 1;
		type = weir_load_be16(tag + 2);
		pkt->proto_off = (__u16)(off + 2);
		pkt->vlans++;
		off += WEIR_VLAN_HLEN;
	}
	if (weir_is_vlan(type))
		return WEIR_DROP_vlan_too_deep + 1;
	pkt->l3_off = (__u16)off;
	*ethertype = type;
	return 0;
}

/* proto, family and the two pad bytes of a flow key as one 32-bit store. The
 * hash reads the key a word at a time right after parsing, and a word load that
 * spans several narrower stores still in the store buffer cannot take its value
 * from them: it waits for them to reach the cache, a stall on every packet. */
WEIR_INLINE void weir_key_set_proto(struct weir_flow_key *key, __u8 proto, __u8 family)
{
	__u8 w[4] = {proto, family, 0, 0};
	__builtin_memcpy(&key->proto, w, 4);
}

/* The port pair of a TCP/UDP header at `off`, if its first 4 bytes lie before
 * `ip_end`; ports stay as found in the packet (network order). */
WEIR_INLINE void weir_read_ports(const __u8 *data, const __u8 *end, __u32 off, __u32 ip_end,
                                 struct weir_flow_key *key)
{
	if (off + 4 > ip_end)
		return;
	const __u8 *l4 = weir_pull(data, end, off, 4);
	if (!l4)
		return;
	/* Both ports in one store: the hash reads them as one word (see
	 * weir_key_set_proto). */
	__builtin_memcpy(&key->sport, l4, 4);
}

WEIR_INLINE void weir_parse_tcp(const __u8 *data, const __u8 *end, struct weir_pkt *pkt, __u32 off,
                                __u32 ip_end)
{
	weir_read_ports(data, end, off, ip_end, &pkt->key);
	const __u8 *tcp = weir_pull(data, end, off, WEIR_TCP_MIN_HLEN);
	if (!tcp || off + WEIR_TCP_MIN_HLEN > ip_end) {
		weir_set_vip_drop(pkt, WEIR_DROP_truncated_l4);
		return;
	}
	__u32 doff = (__u32)(tcp[12] >> 4) * 4;
	if (doff < WEIR_TCP_MIN_HLEN || off + doff > ip_end) {
		weir_set_vip_drop(pkt, WEIR_DROP_truncated_l4);
		return;
	}
	__u8 flags = tcp[13];
	if (flags & (WEIR_TCP_FIN | WEIR_TCP_RST))
		pkt->flags |= WEIR_PKT_F_TCP_CLOSING;
	if ((flags & (WEIR_TCP_SYN | WEIR_TCP_ACK)) == WEIR_TCP_SYN)
		pkt->flags |= WEIR_PKT_F_TCP_SYN;
	pkt->l4_off = (__u16)off;
}

WEIR_INLINE void weir_parse_udp(const __u8 *data, const __u8 *end, struct weir_pkt *pkt, __u32 off,
                                __u32 ip_end)
{
	weir_read_ports(data, end, off, ip_end, &pkt->key);
	if (off + WEIR_UDP_HDR_LEN > ip_end || !weir_pull(data, end, off, WEIR_UDP_HDR_LEN)) {
		weir_set_vip_drop(pkt, WEIR_DROP_truncated_l4);
		return;
	}
	pkt->l4_off = (__u16)off;
}

/* Where an IPv6 extension-header walk ended. */
struct weir_ipv6_walk {
	__u32 off; /* offset of the header named by `proto` */
	__u8 proto; /* first next-header value that is not an extension weir walks */
	__u8 frag_flags; /* WEIR_PKT_F_FRAGMENT / WEIR_PKT_F_LATER_FRAGMENT */
	__u8 ok; /* 0: the chain was truncated or longer than WEIR_MAX_IPV6_EXT */
	__u8 pad;
};

/* Walks at most `max` (<= WEIR_MAX_IPV6_EXT, a constant at each call) extension
 * headers that start at `off` with next header `nh`, within the IPv6 packet ending
 * at `ip_end`. Used for packets and for ICMPv6 quotes. */
WEIR_INLINE void weir_ipv6_walk_ext(const __u8 *data, const __u8 *end, __u32 off, __u32 ip_end, __u8 nh,
                                    int max, struct weir_ipv6_walk *w)
{
	w->ok = 0;
	w->frag_flags = 0;
	WEIR_UNROLL
	for (int i = 0; i < WEIR_MAX_IPV6_EXT; i++) {
		if (i >= max)
			break;
		if (nh != WEIR_IPPROTO_HOPOPTS && nh != WEIR_IPPROTO_ROUTING && nh != WEIR_IPPROTO_DSTOPTS &&
		    nh != WEIR_IPPROTO_FRAGMENT)
			break;
		/* Every extension header is at least 8 bytes: next header, length, 6 more. */
		const __u8 *ext = weir_pull(data, end, off, 8);
		if (!ext || off + 8 > ip_end)
			goto stop;
		__u32 len = 8;
		if (nh == WEIR_IPPROTO_FRAGMENT) {
			w->frag_flags |= WEIR_PKT_F_FRAGMENT;
			if (weir_load_be16(ext + 2) & 0xfff8) {
				/* A later fragment: what follows is payload, not headers.
				 * Its protocol is the fragment header's next header. */
				w->frag_flags |= WEIR_PKT_F_LATER_FRAGMENT;
				nh = ext[0];
				off += 8;
				w->ok = 1;
				goto stop;
			}
		} else {
			len = ((__u32)ext[1] + 1) * 8;
		}
		if (off + len > ip_end)
			goto stop;
		nh = ext[0];
		off += len;
	}
	if (nh == WEIR_IPPROTO_HOPOPTS || nh == WEIR_IPPROTO_ROUTING || nh == WEIR_IPPROTO_DSTOPTS ||
	    nh == WEIR_IPPROTO_FRAGMENT)
		goto stop;
	w->ok = 1;
stop:
	w->off = off;
	w->proto = nh;
}

/* A quoted IPv4 header at `off` (ICMP error payload), inside the outer packet
 * ending at `ip_end`. Fills pkt->inner in the client -> VIP direction. */
WEIR_INLINE int weir_parse_quote4(const __u8 *data, const __u8 *end, struct weir_pkt *pkt, __u32 off,
                                  __u32 ip_end)
{
	const __u8 *ip = weir_pull(data, end, off, WEIR_IPV4_MIN_HLEN);
	if (!ip || off + WEIR_IPV4_MIN_HLEN > ip_end)
		return 0;
	__u32 ihl = (__u32)(ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || ihl < WEIR_IPV4_MIN_HLEN)
		return 0;
	struct weir_flow_key *in = &pkt->inner;
	in->family = WEIR_AF_INET;
	in->proto = ip[9];
	__builtin_memcpy(&in->saddr[0], ip + 16, 4);
	__builtin_memcpy(&in->daddr[0], ip + 12, 4);
	int later = (weir_load_be16(ip + 6) & 0x1fff) != 0;
	if (later || (in->proto != WEIR_IPPROTO_TCP && in->proto != WEIR_IPPROTO_UDP))
		return off + ihl <= ip_end;
	off += ihl;
	const __u8 *l4 = weir_pull(data, end, off, WEIR_ICMP_QUOTE_L4);
	if (!l4 || off + WEIR_ICMP_QUOTE_L4 > ip_end)
		return 0;
	__builtin_memcpy(&in->sport, l4 + 2, 2);
	__builtin_memcpy(&in->dport, l4, 2);
	return 1;
}

/* A quoted IPv6 header at `off` (ICMPv6 error payload); as weir_parse_quote4. */
WEIR_INLINE int weir_parse_quote6(const __u8 *data, const __u8 *end, struct weir_pkt *pkt, __u32 off,
                                  __u32 ip_end)
{
	const __u8 *ip = weir_pull(data, end, off, WEIR_IPV6_FIXED_HLEN);
	if (!ip || off + WEIR_IPV6_FIXED_HLEN > ip_end || (ip[0] >> 4) != 6)
		return 0;
	struct weir_flow_key *in = &pkt->inner;
	in->family = WEIR_AF_INET6;
	__builtin_memcpy(in->saddr, ip + 24, 16);
	__builtin_memcpy(in->daddr, ip + 8, 16);
	struct weir_ipv6_walk w;
	weir_ipv6_walk_ext(data, end, off + WEIR_IPV6_FIXED_HLEN, ip_end, ip[6], WEIR_MAX_IPV6_QUOTE_EXT, &w);
	if (!w.ok)
		return 0;
	in->proto = w.proto;
	if ((w.frag_flags & WEIR_PKT_F_LATER_FRAGMENT) ||
	    (in->proto != WEIR_IPPROTO_TCP && in->proto != WEIR_IPPROTO_UDP))
		return 1;
	const __u8 *l4 = weir_pull(data, end, w.off, WEIR_ICMP_QUOTE_L4);
	if (!l4 || w.off + WEIR_ICMP_QUOTE_L4 > ip_end)
		return 0;
	__builtin_memcpy(&in->sport, l4 + 2, 2);
	__builtin_memcpy(&in->dport, l4, 2);
	return 1;
}

WEIR_INLINE int weir_icmp_is_error(__u8 family, __u8 type)
{
	if (family == WEIR_AF_INET)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* ICMP (IPv4) or ICMPv6 header at `off`; errors get their quote parsed. */
WEIR_INLINE void weir_parse_icmp(const __u8 *data, const __u8 *end, struct weir_pkt *pkt, __u32 off,
                                 __u32 ip_end)
{
	const __u8 *icmp = weir_pull(data, end, off, WEIR_ICMP_HLEN);
	if (!icmp || off + WEIR_ICMP_HLEN > ip_end) {
		weir_set_vip_drop(pkt, WEIR_DROP_truncated_l4);
		return;
	}
	pkt->icmp_type = icmp[0];
	pkt->icmp_code = icmp[1];
	pkt->l4_off = (__u16)off;
	if (!weir_icmp_is_error(pkt->key.family, pkt->icmp_type))
		return;
	pkt->flags |= WEIR_PKT_F_ICMP_ERROR;
	int ok;
	if (pkt->key.family == WEIR_AF_INET)
		ok = weir_parse_quote4(data, end, pkt, off + WEIR_ICMP_HLEN, ip_end);
	else
		ok = weir_parse_quote6(data, end, pkt, off + WEIR_ICMP_HLEN, ip_end);
	if (!ok) {
		/* No half-filled flow: `inner` is all or nothing. */
		__builtin_memset(&pkt->inner, 0, sizeof(pkt->inner));
		weir_set_vip_drop(pkt, WEIR_DROP_bad_icmp_error);
	}
}

/* The transport header at `off` of protocol pkt->key.proto (not for later
 * fragments). Other protocols have no L4 header weir looks at. */
WEIR_INLINE void weir_parse_l4(const __u8 *data, const __u8 *end, struct weir_pkt *pkt, __u32 off,
                               __u32 ip_end)
{
	__u8 proto = pkt->key.proto;
	if (proto == WEIR_IPPROTO_TCP)
		weir_parse_tcp(data, end, pkt, off, ip_end);
	else if (proto == WEIR_IPPROTO_UDP)
		weir_parse_udp(data, end, pkt, off, ip_end);
	else if ((proto == WEIR_IPPROTO_ICMP && pkt->key.family == WEIR_AF_INET) ||
	         (proto == WEIR_IPPROTO_ICMPV6 && pkt->key.family == WEIR_AF_INET6))
		weir_parse_icmp(data, end, pkt, off, ip_end);
}

/* IPv4 at pkt->l3_off. Returns a drop reason + 1, or 0 when pkt is filled. */
WEIR_INLINE int weir_parse_ipv4(const __u8 *data, const __u8 *end, struct weir_pkt *pkt)
{
	__u32 off = pkt->l3_off;
	const __u8 *ip = weir_pull(data, end, off, WEIR_IPV4_MIN_HLEN);
	if (!ip)
		return WEIR_DROP_truncated_l3 + 1;
	__u32 ihl = (__u32)(ip[0] & 0x0f) * 4;
	__u32 tot = weir_load_be16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < WEIR_IPV4_MIN_HLEN || tot < ihl)
		return WEIR_DROP_bad_ip_header + 1;
	/* A pointer check without a range: the verifier allows it, and it is the
	 * only way to compare against the frame length without subtracting pointers. */
	if (ip + tot > end)
		return WEIR_DROP_bad_ip_header + 1;
	struct weir_flow_key *key = &pkt->key;
	weir_key_set_proto(key, ip[9], WEIR_AF_INET);
	__builtin_memcpy(&key->saddr[0], ip + 12, 4);
	__builtin_memcpy(&key->daddr[0], ip + 16, 4);
	pkt->l3_len = (__u16)tot;
	pkt->ttl = ip[8];
	if (ihl > WEIR_IPV4_MIN_HLEN)
		weir_set_vip_drop(pkt, WEIR_DROP_ip_options);
	if (pkt->ttl == 0)
		weir_set_vip_drop(pkt, WEIR_DROP_ttl_zero);
	__u16 frag = weir_load_be16(ip + 6);
	if (frag & 0x4000)
		pkt->flags |= WEIR_PKT_F_DF;
	if (frag & 0x3fff)
		pkt->flags |= WEIR_PKT_F_FRAGMENT;
	if (frag & 0x1fff) {
		pkt->flags |= WEIR_PKT_F_LATER_FRAGMENT;
		return 0;
	}
	weir_parse_l4(data, end, pkt, off + ihl, off + tot);
	return 0;
}

/* IPv6 at pkt->l3_off, as weir_parse_ipv4. */
WEIR_INLINE int weir_parse_ipv6(const __u8 *data, const __u8 *end, struct weir_pkt *pkt)
{
	__u32 off = pkt->l3_off;
	const __u8 *ip = weir_pull(data, end, off, WEIR_IPV6_FIXED_HLEN);
	if (!ip)
		return WEIR_DROP_truncated_l3 + 1;
	__u32 len = WEIR_IPV6_FIXED_HLEN + (__u32)weir_load_be16(ip + 4);
	if ((ip[0] >> 4) != 6 || ip + len > end)
		return WEIR_DROP_bad_ip_header + 1;
	struct weir_flow_key *key = &pkt->key;
	key->family = WEIR_AF_INET6;
	__builtin_memcpy(key->saddr, ip + 8, 16);
	__builtin_memcpy(key->daddr, ip + 24, 16);
	pkt->l3_len = (__u16)len;
	pkt->ttl = ip[7];
	pkt->flags |= WEIR_PKT_F_DF;
	if (pkt->ttl == 0)
		weir_set_vip_drop(pkt, WEIR_DROP_ttl_zero);
	struct weir_ipv6_walk w;
	weir_ipv6_walk_ext(data, end, off + WEIR_IPV6_FIXED_HLEN, off + len, ip[6], WEIR_MAX_IPV6_EXT, &w);
	weir_key_set_proto(key, w.proto, WEIR_AF_INET6);
	pkt->flags |= w.frag_flags;
	if (!w.ok) {
		weir_set_vip_drop(pkt, WEIR_DROP_ipv6_ext_unsupported);
		return 0;
	}
	if (!(w.frag_flags & WEIR_PKT_F_LATER_FRAGMENT))
		weir_parse_l4(data, end, pkt, w.off, off + len);
	return 0;
}

/* Parses the frame [data, end) into *pkt (zeroed first). */
WEIR_INLINE enum weir_parse_result weir_parse(const __u8 *data, const __u8 *end, struct weir_pkt *pkt,
                                              __u8 *drop_reason)
{
	__builtin_memset(pkt, 0, sizeof(*pkt));
	__u16 ethertype = 0;
	int err = weir_parse_l2(data, end, pkt, &ethertype);
	if (!err) {
		if (ethertype == WEIR_ETH_P_IPV4)
			err = weir_parse_ipv4(data, end, pkt);
		else if (ethertype == WEIR_ETH_P_IPV6)
			err = weir_parse_ipv6(data, end, pkt);
		else
			return WEIR_PARSE_PASS;
	}
	if (err) {
		*drop_reason = (__u8)(err - 1);
		return WEIR_PARSE_DROP;
	}
	return WEIR_PARSE_IP;
}

#endif /* WEIR_PARSE_H */
