// hash_test.cpp — the flow hash of dataplane/weir_hash.h: it is MurmurHash3_x86_32
// (published vectors and an independent reference), it spreads random and
// realistic flows evenly (chi-square), it depends on every key and seed bit
// (avalanche), and weir_src_hash sees the source address only.
#include "weir_hash.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace {

// MurmurHash3_x86_32 over bytes as published (SMHasher), written out separately
// from weir_hash.h: blocks are native-endian loads, then the 1–3 byte tail.
uint32_t reference_murmur3(const void *data, size_t len, uint32_t seed)
{
	const uint8_t *p = static_cast<const uint8_t *>(data);
	const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
	uint32_t h = seed;
	size_t blocks = len / 4;
	for (size_t i = 0; i < blocks; i++) {
		uint32_t k;
		std::memcpy(&k, p + 4 * i, 4);
		k *= c1;
		k = std::rotl(k, 15);
		k *= c2;
		h ^= k;
		h = std::rotl(h, 13);
		h = h * 5 + 0xe6546b64;
	}
	const uint8_t *tail = p + 4 * blocks;
	uint32_t k = 0;
	switch (len & 3) {
	case 3:
		k ^= uint32_t{tail[2]} << 16;
		[[fallthrough]];
	case 2:
		k ^= uint32_t{tail[1]} << 8;
		[[fallthrough]];
	case 1:
		k ^= tail[0];
		k *= c1;
		k = std::rotl(k, 15);
		k *= c2;
		h ^= k;
	}
	h ^= static_cast<uint32_t>(len);
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

weir_flow_key random_v4_key(std::mt19937_64 &rng)
{
	weir_flow_key k{};
	k.saddr[0] = static_cast<__be32>(rng());
	k.daddr[0] = static_cast<__be32>(rng());
	k.sport = static_cast<__be16>(rng());
	k.dport = static_cast<__be16>(rng());
	k.proto = rng() & 1 ? IPPROTO_TCP : IPPROTO_UDP;
	k.family = WEIR_AF_INET;
	return k;
}

weir_flow_key random_v6_key(std::mt19937_64 &rng)
{
	weir_flow_key k = random_v4_key(rng);
	for (int i = 1; i < 4; i++) {
		k.saddr[i] = static_cast<__be32>(rng());
		k.daddr[i] = static_cast<__be32>(rng());
	}
	k.family = WEIR_AF_INET6;
	return k;
}

weir_flow_key v4_key(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	weir_flow_key k{};
	inet_pton(AF_INET, src, k.saddr);
	inet_pton(AF_INET, dst, k.daddr);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = IPPROTO_TCP;
	k.family = WEIR_AF_INET;
	return k;
}

// Upper 99.9% point of chi-square with `dof` degrees of freedom (Wilson–Hilferty;
// within 0.1% of the tables for dof ≥ 100: 1023 → 1168.5).
double chi_square_critical_999(double dof)
{
	const double z = 3.090232;  // standard normal, one-sided 0.999
	double a = 2.0 / (9.0 * dof);
	return dof * std::pow(1.0 - a + z * std::sqrt(a), 3.0);
}

// Chi-square of `hashes` spread into `buckets` by hash % buckets (as the data path
// picks a Maglev slot); fails when above the 99.9% critical value.
void expect_uniform(const std::vector<uint32_t> &hashes, uint32_t buckets, const std::string &what)
{
	std::vector<uint64_t> counts(buckets);
	for (uint32_t h : hashes)
		counts[h % buckets]++;
	double expected = static_cast<double>(hashes.size()) / buckets, chi = 0;
	for (uint64_t c : counts)
		chi += (c - expected) * (c - expected) / expected;
	double critical = chi_square_critical_999(buckets - 1);
	std::cout << "[ figure   ] chi-square " << what << " into " << buckets << " buckets: " << chi
	          << " (99.9% critical " << critical << ")\n";
	EXPECT_LT(chi, critical) << what << " into " << buckets << " buckets";
}

template <typename Make, typename Hash>
std::vector<uint32_t> hash_all(size_t n, Make make, Hash hash)
{
	std::vector<uint32_t> out;
	out.reserve(n);
	for (size_t i = 0; i < n; i++) {
		weir_flow_key k = make(i);
		out.push_back(hash(k));
	}
	return out;
}

constexpr uint32_t seed = 0x5eed5eed;
constexpr size_t million = 1000000;

uint32_t flow_hash(const weir_flow_key &k)
{
	return weir_flow_hash(&k, seed);
}

uint32_t src_hash(const weir_flow_key &k)
{
	return weir_src_hash(&k, seed);
}

}  // namespace

TEST(hash, reference_matches_published_vectors)
{
	// Published MurmurHash3_x86_32 results (SMHasher's verification inputs and
	// widely quoted test vectors), to trust the reference before using it.
	struct vec {
		std::string data;
		uint32_t seed, expected;
	};
	const vec vectors[] = {
	        {"", 0, 0},
	        {"", 1, 0x514e28b7},
	        {"", 0xffffffff, 0x81f16f39},
	        {std::string("\0\0\0\0", 4), 0, 0x2362f9de},
	        {"\xff\xff\xff\xff", 0, 0x76293b50},
	        {"\x21\x43\x65\x87", 0, 0xf55b516b},
	        {"\x21\x43\x65\x87", 0x5082edee, 0x2362f9de},
	        {"\x21\x43\x65", 0, 0x7e4a8634},
	        {"aaaa", 0x9747b28c, 0x5a97808a},
	        {"Hello, world!", 1234, 0xfaf6cdb3},
	};
	for (const auto &v : vectors)
		EXPECT_EQ(reference_murmur3(v.data.data(), v.data.size(), v.seed), v.expected)
		        << "input of " << v.data.size() << " bytes, seed " << v.seed;
}

TEST(hash, hash_words_is_murmur3_x86_32)
{
	// The published vectors whose length is a whole number of words.
	EXPECT_EQ(weir_hash_words(nullptr, 0, 0), 0u);
	EXPECT_EQ(weir_hash_words(nullptr, 0, 1), 0x514e28b7u);
	EXPECT_EQ(weir_hash_words(nullptr, 0, 0xffffffff), 0x81f16f39u);
	const uint8_t zero[4] = {0, 0, 0, 0}, ones[4] = {0xff, 0xff, 0xff, 0xff},
	              mixed[4] = {0x21, 0x43, 0x65, 0x87};
	EXPECT_EQ(weir_hash_words(zero, 1, 0), 0x2362f9deu);
	EXPECT_EQ(weir_hash_words(ones, 1, 0), 0x76293b50u);
	EXPECT_EQ(weir_hash_words(mixed, 1, 0), 0xf55b516bu);
	EXPECT_EQ(weir_hash_words(mixed, 1, 0x5082edee), 0x2362f9deu);
	EXPECT_EQ(weir_hash_words("aaaa", 1, 0x9747b28c), 0x5a97808au);

	// Random inputs of 1..16 words against the reference.
	std::mt19937_64 rng(11);
	for (int i = 0; i < 10000; i++) {
		uint32_t words[16];
		for (auto &w : words)
			w = static_cast<uint32_t>(rng());
		uint32_t n = 1 + static_cast<uint32_t>(rng() % 16), s = static_cast<uint32_t>(rng());
		ASSERT_EQ(weir_hash_words(words, n, s), reference_murmur3(words, 4 * n, s)) << n << " words";
	}
}

TEST(hash, flow_and_src_hash_are_murmur3_of_the_key_bytes)
{
	std::mt19937_64 rng(12);
	for (int i = 0; i < 10000; i++) {
		weir_flow_key k = i % 2 ? random_v4_key(rng) : random_v6_key(rng);
		uint32_t s = static_cast<uint32_t>(rng());
		ASSERT_EQ(weir_flow_hash(&k, s), reference_murmur3(&k, sizeof(k), s));
		ASSERT_EQ(weir_src_hash(&k, s), reference_murmur3(k.saddr, sizeof(k.saddr), s));
		uint32_t hash = 0, sig = 0;
		weir_flow_hash_sig(&k, s, &hash, &sig);
		ASSERT_EQ(hash, reference_murmur3(&k, sizeof(k), s));
		ASSERT_EQ(sig, reference_murmur3(&k, sizeof(k), s ^ 0x9e3779b9u));
	}
}

TEST(hash, random_flows_spread_evenly)
{
	std::mt19937_64 rng(13);
	std::vector<weir_flow_key> v4(million), v6(million);
	for (auto &k : v4)
		k = random_v4_key(rng);
	for (auto &k : v6)
		k = random_v6_key(rng);
	auto at4 = [&](size_t i) { return v4[i]; };
	auto at6 = [&](size_t i) { return v6[i]; };
	expect_uniform(hash_all(million, at4, flow_hash), 1024, "weir_flow_hash, random IPv4 5-tuples");
	expect_uniform(hash_all(million, at6, flow_hash), 1024, "weir_flow_hash, random IPv6 5-tuples");
	expect_uniform(hash_all(million, at4, src_hash), 1024, "weir_src_hash, random IPv4 sources");
	expect_uniform(hash_all(million, at6, src_hash), 1024, "weir_src_hash, random IPv6 sources");
	expect_uniform(hash_all(million, at4, flow_hash), 65537, "weir_flow_hash, random IPv4 5-tuples");
}

TEST(hash, realistic_flows_spread_evenly)
{
	// One VIP, 16 clients, sequential source ports: what a load test looks like.
	auto one_vip = [](size_t i) {
		weir_flow_key k = v4_key("192.0.2.1", static_cast<uint16_t>(1024 + i / 16), "10.10.1.1", 80);
		k.saddr[0] = htonl(ntohl(k.saddr[0]) + static_cast<uint32_t>(i % 16));
		return k;
	};
	expect_uniform(hash_all(million, one_vip, flow_hash), 1024, "weir_flow_hash, one VIP, 16 clients");
	expect_uniform(hash_all(million, one_vip, flow_hash), 65537, "weir_flow_hash, one VIP, 16 clients");
	auto one_vip6 = [](size_t i) {
		weir_flow_key k{};
		inet_pton(AF_INET6, "2001:db8::10", k.saddr);
		inet_pton(AF_INET6, "2001:db8:1::1", k.daddr);
		k.saddr[3] = htonl(ntohl(k.saddr[3]) + static_cast<uint32_t>(i % 16));
		k.sport = htons(static_cast<uint16_t>(1024 + i / 16));
		k.dport = htons(443);
		k.proto = IPPROTO_TCP;
		k.family = WEIR_AF_INET6;
		return k;
	};
	expect_uniform(hash_all(million, one_vip6, flow_hash), 1024, "weir_flow_hash, IPv6 VIP, 16 clients");

	// weir_src_hash sees one value per client: a million clients numbered in order
	// (a carrier-grade NAT pool, an IPv6 /64 of clients).
	auto seq_clients = [](size_t i) {
		weir_flow_key k = v4_key("100.64.0.0", 40000, "10.10.1.1", 80);
		k.saddr[0] = htonl(ntohl(k.saddr[0]) + static_cast<uint32_t>(i));
		return k;
	};
	expect_uniform(hash_all(million, seq_clients, src_hash), 1024,
	               "weir_src_hash, sequential IPv4 clients");
	expect_uniform(hash_all(million, seq_clients, flow_hash), 1024,
	               "weir_flow_hash, sequential IPv4 clients");
	auto seq_clients6 = [](size_t i) {
		weir_flow_key k{};
		inet_pton(AF_INET6, "2001:db8:5::", k.saddr);
		k.saddr[3] = htonl(static_cast<uint32_t>(i));
		k.family = WEIR_AF_INET6;
		return k;
	};
	expect_uniform(hash_all(million, seq_clients6, src_hash), 1024,
	               "weir_src_hash, sequential IPv6 clients");
}

TEST(hash, one_seed_bit_flips_half_the_output)
{
	std::mt19937_64 rng(14);
	constexpr int samples = 4000;
	for (int bit = 0; bit < 32; bit++) {
		uint64_t flipped_flow = 0, flipped_src = 0;
		for (int i = 0; i < samples; i++) {
			weir_flow_key k = i % 2 ? random_v4_key(rng) : random_v6_key(rng);
			uint32_t s = static_cast<uint32_t>(rng()), s2 = s ^ (1u << bit);
			flipped_flow += std::popcount(weir_flow_hash(&k, s) ^ weir_flow_hash(&k, s2));
			flipped_src += std::popcount(weir_src_hash(&k, s) ^ weir_src_hash(&k, s2));
		}
		double f = flipped_flow / (32.0 * samples), g = flipped_src / (32.0 * samples);
		EXPECT_GT(f, 0.45) << "seed bit " << bit;
		EXPECT_LT(f, 0.55) << "seed bit " << bit;
		EXPECT_GT(g, 0.45) << "seed bit " << bit;
		EXPECT_LT(g, 0.55) << "seed bit " << bit;
	}
}

TEST(hash, different_seeds_assign_different_buckets)
{
	std::mt19937_64 rng(15);
	constexpr int keys = 100000;
	for (int pair = 0; pair < 4; pair++) {
		uint32_t s1 = static_cast<uint32_t>(rng()), s2 = static_cast<uint32_t>(rng());
		int same_1024 = 0, same_maglev = 0;
		for (int i = 0; i < keys; i++) {
			weir_flow_key k = random_v4_key(rng);
			uint32_t h1 = weir_flow_hash(&k, s1), h2 = weir_flow_hash(&k, s2);
			same_1024 += h1 % 1024 == h2 % 1024;
			same_maglev += h1 % 65537 == h2 % 65537;
		}
		// Independent assignments agree on 1/1024 (about 98 of 100000) by chance.
		EXPECT_LT(same_1024, keys / 200) << "seeds " << s1 << ", " << s2;
		EXPECT_LT(same_maglev, keys / 1000) << "seeds " << s1 << ", " << s2;
	}
}

// Strict avalanche: flipping any one key bit flips each output bit with
// probability close to 1/2. The pad bytes are always zero and not tested.
TEST(hash, every_key_bit_avalanches)
{
	std::mt19937_64 rng(16);
	constexpr int samples = 4000;
	constexpr size_t key_bits = 8 * offsetof(weir_flow_key, pad);
	double worst_cell = 0;
	for (size_t bit = 0; bit < key_bits; bit++) {
		uint32_t per_output[32] = {};
		for (int i = 0; i < samples; i++) {
			weir_flow_key k = i % 2 ? random_v4_key(rng) : random_v6_key(rng), k2 = k;
			reinterpret_cast<uint8_t *>(&k2)[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
			uint32_t diff = weir_flow_hash(&k, seed) ^ weir_flow_hash(&k2, seed);
			for (int j = 0; j < 32; j++)
				per_output[j] += (diff >> j) & 1;
		}
		double total = 0;
		for (int j = 0; j < 32; j++) {
			double p = static_cast<double>(per_output[j]) / samples;
			worst_cell = std::max(worst_cell, std::abs(p - 0.5));
			total += p;
			ASSERT_NEAR(p, 0.5, 0.05) << "key bit " << bit << ", output bit " << j;
		}
		EXPECT_NEAR(total / 32, 0.5, 0.05) << "key bit " << bit;
	}
	std::cout << "[ figure   ] avalanche: worst |P(flip) - 0.5| over " << key_bits
	          << " x 32 bit pairs = " << worst_cell << "\n";
}

TEST(hash, family_alone_separates_v4_and_v6_keys)
{
	std::mt19937_64 rng(17);
	int same_hash = 0, same_bucket = 0;
	constexpr int keys = 100000;
	for (int i = 0; i < keys; i++) {
		weir_flow_key k4 = random_v4_key(rng), k6 = k4;
		k6.family = WEIR_AF_INET6;
		uint32_t h4 = weir_flow_hash(&k4, seed), h6 = weir_flow_hash(&k6, seed);
		same_hash += h4 == h6;
		same_bucket += h4 % 1024 == h6 % 1024;
	}
	EXPECT_EQ(same_hash, 0);
	EXPECT_LT(same_bucket, keys / 200);
}

TEST(hash, src_hash_depends_only_on_the_source_address)
{
	std::mt19937_64 rng(18);
	for (int i = 0; i < 10000; i++) {
		weir_flow_key k = i % 2 ? random_v4_key(rng) : random_v6_key(rng);
		uint32_t h = weir_src_hash(&k, seed);
		weir_flow_key other = i % 2 ? random_v4_key(rng) : random_v6_key(rng);
		std::memcpy(other.saddr, k.saddr, sizeof(k.saddr));
		other.family = k.family;
		ASSERT_EQ(weir_src_hash(&other, seed), h)
		        << "destination, ports and protocol must not matter";
		other.family = k.family == WEIR_AF_INET ? WEIR_AF_INET6 : WEIR_AF_INET;
		ASSERT_EQ(weir_src_hash(&other, seed), h) << "the family field must not matter";

		weir_flow_key moved = k;
		size_t bit = rng() % 128;
		reinterpret_cast<uint8_t *>(moved.saddr)[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
		ASSERT_NE(weir_src_hash(&moved, seed), h) << "source bit " << bit;
	}
}
