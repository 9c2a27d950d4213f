/* weir_xdp_abi.h — the XDP engine's maps as both sides see them: keys and values
 * that the loader (bpf/xdp_program.cpp, control thread) writes and the XDP
 * program (bpf/weir_lb.bpf.c, every CPU's packets) reads, and the counters the
 * program writes and the engine reads. Definitions only.
 *
 * Snapshots are published by a generation flip: every map that holds snapshot
 * data has two halves, selected by weir_xdp_state.generation. The loader fills
 * the half no packet reads, flips the generation, then waits for an RCU grace
 * period (any map-in-map update does) before that half may be rewritten. So a
 * packet sees one whole snapshot, never a mix, and nothing it reads is rewritten
 * under it. */
#ifndef WEIR_XDP_ABI_H
#define WEIR_XDP_ABI_H

#include "weir_abi.h"
#include "weir_common.h"
#include "weir_verdict.h"

/* Index of the second half of a generation-keyed array: half `g` of a map of
 * per-snapshot entries indexed by `id` holds them at g * COUNT + id. */
#define WEIR_XDP_GENERATIONS 2u

/* The one entry of the weir_state array. Written by the loader with one aligned
 * 8-byte store (an array map update of 8 bytes), read once per packet. */
struct weir_xdp_state {
	__u32 generation; /* 0 or 1: the half of every snapshot map packets read */
	/* Seconds of the flow clock. 0: bpf_ktime_get_ns() / 1e9 (CLOCK_MONOTONIC,
	 * what the engine reads for `weirctl explain`); tests set a fixed time. */
	__u32 fixed_now;
};
WEIR_STATIC_ASSERT(sizeof(struct weir_xdp_state) == 8, "weir_xdp_state layout");

/* Key of the VIP lookups (weir_vip_keys: exact port, then port 0;
 * weir_vip_addrs: fragments and malformed packets by address). */
struct weir_xdp_vip_key {
	struct weir_vip_key key;
	__u32 generation;
};
WEIR_STATIC_ASSERT(sizeof(struct weir_xdp_vip_key) == 24, "weir_xdp_vip_key layout");
WEIR_STATIC_ASSERT(__builtin_offsetof(struct weir_xdp_vip_key, generation) == 20, "generation after the key");

/* Flow table key: the two independent hashes the DPDK flow table uses (hash
 * picks the bucket there, sig is compared), so `weirctl explain` finds a flow
 * the same way on both engines. */
struct weir_xdp_flow_key {
	__u32 hash;
	__u32 sig;
};
WEIR_STATIC_ASSERT(sizeof(struct weir_xdp_flow_key) == 8, "weir_xdp_flow_key layout");

/* Flow table value (an LRU hash shared by all CPUs). */
struct weir_xdp_flow {
	__u32 backend_ref; /* generation << 16 | id (weir_abi.h) */
	__u32 expires; /* flow clock, seconds; expired when expires - now <= 0 */
	__u8 state; /* WEIR_XDP_FLOW_* */
	__u8 pad[3];
};
WEIR_STATIC_ASSERT(sizeof(struct weir_xdp_flow) == 12, "weir_xdp_flow layout");

/* weir_xdp_flow.state, the values of dp::flow_state. */
#define WEIR_XDP_FLOW_TCP 0
#define WEIR_XDP_FLOW_TCP_CLOSING 1
#define WEIR_XDP_FLOW_UDP 2

/* A CPU's ICMP error budget (per-CPU array, one entry): what the DPDK pipeline
 * keeps per worker. */
struct weir_xdp_icmp_budget {
	__u32 second; /* the flow-clock second the budget is for */
	__u32 budget; /* errors still allowed in that second */
	__u32 primed; /* 0 until the first error: `second` holds nothing yet */
	__u32 pad;
};
WEIR_STATIC_ASSERT(sizeof(struct weir_xdp_icmp_budget) == 16, "weir_xdp_icmp_budget layout");

/* Packets and bytes of a VIP (by counter_id) or backend (by id), per CPU. */
struct weir_xdp_traffic {
	__u64 packets;
	__u64 bytes;
};
WEIR_STATIC_ASSERT(sizeof(struct weir_xdp_traffic) == 16, "weir_xdp_traffic layout");

/* Indexes of the weir_counters per-CPU array of __u64: the fields of
 * dp::worker_counters, the flow table's event counts, then one per drop reason. */
enum weir_xdp_counter {
	WEIR_XDP_RX_PACKETS = 0,
	WEIR_XDP_RX_BYTES,
	WEIR_XDP_TX_PACKETS,
	WEIR_XDP_TX_BYTES,
	WEIR_XDP_PASS_PACKETS,
	WEIR_XDP_ICMP_SENT,
	WEIR_XDP_ICMP_RATE_LIMITED,
	WEIR_XDP_ICMP_FORWARDED,
	WEIR_XDP_FRAGMENTS_FORWARDED,
	WEIR_XDP_UNTRACKED_COLLISIONS,
	WEIR_XDP_UNTRACKED,
	WEIR_XDP_FLOWS_INSERTED,
	WEIR_XDP_FLOWS_EXPIRED,
	WEIR_XDP_FLOWS_RECHOSEN,
	WEIR_XDP_DROPS, /* + enum weir_drop_reason */
	WEIR_XDP_NR_COUNTERS = WEIR_XDP_DROPS + WEIR_DROP__COUNT,
};

/* Sizes of the generation-keyed arrays. */
#define WEIR_XDP_VIP_SLOTS (WEIR_XDP_GENERATIONS * WEIR_MAX_VIPS)
#define WEIR_XDP_BACKEND_SLOTS (WEIR_XDP_GENERATIONS * WEIR_MAX_BACKENDS)
/* weir_tables: both halves, then one slot the loader updates only to wait for an
 * RCU grace period (the kernel waits for running programs after every update of
 * a map-in-map). */
#define WEIR_XDP_FENCE_SLOT WEIR_XDP_VIP_SLOTS
#define WEIR_XDP_TABLE_SLOTS (WEIR_XDP_VIP_SLOTS + 1)

#endif /* WEIR_XDP_ABI_H */
