/* bpf_header_check.c — compiled with clang -target bpf at build time so that a
 * shared header which stops compiling as BPF C fails the build, not a later test.
 * It is not loaded anywhere. */
#include "weir_byteorder.h"
#include "weir_hash.h"
#include "weir_maglev.h"

__u32 weir_check_lookup(const struct weir_flow_key *k, const __u32 *table, __u32 size, __u32 seed);

__u32 weir_check_lookup(const struct weir_flow_key *k, const __u32 *table, __u32 size, __u32 seed)
{
	return weir_maglev_lookup(table, size, weir_flow_hash(k, seed)) ^ weir_src_hash(k, seed);
}
