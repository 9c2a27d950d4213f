// pipeline_test.cpp — pipeline properties that a fixture cannot state as one
// frame in, one frame out: flows that miss the flow table (full buckets) must
// still keep one backend under every scheduler, and an ICMP error handled by a
// worker that never saw its flow must reach the flow's backend under maglev and
// maglev_src alike.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "config.h"
#include "packet_builder.h"
#include "pipeline.h"
#include "snapshot_builder.h"

namespace {

using namespace weir;

std::shared_ptr<const dp::snapshot> world(const std::string &scheduler)
{
	std::string text = "[node]\nipv4 = \"10.10.0.2/24\"\n[dataplane.xdp]\ninterface = \"eth1\"\n"
	                   "[[vip]]\nname = \"web\"\naddress = \"10.10.1.1\"\nport = 80\nscheduler = \"" +
	                   scheduler + "\"\ntable_size = 1009\n";
	for (int b = 21; b <= 24; b++)
		text += "  [[vip.backend]]\n  address = \"10.10.0." + std::to_string(b) + "\"\n";
	auto r = ctl::load_config_text(text, "t.toml");
	EXPECT_TRUE(r.valid());
	ctl::host_facts host;
	host.resolve = [](const ctl::ip_addr &a) { return ctl::mac_addr{2, 0xbb, 0, 0, 0, a.bytes[3]}; };
	ctl::backend_registry registry;
	return ctl::build_snapshot(*r.cfg, host, registry, nullptr).value();
}

struct worker {
	std::unique_ptr<dp::flow_table> flows;
	dp::worker_counters counters;
	std::unique_ptr<dp::pipeline> pipe;
	explicit worker(uint32_t entries)
	    : flows(dp::flow_table::create(entries).value()),
	      pipe(std::make_unique<dp::pipeline>(*flows, counters))
	{}

	// The last byte of the outer destination (the backend), or -1 if not sent.
	int send(const dp::snapshot &s, const test::frame &in)
	{
		std::vector<uint8_t> buf(256 + in.size());
		std::copy(in.begin(), in.end(), buf.begin() + 256);
		dp::frame f{buf.data() + 256, uint32_t(in.size()), 256};
		uint8_t verdict;
		pipe->process(s, &f, &verdict, 1, 1000);
		return verdict == WEIR_VERDICT_TX ? f.data[14 + 19] : -1;
	}
};

test::frame tcp(int client, uint16_t sport)
{
	return test::packet_builder()
	        .ipv4("198.18." + std::to_string(client / 250) + "." + std::to_string(1 + client % 250),
	              "10.10.1.1")
	        .tcp(sport, 80)
	        .build();
}

TEST(pipeline, untracked_flows_keep_one_backend_under_every_scheduler)
{
	for (const char *sched : {"maglev", "maglev_src", "wrr", "least_conn"}) {
		auto s = world(sched);
		worker w(64);  // 16 buckets of 4: most of 600 flows find their bucket full
		std::map<int, int> first;
		for (int f = 0; f < 600; f++)
			first[f] = w.send(*s, tcp(f, uint16_t(20000 + f)));
		uint64_t untracked = w.counters.untracked.get();
		int moved = 0;
		for (int round = 0; round < 3; round++)
			for (int f = 0; f < 600; f++)
				moved += w.send(*s, tcp(f, uint16_t(20000 + f))) != first[f];
		EXPECT_GT(untracked, 400u) << sched << ": the table should have been full";
		EXPECT_EQ(moved, 0) << sched << ": untracked flows changed backend";
		std::cout << sched << ": " << untracked << " of 600 flows untracked, " << moved
		          << " packets moved\n";
	}
}

TEST(pipeline, icmp_error_on_another_worker_reaches_the_flows_backend)
{
	for (const char *sched : {"maglev", "maglev_src"}) {
		auto s = world(sched);
		worker a(1 << 12), b(1 << 12);
		int wrong = 0;
		for (int f = 0; f < 200; f++) {
			test::frame syn = tcp(f, uint16_t(30000 + f));
			int backend = a.send(*s, syn);
			ASSERT_GT(backend, 0);
			// The backend's reply (VIP -> client), too big for a router on the way.
			test::frame reply =
			        test::packet_builder()
			                .ipv4("10.10.1.1", "198.18." + std::to_string(f / 250) + "." +
			                                           std::to_string(1 + f % 250))
			                .df()
			                .tcp(80, uint16_t(30000 + f))
			                .payload(1400)
			                .l3();
			reply.resize(28);
			test::frame error = test::packet_builder()
			                            .ipv4("192.0.2.1", "10.10.1.1")
			                            .icmp(3, 4, 1300)
			                            .quote(reply)
			                            .build();
			wrong += b.send(*s, error) != backend;
		}
		EXPECT_EQ(wrong, 0) << sched << ": ICMP errors sent to another backend than their flow's";
	}
}

}  // namespace

namespace {

// Per-VIP counters follow the VIP's name, not its position: removing an earlier
// VIP on reload must not hand its totals to the next one.
TEST(snapshot_builder, vip_counter_ids_follow_names_across_reloads)
{
	auto cfg = [](std::vector<std::string> names) {
		std::string text = "[node]\nipv4 = \"10.10.0.2/24\"\n[dataplane.xdp]\ninterface = \"eth1\"\n";
		int port = 80;
		for (const std::string &n : names)
			text += "[[vip]]\nname = \"" + n +
			        "\"\naddress = \"10.10.1.1\"\nport = " + std::to_string(port++) +
			        "\n  [[vip.backend]]\n  address = \"10.10.0.21\"\n";
		auto r = ctl::load_config_text(text, "t.toml");
		EXPECT_TRUE(r.valid());
		return *r.cfg;
	};
	ctl::host_facts host;
	ctl::backend_registry registry;
	auto counter_of = [](const dp::snapshot &s, const std::string &name) {
		for (const weir_vip &v : s.vips)
			if (s.vip_names[v.id] == name)
				return int(v.counter_id);
		return -1;
	};
	auto one = ctl::build_snapshot(cfg({"a", "b"}), host, registry, nullptr).value();
	auto two = ctl::build_snapshot(cfg({"b"}), host, registry, one.get()).value();
	auto three = ctl::build_snapshot(cfg({"c", "b"}), host, registry, two.get()).value();
	EXPECT_EQ(two->vips[0].id, 0u) << "ids are positions";
	EXPECT_EQ(counter_of(*two, "b"), counter_of(*one, "b"));
	EXPECT_EQ(counter_of(*three, "b"), counter_of(*one, "b"));
	EXPECT_NE(counter_of(*three, "c"), counter_of(*one, "a"))
	        << "a's counters must not pass to a new VIP";
	EXPECT_NE(counter_of(*three, "c"), counter_of(*three, "b"));
}

}  // namespace
