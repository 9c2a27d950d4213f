// publish_test.cpp — snapshot publication under traffic (dpdk suite): a DPDK
// worker forwards flows through a ring-backed port while the control thread
// publishes 1,000 snapshots, alternating the VIP's weights. Every packet must come
// out (none lost), encapsulated to the backend its flow was first given (none
// misrouted), and no worker may read a snapshot after it was freed (freed
// snapshots are overwritten before release, so a late reader would misroute).
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "config.h"
#include "dpdk_engine.h"
#include "packet_builder.h"
#include "snapshot_builder.h"

namespace {

using namespace weir;

std::string world(int w1, int w2, int w3)
{
	return "[node]\nipv4 = \"10.10.0.2/24\"\n[dataplane.dpdk]\nport = \"x\"\n"
	       "[[vip]]\nname = \"web\"\naddress = \"10.10.1.1\"\nport = 80\n"
	       "  [[vip.backend]]\n  address = \"10.10.0.21\"\n  weight = " +
	       std::to_string(w1) +
	       "\n  [[vip.backend]]\n  address = \"10.10.0.22\"\n  weight = " + std::to_string(w2) +
	       "\n  [[vip.backend]]\n  address = \"10.10.0.23\"\n  weight = " + std::to_string(w3) + "\n";
}

bool eal_up()
{
	static bool up = [] {
		const char *args[] = {"publish_test", "-l", "0-1", "--no-huge",   "--no-shconf",
		                      "--no-pci",     "-m", "512", "--log-level", "error"};
		return rte_eal_init(int(std::size(args)), const_cast<char **>(args)) >= 0;
	}();
	return up;
}

TEST(dpdk_publish, thousand_snapshots_under_traffic_lose_and_misroute_nothing)
{
	if (rte_lcore_count() == 0 && !eal_up())
		FAIL() << "EAL initialisation failed";
	ASSERT_GE(rte_lcore_count(), 2u) << "needs a worker lcore";
	rte_ring *in = rte_ring_create("pt_in", 4096, int(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
	rte_ring *out = rte_ring_create("pt_out", 4096, int(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
	ASSERT_TRUE(in && out);
	int port = rte_eth_from_rings("pt_port", &in, 1, &out, 1, rte_socket_id());
	ASSERT_GE(port, 0);
	char name[RTE_ETH_NAME_MAX_LEN];
	ASSERT_EQ(rte_eth_dev_get_name_by_port(uint16_t(port), name), 0);

	dp::dpdk_options opt;
	opt.eal_ready = true;
	opt.port = name;
	opt.workers = 1;
	opt.flow_table_size = 1 << 16;
	opt.exception_path = false;
	auto engine = dp::dpdk_engine::create(opt);
	ASSERT_TRUE(engine) << engine.error_message();
	dp::dpdk_engine &e = **engine;

	ctl::host_facts host;
	host.port_mac = e.port_mac();
	host.resolve = [](const ctl::ip_addr &a) { return ctl::mac_addr{2, 0xbb, 0, 0, 0, a.bytes[3]}; };
	ctl::backend_registry registry;
	auto build = [&](int a, int b, int c, const dp::snapshot *prev) {
		auto r = ctl::load_config_text(world(a, b, c), "t.toml");
		EXPECT_TRUE(r.valid());
		std::shared_ptr<const dp::snapshot> built =
		        ctl::build_snapshot(*r.cfg, host, registry, prev).value();
		// A copy whose deleter poisons it first: a worker still reading it after
		// publish() returned would see no usable backend and drop, or misroute.
		return std::shared_ptr<const dp::snapshot>(new dp::snapshot(*built),
		                                           [](const dp::snapshot *s) {
			                                           auto *w = const_cast<dp::snapshot *>(s);
			                                           for (weir_backend &b : w->backends)
				                                           std::memset(&b, 0xa5, sizeof(b));
			                                           w->node.hash_seed ^= 0xdeadbeef;
			                                           delete s;
		                                           });
	};
	std::shared_ptr<const dp::snapshot> snap = build(1, 2, 3, nullptr);
	ASSERT_TRUE(e.start(snap));

	rte_mempool *pool = rte_pktmbuf_pool_create("pt_pool", 8192, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
	                                            int(rte_socket_id()));
	ASSERT_NE(pool, nullptr);
	constexpr int flows = 500, per_round = 32, rounds = 1000;
	std::vector<test::frame> frames;
	for (int f = 0; f < flows; f++)
		frames.push_back(test::packet_builder()
		                         .eth_dst("02:00:00:00:00:02")
		                         .ipv4("198.18.0." + std::to_string(1 + f % 200), "10.10.1.1")
		                         .tcp(uint16_t(10000 + f), 80)
		                         .payload(20)
		                         .build());
	std::map<int, uint8_t> backend_of;  // flow -> last byte of the outer destination
	uint64_t sent = 0, received = 0, misrouted = 0;
	auto drain = [&] {
		rte_mbuf *m[64];
		unsigned n;
		while ((n = rte_ring_dequeue_burst(out, reinterpret_cast<void **>(m), 64, nullptr)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				const uint8_t *p = rte_pktmbuf_mtod(m[i], const uint8_t *);
				// Ethernet 14 + outer IPv4 20 + inner IPv4 20: the inner TCP source port.
				int flow = ((p[54] << 8) | p[55]) - 10000;
				uint8_t backend = p[14 + 19];
				auto [it, fresh] = backend_of.emplace(flow, backend);
				misrouted += !fresh && it->second != backend;
				received++;
				rte_pktmbuf_free(m[i]);
			}
		}
	};
	for (int r = 0; r < rounds; r++) {
		rte_mbuf *m[per_round];
		ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool, m, per_round), 0);
		for (int i = 0; i < per_round; i++) {
			const test::frame &f = frames[size_t((r * per_round + i) % flows)];
			std::memcpy(rte_pktmbuf_append(m[i], uint16_t(f.size())), f.data(), f.size());
		}
		sent += rte_ring_enqueue_burst(in, reinterpret_cast<void **>(m), per_round, nullptr);
		// Alternate the weights: new tables, same backends, so tracked flows stay.
		snap = build(r % 2 ? 1 : 3, 2, r % 2 ? 3 : 1, snap.get());
		ASSERT_TRUE(e.publish(snap));
		drain();
	}
	for (int i = 0; i < 200 && received < sent; i++) {
		rte_delay_ms(5);
		drain();
	}
	e.stop();
	std::cout << "published " << rounds << " snapshots; sent " << sent << ", received " << received
	          << ", misrouted " << misrouted << ", flows " << backend_of.size() << "\n";
	EXPECT_EQ(sent, uint64_t(rounds) * per_round);
	EXPECT_EQ(received, sent);
	EXPECT_EQ(misrouted, 0u);
	EXPECT_EQ(backend_of.size(), size_t(flows));
}

}  // namespace
