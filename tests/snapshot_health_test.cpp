// snapshot_health_test.cpp — health in the snapshot (control/snapshot_builder.h
// host_facts::is_down): a down backend leaves the VIP's table and loses its
// USABLE flag; when no backend able to take new flows is left the VIP fails
// open (every backend usable again, WEIR_VIP_F_FAIL_OPEN set); other VIPs and
// unchanged VIPs keep their tables by pointer.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <stdexcept>
#include <string>

#include "config.h"
#include "snapshot_builder.h"

namespace weir {
namespace {

const char *const config_text = R"(
[node]
ipv4 = "10.10.0.2/24"
[dataplane.dpdk]
port = "net_null0"
[[vip]]
name = "web"
address = "10.10.1.1"
port = 80
table_size = 1009
  [[vip.backend]]
  address = "10.10.0.21"
  [[vip.backend]]
  address = "10.10.0.22"
  [[vip.backend]]
  address = "10.10.0.23"
  weight = 0
[[vip]]
name = "dns"
address = "10.10.1.2"
port = 53
protocol = "udp"
table_size = 1009
  [[vip.backend]]
  address = "10.10.0.31"
)";

class snapshot_health : public ::testing::Test {
protected:
	void SetUp() override
	{
		ctl::config_report r = ctl::load_config_text(config_text, "health.toml");
		if (!r.valid())
			throw std::runtime_error(r.problems.at(0).to_string());
		cfg = *r.cfg;
		host.resolve = [](const ctl::ip_addr &) {
			return std::optional<ctl::mac_addr>(ctl::mac_addr{2});
		};
		host.is_down = [this](const std::string &vip, const ctl::ip_addr &a) {
			return down.count(vip + "/" + a.to_string()) != 0;
		};
	}

	std::shared_ptr<const dp::snapshot> build(const dp::snapshot *previous = nullptr)
	{
		auto s = ctl::build_snapshot(cfg, host, registry, previous);
		if (!s)
			throw std::runtime_error(s.error_message());
		return *s;
	}

	// The backend addresses (last octet) the VIP's Maglev table uses.
	static std::set<int> in_table(const dp::snapshot &s, uint32_t vip)
	{
		std::set<int> used;
		for (uint32_t id : s.tables[vip]->slots)
			used.insert(reinterpret_cast<const uint8_t *>(s.backends[id].addr)[3]);
		return used;
	}

	static bool usable(const dp::snapshot &s, uint32_t vip, int last_octet)
	{
		const weir_vip &v = s.vips[vip];
		for (uint32_t k = v.backend_first; k < v.backend_first + v.backend_count; k++) {
			const weir_backend &b = s.backends[s.vip_backends[k]];
			if (reinterpret_cast<const uint8_t *>(b.addr)[3] == last_octet)
				return (b.flags & WEIR_BACKEND_F_USABLE) != 0;
		}
		throw std::runtime_error("no such backend");
	}

	ctl::config cfg;
	ctl::host_facts host;
	ctl::backend_registry registry;
	std::set<std::string> down;
};

TEST_F(snapshot_health, all_up_uses_every_weighted_backend)
{
	auto s = build();
	EXPECT_EQ(in_table(*s, 0), (std::set<int>{21, 22}));
	EXPECT_TRUE(usable(*s, 0, 23));  // drained, still usable: its tracked flows stay
	EXPECT_FALSE(s->vips[0].flags & WEIR_VIP_F_FAIL_OPEN);
}

TEST_F(snapshot_health, a_down_backend_leaves_the_table)
{
	auto up = build();
	down = {"web/10.10.0.22"};
	auto s = build(up.get());
	EXPECT_EQ(in_table(*s, 0), (std::set<int>{21}));
	EXPECT_FALSE(usable(*s, 0, 22));
	EXPECT_TRUE(usable(*s, 0, 21));
	EXPECT_FALSE(s->vips[0].flags & WEIR_VIP_F_FAIL_OPEN);
	EXPECT_NE(s->tables[0]->fingerprint, up->tables[0]->fingerprint);
	// The other VIP did not change: same table object.
	EXPECT_EQ(s->tables[1].get(), up->tables[1].get());
	// Back up: the table is the all-up one again, slot for slot.
	down.clear();
	auto again = build(s.get());
	EXPECT_EQ(again->tables[0]->slots, up->tables[0]->slots);
	EXPECT_EQ(again->tables[0]->fingerprint, up->tables[0]->fingerprint);
}

TEST_F(snapshot_health, every_backend_down_fails_open)
{
	auto up = build();
	down = {"web/10.10.0.21", "web/10.10.0.22", "web/10.10.0.23", "dns/10.10.0.31"};
	auto s = build(up.get());
	for (uint32_t vip : {0u, 1u})
		EXPECT_TRUE(s->vips[vip].flags & WEIR_VIP_F_FAIL_OPEN) << vip;
	EXPECT_EQ(in_table(*s, 0), (std::set<int>{21, 22}));
	EXPECT_TRUE(usable(*s, 0, 21));
	EXPECT_EQ(s->tables[0]->slots, up->tables[0]->slots);
}

TEST_F(snapshot_health, only_a_drained_backend_left_fails_open)
{
	// The drained backend is up but takes no new flows: the VIP has no capacity,
	// so it fails open over the weighted (down) ones.
	down = {"web/10.10.0.21", "web/10.10.0.22"};
	auto s = build();
	EXPECT_TRUE(s->vips[0].flags & WEIR_VIP_F_FAIL_OPEN);
	EXPECT_EQ(in_table(*s, 0), (std::set<int>{21, 22}));
	EXPECT_FALSE(s->vips[1].flags & WEIR_VIP_F_FAIL_OPEN);
}

TEST_F(snapshot_health, down_is_per_vip)
{
	// The same address under another VIP is another backend.
	down = {"dns/10.10.0.21"};
	auto s = build();
	EXPECT_EQ(in_table(*s, 0), (std::set<int>{21, 22}));
}

}  // namespace
}  // namespace weir
