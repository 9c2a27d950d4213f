/* weir_pass.bpf.c — an XDP program that passes every frame: the baseline the
 * benchmark measures weir_lb against, and the program a veth peer needs so that
 * native XDP_TX on the other end delivers (SPEC §7). Stateless; any CPU. */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

SEC("xdp")
int weir_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
