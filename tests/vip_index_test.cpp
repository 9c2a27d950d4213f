// vip_index_test.cpp — the data path's VIP lookup (dataplane/snapshot.h,
// vip_index): every configured key is found with its value, no other key is, and
// the open-addressing probes stay short for the largest VIP counts.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "snapshot.h"

namespace weir::dp {
namespace {

weir_vip_key random_key(std::mt19937_64 &rng)
{
	weir_vip_key k{};
	bool v6 = rng() % 2;
	k.family = v6 ? WEIR_AF_INET6 : WEIR_AF_INET;
	for (int w = 0; w < (v6 ? 4 : 1); w++)
		k.addr[w] = uint32_t(rng());
	k.port = uint16_t(rng() % 3 ? rng() : 0);
	k.proto = rng() % 2 ? 6 : 17;
	return k;
}

std::string bytes(const weir_vip_key &k)
{
	return std::string(reinterpret_cast<const char *>(&k), sizeof(k));
}

TEST(vip_index, finds_every_key_and_nothing_else)
{
	for (uint32_t n : {1u, 7u, 100u, WEIR_MAX_VIPS}) {
		std::mt19937_64 rng(n);
		std::vector<std::pair<weir_vip_key, uint32_t>> entries;
		std::set<std::string> keys;
		while (entries.size() < n) {
			weir_vip_key k = random_key(rng);
			if (keys.insert(bytes(k)).second)
				entries.push_back({k, uint32_t(entries.size())});
		}
		vip_index idx;
		idx.build(entries, uint32_t(rng()));
		for (const auto &[k, v] : entries)
			ASSERT_EQ(idx.find(k), v) << n << " VIPs";
		// for_each gives back every key with its value (the XDP engine copies them).
		std::map<std::string, uint32_t> listed;
		idx.for_each([&](const weir_vip_key &k, uint32_t v) { listed[bytes(k)] = v; });
		ASSERT_EQ(listed.size(), entries.size());
		for (const auto &[k, v] : entries)
			EXPECT_EQ(listed[bytes(k)], v);
		int misses = 0;
		for (int i = 0; i < 100000; i++) {
			weir_vip_key k = random_key(rng);
			if (keys.count(bytes(k)))
				continue;
			ASSERT_EQ(idx.find(k), vip_index::none);
			misses++;
		}
		EXPECT_GT(misses, 99000);
		// Same address, another port: another key.
		weir_vip_key other = entries[0].first;
		other.port = uint16_t(other.port + 1);
		if (!keys.count(bytes(other))) {
			EXPECT_EQ(idx.find(other), vip_index::none);
		}
	}
}

// VIPs of one subnet in sequence, with ports 80 and 443 (as operators number
// them): the probe sequences stay short, so a packet to a VIP costs a few slots.
TEST(vip_index, sequential_addresses_probe_few_slots)
{
	std::vector<std::pair<weir_vip_key, uint32_t>> entries;
	for (uint32_t i = 0; i < WEIR_MAX_VIPS / 2; i++)
		for (uint16_t port : {80, 443}) {
			weir_vip_key k{};
			k.family = WEIR_AF_INET;
			k.addr[0] = __builtin_bswap32(0x0a0a0000u + i);
			k.port = __builtin_bswap16(port);
			k.proto = 6;
			entries.push_back({k, uint32_t(entries.size())});
		}
	vip_index idx;
	idx.build(entries, 0x5eed);
	// The longest run of occupied slots bounds every probe, hit or miss.
	std::map<uint32_t, uint32_t> starts;
	for (const auto &[k, v] : entries) {
		ASSERT_EQ(idx.find(k), v);
		starts[vip_index::slot_hash(vip_index::pack(k.addr, k.port, k.proto, k.family), 0x5eed) &
		       (2 * WEIR_MAX_VIPS - 1)]++;
	}
	uint32_t worst = 0;
	for (const auto &[slot, count] : starts)
		worst = std::max(worst, count);
	EXPECT_LE(worst, 8u) << "keys sharing one start slot";
	EXPECT_GT(starts.size(), WEIR_MAX_VIPS / 2) << "start slots used by 4096 keys in 8192";
}

}  // namespace
}  // namespace weir::dp
