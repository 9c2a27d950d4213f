/* weir_lb.bpf.c — the XDP engine: weir's load balancer as an XDP program, with
 * the semantics of the DPDK engine's pipeline (dataplane/pipeline.cpp) over the
 * same shared headers: parser, flow hash, Maglev lookup, forwarding writers.
 * Runs on the CPU that received each packet; writes only that CPU's per-CPU
 * state and counters, the shared flow table and the least_conn counts. The
 * snapshot maps are the loader's (weir_lb_maps.h, weir_xdp_abi.h).
 *
 * Verdicts: a packet for a VIP leaves by XDP_TX out of the interface it came in
 * on (one-armed), everything else goes to the kernel by XDP_PASS, drops are
 * counted by reason. Where the XDP engine differs from the DPDK engine is
 * written down in docs/xdp.md. */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "weir_abi.h"
#include "weir_hash.h"
#include "weir_lb_forward.h"
#include "weir_lb_maps.h"
#include "weir_maglev.h"
#include "weir_parse.h"
#include "weir_xdp_abi.h"

static __always_inline __u32 weir_lookup_vip(void *map, __u32 gen, const __be32 *daddr, __be16 port,
                                             __u8 proto, __u8 family)
{
	struct weir_xdp_vip_key k = {};
	__builtin_memcpy(k.key.addr, daddr, 16);
	k.key.port = port;
	k.key.proto = proto;
	k.key.family = family;
	k.generation = gen;
	const __u32 *id = bpf_map_lookup_elem(map, &k);
	return id ? *id : WEIR_LB_NONE;
}

/* find_vip (snapshot.h): exact port first, then the port-0 VIP. */
static __always_inline __u32 weir_find_vip(__u32 gen, const struct weir_flow_key *k)
{
	__u32 id = weir_lookup_vip(&weir_vip_keys, gen, k->daddr, k->dport, k->proto, k->family);
	if (id == WEIR_LB_NONE && k->dport != 0)
		id = weir_lookup_vip(&weir_vip_keys, gen, k->daddr, 0, k->proto, k->family);
	return id;
}

/* find_vip_by_addr (snapshot.h). */
static __always_inline __u32 weir_find_vip_by_addr(__u32 gen, const struct weir_flow_key *k, __u8 proto)
{
	return weir_lookup_vip(&weir_vip_addrs, gen, k->daddr, 0, proto, k->family);
}

static __always_inline int weir_same_addr(const __be32 *a, const __be32 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* pipeline::classify. */
static __always_inline void weir_classify(struct weir_lb_pkt *p, const __u8 *data, const __u8 *end,
                                          __u32 seed)
{
	struct weir_pkt *pkt = &p->pkt;
	p->what = WEIR_LB_PASS;
	p->vip = WEIR_LB_NONE;
	switch (weir_parse(data, end, pkt, &p->reason)) {
	case WEIR_PARSE_DROP:
		p->what = WEIR_LB_DROP;
		return;
	case WEIR_PARSE_PASS:
		return;
	default:
		break;
	}
	if (pkt->vip_drop) {
		if (weir_find_vip_by_addr(p->generation, &pkt->key, 0) != WEIR_LB_NONE) {
			p->what = WEIR_LB_DROP;
			p->reason = (__u8)(pkt->vip_drop - 1);
		}
		return;
	}
	if (pkt->flags & WEIR_PKT_F_FRAGMENT) {
		p->vip = weir_find_vip_by_addr(p->generation, &pkt->key, pkt->key.proto);
		if (p->vip == WEIR_LB_NONE)
			return;
		__u32 slot = p->generation * WEIR_MAX_VIPS + (p->vip & (WEIR_MAX_VIPS - 1));
		const struct weir_vip *v = bpf_map_lookup_elem(&weir_vips, &slot);
		if (!v || !(v->flags & WEIR_VIP_F_FRAG_3TUPLE)) {
			p->what = WEIR_LB_DROP;
			p->reason = WEIR_DROP_fragment;
			return;
		}
		p->key = pkt->key;
		p->key.sport = p->key.dport = 0;
		p->what = WEIR_LB_FRAGMENT;
	} else if (pkt->flags & WEIR_PKT_F_ICMP_ERROR) {
		if (!weir_same_addr(pkt->key.daddr, pkt->inner.daddr))
			return;
		p->vip = weir_find_vip(p->generation, &pkt->inner);
		if (p->vip == WEIR_LB_NONE)
			return;
		p->key = pkt->inner;
		p->what = WEIR_LB_ICMP;
	} else if (pkt->key.proto == WEIR_IPPROTO_TCP || pkt->key.proto == WEIR_IPPROTO_UDP) {
		p->vip = weir_find_vip(p->generation, &pkt->key);
		if (p->vip == WEIR_LB_NONE)
			return;
		p->key = pkt->key;
		p->what = WEIR_LB_FLOW;
	} else {
		return;
	}
	weir_flow_hash_sig(&p->key, seed, &p->hash, &p->sig);
}

static __always_inline __u32 weir_backend_slot(__u32 gen, __u32 id)
{
	return gen * WEIR_MAX_BACKENDS + (id & (WEIR_MAX_BACKENDS - 1));
}

/* snapshot::backend_by_ref: the backend a flow entry names, if it still exists. */
static __always_inline const struct weir_backend *weir_backend_by_ref(__u32 gen, __u32 ref)
{
	__u32 slot = weir_backend_slot(gen, WEIR_BACKEND_ID(ref));
	const struct weir_backend *b = bpf_map_lookup_elem(&weir_backends, &slot);
	return b && b->ref == ref && ref != 0 ? b : 0;
}

static __always_inline void weir_active_add(__u32 ref, int n)
{
	__u32 id = WEIR_BACKEND_ID(ref);
	__u32 *a = bpf_map_lookup_elem(&weir_active, &id);
	if (a)
		__sync_fetch_and_add(a, n);
}

/* flow_table::find: the flow's live entry; a matching expired one is reclaimed. */
static __always_inline struct weir_xdp_flow *weir_find_flow(const struct weir_xdp_flow_key *k, __u32 now)
{
	struct weir_xdp_flow *e = bpf_map_lookup_elem(&weir_flows, k);
	if (!e)
		return 0;
	if ((__s32)(e->expires - now) > 0)
		return e;
	/* Whoever deletes the entry counts it: this packet, or the engine's sweep
	 * (weir_swept), never both. */
	__u32 ref = e->backend_ref;
	if (bpf_map_delete_elem(&weir_flows, k) == 0) {
		weir_active_add(ref, -1);
		weir_count(WEIR_XDP_FLOWS_EXPIRED, 1);
	}
	return 0;
}

/* The VIP's Maglev choice by its scheduler's hash (pipeline::consistent). */
static __always_inline __u32 weir_consistent(const struct weir_lb_pkt *p, const struct weir_vip *v,
                                             __u32 seed)
{
	__u32 slot = p->generation * WEIR_MAX_VIPS + (p->vip & (WEIR_MAX_VIPS - 1));
	void *table = bpf_map_lookup_elem(&weir_tables, &slot);
	if (!table || v->table_size == 0)
		return WEIR_LB_NONE;
	__u32 h = v->scheduler == WEIR_SCHED_MAGLEV_SRC ? weir_src_hash(&p->key, seed) : p->hash;
	__u32 index = weir_maglev_slot(h, v->table_size);
	const __u32 *id = bpf_map_lookup_elem(table, &index);
	return id ? *id : WEIR_LB_NONE;
}

static __always_inline __u32 weir_wrr(const struct weir_lb_pkt *p)
{
	__u32 vid = p->vip & (WEIR_MAX_VIPS - 1), zero = 0;
	__u32 slot = p->generation * WEIR_MAX_VIPS + vid;
	void *rot = bpf_map_lookup_elem(&weir_rotations, &slot);
	__u32 *cursor = bpf_map_lookup_elem(&weir_wrr_cursors, &vid);
	if (!rot || !cursor)
		return WEIR_LB_NONE;
	const __u32 *len = bpf_map_lookup_elem(rot, &zero);
	if (!len || *len == 0)
		return WEIR_LB_NONE;
	__u32 n = *len, index = 1 + *cursor % n;
	const __u32 *id = bpf_map_lookup_elem(rot, &index);
	*cursor = *cursor + 1 == n ? 0 : *cursor + 1;
	return id ? *id : WEIR_LB_NONE;
}

struct weir_lc_walk {
	__u32 generation;
	__u32 first;
	__u32 best;
	__u32 pad;
	__u64 best_active;
	__u64 best_weight;
};

/* One backend of a least_conn VIP: fewest active flows relative to weight. */
static long weir_lc_step(__u32 i, void *arg)
{
	struct weir_lc_walk *w = arg;
	__u32 slot = weir_backend_slot(w->generation, w->first + i);
	const __u32 *id = bpf_map_lookup_elem(&weir_vip_backends, &slot);
	if (!id)
		return 1;
	__u32 bid = *id & (WEIR_MAX_BACKENDS - 1);
	__u32 bslot = weir_backend_slot(w->generation, bid);
	const struct weir_backend *b = bpf_map_lookup_elem(&weir_backends, &bslot);
	const __u32 *active = bpf_map_lookup_elem(&weir_active, &bid);
	const __u32 *swept = bpf_map_lookup_elem(&weir_swept, &bid);
	if (!b || !active || !swept || !(b->flags & WEIR_BACKEND_F_USABLE) || b->weight == 0)
		return 0;
	/* Held = counted by packets less reclaimed by the sweep; the two are read
	 * apart, so a sweep in between may make it briefly negative. */
	__s32 held = (__s32)(*active - *swept);
	__u64 a = held > 0 ? (__u64)held : 0;
	if (w->best == WEIR_LB_NONE || a * w->best_weight < w->best_active * b->weight) {
		w->best = bid;
		w->best_active = a;
		w->best_weight = b->weight;
	}
	return 0;
}

static __always_inline __u32 weir_least_conn(const struct weir_lb_pkt *p, const struct weir_vip *v)
{
	struct weir_lc_walk w = {p->generation, v->backend_first, WEIR_LB_NONE, 0, 0, 1};
	bpf_loop(v->backend_count, weir_lc_step, &w, 0);
	return w.best;
}

/* pipeline::schedule: a new flow's backend id, or WEIR_LB_NONE. */
static __always_inline __u32 weir_schedule(const struct weir_lb_pkt *p, const struct weir_vip *v, __u32 seed)
{
	switch (v->scheduler) {
	case WEIR_SCHED_MAGLEV:
	case WEIR_SCHED_MAGLEV_SRC:
		return weir_consistent(p, v, seed);
	case WEIR_SCHED_WRR:
		return weir_wrr(p);
	default:
		return weir_least_conn(p, v);
	}
}

/* pipeline::untracked_choice: wrr and least_conn flows without an entry follow
 * the Maglev table, so that every packet of such a flow takes one backend. */
static __always_inline __u32 weir_untracked_choice(const struct weir_lb_pkt *p, const struct weir_vip *v,
                                                   __u32 seed, __u32 chosen)
{
	if (v->scheduler != WEIR_SCHED_WRR && v->scheduler != WEIR_SCHED_LEAST_CONN)
		return chosen;
	__u32 id = weir_consistent(p, v, seed);
	return id == WEIR_LB_NONE ? chosen : id;
}

static __always_inline __u8 weir_flow_state(const struct weir_pkt *pkt, const struct weir_xdp_flow *e)
{
	if (pkt->key.proto == WEIR_IPPROTO_UDP)
		return WEIR_XDP_FLOW_UDP;
	if (pkt->flags & WEIR_PKT_F_TCP_CLOSING)
		return WEIR_XDP_FLOW_TCP_CLOSING;
	if (e && e->state == WEIR_XDP_FLOW_TCP_CLOSING && !(pkt->flags & WEIR_PKT_F_TCP_SYN))
		return WEIR_XDP_FLOW_TCP_CLOSING;
	return WEIR_XDP_FLOW_TCP;
}

static __always_inline __u32 weir_timeout(const struct weir_node *node, __u8 state)
{
	if (state == WEIR_XDP_FLOW_TCP)
		return node->timeout_tcp;
	if (state == WEIR_XDP_FLOW_TCP_CLOSING)
		return node->timeout_tcp_closing;
	return node->timeout_udp;
}

/* pipeline::track: TCP and UDP to a VIP, through the flow table. */
static __always_inline int weir_track(struct weir_lb_pkt *p, const struct weir_node *node,
                                      const struct weir_vip *v)
{
	struct weir_xdp_flow_key fk = {p->hash, p->sig};
	struct weir_xdp_flow *e = weir_find_flow(&fk, p->now);
	int collision = 0;
	if (e) {
		const struct weir_backend *b = weir_backend_by_ref(p->generation, e->backend_ref);
		/* A SYN on a closed flow opens a new connection: scheduled anew
		 * (pipeline.cpp, reopens). */
		int reopens = e->state == WEIR_XDP_FLOW_TCP_CLOSING && (p->pkt.flags & WEIR_PKT_F_TCP_SYN);
		if (b && b->vip_id == p->vip && (b->flags & WEIR_BACKEND_F_USABLE) && !reopens) {
			__u8 st = weir_flow_state(&p->pkt, e);
			e->expires = p->now + weir_timeout(node, st);
			e->state = st;
			p->backend_slot = weir_backend_slot(p->generation, WEIR_BACKEND_ID(b->ref));
			return WEIR_LB_SEND;
		}
		collision = b && b->vip_id != p->vip;
	}
	__u32 id = weir_schedule(p, v, node->hash_seed);
	if (id == WEIR_LB_NONE)
		return weir_drop(WEIR_DROP_no_backend);
	const struct weir_backend *b =
	        bpf_map_lookup_elem(&weir_backends, &(__u32){weir_backend_slot(p->generation, id)});
	if (!b)
		return weir_drop(WEIR_DROP_no_backend);
	__u8 st = weir_flow_state(&p->pkt, e);
	__u32 expires = p->now + weir_timeout(node, st);
	if (collision) {
		weir_count(WEIR_XDP_UNTRACKED_COLLISIONS, 1);
		weir_count(WEIR_XDP_UNTRACKED, 1);
		id = weir_untracked_choice(p, v, node->hash_seed, id);
	} else if (e) {
		/* Its backend was removed or went down, or it reopened. */
		weir_active_add(e->backend_ref, -1);
		weir_active_add(b->ref, 1);
		e->backend_ref = b->ref;
		e->expires = expires;
		e->state = st;
		weir_count(WEIR_XDP_FLOWS_RECHOSEN, 1);
	} else {
		struct weir_xdp_flow n = {b->ref, expires, st, {0, 0, 0}};
		if (bpf_map_update_elem(&weir_flows, &fk, &n, BPF_ANY) == 0) {
			weir_active_add(b->ref, 1);
			weir_count(WEIR_XDP_FLOWS_INSERTED, 1);
		} else {
			weir_count(WEIR_XDP_UNTRACKED, 1);
			id = weir_untracked_choice(p, v, node->hash_seed, id);
		}
	}
	p->backend_slot = weir_backend_slot(p->generation, id);
	return WEIR_LB_SEND;
}

/* Fragments (3-tuple) and ICMP errors: untracked; an ICMP error follows its
 * flow's entry if there is one (pipeline::decide). */
static __always_inline int weir_untracked(struct weir_lb_pkt *p, const struct weir_node *node,
                                          const struct weir_vip *v)
{
	__u32 slot = WEIR_LB_NONE;
	if (p->what == WEIR_LB_ICMP) {
		struct weir_xdp_flow_key fk = {p->hash, p->sig};
		struct weir_xdp_flow *e = weir_find_flow(&fk, p->now);
		if (e) {
			const struct weir_backend *b = weir_backend_by_ref(p->generation, e->backend_ref);
			if (b && (b->flags & WEIR_BACKEND_F_USABLE) && b->vip_id == p->vip)
				slot = weir_backend_slot(p->generation, WEIR_BACKEND_ID(b->ref));
		}
	}
	if (slot == WEIR_LB_NONE) {
		__u32 id = weir_consistent(p, v, node->hash_seed);
		if (id == WEIR_LB_NONE)
			return weir_drop(WEIR_DROP_no_backend);
		slot = weir_backend_slot(p->generation, id);
	}
	p->backend_slot = slot;
	return WEIR_LB_SEND;
}

int weir_lb_decide(struct xdp_md *ctx, struct weir_lb_pkt *p);

/* Parses and classifies the packet and chooses its backend: a verdict, or
 * WEIR_LB_SEND with p->backend_slot set. */
__attribute__((noinline)) int weir_lb_decide(struct xdp_md *ctx, struct weir_lb_pkt *p)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	__u32 gen;
	if (!p)
		return XDP_ABORTED;
	gen = p->generation & 1;
	const struct weir_node *node = bpf_map_lookup_elem(&weir_nodes, &gen);
	if (!node)
		return XDP_PASS;
	weir_classify(p, data, end, node->hash_seed);
	if (p->what == WEIR_LB_PASS) {
		weir_count(WEIR_XDP_PASS_PACKETS, 1);
		return XDP_PASS;
	}
	if (p->what == WEIR_LB_DROP)
		return weir_drop(p->reason);
	__u32 slot = gen * WEIR_MAX_VIPS + (p->vip & (WEIR_MAX_VIPS - 1));
	const struct weir_vip *v = bpf_map_lookup_elem(&weir_vips, &slot);
	if (!v)
		return weir_drop(WEIR_DROP_no_backend);
	if (p->what == WEIR_LB_FLOW)
		return weir_track(p, node, v);
	return weir_untracked(p, node, v);
}

SEC("xdp")
int weir_lb(struct xdp_md *ctx)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	__u32 zero = 0;
	const struct weir_xdp_state *state = bpf_map_lookup_elem(&weir_state, &zero);
	if (!state)
		return XDP_PASS;
	struct weir_lb_scratch *scratch = bpf_map_lookup_elem(&weir_scratch, &zero);
	if (!scratch)
		return XDP_PASS;
	struct weir_lb_pkt *p = &scratch->p;
	__builtin_memset(p, 0, sizeof(*p));
	p->generation = state->generation & 1;
	if (state->fixed_now) {
		p->now = state->fixed_now;
	} else {
		__u64 ns = bpf_ktime_get_ns();
		if (ns >= scratch->second_ends_ns) {
			scratch->second = (__u32)(ns / 1000000000ull);
			scratch->second_ends_ns = ((__u64)scratch->second + 1) * 1000000000ull;
		}
		p->now = scratch->second;
	}
	weir_count(WEIR_XDP_RX_PACKETS, 1);
	weir_count(WEIR_XDP_RX_BYTES, (__u64)(end - data));
	int verdict = weir_lb_decide(ctx, p);
	if (verdict != WEIR_LB_SEND)
		return verdict;
	verdict = weir_lb_forward(ctx, p);
	if (verdict == WEIR_LB_TOO_BIG)
		verdict = weir_lb_too_big(ctx, p, p->overhead);
	if (verdict == XDP_TX && (p->what == WEIR_LB_ICMP || p->what == WEIR_LB_FRAGMENT)) {
		weir_count(p->what == WEIR_LB_ICMP ? WEIR_XDP_ICMP_FORWARDED : WEIR_XDP_FRAGMENTS_FORWARDED,
		           1);
		weir_count(WEIR_XDP_UNTRACKED, 1);
	}
	return verdict;
}

char LICENSE[] SEC("license") = "GPL";
