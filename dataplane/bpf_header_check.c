/* bpf_header_check.c — compiled with clang -target bpf at build time so that a
 * shared header which stops compiling as BPF C fails the build, not a later test.
 * It is not loaded anywhere. */
#include "weir_abi.h"
#include "weir_encap.h"
#include "weir_hash.h"
#include "weir_icmp.h"
#include "weir_maglev.h"
#include "weir_packet.h"
#include "weir_parse.h"

__u32 weir_check_lookup(const struct weir_flow_key *k, const __u32 *table, __u32 size, __u32 seed);

__u32 weir_check_lookup(const struct weir_flow_key *k, const __u32 *table, __u32 size, __u32 seed)
{
	return weir_maglev_lookup(table, size, weir_flow_hash(k, seed)) ^ weir_src_hash(k, seed);
}

/* The parser as an XDP program would call it: frame bounds in, struct on the stack. */
__u32 weir_check_parse(const __u8 *data, const __u8 *end, __u32 seed);

__u32 weir_check_parse(const __u8 *data, const __u8 *end, __u32 seed)
{
	struct weir_pkt pkt;
	__u8 reason = 0;
	enum weir_parse_result r = weir_parse(data, end, &pkt, &reason);
	if (r != WEIR_PARSE_IP)
		return r | (__u32)reason << 8;
	return weir_flow_hash(&pkt.key, seed) ^ weir_flow_hash(&pkt.inner, seed) ^ pkt.flags ^ pkt.vip_drop;
}

/* The outer headers of an IPv4 GUE encapsulation and an ICMP error, written into
 * a scratch buffer (the engines write into the packet). */
__u32 weir_check_encap(__u8 *buf, const struct weir_node *node, const struct weir_backend *b, __u32 hash);

__u32 weir_check_encap(__u8 *buf, const struct weir_node *node, const struct weir_backend *b, __u32 hash)
{
	weir_write_eth_addrs(buf, b->next_hop_mac, node->mac);
	weir_write_ipv4(buf + WEIR_ETH_HLEN, node->ipv4, b->addr[0], WEIR_IPPROTO_UDP, 100, 0, 1);
	weir_write_udp(buf + WEIR_ETH_HLEN + WEIR_IPV4_MIN_HLEN, weir_gue_sport(hash), node->gue_port, 80);
	weir_write_icmp4_frag_needed(buf + 64, node->ipv4, b->addr[0], node->mtu, 8);
	return weir_encap_overhead(WEIR_FWD_GUE, b->family);
}
