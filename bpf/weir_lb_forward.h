/* weir_lb_forward.h — the forwarding actions of the XDP program (weir_lb.bpf.c):
 * encapsulation or MAC rewrite toward a backend, and ICMP "too big" replies, as
 * dataplane/pipeline.cpp's forward() and too_big() do them, with the shared
 * writers. Runs on the packet's CPU; writes that CPU's counters and ICMP budget.
 *
 * These are global BPF functions: the verifier checks each once, on its own,
 * instead of once per path of the caller, which keeps the whole program far
 * from the verifier's limits. Their arguments are therefore the context and
 * scalars, or a pointer to a struct of scalars (struct weir_lb_pkt). */
#ifndef WEIR_LB_FORWARD_H
#define WEIR_LB_FORWARD_H

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "weir_encap.h"
#include "weir_icmp.h"
#include "weir_lb_maps.h"
#include "weir_packet.h"

/* How the program classified a packet (pipeline.cpp's `kind`). */
enum weir_lb_kind {
	WEIR_LB_PASS = 0,
	WEIR_LB_DROP = 1,
	WEIR_LB_FLOW = 2,
	WEIR_LB_FRAGMENT = 3,
	WEIR_LB_ICMP = 4,
};

/* One packet's state (pipeline.cpp's `packet`), on the program's stack. */
struct weir_lb_pkt {
	struct weir_pkt pkt;
	struct weir_flow_key key; /* the key that picks the backend */
	__u32 generation;
	__u32 now;
	__u32 vip;
	__u32 hash;
	__u32 sig;
	__u32 backend_slot; /* weir_backends index of the chosen backend */
	__u32 overhead; /* encapsulation bytes of a packet answered as too big */
	__u8 what; /* enum weir_lb_kind */
	__u8 reason;
	__u8 pad[2];
};

/* Longest L2 header weir keeps in front of what it writes: Ethernet and two tags. */
#define WEIR_LB_L2_MAX (WEIR_ETH_HLEN + WEIR_MAX_VLANS * WEIR_VLAN_HLEN)

/* A CPU's working memory for one packet: the BPF stack (512 bytes for the whole
 * call chain) cannot hold it. A CPU runs one XDP program at a time to the end,
 * so the entry is the running packet's alone. */
struct weir_lb_scratch {
	/* The coarse clock, per CPU: the second, and the time it ends. One division
	 * a second instead of one per packet (as the DPDK worker's clock). */
	__u64 second_ends_ns;
	__u32 second;
	__u32 pad;
	struct weir_lb_pkt p;
	__u8 l2[WEIR_LB_L2_MAX + 2]; /* the L2 header while the frame grows */
	__u8 mac[6]; /* the next hop's */
	struct bpf_fib_lookup fib;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weir_lb_scratch);
} weir_scratch SEC(".maps");

/* Kernel address families for bpf_fib_lookup. */
#define WEIR_LB_AF_INET 2
#define WEIR_LB_AF_INET6 10

#define WEIR_LB_NONE 0xffffffffu

/* Results of the program's steps besides XDP verdicts: send to
 * p->backend_slot; answer with ICMP too big (p->overhead). */
#define WEIR_LB_SEND 16
#define WEIR_LB_TOO_BIG 17

static __always_inline void weir_count(__u32 index, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&weir_counters, &index);
	if (v)
		*v += n;
}

static __always_inline int weir_drop(__u32 reason)
{
	weir_count(WEIR_XDP_DROPS + (reason < WEIR_DROP__COUNT ? reason : WEIR_DROP_bad_ip_header), 1);
	return XDP_DROP;
}

static __always_inline void weir_traffic(void *map, __u32 index, __u64 bytes)
{
	struct weir_xdp_traffic *t = bpf_map_lookup_elem(map, &index);
	if (t) {
		t->packets += 1;
		t->bytes += bytes;
	}
}

__u32 weir_lb_csum(struct xdp_md *ctx, __u32 off, __u32 len);
int weir_lb_too_big(struct xdp_md *ctx, struct weir_lb_pkt *p, __u32 overhead);
int weir_lb_forward(struct xdp_md *ctx, struct weir_lb_pkt *p);

/* The 16-bit big-endian words of the frame's [off, off + len) added up, as
 * weir_csum_add does over a buffer; a byte loop with a bound the verifier walks
 * (2 KiB covers an MTU-sized packet). */
__attribute__((noinline)) __u32 weir_lb_csum(struct xdp_md *ctx, __u32 off, __u32 len)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	__u32 sum = 0;
	if (off > 256 || len > 2048)
		return 0;
	/* Restate the bounds in the registers the verifier tracks: the compiler
	 * would drop plain masks as redundant. */
	asm volatile("%0 &= 0x1ff" : "+r"(off));
	asm volatile("%0 &= 0xfff" : "+r"(len));
	for (__u32 i = 0; i < 1024; i++) {
		if (2 * i + 2 > len)
			break;
		const __u8 *q = data + off + 2 * i;
		if (q + 2 > end)
			break;
		sum += ((__u32)q[0] << 8) | q[1];
	}
	if (len & 1) {
		const __u8 *q = data + off + ((len - 1) & 0xfff);
		if (q + 1 <= end)
			sum += (__u32)q[0] << 8;
	}
	return sum;
}

/* Moves the L2 header `push` bytes earlier, into headroom the caller made, from
 * a copy taken before bpf_xdp_adjust_head. */
static __always_inline int weir_lb_save_l2(struct xdp_md *ctx, __u8 *l2)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	if (data + WEIR_LB_L2_MAX > end)
		return 0;
	__builtin_memcpy(l2, data, WEIR_LB_L2_MAX);
	return 1;
}

/* Shrinks the frame to `len` bytes (Ethernet padding after the packet goes). */
static __always_inline void weir_lb_trim(struct xdp_md *ctx, __u32 len)
{
	__u32 cur = ctx->data_end - ctx->data;
	if (cur > len)
		bpf_xdp_adjust_tail(ctx, (int)len - (int)cur);
}

/* ICMP "fragmentation needed" / "packet too big" in place of a packet to a VIP
 * that exceeds the MTU once encapsulated (pipeline::too_big). */
__attribute__((noinline)) int weir_lb_too_big(struct xdp_md *ctx, struct weir_lb_pkt *p, __u32 overhead)
{
	__u32 zero = 0;
	struct weir_lb_scratch *scratch = bpf_map_lookup_elem(&weir_scratch, &zero);
	if (!p || !scratch)
		return XDP_ABORTED;
	if (p->what == WEIR_LB_ICMP || !(p->pkt.flags & WEIR_PKT_F_DF))
		return weir_drop(WEIR_DROP_mtu_exceeded);
	__u32 gen = p->generation & 1;
	const struct weir_node *node = bpf_map_lookup_elem(&weir_nodes, &gen);
	struct weir_xdp_icmp_budget *rate = bpf_map_lookup_elem(&weir_icmp, &zero);
	if (!node || !rate)
		return weir_drop(WEIR_DROP_mtu_exceeded);
	if (!rate->primed || p->now != rate->second) {
		rate->primed = 1;
		rate->second = p->now;
		rate->budget = node->icmp_rate;
	}
	int v4 = p->pkt.key.family == WEIR_AF_INET;
	__u32 push = v4 ? WEIR_ICMP4_PUSH : WEIR_ICMP6_PUSH;
	__u32 quote =
	        weir_icmp_quote_len(p->pkt.l3_len, push, v4 ? WEIR_ICMP4_MAX_REPLY : WEIR_ICMP6_MAX_REPLY);
	if (rate->budget == 0) {
		weir_count(WEIR_XDP_ICMP_RATE_LIMITED, 1);
		return weir_drop(WEIR_DROP_mtu_exceeded);
	}
	__u8 *l2 = scratch->l2;
	__u32 l2_len = p->pkt.l3_off;
	if (quote == 0 || l2_len > WEIR_LB_L2_MAX || !weir_lb_save_l2(ctx, l2))
		return weir_drop(WEIR_DROP_mtu_exceeded);
	if (bpf_xdp_adjust_head(ctx, -(int)push))
		return weir_drop(WEIR_DROP_mtu_exceeded);
	rate->budget--;
	weir_lb_trim(ctx, l2_len + push + quote);
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	if (data + WEIR_LB_L2_MAX + WEIR_ICMP6_PUSH > end)
		return weir_drop(WEIR_DROP_mtu_exceeded);
	/* The old L2 header lies `push` (>= 28) bytes later: no overlap. Back to the
	 * sender, from the port. */
	__builtin_memcpy(data, l2, WEIR_LB_L2_MAX);
	__builtin_memcpy(data, l2 + 6, 6);
	__builtin_memcpy(data + 6, node->mac, 6);
	__u8 *h = data + (l2_len & 0x1f);
	if (h + WEIR_ICMP6_PUSH > end)
		return weir_drop(WEIR_DROP_mtu_exceeded);
	__u32 mtu = node->mtu - overhead, sum;
	if (v4) {
		weir_write_icmp4_frag_needed_headers(h, p->pkt.key.daddr[0], p->pkt.key.saddr[0], (__u16)mtu,
		                                     quote);
		sum = weir_lb_csum(ctx, l2_len + 20, 8 + quote);
	} else {
		weir_write_icmp6_too_big_headers(h, p->pkt.key.daddr, p->pkt.key.saddr,
		                                 mtu < 1280 ? 1280 : mtu, quote);
		sum = weir_icmp6_pseudo(p->pkt.key.daddr, p->pkt.key.saddr, quote) +
		      weir_lb_csum(ctx, l2_len + 40, 8 + quote);
	}
	data = (__u8 *)(long)ctx->data;
	end = (__u8 *)(long)ctx->data_end;
	h = data + (l2_len & 0x1f) + (v4 ? 20 : 40);
	if (h + 8 > end)
		return weir_drop(WEIR_DROP_mtu_exceeded);
	weir_icmp_set_csum(h, sum);
	weir_count(WEIR_XDP_ICMP_SENT, 1);
	weir_count(WEIR_XDP_DROPS + WEIR_DROP_mtu_exceeded, 1);
	return XDP_TX;
}

/* The next hop's MAC from the kernel (route and neighbour), for a backend whose
 * MAC the control plane has not resolved yet; only a next hop out of the
 * interface the packet came in on will do. */
static __always_inline int weir_lb_fib_mac(struct xdp_md *ctx, const struct weir_backend *b,
                                           const struct weir_node *node, struct weir_lb_scratch *s)
{
	struct bpf_fib_lookup *f = &s->fib;
	__builtin_memset(f, 0, sizeof(*f));
	if (b->family == WEIR_AF_INET) {
		f->family = WEIR_LB_AF_INET;
		f->ipv4_src = node->ipv4;
		f->ipv4_dst = b->addr[0];
	} else {
		f->family = WEIR_LB_AF_INET6;
		__builtin_memcpy(f->ipv6_src, node->ipv6, 16);
		__builtin_memcpy(f->ipv6_dst, b->addr, 16);
	}
	f->ifindex = ctx->ingress_ifindex;
	if (bpf_fib_lookup(ctx, f, sizeof(*f), 0) != BPF_FIB_LKUP_RET_SUCCESS ||
	    f->ifindex != ctx->ingress_ifindex)
		return 0;
	__builtin_memcpy(s->mac, f->dmac, 6);
	return 1;
}

/* Writes the outer headers of forwarding `fwd` toward `b` in front of the packet
 * (pipeline::forward's encapsulation). Returns -1 when done, else a verdict. */
static __always_inline int weir_lb_encap(struct xdp_md *ctx, struct weir_lb_pkt *p,
                                         const struct weir_node *node, __u8 fwd, const struct weir_backend *b,
                                         __u8 *l2)
{
	__u32 overhead = weir_encap_overhead(fwd, b->family);
	if (p->pkt.l3_len + overhead > node->mtu) {
		p->overhead = overhead;
		return WEIR_LB_TOO_BIG;
	}
	__u32 l2_len = p->pkt.l3_off & 0x1f;
	if (l2_len > WEIR_LB_L2_MAX || !weir_lb_save_l2(ctx, l2))
		return weir_drop(WEIR_DROP_no_headroom);
	const __u8 *inner = (const __u8 *)(long)ctx->data + l2_len;
	if (inner + 2 > (const __u8 *)(long)ctx->data_end)
		return weir_drop(WEIR_DROP_no_headroom);
	__u8 tos = p->pkt.key.family == WEIR_AF_INET ? inner[1] : (__u8)((inner[0] << 4) | (inner[1] >> 4));
	if (bpf_xdp_adjust_head(ctx, -(int)overhead))
		return weir_drop(WEIR_DROP_no_headroom);
	weir_lb_trim(ctx, l2_len + overhead + p->pkt.l3_len);
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	/* Every overhead (>= 20) is at least the L2 bytes copied past l2_len (<= 8). */
	if (data + WEIR_LB_L2_MAX > end)
		return weir_drop(WEIR_DROP_no_headroom);
	__builtin_memcpy(data, l2, WEIR_LB_L2_MAX);
	if (b->family == WEIR_AF_INET6 && p->pkt.key.family == WEIR_AF_INET) {
		__u8 *et = data + (p->pkt.proto_off & 0x1f);
		if (et + 2 > end)
			return weir_drop(WEIR_DROP_no_headroom);
		__be16 v = WEIR_HTONS(WEIR_ETH_P_IPV6);
		__builtin_memcpy(et, &v, 2);
	}
	__u8 proto = fwd == WEIR_FWD_GUE                 ? WEIR_IPPROTO_UDP
	             : p->pkt.key.family == WEIR_AF_INET ? WEIR_IPPROTO_IPIP
	                                                 : WEIR_IPPROTO_IPV6;
	__u32 ip_hlen = b->family == WEIR_AF_INET ? WEIR_IPV4_MIN_HLEN : WEIR_IPV6_FIXED_HLEN;
	__u8 *outer = data + l2_len;
	if (outer + WEIR_IPV6_FIXED_HLEN + WEIR_UDP_HDR_LEN > end)
		return weir_drop(WEIR_DROP_no_headroom);
	if (b->family == WEIR_AF_INET)
		weir_write_ipv4(outer, node->ipv4, b->addr[0], proto, (__u16)(overhead + p->pkt.l3_len), tos,
		                p->pkt.flags & WEIR_PKT_F_DF);
	else
		weir_write_ipv6(outer, node->ipv6, b->addr, proto,
		                (__u16)(overhead - ip_hlen + p->pkt.l3_len), tos,
		                weir_outer_flow_label(p->hash));
	if (fwd != WEIR_FWD_GUE)
		return -1;
	__u32 udp_len = WEIR_UDP_HDR_LEN + p->pkt.l3_len;
	weir_write_udp(outer + ip_hlen, weir_gue_sport(p->hash), node->gue_port, (__u16)udp_len);
	if (b->family != WEIR_AF_INET6)
		return -1;
	__u32 sum = weir_pseudo6(node->ipv6, b->addr, WEIR_IPPROTO_UDP, udp_len) +
	            weir_lb_csum(ctx, l2_len + WEIR_IPV6_FIXED_HLEN, udp_len);
	data = (__u8 *)(long)ctx->data;
	end = (__u8 *)(long)ctx->data_end;
	__u8 *csum = data + l2_len + WEIR_IPV6_FIXED_HLEN + 6;
	if (csum + 2 > end)
		return weir_drop(WEIR_DROP_no_headroom);
	__be16 c = weir_udp6_csum_of(sum);
	__builtin_memcpy(csum, &c, 2);
	return -1;
}

/* Sends the packet to the backend in weir_backends[p->backend_slot] with its
 * VIP's forwarding (pipeline::forward), and counts it. Returns a verdict, or
 * WEIR_LB_TOO_BIG: the caller answers with weir_lb_too_big (called from here,
 * both frames would not fit the stack together). */
__attribute__((noinline)) int weir_lb_forward(struct xdp_md *ctx, struct weir_lb_pkt *p)
{
	__u32 zero = 0;
	struct weir_lb_scratch *scratch = bpf_map_lookup_elem(&weir_scratch, &zero);
	if (!p || !scratch)
		return XDP_ABORTED;
	__u32 gen = p->generation & 1;
	__u32 vip_slot = gen * WEIR_MAX_VIPS + (p->vip & (WEIR_MAX_VIPS - 1));
	const struct weir_node *node = bpf_map_lookup_elem(&weir_nodes, &gen);
	const struct weir_vip *v = bpf_map_lookup_elem(&weir_vips, &vip_slot);
	__u32 backend_slot = p->backend_slot;
	const struct weir_backend *b = bpf_map_lookup_elem(&weir_backends, &backend_slot);
	if (!node || !v || !b)
		return weir_drop(WEIR_DROP_no_backend);
	if (b->flags & WEIR_BACKEND_F_MAC)
		__builtin_memcpy(scratch->mac, b->next_hop_mac, 6);
	else if (!weir_lb_fib_mac(ctx, b, node, scratch))
		return weir_drop(WEIR_DROP_no_next_hop);
	__u16 counter_id = v->counter_id;
	if (v->forwarding != WEIR_FWD_L2DSR) {
		int verdict = weir_lb_encap(ctx, p, node, v->forwarding, b, scratch->l2);
		if (verdict >= 0)
			return verdict;
	}
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	if (data + WEIR_ETH_HLEN > end)
		return weir_drop(WEIR_DROP_truncated_l2);
	weir_write_eth_addrs(data, scratch->mac, node->mac);
	__u64 len = (__u64)(end - data);
	weir_count(WEIR_XDP_TX_PACKETS, 1);
	weir_count(WEIR_XDP_TX_BYTES, len);
	weir_traffic(&weir_vip_traffic, counter_id, len);
	weir_traffic(&weir_backend_traffic, WEIR_BACKEND_ID(b->ref), len);
	return XDP_TX;
}

#endif /* WEIR_LB_FORWARD_H */
