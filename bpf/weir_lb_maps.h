/* weir_lb_maps.h — the maps of the XDP engine's program (weir_lb.bpf.c). The
 * snapshot maps are written only by the loader (bpf/xdp_program.cpp, control
 * thread) in the half no packet reads (weir_xdp_abi.h); the flow table, the
 * least_conn counts and the per-CPU state and counters only by the program. */
#ifndef WEIR_LB_MAPS_H
#define WEIR_LB_MAPS_H

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "weir_abi.h"
#include "weir_xdp_abi.h"

/* The current generation and the flow clock. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weir_xdp_state);
} weir_state SEC(".maps");

/* Node parameters, by generation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WEIR_XDP_GENERATIONS);
	__type(key, __u32);
	__type(value, struct weir_node);
} weir_nodes SEC(".maps");

/* (address, port, protocol) -> VIP id: the snapshot's by_key index. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEIR_XDP_VIP_SLOTS);
	__type(key, struct weir_xdp_vip_key);
	__type(value, __u32);
} weir_vip_keys SEC(".maps");

/* (address, port 0, protocol or 0) -> VIP id: the snapshot's by_addr index. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * WEIR_XDP_VIP_SLOTS);
	__type(key, struct weir_xdp_vip_key);
	__type(value, __u32);
} weir_vip_addrs SEC(".maps");

/* VIPs at generation * WEIR_MAX_VIPS + id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WEIR_XDP_VIP_SLOTS);
	__type(key, __u32);
	__type(value, struct weir_vip);
} weir_vips SEC(".maps");

/* The snapshot's vip_backends list at generation * WEIR_MAX_BACKENDS + index. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WEIR_XDP_BACKEND_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} weir_vip_backends SEC(".maps");

/* Backends at generation * WEIR_MAX_BACKENDS + id; ref 0: no backend. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WEIR_XDP_BACKEND_SLOTS);
	__type(key, __u32);
	__type(value, struct weir_backend);
} weir_backends SEC(".maps");

/* A VIP's table: backend ids by slot. Created by the loader at the table's size
 * (BPF_F_INNER_MAP lets the sizes differ), filled, then inserted, and never
 * written again; an unchanged table is shared by both generations. */
struct weir_table_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
};

/* Maglev tables at generation * WEIR_MAX_VIPS + id (absent: no usable backend),
 * and the fence slot (weir_xdp_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, WEIR_XDP_TABLE_SLOTS);
	__type(key, __u32);
	__array(values, struct weir_table_inner);
} weir_tables SEC(".maps");

/* wrr rotations at generation * WEIR_MAX_VIPS + id: entry 0 is the rotation's
 * length, entries 1.. its backend ids. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, WEIR_XDP_VIP_SLOTS);
	__type(key, __u32);
	__array(values, struct weir_table_inner);
} weir_rotations SEC(".maps");

/* Connection tracking, shared by every CPU; the loader sets max_entries to
 * dataplane.flow_table_size before load. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct weir_xdp_flow_key);
	__type(value, struct weir_xdp_flow);
} weir_flows SEC(".maps");

/* Flow entries held per backend id, for least_conn (atomic: every CPU writes). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WEIR_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __u32);
} weir_active SEC(".maps");

/* Expired flow entries of each backend id that the engine's sweep (user space,
 * its only writer) deleted: least_conn subtracts them from weir_active. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WEIR_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __u32);
} weir_swept SEC(".maps");

/* Each CPU's position in each wrr VIP's rotation, by VIP id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_MAX_VIPS);
	__type(key, __u32);
	__type(value, __u32);
} weir_wrr_cursors SEC(".maps");

/* Each CPU's ICMP error budget. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weir_xdp_icmp_budget);
} weir_icmp SEC(".maps");

/* enum weir_xdp_counter, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_XDP_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} weir_counters SEC(".maps");

/* Forwarded packets and bytes by VIP counter_id and by backend id, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct weir_xdp_traffic);
} weir_vip_traffic SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct weir_xdp_traffic);
} weir_backend_traffic SEC(".maps");

#endif /* WEIR_LB_MAPS_H */
