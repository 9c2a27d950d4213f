/* weir_hash.h — the flow key and the seeded flow hash, shared by both engines and
 * the control plane's Maglev builder. Pure functions; any thread.
 *
 * The hash is MurmurHash3 (x86_32) over 32-bit words with a 32-bit seed
 * (node.hash_seed). Words are read in host byte order from the key's bytes, so
 * every weir host of one endianness (x86-64, arm64: little-endian) computes the
 * same value for the same flow and seed: that is what makes Maglev choices
 * consistent across hosts. MurmurHash3's finaliser gives full avalanche, which
 * the distribution tests check (chi-square over 1024 buckets). It is not a
 * cryptographic MAC: an attacker who knows the seed can aim flows at one backend,
 * so the seed should be kept as private as the rest of the configuration. */
#ifndef WEIR_HASH_H
#define WEIR_HASH_H

#include "weir_common.h"

/* A connection as weir sees it. IPv4 addresses occupy word 0 of the address
 * arrays and words 1..3 are zero, so an IPv4 and an IPv6 flow never share a key.
 * Address words and ports are in network byte order as found in the packet. */
struct weir_flow_key {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 proto; /* IPPROTO_TCP, IPPROTO_UDP, ... */
	__u8 family; /* WEIR_AF_INET or WEIR_AF_INET6 */
	__u8 pad[2]; /* always zero: the key is hashed and compared as bytes */
};

#define WEIR_AF_INET 4
#define WEIR_AF_INET6 6
#define WEIR_FLOW_KEY_WORDS 10

WEIR_STATIC_ASSERT(sizeof(struct weir_flow_key) == WEIR_FLOW_KEY_WORDS * 4, "flow key is 10 words");
WEIR_STATIC_ASSERT(__builtin_offsetof(struct weir_flow_key, sport) == 32, "ports follow addresses");
WEIR_STATIC_ASSERT(__builtin_offsetof(struct weir_flow_key, proto) == 36, "proto at 36");

WEIR_INLINE __u32 weir_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

WEIR_INLINE __u32 weir_hash_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51u;
	k = weir_rotl32(k, 15);
	k *= 0x1b873593u;
	h ^= k;
	h = weir_rotl32(h, 13);
	return h * 5 + 0xe6546b64u;
}

WEIR_INLINE __u32 weir_hash_final(__u32 h, __u32 len_bytes)
{
	h ^= len_bytes;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* MurmurHash3_x86_32 of `nwords` 32-bit words at `p`. The words are copied out
 * with __builtin_memcpy, which is a plain load on both targets and keeps C++'s
 * aliasing rules intact. `nwords` is a compile-time constant at every call site,
 * so clang unrolls the loop for BPF. */
WEIR_INLINE __u32 weir_hash_words(const void *p, __u32 nwords, __u32 seed)
{
	const unsigned char *b = (const unsigned char *)p;
	__u32 h = seed;
	for (__u32 i = 0; i < nwords; i++) {
		__u32 w;
		__builtin_memcpy(&w, b + 4 * i, 4);
		h = weir_hash_mix(h, w);
	}
	return weir_hash_final(h, nwords * 4);
}

/* The 5-tuple hash: scheduler `maglev`, GUE outer source port, flow-table index. */
WEIR_INLINE __u32 weir_flow_hash(const struct weir_flow_key *k, __u32 seed)
{
	return weir_hash_words(k, WEIR_FLOW_KEY_WORDS, seed);
}

/* The flow-table signature: the 5-tuple hash under another seed, so that two
 * flows of one bucket have the same signature with probability 2^-32. */
#define WEIR_FLOW_SIG_SEED_DELTA 0x9e3779b9u

/* weir_flow_hash and the signature (weir_flow_hash under seed ^
 * WEIR_FLOW_SIG_SEED_DELTA) in one pass over the key: two independent chains,
 * which a superscalar CPU runs side by side in about the time of one. Every
 * packet to a VIP needs both. */
WEIR_INLINE void weir_flow_hash_sig(const struct weir_flow_key *k, __u32 seed, __u32 *hash, __u32 *sig)
{
	const unsigned char *b = (const unsigned char *)k;
	__u32 h = seed, s = seed ^ WEIR_FLOW_SIG_SEED_DELTA;
	for (__u32 i = 0; i < WEIR_FLOW_KEY_WORDS; i++) {
		__u32 w;
		__builtin_memcpy(&w, b + 4 * i, 4);
		h = weir_hash_mix(h, w);
		s = weir_hash_mix(s, w);
	}
	*hash = weir_hash_final(h, WEIR_FLOW_KEY_WORDS * 4);
	*sig = weir_hash_final(s, WEIR_FLOW_KEY_WORDS * 4);
}

/* The source-address hash: scheduler `maglev_src` (one client address, one backend). */
WEIR_INLINE __u32 weir_src_hash(const struct weir_flow_key *k, __u32 seed)
{
	return weir_hash_words(k->saddr, 4, seed);
}

#endif /* WEIR_HASH_H */
