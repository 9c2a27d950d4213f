// publish_test.cpp — a DPDK worker on a ring-backed port (dpdk suite).
// Snapshot publication under traffic: the control thread publishes 1,000
// snapshots, alternating the VIP's weights, while the worker forwards flows.
// Every packet must come out (none lost), encapsulated to the backend its flow
// was first given (none misrouted), and no worker may read a snapshot after it
// was freed (freed snapshots are overwritten before release, so a late reader
// would misroute). And a full TX queue: what did not fit is counted once, and
// the counters still add up.
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
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

// A one-worker DPDK engine on a port made of two rings: `in` is what the port
// receives, `out` what it sends. Names are prefixed with `tag`.
struct ring_engine {
	rte_ring *in = nullptr, *out = nullptr;
	std::unique_ptr<dp::dpdk_engine> engine;
	ctl::host_facts host;
	ctl::backend_registry registry;

	// Empty `error` on success.
	std::string create(const std::string &tag, unsigned in_size, unsigned out_size, uint32_t flows)
	{
		if (rte_lcore_count() == 0 && !eal_up())
			return "EAL initialisation failed";
		if (rte_lcore_count() < 2)
			return "needs a worker lcore";
		int sock = int(rte_socket_id());
		in = rte_ring_create((tag + "_in").c_str(), in_size, sock, RING_F_SP_ENQ | RING_F_SC_DEQ);
		out = rte_ring_create((tag + "_out").c_str(), out_size, sock, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!in || !out)
			return "rings";
		int port = rte_eth_from_rings((tag + "_port").c_str(), &in, 1, &out, 1, rte_socket_id());
		char name[RTE_ETH_NAME_MAX_LEN];
		if (port < 0 || rte_eth_dev_get_name_by_port(uint16_t(port), name) != 0)
			return "ring port";
		dp::dpdk_options opt;
		opt.eal_ready = true;
		opt.port = name;
		opt.workers = 1;
		opt.flow_table_size = flows;
		opt.exception_path = false;
		auto e = dp::dpdk_engine::create(opt);
		if (!e)
			return e.error_message();
		engine = std::move(*e);
		host.port_mac = engine->port_mac();
		host.resolve = [](const ctl::ip_addr &a) {
			return ctl::mac_addr{2, 0xbb, 0, 0, 0, a.bytes[3]};
		};
		return "";
	}
};

TEST(dpdk_publish, thousand_snapshots_under_traffic_lose_and_misroute_nothing)
{
	ring_engine re;
	std::string problem = re.create("pt", 4096, 4096, 1 << 16);
	ASSERT_EQ(problem, "");
	rte_ring *in = re.in, *out = re.out;
	dp::dpdk_engine &e = *re.engine;
	ctl::host_facts &host = re.host;
	ctl::backend_registry &registry = re.registry;
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

// The TX ring holds 63 frames and nobody empties it: of 256 packets, forwarded
// ones and ICMP errors weir writes for oversized ones, most cannot leave. Each
// frame that did leave is counted as forwarded or in icmp_sent; each packet is
// forwarded, passed or dropped exactly once (an oversized packet is its
// mtu_exceeded drop whether or not its ICMP error fitted).
TEST(dpdk_tx_full, frames_that_do_not_fit_are_counted_once)
{
	ring_engine re;
	std::string problem = re.create("tf", 1024, 64, 1 << 12);
	ASSERT_EQ(problem, "");
	rte_ring *in = re.in, *out = re.out;
	dp::dpdk_engine &e = *re.engine;
	auto r = ctl::load_config_text(world(1, 2, 3), "t.toml");
	ASSERT_TRUE(r.valid());
	ASSERT_TRUE(e.start(ctl::build_snapshot(*r.cfg, re.host, re.registry, nullptr).value()));

	rte_mempool *pool = rte_pktmbuf_pool_create("tf_pool", 2048, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
	                                            int(rte_socket_id()));
	ASSERT_NE(pool, nullptr);
	constexpr unsigned total = 256;
	unsigned queued = 0;
	while (queued < total) {
		rte_mbuf *m[32];
		ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool, m, 32), 0);
		for (unsigned i = 0; i < 32; i++) {
			unsigned k = queued + i;
			// Odd packets fill the 1500-byte MTU: with IPIP's 20 bytes they no
			// longer fit, and DF asks for an ICMP error.
			test::frame f = test::packet_builder()
			                        .eth_dst("02:00:00:00:00:02")
			                        .ipv4("198.18.1." + std::to_string(1 + k % 250), "10.10.1.1")
			                        .df()
			                        .tcp(uint16_t(20000 + k), 80)
			                        .payload(k % 2 ? 1460 : 20)
			                        .build();
			std::memcpy(rte_pktmbuf_append(m[i], uint16_t(f.size())), f.data(), f.size());
		}
		queued += rte_ring_enqueue_burst(in, reinterpret_cast<void **>(m), 32, nullptr);
	}
	for (int i = 0; i < 400 && !rte_ring_empty(in); i++)
		rte_delay_ms(5);
	rte_delay_ms(20);
	e.stop();
	unsigned left = rte_ring_count(out), replies = 0, forwarded = 0;
	rte_mbuf *m;
	while (rte_ring_dequeue(out, reinterpret_cast<void **>(&m)) == 0) {
		const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
		replies += p[14 + 9] == 1;  // ICMP, back to the client
		forwarded += p[14 + 9] == 4;  // IPIP, to a backend
		rte_pktmbuf_free(m);
	}
	const dp::worker_counters &c = *e.workers().at(0).counters;
	uint64_t drops = 0;
	for (const dp::counter &d : c.drops)
		drops += d.get();
	std::cout << "sent " << total << "; out " << left << " (" << forwarded << " forwarded, " << replies
	          << " ICMP errors); counted rx " << c.rx_packets.get() << ", tx " << c.tx_packets.get()
	          << ", icmp_sent " << c.icmp_sent.get() << ", mtu_exceeded "
	          << c.drops[WEIR_DROP_mtu_exceeded].get() << ", tx_full " << c.drops[WEIR_DROP_tx_full].get()
	          << "\n";
	EXPECT_EQ(left, 63u) << "the TX ring should have filled";
	EXPECT_GT(forwarded, 0u);
	EXPECT_GT(replies, 0u);
	EXPECT_EQ(c.rx_packets.get(), total);
	EXPECT_EQ(c.tx_packets.get(), forwarded);
	EXPECT_EQ(c.icmp_sent.get(), replies);
	EXPECT_EQ(c.drops[WEIR_DROP_mtu_exceeded].get(), total / 2);
	EXPECT_EQ(c.drops[WEIR_DROP_tx_full].get(), total / 2 - forwarded);
	EXPECT_EQ(c.rx_packets.get(), c.tx_packets.get() + c.pass_packets.get() + drops);
}

}  // namespace
