/* xdp_tx.bpf.c — the ceiling of the XDP benchmark: swaps each frame's Ethernet
 * addresses and sends it back out of the interface it came in on (XDP_TX),
 * counting what it did. It is weir_lb.bpf.o with the load balancing taken out:
 * the same hook, the same way out, no parsing beyond Ethernet. Runs in the
 * kernel's XDP hook on every CPU; user space only reads the counters. */
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* 0: sent back (XDP_TX), 1: too short, dropped */
	__type(key, __u32);
	__type(value, __u64);
} xdp_tx_counters SEC(".maps");

static __always_inline void count(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&xdp_tx_counters, &key);
	if (v)
		*v += 1; /* per-CPU slot: this CPU is its only writer */
}

SEC("xdp")
int xdp_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end) {
		count(1);
		return XDP_DROP;
	}
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	count(0);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
