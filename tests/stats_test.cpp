// stats_test.cpp — the stats and status models (control/stats.h) against real
// traffic: a configuration text goes through ctl::build_snapshot, frames from
// packet_builder go through two real dp::pipeline workers, and every number
// stats_json reports is compared with what the test sent and what came out
// (backends are read from the outer headers of the forwarded frames, not from
// any counter). Then `weirctl` itself fetches both models over a real control
// socket and prints them.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <poll.h>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.h"
#include "control_socket.h"
#include "maglev.h"
#include "packet_builder.h"
#include "pipeline.h"
#include "snapshot_builder.h"
#include "stats.h"

namespace weir::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const char *const world_config = R"([node]
ipv4 = "10.10.0.2/24"
ipv6 = "fd00::2/64"
gateway = "10.10.0.1"
hash_seed = "5eed5eed"

[dataplane]
mtu = 1500

[dataplane.xdp]
interface = "eth1"

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
  weight = 2

[[vip]]
name = "web6"
address = "fd00:1::1"
port = 80
table_size = 1009
  [[vip.backend]]
  address = "fd00::21"
  [[vip.backend]]
  address = "fd00::22"

[[vip]]
name = "dns"
address = "10.10.1.7"
port = 53
protocol = "udp"
forwarding = "gue"
table_size = 1009
  [[vip.backend]]
  address = "10.10.0.27"

[[vip]]
name = "empty"
address = "10.10.1.9"
port = 80
table_size = 1009

[[vip]]
name = "unresolved"
address = "10.10.1.10"
port = 80
table_size = 1009
  [[vip.backend]]
  address = "10.10.0.99"
)";

constexpr const char *client4 = "198.51.100.7";
constexpr const char *client6 = "2001:db8::7";
constexpr uint32_t now = 1000;
constexpr uint32_t table_entries = 4096;

enum class outcome { forwarded, passed, dropped, icmp_sent };

// One frame the test sends, what must become of it, and on which worker.
struct item {
	frame in;
	outcome want;
	weir_drop_reason reason = WEIR_DROP__COUNT;
	std::string vip;  // forwarded: the VIP it belongs to
	uint32_t flow = 0;  // picks the worker; packets of one flow share it
};

// What the test saw come out, by backend address.
struct seen_backend {
	uint64_t packets = 0;
	uint64_t bytes = 0;
	std::set<uint32_t> flows;
};

std::shared_ptr<const dp::snapshot> build(const std::string &text, ctl::backend_registry &registry,
                                          ctl::config &cfg_out)
{
	ctl::config_report report = ctl::load_config_text(text, "stats_test.toml");
	if (!report.valid()) {
		std::string msg;
		for (const auto &p : report.problems)
			msg += p.to_string() + "\n";
		throw std::runtime_error("invalid test configuration:\n" + msg);
	}
	cfg_out = *report.cfg;
	ctl::host_facts host;
	host.port_mac = parse_mac("02:00:00:00:00:aa");
	host.resolve = [](const ctl::ip_addr &a) -> std::optional<ctl::mac_addr> {
		std::string s = a.to_string();
		if (s == "10.10.0.99")
			return std::nullopt;  // never answers ARP
		return parse_mac(s.find(':') != std::string::npos ? "02:00:00:00:06:01"
		                                                  : "02:00:00:00:00:01");
	};
	auto snap = ctl::build_snapshot(cfg_out, host, registry, nullptr);
	if (!snap)
		throw std::runtime_error(snap.error_message());
	return *snap;
}

// Two workers, as the DPDK engine has them: own flow table, counters and pipeline.
class two_workers {
public:
	two_workers()
	{
		for (int i = 0; i < 2; i++) {
			auto t = dp::flow_table::create(table_entries);
			if (!t)
				throw std::runtime_error(t.error_message());
			_flows[i] = std::move(*t);
			_pipes[i] = std::make_unique<dp::pipeline>(*_flows[i], _ctr[i]);
		}
		for (auto &p : _pipes)
			p->set_peers({_flows[0].get(), _flows[1].get()});
	}

	// Runs the items through their workers in bursts; returns verdicts and the
	// frames as they left.
	void run(const dp::snapshot &s, const std::vector<item> &items, std::vector<uint8_t> &verdicts,
	         std::vector<frame> &out)
	{
		verdicts.assign(items.size(), 0xff);
		out.assign(items.size(), {});
		for (uint32_t w = 0; w < 2; w++) {
			std::vector<size_t> mine;
			for (size_t i = 0; i < items.size(); i++)
				if (items[i].flow % 2 == w)
					mine.push_back(i);
			for (size_t start = 0; start < mine.size(); start += dp::pipeline::max_burst)
				burst(s, w, items, mine, start, verdicts, out);
		}
	}

	std::vector<dp::worker_view> views() const
	{
		return {{3, &_ctr[0], _flows[0].get()}, {5, &_ctr[1], _flows[1].get()}};
	}

private:
	void burst(const dp::snapshot &s, uint32_t w, const std::vector<item> &items,
	           const std::vector<size_t> &mine, size_t start, std::vector<uint8_t> &verdicts,
	           std::vector<frame> &out)
	{
		constexpr uint32_t headroom = 128;
		size_t n = std::min<size_t>(dp::pipeline::max_burst, mine.size() - start);
		std::vector<std::vector<uint8_t>> bufs(n);
		std::vector<dp::frame> frames(n);
		std::vector<uint8_t> v(n);
		for (size_t k = 0; k < n; k++) {
			const frame &in = items[mine[start + k]].in;
			bufs[k].assign(headroom + in.size(), 0);
			std::copy(in.begin(), in.end(), bufs[k].begin() + headroom);
			frames[k] = {bufs[k].data() + headroom, uint32_t(in.size()), headroom};
		}
		_pipes[w]->process(s, frames.data(), v.data(), uint32_t(n), now);
		for (size_t k = 0; k < n; k++) {
			verdicts[mine[start + k]] = v[k];
			out[mine[start + k]] = frame(frames[k].data, frames[k].data + frames[k].len);
		}
	}

	std::unique_ptr<dp::flow_table> _flows[2];
	dp::worker_counters _ctr[2];
	std::unique_ptr<dp::pipeline> _pipes[2];
};

packet_builder tcp4(const char *dst, uint16_t sport, uint16_t dport, uint8_t flags, size_t payload)
{
	packet_builder b;
	b.eth_dst("02:00:00:00:00:aa").ipv4(client4, dst).tcp(sport, dport, flags).payload(payload);
	return b;
}

// The traffic: flows to every VIP, passes, and drops of many reasons.
std::vector<item> traffic()
{
	std::vector<item> v;
	uint32_t flow = 0;
	for (uint16_t i = 0; i < 120; i++, flow++) {
		v.push_back({tcp4("10.10.1.1", uint16_t(20000 + i), 80, tcp_syn, 0).build(),
		             outcome::forwarded, WEIR_DROP__COUNT, "web", flow});
		for (size_t len : {100u, 300u + i})
			v.push_back({tcp4("10.10.1.1", uint16_t(20000 + i), 80, tcp_ack, len).build(),
			             outcome::forwarded, WEIR_DROP__COUNT, "web", flow});
	}
	for (uint16_t i = 0; i < 40; i++, flow++) {
		packet_builder b;
		b.eth_dst("02:00:00:00:00:aa")
		        .ipv6(client6, "fd00:1::1")
		        .tcp(uint16_t(30000 + i), 80)
		        .payload(i);
		v.push_back({b.build(), outcome::forwarded, WEIR_DROP__COUNT, "web6", flow});
		v.push_back({b.payload(500).build(), outcome::forwarded, WEIR_DROP__COUNT, "web6", flow});
	}
	for (uint16_t i = 0; i < 50; i++, flow++) {
		packet_builder b;
		b.eth_dst("02:00:00:00:00:aa")
		        .ipv4(client4, "10.10.1.7")
		        .udp(uint16_t(40000 + i), 53)
		        .payload(40);
		v.push_back({b.build(), outcome::forwarded, WEIR_DROP__COUNT, "dns", flow});
	}
	for (uint16_t i = 0; i < 30; i++, flow++)
		v.push_back({tcp4("10.10.0.2", uint16_t(50000 + i), 22, tcp_ack, 10).build(), outcome::passed,
		             WEIR_DROP__COUNT, "", flow});
	auto drop = [&](packet_builder b, weir_drop_reason r, int times) {
		for (int i = 0; i < times; i++, flow++)
			v.push_back({b.build(), outcome::dropped, r, "", flow});
	};
	drop(tcp4("10.10.1.9", 1000, 80, tcp_syn, 0), WEIR_DROP_no_backend, 7);
	drop(tcp4("10.10.1.1", 1001, 80, tcp_ack, 0).truncate(13), WEIR_DROP_truncated_l2, 4);
	drop(tcp4("10.10.1.1", 1002, 80, tcp_ack, 0).truncate(14 + 19), WEIR_DROP_truncated_l3, 3);
	drop(tcp4("10.10.1.1", 1003, 80, tcp_ack, 0).mf(), WEIR_DROP_fragment, 3);
	drop(tcp4("10.10.1.1", 1004, 80, tcp_ack, 0).ip_options({1, 1, 1, 1}), WEIR_DROP_ip_options, 2);
	drop(tcp4("10.10.1.1", 1005, 80, tcp_ack, 0).ttl(0), WEIR_DROP_ttl_zero, 2);
	// Five flows to a backend whose MAC is unknown: tracked, then dropped.
	for (uint16_t i = 0; i < 5; i++, flow++)
		v.push_back({tcp4("10.10.1.10", uint16_t(1100 + i), 80, tcp_syn, 0).build(), outcome::dropped,
		             WEIR_DROP_no_next_hop, "", flow});
	// Too big after encapsulation, on web flows 0..3 (already tracked, same
	// workers): with DF an ICMP error goes back (a drop that is sent), without
	// DF a plain drop.
	for (uint16_t i = 0; i < 4; i++) {
		packet_builder b = tcp4("10.10.1.1", uint16_t(20000 + i), 80, tcp_ack, 1450);
		if (i < 2)
			v.push_back({b.df().build(), outcome::icmp_sent, WEIR_DROP_mtu_exceeded, "", i});
		else
			v.push_back({b.build(), outcome::dropped, WEIR_DROP_mtu_exceeded, "", i});
	}
	return v;
}

// The outer destination of an encapsulated frame (IPv4 or IPv6).
std::string outer_destination(const frame &f)
{
	ctl::ip_addr a;
	if (f[12] == 0x08 && f[13] == 0x00) {
		std::copy(f.begin() + 30, f.begin() + 34, a.bytes.begin());
	} else {
		a.family = WEIR_AF_INET6;
		std::copy(f.begin() + 38, f.begin() + 54, a.bytes.begin());
	}
	return a.to_string();
}

class stats_model : public ::testing::Test {
protected:
	void SetUp() override
	{
		snap = build(world_config, registry, cfg);
		items = traffic();
		workers.run(*snap, items, verdicts, out);
		engine_drops[WEIR_DROP_tx_full] = 9;
	}

	json stats() const
	{
		std::vector<dp::worker_view> views = workers.views();
		return ctl::stats_json(cfg, *snap, views, engine_drops);
	}

	ctl::backend_registry registry;
	ctl::config cfg;
	std::shared_ptr<const dp::snapshot> snap;
	std::vector<item> items;
	two_workers workers;
	std::vector<uint8_t> verdicts;
	std::vector<frame> out;
	ctl::drop_counts engine_drops{};
};

TEST_F(stats_model, every_frame_had_the_intended_fate)
{
	for (size_t i = 0; i < items.size(); i++) {
		uint8_t want = items[i].want == outcome::passed    ? WEIR_VERDICT_PASS
		               : items[i].want == outcome::dropped ? WEIR_VERDICT_DROP
		                                                   : WEIR_VERDICT_TX;
		ASSERT_EQ(verdicts[i], want) << "frame " << i << " (flow " << items[i].flow << ")";
	}
}

TEST_F(stats_model, totals_and_drops_add_up_to_what_was_sent)
{
	json s = stats();
	uint64_t rx = 0, rx_bytes = 0, tx = 0, tx_bytes = 0, passed = 0;
	std::vector<uint64_t> drops(WEIR_DROP__COUNT, 0);
	for (size_t i = 0; i < items.size(); i++) {
		rx++;
		rx_bytes += items[i].in.size();
		if (items[i].want == outcome::forwarded) {
			tx++;
			tx_bytes += out[i].size();
		}
		passed += items[i].want == outcome::passed;
		if (items[i].reason != WEIR_DROP__COUNT)
			drops[items[i].reason]++;
	}
	drops[WEIR_DROP_tx_full] += 9;
	uint64_t dropped = 0;
	for (uint64_t d : drops)
		dropped += d;
	const json &t = s["totals"];
	EXPECT_EQ(t["rx_packets"], rx);
	EXPECT_EQ(t["rx_bytes"], rx_bytes);
	EXPECT_EQ(t["tx_packets"], tx);
	EXPECT_EQ(t["tx_bytes"], tx_bytes);
	EXPECT_EQ(t["passed"], passed);
	EXPECT_EQ(t["dropped"], dropped);
	EXPECT_EQ(t["engine_dropped"], 9u);
	// Conservation: every frame the pipeline saw was sent, passed or dropped (an
	// ICMP error weir sent counts as its trigger's drop); engine drops come after.
	EXPECT_EQ(t["rx_packets"].get<uint64_t>(),
	          t["tx_packets"].get<uint64_t>() + t["passed"].get<uint64_t>() +
	                  t["dropped"].get<uint64_t>() - t["engine_dropped"].get<uint64_t>());
	// Every reason, zeros included, named as in weir_drop_reasons.def.
	ASSERT_EQ(s["drops"].size(), size_t(WEIR_DROP__COUNT));
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++)
		EXPECT_EQ(s["drops"][ctl::drop_reason_name(r)], drops[r]) << ctl::drop_reason_name(r);
	EXPECT_TRUE(s["drops"].contains("no_backend") && s["drops"].contains("tx_full"));
	const json &c = s["counters"];
	EXPECT_EQ(c["icmp_sent"], 2u);
	EXPECT_EQ(c["icmp_rate_limited"], 0u);
	EXPECT_EQ(c["icmp_forwarded"], 0u);
	EXPECT_EQ(c["fragments_forwarded"], 0u);
	EXPECT_EQ(c["untracked"], 0u);
	EXPECT_EQ(c["untracked_collisions"], 0u);
}

TEST_F(stats_model, per_vip_and_per_backend_match_the_forwarded_frames)
{
	std::map<std::string, seen_backend> seen;
	std::map<std::string, std::pair<uint64_t, uint64_t>> by_vip;
	for (size_t i = 0; i < items.size(); i++) {
		if (items[i].want == outcome::forwarded) {
			seen_backend &b = seen[outer_destination(out[i])];
			b.packets++;
			b.bytes += out[i].size();
			b.flows.insert(items[i].flow);
			by_vip[items[i].vip].first++;
			by_vip[items[i].vip].second += out[i].size();
		} else if (items[i].reason == WEIR_DROP_no_next_hop) {
			seen["10.10.0.99"].flows.insert(items[i].flow);  // tracked before the drop
		}
	}
	json s = stats();
	std::map<std::string, uint64_t> vip_flows;
	ASSERT_EQ(s["backends"].size(), 7u);
	for (const json &b : s["backends"]) {
		std::string addr = b["address"];
		SCOPED_TRACE(addr);
		const seen_backend &want = seen[addr];
		EXPECT_EQ(b["packets"], want.packets);
		EXPECT_EQ(b["bytes"], want.bytes);
		EXPECT_EQ(b["flows_active"], want.flows.size());
		EXPECT_EQ(b["usable"], true);
		vip_flows[b["vip"]] += want.flows.size();
	}
	// Maglev spreads 120 flows over all three web backends, the weight-2 one most.
	EXPECT_GT(seen["10.10.0.21"].flows.size(), 0u);
	EXPECT_GT(seen["10.10.0.23"].flows.size(), seen["10.10.0.22"].flows.size());
	EXPECT_EQ(s["backends"][2]["weight"], 2);
	ASSERT_EQ(s["vips"].size(), 5u);
	for (const json &v : s["vips"]) {
		std::string name = v["name"];
		SCOPED_TRACE(name);
		EXPECT_EQ(v["packets"], by_vip[name].first);
		EXPECT_EQ(v["bytes"], by_vip[name].second);
		EXPECT_EQ(v["flows_active"], vip_flows[name]);
	}
	EXPECT_EQ(s["vips"][0]["endpoint"], "10.10.1.1:80/tcp");
	EXPECT_EQ(s["vips"][1]["endpoint"], "[fd00:1::1]:80/tcp");
	EXPECT_EQ(s["vips"][2]["endpoint"], "10.10.1.7:53/udp");
	EXPECT_EQ(s["vips"][2]["packets"], 50u);
	EXPECT_TRUE(s["vips"][3]["fingerprint"].is_null()) << "a VIP without backends has no table";
	EXPECT_EQ(s["vips"][0]["fingerprint"], ctl::format_fingerprint(snap->tables[0]->fingerprint));
}

TEST_F(stats_model, per_worker_counters_and_flow_tables)
{
	json s = stats();
	ASSERT_EQ(s["workers"].size(), 2u);
	for (uint32_t w = 0; w < 2; w++) {
		SCOPED_TRACE("worker " + std::to_string(w));
		uint64_t rx = 0, tx = 0, passed = 0, dropped = 0;
		std::set<std::pair<std::string, uint32_t>> flows;
		for (size_t i = 0; i < items.size(); i++) {
			if (items[i].flow % 2 != w)
				continue;
			rx++;
			tx += items[i].want == outcome::forwarded;
			passed += items[i].want == outcome::passed;
			dropped += items[i].reason != WEIR_DROP__COUNT;
			if (items[i].want == outcome::forwarded || items[i].reason == WEIR_DROP_no_next_hop)
				flows.insert({items[i].vip, items[i].flow});
		}
		const json &j = s["workers"][w];
		EXPECT_EQ(j["lcore"], w == 0 ? 3u : 5u);
		EXPECT_EQ(j["rx_packets"], rx);
		EXPECT_EQ(j["tx_packets"], tx);
		EXPECT_EQ(j["passed"], passed);
		EXPECT_EQ(j["dropped"], dropped);
		EXPECT_EQ(j["flows_active"], flows.size());
		EXPECT_EQ(j["inserted"], flows.size());
		EXPECT_EQ(j["expired"], 0u);
		EXPECT_EQ(j["untracked"], 0u);
		EXPECT_EQ(j["flow_capacity"], table_entries);
		EXPECT_DOUBLE_EQ(j["occupancy_pct"].get<double>(),
		                 double(flows.size() * 10000 / table_entries) / 100);
	}
	EXPECT_EQ(s["totals"]["flows_active"], s["workers"][0]["flows_active"].get<uint64_t>() +
	                                               s["workers"][1]["flows_active"].get<uint64_t>());
	EXPECT_EQ(s["totals"]["flow_capacity"], 2 * table_entries);
}

TEST_F(stats_model, an_engine_without_flow_tables_reports_null_flows)
{
	std::vector<dp::worker_view> views = workers.views();
	for (auto &v : views)
		v.flows = nullptr;
	json s = ctl::stats_json(cfg, *snap, views, engine_drops);
	EXPECT_TRUE(s["totals"]["flows_active"].is_null());
	EXPECT_TRUE(s["workers"][0]["occupancy_pct"].is_null());
	EXPECT_TRUE(s["backends"][0]["flows_active"].is_null());
	EXPECT_EQ(s["totals"]["rx_packets"], items.size());
}

// The DPDK engine's poll loop: polls, empty polls and busy timer cycles, shown
// in seconds; null for a worker without a poll loop (XDP).
TEST_F(stats_model, poll_loops_report_their_load)
{
	std::vector<dp::worker_view> views = workers.views();
	dp::worker_counters polled;
	polled.polls.add(1000);
	polled.empty_polls.add(750);
	polled.busy_cycles.add(2500);
	views[1].counters = &polled;
	views[1].cycles_hz = 1000;
	json s = ctl::stats_json(cfg, *snap, views, engine_drops);
	for (const char *k : {"polls", "empty_polls", "busy_seconds"})
		EXPECT_TRUE(s["workers"][0][k].is_null()) << k;
	EXPECT_EQ(s["workers"][1]["polls"], 1000u);
	EXPECT_EQ(s["workers"][1]["empty_polls"], 750u);
	EXPECT_DOUBLE_EQ(s["workers"][1]["busy_seconds"].get<double>(), 2.5);
}

TEST(status_model, fields_and_fingerprints)
{
	ctl::backend_registry registry;
	ctl::config cfg;
	auto snap = build(world_config, registry, cfg);
	json st = ctl::status_json({"dpdk", 2, 93784, "/etc/weir/weir.toml"}, cfg, *snap);
	EXPECT_TRUE(std::regex_match(st["version"].get<std::string>(), std::regex(R"(\d+\.\d+\.\d+.*)")));
	EXPECT_EQ(st["engine"], "dpdk");
	EXPECT_EQ(st["workers"], 2);
	EXPECT_EQ(st["uptime_seconds"], 93784);
	EXPECT_EQ(st["config_file"], "/etc/weir/weir.toml");
	EXPECT_EQ(st["generation"], snap->generation);
	ASSERT_EQ(st["vips"].size(), 5u);
	const json &web = st["vips"][0];
	EXPECT_EQ(web["name"], "web");
	EXPECT_EQ(web["endpoint"], "10.10.1.1:80/tcp");
	EXPECT_EQ(web["scheduler"], "maglev");
	EXPECT_EQ(web["forwarding"], "ipip");
	EXPECT_EQ(web["backends"], 3);
	EXPECT_EQ(web["usable_backends"], 3);
	EXPECT_EQ(web["fail_open"], false);
	EXPECT_EQ(st["vips"][2]["forwarding"], "gue");
	EXPECT_TRUE(st["vips"][3]["fingerprint"].is_null());
	std::set<std::string> prints;
	for (int i : {0, 1, 2, 4}) {
		std::string f = st["vips"][i]["fingerprint"];
		EXPECT_TRUE(std::regex_match(f, std::regex("[0-9a-f]{16}"))) << f;
		prints.insert(f);
	}
	EXPECT_EQ(prints.size(), 4u);

	// Another host with the same file agrees; a changed weight changes web's only.
	ctl::backend_registry other_registry;
	ctl::config other_cfg;
	auto same = build(world_config, other_registry, other_cfg);
	EXPECT_EQ(ctl::status_json({}, other_cfg, *same)["vips"], st["vips"]);
	std::string changed = world_config;
	changed.replace(changed.find("weight = 2"), 10, "weight = 3");
	ctl::backend_registry third_registry;
	auto diff = build(changed, third_registry, other_cfg);
	json d = ctl::status_json({}, other_cfg, *diff);
	EXPECT_NE(d["vips"][0]["fingerprint"], st["vips"][0]["fingerprint"]);
	EXPECT_EQ(d["vips"][1]["fingerprint"], st["vips"][1]["fingerprint"]);
}

TEST(drop_reason_names, come_from_the_def_file)
{
	EXPECT_STREQ(ctl::drop_reason_name(WEIR_DROP_truncated_l2), "truncated_l2");
	EXPECT_STREQ(ctl::drop_reason_name(WEIR_DROP_tx_full), "tx_full");
	EXPECT_STREQ(ctl::drop_reason_name(WEIR_DROP__COUNT), "?");
	EXPECT_STREQ(ctl::drop_reason_help(WEIR_DROP_tx_full), "TX queue full");
	std::set<std::string> names;
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++)
		names.insert(ctl::drop_reason_name(r));
	EXPECT_EQ(names.size(), size_t(WEIR_DROP__COUNT));
}

// ---- weirctl against a live control socket ----

struct run_result {
	int status = -1;
	std::string output;  // stdout and stderr together
};

run_result run(const std::string &args)
{
	std::string cmd = std::string(WEIR_BUILD_ROOT) + "/control/weirctl " + args + " 2>&1";
	run_result r;
	FILE *p = ::popen(cmd.c_str(), "r");
	if (!p)
		return r;
	char buf[4096];
	size_t n;
	while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0)
		r.output.append(buf, n);
	int st = ::pclose(p);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return r;
}

// The lines of `text` from the one equal to `title` to the next empty one.
std::vector<std::string> section(const std::string &text, const std::string &title)
{
	std::istringstream in(text);
	std::vector<std::string> lines;
	bool on = false;
	for (std::string line; std::getline(in, line);) {
		if (line == title)
			on = true;
		else if (on && line.empty())
			break;
		else if (on)
			lines.push_back(line);
	}
	return lines;
}

TEST_F(stats_model, weirctl_prints_what_the_socket_serves)
{
	ASSERT_TRUE(std::filesystem::exists(std::string(WEIR_BUILD_ROOT) + "/control/weirctl"));
	char tmpl[] = "/tmp/weirt-stats-XXXXXX";
	ASSERT_TRUE(::mkdtemp(tmpl));
	std::string dir = tmpl, path = dir + "/weir.sock";
	ctl::control_config cc;
	cc.socket = path;
	auto sock = ctl::control_socket::open(cc);
	ASSERT_TRUE(sock) << sock.error_message();
	json served_stats = stats();
	json served_status = ctl::status_json({"dpdk", 2, 93784, "/etc/weir/weir.toml"}, cfg, *snap);
	(*sock)->on("stats", [&](const json &) { return served_stats; });
	(*sock)->on("status", [&](const json &) { return served_status; });
	std::atomic<bool> stop{false};
	std::thread server([&] {
		while (!stop) {
			pollfd p{(*sock)->fd(), POLLIN, 0};
			if (::poll(&p, 1, 20) > 0)
				(*sock)->handle_events();
		}
	});

	run_result raw = run("--socket " + path + " --json stats");
	run_result table = run("--socket " + path + " stats");
	run_result status = run("status --socket " + path);
	run_result usage = run("--socket " + path + " frobnicate");
	(*sock)->on("status", [](const json &) -> json { throw std::runtime_error("not today"); });
	run_result refused = run("--socket " + path + " status");
	stop = true;
	server.join();
	sock->reset();
	std::filesystem::remove_all(dir);

	ASSERT_EQ(raw.status, 0) << raw.output;
	json got = json::parse(raw.output);
	EXPECT_EQ(got["ok"], true);
	got.erase("ok");
	EXPECT_EQ(got, served_stats);

	ASSERT_EQ(table.status, 0) << table.output;
	for (const char *want : {"10.10.1.1:80/tcp", "[fd00:1::1]:80/tcp", "10.10.0.23", "fd00::22",
	                         "no_backend", "tx_full", "icmp_sent"})
		EXPECT_NE(table.output.find(want), std::string::npos) << want << " missing in\n"
		                                                      << table.output;
	EXPECT_NE(table.output.find(served_stats["vips"][0]["fingerprint"].get<std::string>()),
	          std::string::npos);
	// Right-aligned last columns: every line of a table has the same length.
	for (const char *title : {"Backends", "Workers", "Totals"}) {
		std::vector<std::string> lines = section(table.output, title);
		ASSERT_GE(lines.size(), 2u) << title;
		for (const std::string &l : lines)
			EXPECT_EQ(l.size(), lines[0].size()) << title << ": " << l;
	}
	// Drops that never happened are left out of the table.
	EXPECT_EQ(table.output.find("vlan_too_deep"), std::string::npos);

	ASSERT_EQ(status.status, 0) << status.output;
	EXPECT_NE(status.output.find("engine dpdk"), std::string::npos) << status.output;
	EXPECT_NE(status.output.find("1d 02:03:04"), std::string::npos) << status.output;
	EXPECT_NE(status.output.find(served_status["vips"][1]["fingerprint"].get<std::string>()),
	          std::string::npos);

	EXPECT_EQ(usage.status, 2) << usage.output;
	EXPECT_EQ(refused.status, 1) << refused.output;
	EXPECT_NE(refused.output.find("not today"), std::string::npos) << refused.output;
}

}  // namespace
}  // namespace weir::test
