/* weir_decap.bpf.c — backend-side decapsulation of what weir sends (SPEC §4), for
 * hosts without the kernel's ipip/ip6_tunnel/fou modules. XDP program; runs on
 * the receiving CPU of each packet, and writes only that CPU's counters.
 *
 * A frame is decapsulated when it carries, after Ethernet and at most two VLAN
 * tags, an outer IPv4 or IPv6 header followed either directly by the inner
 * packet (IPv4 protocol / IPv6 next header 4 or 41) or by a UDP header to the
 * GUE port whose payload is the inner packet (GUE variant 1: the payload's first
 * nibble is the inner IP version), and when the outer destination is this host
 * (weir_outer_is_local). The outer header(s) are removed, the Ethernet header and
 * VLAN tags move forward in front of the inner packet, and the innermost
 * EtherType names the inner family; the inner packet's bytes (TTL, checksums) are
 * not touched. Every other frame, including anything malformed or cut short, is
 * passed to the stack exactly as it came: the kernel decides about it.
 *
 * Not decapsulated (passed untouched): outer IPv4 fragments (the kernel
 * reassembles, nothing then decapsulates them: weir sends no fragments), outer
 * IPv6 with extension headers, an inner packet whose header or length does not
 * fit in the outer payload. Outer IPv4 options are allowed and removed with the
 * outer header. The outer UDP checksum is not verified: the inner packet carries
 * its own checksums, which the stack checks. */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "weir_byteorder.h"
#include "weir_common.h"
#include "weir_decap.h"
#include "weir_parse.h"
#include "weir_proto.h"

/* Address families as bpf_fib_lookup takes them (the kernel's AF_INET/AF_INET6). */
#define WEIR_DECAP_AF_INET 2
#define WEIR_DECAP_AF_INET6 10

/* Longest Ethernet header moved: the MAC addresses and WEIR_MAX_VLANS tags, plus
 * the innermost EtherType. */
#define WEIR_DECAP_L2_MAX (WEIR_ETH_HLEN + WEIR_MAX_VLANS * WEIR_VLAN_HLEN)

/* Destination UDP port of GUE. Read-only data: a loader with a skeleton sets it
 * before load ([dataplane] gue_port); xdp-loader and `ip link` keep the default.
 * 0 turns GUE decapsulation off. */
const volatile __u16 weir_gue_port = WEIR_DECAP_GUE_PORT_DEFAULT;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_DECAP_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} weir_decap_counters SEC(".maps");

/* A tunnel packet found in the frame. */
struct weir_tunnel {
	__u32 outer_len; /* bytes removed: outer IP header with its options (+ UDP) */
	__u16 inner_type; /* EtherType of the inner packet */
	__u8 vlans; /* VLAN tags in front of the outer header */
	__u8 counter; /* enum weir_decap_counter of a decapsulation */
};

static __always_inline void weir_count(__u32 index)
{
	__u64 *n = bpf_map_lookup_elem(&weir_decap_counters, &index);
	if (n)
		*n += 1;
}

/* The inner packet at `off` is of version `version`, has a whole IP header and
 * ends within the `space` bytes the outer header gives it. */
static __always_inline int weir_inner_fits(const __u8 *data, const __u8 *end, __u32 off, __u32 space,
                                           __u32 version)
{
	if (version == 4) {
		const __u8 *ip = weir_pull(data, end, off, WEIR_IPV4_MIN_HLEN);
		if (!ip || (ip[0] >> 4) != 4 || (ip[0] & 0x0f) < WEIR_IPV4_MIN_HLEN / 4)
			return 0;
		__u32 tot = weir_load_be16(ip + 2);
		return tot >= (__u32)(ip[0] & 0x0f) * 4 && tot <= space;
	}
	const __u8 *ip = weir_pull(data, end, off, WEIR_IPV6_FIXED_HLEN);
	if (!ip || (ip[0] >> 4) != 6)
		return 0;
	return WEIR_IPV6_FIXED_HLEN + (__u32)weir_load_be16(ip + 4) <= space;
}

/* The payload of the outer IP header at `off` (`space` bytes, protocol `proto`):
 * an inner packet directly, or one behind a GUE UDP header. Returns the inner IP
 * version (4 or 6) and sets *hdr to the bytes in front of the inner packet (0 or
 * the UDP header); 0 when the payload is not a tunnel weir_decap opens. */
static __always_inline __u32 weir_tunnel_payload(const __u8 *data, const __u8 *end, __u32 off, __u32 space,
                                                 __u8 proto, __u32 *hdr)
{
	__u32 version = 0;
	*hdr = 0;
	if (proto == WEIR_IPPROTO_IPIP) {
		version = 4;
	} else if (proto == WEIR_IPPROTO_IPV6) {
		version = 6;
	} else if (proto == WEIR_IPPROTO_UDP) {
		__u16 port = weir_gue_port;
		if (!port || space < WEIR_UDP_HDR_LEN + 1)
			return 0;
		const __u8 *udp = weir_pull(data, end, off, WEIR_UDP_HDR_LEN + 1);
		if (!udp || weir_load_be16(udp + 2) != port)
			return 0;
		__u32 udp_len = weir_load_be16(udp + 4);
		if (udp_len <= WEIR_UDP_HDR_LEN || udp_len > space)
			return 0;
		version = udp[WEIR_UDP_HDR_LEN] >> 4;
		if (version != 4 && version != 6)
			return 0;
		*hdr = WEIR_UDP_HDR_LEN;
		space = udp_len;
	} else {
		return 0;
	}
	if (!weir_inner_fits(data, end, off + *hdr, space - *hdr, version))
		return 0;
	return version;
}

/* Outer IPv4 at `off`. Fills *t and the lookup keys of *fib for a tunnel packet. */
static __always_inline int weir_outer4(const __u8 *data, const __u8 *end, __u32 off, struct weir_tunnel *t,
                                       struct bpf_fib_lookup *fib)
{
	const __u8 *ip = weir_pull(data, end, off, WEIR_IPV4_MIN_HLEN);
	if (!ip)
		return 0;
	__u32 ihl = (__u32)(ip[0] & 0x0f) * 4;
	__u32 tot = weir_load_be16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < WEIR_IPV4_MIN_HLEN || tot < ihl || ip + tot > end)
		return 0;
	if (weir_load_be16(ip + 6) & 0x3fff) /* MF or an offset: a fragment */
		return 0;
	__u32 hdr;
	__u32 version = weir_tunnel_payload(data, end, off + ihl, tot - ihl, ip[9], &hdr);
	if (!version)
		return 0;
	t->outer_len = ihl + hdr;
	if (hdr)
		t->counter = WEIR_DECAP_GUE4;
	else
		t->counter = version == 4 ? WEIR_DECAP_4IN4 : WEIR_DECAP_6IN4;
	t->inner_type = version == 4 ? WEIR_ETH_P_IPV4 : WEIR_ETH_P_IPV6;
	fib->family = WEIR_DECAP_AF_INET;
	fib->tos = ip[1];
	fib->l4_protocol = ip[9];
	fib->tot_len = (__u16)tot;
	__builtin_memcpy(&fib->ipv4_src, ip + 12, 4);
	__builtin_memcpy(&fib->ipv4_dst, ip + 16, 4);
	return 1;
}

/* Outer IPv6 at `off`, as weir_outer4. Extension headers are not walked: weir
 * sends none, so a packet with them is not weir's. */
static __always_inline int weir_outer6(const __u8 *data, const __u8 *end, __u32 off, struct weir_tunnel *t,
                                       struct bpf_fib_lookup *fib)
{
	const __u8 *ip = weir_pull(data, end, off, WEIR_IPV6_FIXED_HLEN);
	if (!ip)
		return 0;
	__u32 plen = weir_load_be16(ip + 4);
	/* Payload length 0 is a jumbogram's: not weir's either. */
	if ((ip[0] >> 4) != 6 || plen == 0 || ip + WEIR_IPV6_FIXED_HLEN + plen > end)
		return 0;
	__u32 hdr;
	__u32 version = weir_tunnel_payload(data, end, off + WEIR_IPV6_FIXED_HLEN, plen, ip[6], &hdr);
	if (!version)
		return 0;
	t->outer_len = WEIR_IPV6_FIXED_HLEN + hdr;
	if (hdr)
		t->counter = WEIR_DECAP_GUE6;
	else
		t->counter = version == 4 ? WEIR_DECAP_4IN6 : WEIR_DECAP_6IN6;
	t->inner_type = version == 4 ? WEIR_ETH_P_IPV4 : WEIR_ETH_P_IPV6;
	fib->family = WEIR_DECAP_AF_INET6;
	__builtin_memcpy(&fib->flowinfo, ip, 4);
	fib->flowinfo &= WEIR_HTONL(0x0fffffffu); /* traffic class and flow label, not the version */
	fib->l4_protocol = ip[6];
	fib->tot_len = (__u16)(WEIR_IPV6_FIXED_HLEN + plen);
	__builtin_memcpy(fib->ipv6_src, ip + 8, 16);
	__builtin_memcpy(fib->ipv6_dst, ip + 24, 16);
	return 1;
}

/* Is the frame in ctx a tunnel packet weir_decap opens? Fills *t and *fib if so. */
static __always_inline int weir_find_tunnel(struct xdp_md *ctx, struct weir_tunnel *t,
                                            struct bpf_fib_lookup *fib)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	struct weir_pkt pkt;
	__u16 type = 0;
	__builtin_memset(&pkt, 0, sizeof(pkt));
	/* The shared parser's L2 rules: 802.1Q/802.1ad tags, WEIR_MAX_VLANS deep. */
	if (weir_parse_l2(data, end, &pkt, &type))
		return 0;
	t->vlans = pkt.vlans;
	if (type == WEIR_ETH_P_IPV4)
		return weir_outer4(data, end, pkt.l3_off, t, fib);
	if (type == WEIR_ETH_P_IPV6)
		return weir_outer6(data, end, pkt.l3_off, t, fib);
	return 0;
}

/* Is the outer destination this host? The kernel's FIB answers for a host that
 * routes on the ingress interface: "not forwarded" (a local, broadcast or
 * multicast destination) is ours; a route elsewhere, a blackhole, unreachable or
 * prohibited destination is not, and such a packet goes on to the kernel
 * untouched (it forwards or refuses it as configured). A host that does not route
 * on that interface (FWD_DISABLED, the usual backend) gets no answer from the
 * FIB; it would deliver or drop the outer packet, never forward it, so every
 * tunnel packet reaching it is taken as its own: the inner packet then meets the
 * stack's own checks (delivered only to a local address such as the VIP on lo).
 * Lookup errors count as that same "no answer". */
static __always_inline int weir_outer_is_local(struct xdp_md *ctx, struct bpf_fib_lookup *fib)
{
	fib->ifindex = ctx->ingress_ifindex;
	long rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	return rc < 0 || rc == BPF_FIB_LKUP_RET_NOT_FWDED || rc == BPF_FIB_LKUP_RET_FWD_DISABLED;
}

/* Removes the outer headers: saves the MAC addresses and VLAN tags, moves the
 * frame start past the outer headers, and writes them back there with the inner
 * family as the innermost EtherType. The bytes overwritten are outer headers
 * only (outer_len >= 20 bytes lie between the old L2 header and the inner
 * packet). Returns 0 when done; otherwise the frame is as it came. */
static __always_inline int weir_strip(struct xdp_md *ctx, const struct weir_tunnel *t)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	__u8 l2[WEIR_DECAP_L2_MAX];
	__u32 vlans = t->vlans;
	/* Both the frame and the decapsulated frame are longer than the longest L2
	 * header (an inner IP header alone is 20 bytes), so one constant check each
	 * covers every tag count. */
	if (data + WEIR_DECAP_L2_MAX > end)
		return -1;
	__builtin_memcpy(l2, data, 12);
	WEIR_UNROLL
	for (__u32 i = 0; i < WEIR_MAX_VLANS; i++)
		if (i < vlans)
			__builtin_memcpy(l2 + 12 + 4 * i, data + 12 + 4 * i, 4);

	if (bpf_xdp_adjust_head(ctx, (int)t->outer_len))
		return -1;
	__u8 *out = (__u8 *)(long)ctx->data;
	end = (const __u8 *)(long)ctx->data_end;
	if (out + WEIR_DECAP_L2_MAX > end) {
		/* Not reached (the inner packet was checked to fit); undoing the move
		 * restores the frame, whose bytes are all still there. */
		bpf_xdp_adjust_head(ctx, -(int)t->outer_len);
		return -1;
	}
	__be16 type = WEIR_HTONS(t->inner_type);
	__builtin_memcpy(out, l2, 12);
	WEIR_UNROLL
	for (__u32 i = 0; i <= WEIR_MAX_VLANS; i++) {
		if (i < vlans) {
			__builtin_memcpy(out + 12 + 4 * i, l2 + 12 + 4 * i, 4);
		} else {
			__builtin_memcpy(out + 12 + 4 * i, &type, 2);
			break;
		}
	}
	return 0;
}

SEC("xdp")
int weir_decap(struct xdp_md *ctx)
{
	struct weir_tunnel t;
	struct bpf_fib_lookup fib;
	__builtin_memset(&t, 0, sizeof(t));
	__builtin_memset(&fib, 0, sizeof(fib));

	if (!weir_find_tunnel(ctx, &t, &fib)) {
		weir_count(WEIR_DECAP_PASSED);
		return XDP_PASS;
	}
	if (!weir_outer_is_local(ctx, &fib)) {
		weir_count(WEIR_DECAP_NOT_LOCAL);
		return XDP_PASS;
	}
	if (weir_strip(ctx, &t)) {
		weir_count(WEIR_DECAP_PASSED);
		return XDP_PASS;
	}
	weir_count(t.counter);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
