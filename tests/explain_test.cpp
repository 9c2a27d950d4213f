// explain_test.cpp — `weirctl explain` (control/explain.h) against the real C++
// pipeline: for many flows, the backend explain names is the one the pipeline
// sends the flow's frame to, before the flow is tracked (maglev, maglev_src: the
// Maglev slot), after (every scheduler: the tracked entry), after the table
// changed under tracked flows, and for flows the full flow table cannot track.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "config.h"
#include "explain.h"
#include "packet_builder.h"
#include "pipeline.h"
#include "snapshot_builder.h"
#include "weir_parse.h"

namespace weir {
namespace {

using nlohmann::json;
constexpr uint32_t now = 1000;

struct world {
	ctl::backend_registry registry;
	ctl::host_facts host;
	std::shared_ptr<const dp::snapshot> snap;

	world()
	{
		host.resolve = [](const ctl::ip_addr &a) {
			return ctl::mac_addr{2, 0xbb, 0, 0, 0, a.bytes[3]};
		};
	}

	// VIP web (10.10.1.1:80/tcp) with backends .21 up to .`last`; .22 drained when asked.
	void build(const std::string &scheduler, int last, bool drain_22 = false)
	{
		std::string text =
		        "[node]\nipv4 = \"10.10.0.2/24\"\n[dataplane.xdp]\ninterface = \"eth1\"\n"
		        "[[vip]]\nname = \"web\"\naddress = \"10.10.1.1\"\nport = 80\nscheduler = \"" +
		        scheduler + "\"\ntable_size = 1009\n";
		for (int b = 21; b <= last; b++)
			text += "  [[vip.backend]]\n  address = \"10.10.0." + std::to_string(b) +
			        "\"\n  weight = " + (drain_22 && b == 22 ? "0" : "1") + "\n";
		auto r = ctl::load_config_text(text, "t.toml");
		ASSERT_TRUE(r.valid());
		snap = ctl::build_snapshot(*r.cfg, host, registry, snap.get()).value();
	}
};

struct worker {
	std::unique_ptr<dp::flow_table> flows;
	dp::worker_counters counters;
	dp::pipeline pipe;
	explicit worker(uint32_t entries)
	    : flows(dp::flow_table::create(entries).value()), pipe(*flows, counters)
	{}

	// The last byte of the outer destination (the backend), -1 dropped, 0 passed.
	int send(const dp::snapshot &s, const test::frame &in)
	{
		std::vector<uint8_t> buf(256 + in.size());
		std::copy(in.begin(), in.end(), buf.begin() + 256);
		dp::frame f{buf.data() + 256, uint32_t(in.size()), 256};
		uint8_t verdict;
		pipe.process(s, &f, &verdict, 1, now);
		if (verdict == WEIR_VERDICT_PASS)
			return 0;
		return verdict == WEIR_VERDICT_TX ? f.data[14 + 19] : -1;
	}

	ctl::flow_lookup lookup() const
	{
		return [this](uint32_t hash, uint32_t sig) -> std::optional<dp::tracked_flow> {
			auto e = flows->peek(hash, sig, now);
			if (!e)
				return std::nullopt;
			return dp::tracked_flow::of(*e, now, 0);
		};
	}
};

std::string client(int f)
{
	return "198.18." + std::to_string(f / 250) + "." + std::to_string(1 + f % 250);
}

test::frame frame_of(int f, uint16_t dport = 80, uint8_t flags = test::tcp_ack)
{
	return test::packet_builder()
	        .ipv4(client(f), "10.10.1.1")
	        .tcp(uint16_t(20000 + f), dport, flags)
	        .build();
}

json explain(const world &w, const worker &k, int f, uint16_t dport = 80)
{
	auto key = ctl::parse_flow(client(f) + ":" + std::to_string(20000 + f),
	                           "10.10.1.1:" + std::to_string(dport), "tcp");
	EXPECT_TRUE(key);
	return ctl::explain_flow(*w.snap, *key, k.lookup());
}

// The last byte of an address in a reply, or -1.
int last_byte(const json &v)
{
	if (!v.is_string())
		return -1;
	std::string s = v.get<std::string>();
	return std::stoi(s.substr(s.rfind('.') + 1));
}

TEST(explain, maglev_answers_match_the_pipeline_before_and_after_tracking)
{
	for (const char *sched : {"maglev", "maglev_src"}) {
		world w;
		w.build(sched, 24);
		worker k(1 << 12);
		std::map<int, int> sent;
		int checked = 0;
		for (int f = 0; f < 400; f++) {
			json before = explain(w, k, f);
			ASSERT_EQ(before["verdict"], "forward") << before;
			EXPECT_FALSE(before["tracked"].get<bool>());
			EXPECT_EQ(before["choice"], "maglev");
			EXPECT_EQ(before["maglev"]["hash_of"],
			          std::string(sched) == "maglev" ? "5-tuple" : "source address");
			sent[f] = k.send(*w.snap, frame_of(f));
			ASSERT_GT(sent[f], 0);
			EXPECT_EQ(last_byte(before["backend"]), sent[f])
			        << sched << " flow " << f << ": " << before;
			json after = explain(w, k, f);
			EXPECT_TRUE(after["tracked"].get<bool>()) << after;
			EXPECT_EQ(last_byte(after["backend"]), sent[f]) << after;
			EXPECT_EQ(after["expires_in"], 900) << after;
			checked++;
		}
		EXPECT_EQ(checked, 400);
		// Two more backends and .22 drained: the table changes, tracked flows stay where
		// they are (explain says so), new flows follow the new table (explain says where).
		w.build(sched, 26, true);
		int moved_table = 0;
		for (int f = 0; f < 400; f++) {
			json j = explain(w, k, f);
			EXPECT_TRUE(j["tracked"].get<bool>());
			EXPECT_EQ(last_byte(j["backend"]), sent[f]);
			moved_table += last_byte(j["maglev"]["backend"]) != sent[f];
			EXPECT_EQ(k.send(*w.snap, frame_of(f)), sent[f]) << "tracked flow " << f << " moved";
		}
		EXPECT_GT(moved_table, 50) << sched << ": the new table should differ for many flows";
		for (int f = 400; f < 800; f++) {
			json before = explain(w, k, f);
			EXPECT_FALSE(before["tracked"].get<bool>());
			EXPECT_NE(last_byte(before["backend"]), 22) << "a drained backend gets no new flow";
			EXPECT_EQ(last_byte(before["backend"]), k.send(*w.snap, frame_of(f))) << before;
		}
	}
}

TEST(explain, tracked_flows_of_wrr_and_least_conn_match_the_pipeline)
{
	for (const char *sched : {"wrr", "least_conn"}) {
		world w;
		w.build(sched, 24);
		worker k(1 << 12);
		std::map<int, int> seen;
		for (int f = 0; f < 300; f++) {
			json before = explain(w, k, f);
			EXPECT_FALSE(before["tracked"].get<bool>());
			EXPECT_TRUE(before["backend"].is_null()) << "not determined by the tuple: " << before;
			EXPECT_EQ(before["choice"],
			          std::string(sched) == "wrr" ? "rotation" : "least_loaded");
			int b = k.send(*w.snap, frame_of(f));
			ASSERT_GT(b, 0);
			seen[b]++;
			json after = explain(w, k, f);
			EXPECT_TRUE(after["tracked"].get<bool>());
			EXPECT_EQ(last_byte(after["backend"]), b) << after;
		}
		EXPECT_EQ(seen.size(), 4u) << sched << " should have used every backend";
	}
}

// A flow that closed on a backend since drained: explain says it is closing, and
// a new connection on its 5-tuple (a SYN) leaves the drained backend, as explain
// said new flows would.
TEST(explain, closed_flows_reopen_as_new_flows)
{
	world w;
	w.build("wrr", 23);
	worker k(1 << 12);
	int on22 = -1;
	for (int f = 0; f < 30 && on22 < 0; f++)
		if (k.send(*w.snap, frame_of(f, 80, test::tcp_syn)) == 22)
			on22 = f;
	ASSERT_GE(on22, 0);
	json open = explain(w, k, on22);
	EXPECT_FALSE(open["closing"].get<bool>()) << open;
	EXPECT_EQ(k.send(*w.snap, frame_of(on22, 80, test::tcp_ack | test::tcp_fin)), 22);
	w.build("wrr", 23, true);
	json closed = explain(w, k, on22);
	EXPECT_TRUE(closed["tracked"].get<bool>()) << closed;
	EXPECT_TRUE(closed["closing"].get<bool>()) << closed;
	EXPECT_EQ(last_byte(closed["backend"]), 22) << closed;
	EXPECT_NE(closed["summary"].get<std::string>().find("scheduled anew"), std::string::npos);
	for (int i = 0; i < 4; i++) {  // the rotation's every position: never .22
		int again = k.send(*w.snap, frame_of(on22, 80, test::tcp_syn));
		EXPECT_TRUE(again == 21 || again == 23) << "SYN on a closed flow went to ." << again;
		EXPECT_FALSE(explain(w, k, on22)["closing"].get<bool>());
		EXPECT_EQ(k.send(*w.snap, frame_of(on22, 80, test::tcp_ack | test::tcp_rst)), again);
	}
}

// A full flow table: flows it cannot track take the Maglev slot under every
// scheduler, and explain names that backend.
TEST(explain, untracked_flows_take_the_maglev_backend_explain_names)
{
	for (const char *sched : {"maglev", "maglev_src", "wrr", "least_conn"}) {
		world w;
		w.build(sched, 24);
		worker k(64);
		int untracked = 0;
		for (int f = 0; f < 400; f++) {
			int b = k.send(*w.snap, frame_of(f));
			json j = explain(w, k, f);
			if (j["tracked"].get<bool>()) {
				EXPECT_EQ(last_byte(j["backend"]), b);
				continue;
			}
			untracked++;
			EXPECT_EQ(last_byte(j["maglev"]["backend"]), b) << sched << ": " << j;
			EXPECT_NE(j["summary"].get<std::string>().find("Maglev slot"), std::string::npos);
		}
		EXPECT_GT(untracked, 200) << sched;
	}
}

TEST(explain, non_vip_traffic_and_vips_without_backends)
{
	world w;
	w.build("maglev", 21);
	worker k(1 << 10);
	json j = explain(w, k, 1, 81);
	EXPECT_EQ(j["verdict"], "pass");
	EXPECT_TRUE(j["vip"].is_null());
	EXPECT_EQ(j["summary"], "not a VIP: passed to the kernel");
	EXPECT_EQ(k.send(*w.snap, frame_of(1, 81)), 0) << "the pipeline passes it too";

	w.build("maglev", 21, false);
	auto r = ctl::load_config_text(
	        "[node]\nipv4 = \"10.10.0.2/24\"\n[dataplane.xdp]\ninterface = \"eth1\"\n"
	        "[[vip]]\nname = \"web\"\naddress = \"10.10.1.1\"\nport = 80\n",
	        "t.toml");
	ASSERT_TRUE(r.valid());
	w.snap = ctl::build_snapshot(*r.cfg, w.host, w.registry, w.snap.get()).value();
	j = explain(w, k, 2);
	EXPECT_EQ(j["verdict"], "drop");
	EXPECT_EQ(j["reason"], "no_backend");
	EXPECT_EQ(k.send(*w.snap, frame_of(2)), -1);
}

TEST(explain, flows_parse_like_the_packet_parser_keys_them)
{
	auto v6 = ctl::parse_flow("[2001:db8::7]:5353", "[fd00:1::53]:53", "udp");
	ASSERT_TRUE(v6);
	test::frame frame = test::packet_builder().ipv6("2001:db8::7", "fd00:1::53").udp(5353, 53).build();
	weir_pkt pkt;
	uint8_t reason;
	ASSERT_NE(weir_parse(frame.data(), frame.data() + frame.size(), &pkt, &reason), WEIR_PARSE_DROP);
	EXPECT_EQ(std::memcmp(&pkt.key, &*v6, sizeof(pkt.key)), 0);
	auto v4 = ctl::parse_flow("198.18.0.1:20000", "10.10.1.1:80", "tcp");
	ASSERT_TRUE(v4);
	frame = frame_of(0);
	ASSERT_NE(weir_parse(frame.data(), frame.data() + frame.size(), &pkt, &reason), WEIR_PARSE_DROP);
	EXPECT_EQ(std::memcmp(&pkt.key, &*v4, sizeof(pkt.key)), 0);
	EXPECT_FALSE(ctl::parse_flow("198.18.0.1:1", "[fd00::1]:80", "tcp")) << "mixed families";
	EXPECT_FALSE(ctl::parse_flow("198.18.0.1", "10.10.1.1:80", "tcp"));
	EXPECT_FALSE(ctl::parse_flow("198.18.0.1:1", "10.10.1.1:80", "icmp"));
	EXPECT_FALSE(ctl::parse_flow("198.18.0.x:1", "10.10.1.1:80", "tcp"));
}

}  // namespace
}  // namespace weir
