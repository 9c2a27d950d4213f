/* weir_abi.h — the snapshot as the data path reads it: node parameters, VIPs,
 * backends. The same structs fill the DPDK engine's snapshot arrays and the XDP
 * engine's maps. Written only by the control thread (snapshot builder); read by
 * workers / BPF programs. Definitions only. */
#ifndef WEIR_ABI_H
#define WEIR_ABI_H

#include "weir_common.h"

enum weir_scheduler {
	WEIR_SCHED_MAGLEV = 0, /* Maglev on the 5-tuple hash */
	WEIR_SCHED_MAGLEV_SRC = 1, /* Maglev on the source-address hash ("IP hash") */
	WEIR_SCHED_WRR = 2, /* smooth weighted round robin over a precomputed sequence */
	WEIR_SCHED_LEAST_CONN = 3, /* fewest active flows relative to weight */
};

enum weir_forwarding {
	WEIR_FWD_IPIP = 0, /* IPv4-in-IPv4, IPv6-in-IPv6, IPv4-in-IPv6 */
	WEIR_FWD_GUE = 1, /* GUE variant 1: outer UDP carrying the inner IP packet */
	WEIR_FWD_L2DSR = 2, /* MAC rewrite only */
};

/* Key of the VIP lookup. A VIP with port 0 matches every port. */
struct weir_vip_key {
	__be32 addr[4]; /* IPv4 in word 0, words 1..3 zero */
	__be16 port;
	__u8 proto;
	__u8 family; /* WEIR_AF_INET / WEIR_AF_INET6 */
};
WEIR_STATIC_ASSERT(sizeof(struct weir_vip_key) == 20, "weir_vip_key layout");

/* At most this many VIPs per snapshot: per-worker VIP state and counters are
 * allocated once, at start. */
#define WEIR_MAX_VIPS 4096u

#define WEIR_VIP_F_FRAG_3TUPLE 0x01 /* forward fragments by (src, dst, proto) instead of dropping */
#define WEIR_VIP_F_FAIL_OPEN 0x02 /* every backend is down: all of them are used anyway */

struct weir_vip {
	__u32 id; /* index in the snapshot's VIP array and counters */
	__u32 table_size; /* entries in the VIP's table (Maglev: prime; wrr: sequence length) */
	__u32 backend_first; /* first entry of the VIP's backend ids in the snapshot's list */
	__u16 backend_count;
	__u8 scheduler; /* enum weir_scheduler */
	__u8 forwarding; /* enum weir_forwarding */
	__u8 flags; /* WEIR_VIP_F_* */
	__u8 pad;
	/* Index of the VIP's traffic counters. `id` is the VIP's position in the
	 * snapshot and shifts when an earlier VIP is removed; this one stays with
	 * the VIP's name across snapshots, so its counters do too. */
	__u16 counter_id;
};
WEIR_STATIC_ASSERT(sizeof(struct weir_vip) == 20, "weir_vip layout");

/* Backend ids index the snapshot's backend array (at most WEIR_MAX_BACKENDS). A
 * flow entry holds the backend's `ref` = generation << 16 | id: when an id is
 * reused for another backend its generation changes, so old flows are re-chosen
 * instead of following the id. */
#define WEIR_MAX_BACKENDS 65536u
#define WEIR_BACKEND_ID(ref) ((ref)&0xffffu)

#define WEIR_BACKEND_F_USABLE 0x01 /* present and up (or its VIP fails open): tracked flows stay */
#define WEIR_BACKEND_F_MAC 0x02 /* next_hop_mac is resolved */

struct weir_backend {
	__be32 addr[4];
	__u32 ref; /* generation << 16 | id; 0 = empty slot */
	__u16 weight; /* 0 = drained: keeps its flows, gets no new ones */
	__u16 vip_id; /* the VIP it serves (a backend of two VIPs has two ids) */
	__u8 family;
	__u8 flags; /* WEIR_BACKEND_F_* */
	__u8 next_hop_mac[6]; /* the backend's MAC when on-link, else the gateway's */
};
WEIR_STATIC_ASSERT(sizeof(struct weir_backend) == 32, "weir_backend layout");

/* Node-wide parameters of a snapshot. */
struct weir_node {
	__be32 ipv4; /* outer source of IPv4 encapsulation */
	__be32 ipv6[4]; /* outer source of IPv6 encapsulation; zero if none */
	__u8 mac[6]; /* the data port's MAC: source of every frame weir sends */
	__u16 mtu; /* toward backends, after encapsulation */
	__be16 gue_port; /* GUE destination port */
	__u8 has_ipv6;
	__u8 pad;
	__u32 hash_seed;
	__u32 timeout_tcp; /* seconds */
	__u32 timeout_tcp_closing; /* after FIN or RST */
	__u32 timeout_udp;
	__u32 icmp_rate; /* ICMP errors weir may send per second per worker */
};
WEIR_STATIC_ASSERT(sizeof(struct weir_node) == 52, "weir_node layout");

#endif /* WEIR_ABI_H */
