/* weir_csum.h — Internet checksums (RFC 1071) for the headers weir writes.
 * Shared by the C++ pipeline and the BPF programs; pure functions, any thread.
 * Loops over a variable length are for C++; BPF callers pass constant lengths
 * (headers) and use bpf_csum_diff for payloads. */
#ifndef WEIR_CSUM_H
#define WEIR_CSUM_H

#include "weir_byteorder.h"
#include "weir_common.h"

/* Adds the 16-bit big-endian words of [p, p + len) to a 32-bit accumulator; an odd
 * last byte is padded with zero. The result is in host order: fold, then store
 * with WEIR_HTONS. */
WEIR_INLINE __u32 weir_csum_add(__u32 sum, const void *p, __u32 len)
{
	const __u8 *b = (const __u8 *)p;
	__u32 i = 0;
	for (; i + 1 < len; i += 2)
		sum += ((__u32)b[i] << 8) | b[i + 1];
	if (i < len)
		sum += (__u32)b[i] << 8;
	return sum;
}

/* Folds the accumulator to 16 bits and complements it: the checksum to store. */
WEIR_INLINE __u16 weir_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Pseudo-header sums for TCP/UDP/ICMPv6 checksums. Addresses in network order. */
WEIR_INLINE __u32 weir_pseudo4(__be32 saddr, __be32 daddr, __u8 proto, __u32 len)
{
	__u32 sum = 0;
	sum = weir_csum_add(sum, &saddr, 4);
	sum = weir_csum_add(sum, &daddr, 4);
	return sum + proto + len;
}

WEIR_INLINE __u32 weir_pseudo6(const __be32 *saddr, const __be32 *daddr, __u8 proto, __u32 len)
{
	__u32 sum = 0;
	sum = weir_csum_add(sum, saddr, 16);
	sum = weir_csum_add(sum, daddr, 16);
	return sum + proto + (len >> 16) + (len & 0xffff);
}

#endif /* WEIR_CSUM_H */
