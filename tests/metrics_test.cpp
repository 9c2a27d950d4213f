// metrics_test.cpp — the Prometheus exposition (control/metrics.h) against real
// traffic and a real checker: a configuration text goes through
// ctl::build_snapshot, frames from packet_builder go through two real
// dp::pipeline workers, and the rendered text is (a) checked by the real
// `promtool check metrics`, (b) parsed back and compared with what the test sent
// and saw come out (the conservation identity, per-backend sums, per-worker
// counts), (c) checked for label escaping. The HTTP endpoint has its own test
// (metrics_server_test.cpp).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "exposition.h"
#include "maglev.h"
#include "metrics.h"
#include "packet_builder.h"
#include "pipeline.h"
#include "snapshot_builder.h"
#include "stats.h"

namespace weir::test {
namespace {

using namespace std::chrono_literals;

const char *const lb_config = R"([node]
ipv4 = "10.10.0.2/24"
ipv6 = "fd00::2/64"
hash_seed = "0badc0de"

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
  weight = 3
  [[vip.backend]]
  address = "10.10.0.23"
  weight = 0

[[vip]]
name = "web6"
address = "fd00:1::1"
port = 443
table_size = 1009
  [[vip.backend]]
  address = "fd00::31"
  [[vip.backend]]
  address = "fd00::32"

[[vip]]
name = "frag"
address = "10.10.1.5"
port = 0
protocol = "udp"
forwarding = "gue"
fragments = "3tuple"
table_size = 1009
  [vip.health]
  kind = "none"
  [[vip.backend]]
  address = "10.10.0.41"

[[vip]]
name = "nobody"
address = "10.10.1.9"
port = 80
table_size = 1009

[[vip]]
name = "dark"
address = "10.10.1.10"
port = 80
table_size = 1009
  [[vip.backend]]
  address = "10.10.0.66"
)";

constexpr const char *lb_mac = "02:00:00:00:00:aa";
constexpr uint32_t flow_entries = 1024;
constexpr uint64_t tx_full_drops = 7;  // the engine's own, after the pipeline

// What a frame must become.
enum class fate { forward, pass, drop, icmp_reply };

struct shot {
	frame in;
	fate want;
	weir_drop_reason reason = WEIR_DROP__COUNT;
	unsigned worker = 0;
};

// Two workers as an engine runs them, each with its own table, counters and pipeline.
struct lb_workers {
	lb_workers()
	{
		for (int i = 0; i < 2; i++) {
			auto t = dp::flow_table::create(flow_entries);
			if (!t)
				throw std::runtime_error(t.error_message());
			tables[i] = std::move(*t);
			pipes[i] = std::make_unique<dp::pipeline>(*tables[i], counters[i]);
		}
	}

	// One frame through its worker (a burst of one): the verdict and the frame as it left.
	uint8_t send(const dp::snapshot &s, const shot &x, frame &out)
	{
		std::vector<uint8_t> buf(256 + x.in.size());
		std::copy(x.in.begin(), x.in.end(), buf.begin() + 256);
		dp::frame f{buf.data() + 256, uint32_t(x.in.size()), 256};
		uint8_t verdict = 0;
		pipes[x.worker]->process(s, &f, &verdict, 1, 500);
		out.assign(f.data, f.data + f.len);
		return verdict;
	}

	std::vector<dp::worker_view> views() const
	{
		return {{2, &counters[0], tables[0].get()}, {6, &counters[1], tables[1].get()}};
	}

	std::unique_ptr<dp::flow_table> tables[2];
	dp::worker_counters counters[2];
	std::unique_ptr<dp::pipeline> pipes[2];
};

packet_builder to_vip(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	packet_builder b;
	b.eth_dst(lb_mac);
	if (std::string(dst).find(':') == std::string::npos)
		b.ipv4(src, dst);
	else
		b.ipv6(src, dst);
	b.tcp(sport, dport, tcp_ack);
	return b;
}

// Forwards (TCP, IPv6, fragments, an ICMP error), passes, and drops of eight reasons.
std::vector<shot> traffic_mix()
{
	std::vector<shot> v;
	auto add = [&](const packet_builder &b, fate f, weir_drop_reason r = WEIR_DROP__COUNT) {
		v.push_back({b.build(), f, r, unsigned(v.size() % 2)});
	};
	for (uint16_t c = 0; c < 48; c++)
		for (size_t len : {0u, 200u + c})
			v.push_back({to_vip("192.0.2.10", "10.10.1.1", uint16_t(1024 + c), 80)
			                     .payload(len)
			                     .build(),
			             fate::forward, WEIR_DROP__COUNT, c % 2u});
	for (uint16_t c = 0; c < 16; c++)
		add(to_vip("2001:db8::5", "fd00:1::1", uint16_t(5000 + c), 443).payload(c), fate::forward);
	for (uint16_t c = 0; c < 6; c++) {
		packet_builder b;
		b.eth_dst(lb_mac).ipv4("192.0.2.11", "10.10.1.5").ip_id(c).mf().udp(53, 53).payload(64);
		add(b, fate::forward);
	}
	// A router's "fragmentation needed" about web's first flow: to that flow's backend.
	packet_builder quoted;
	quoted.ipv4("10.10.1.1", "192.0.2.10").df().tcp(80, 1024, tcp_ack).payload(0);
	frame q = quoted.l3();
	q.resize(28);
	packet_builder err;
	err.eth_dst(lb_mac).ipv4("198.51.100.1", "10.10.1.1").icmp(3, 4, 1400).quote(q);
	v.push_back({err.build(), fate::forward, WEIR_DROP__COUNT, 0});
	for (uint16_t c = 0; c < 10; c++)
		add(to_vip("192.0.2.12", "10.10.0.2", uint16_t(3000 + c), 22), fate::pass);
	packet_builder arp;
	arp.eth_dst("ff:ff:ff:ff:ff:ff").ethertype(0x0806).payload(28);
	add(arp, fate::pass);
	add(to_vip("192.0.2.13", "10.10.1.9", 1, 80), fate::drop, WEIR_DROP_no_backend);
	add(to_vip("192.0.2.13", "10.10.1.9", 2, 80), fate::drop, WEIR_DROP_no_backend);
	add(to_vip("192.0.2.13", "10.10.1.1", 3, 80).truncate(10), fate::drop, WEIR_DROP_truncated_l2);
	add(to_vip("192.0.2.13", "10.10.1.1", 4, 80).truncate(14 + 12), fate::drop, WEIR_DROP_truncated_l3);
	add(to_vip("192.0.2.13", "10.10.1.1", 5, 80).mf(), fate::drop, WEIR_DROP_fragment);
	add(to_vip("192.0.2.13", "10.10.1.1", 6, 80).ip_options({7, 3, 4}), fate::drop, WEIR_DROP_ip_options);
	add(to_vip("192.0.2.13", "10.10.1.1", 7, 80).ttl(0), fate::drop, WEIR_DROP_ttl_zero);
	for (uint16_t c = 0; c < 3; c++)
		add(to_vip("192.0.2.14", "10.10.1.10", uint16_t(8 + c), 80), fate::drop,
		    WEIR_DROP_no_next_hop);
	// Too big once encapsulated: with DF an ICMP error goes back, without a plain drop.
	v.push_back({to_vip("192.0.2.10", "10.10.1.1", 1024, 80).payload(1460).df().build(), fate::icmp_reply,
	             WEIR_DROP_mtu_exceeded, 0});
	v.push_back({to_vip("192.0.2.10", "10.10.1.1", 1025, 80).payload(1460).build(), fate::drop,
	             WEIR_DROP_mtu_exceeded, 1});
	return v;
}

// The outer IP destination of a forwarded frame.
std::string outer_dst(const frame &f)
{
	char text[INET6_ADDRSTRLEN];
	bool v4 = f[12] == 0x08 && f[13] == 0x00;
	::inet_ntop(v4 ? AF_INET : AF_INET6, f.data() + (v4 ? 30 : 38), text, sizeof(text));
	return text;
}

// ---- the model under traffic ----

class metrics_model : public ::testing::Test {
protected:
	void SetUp() override
	{
		ctl::config_report report = ctl::load_config_text(lb_config, "metrics_test.toml");
		std::string problems;
		for (const ctl::config_problem &p : report.problems)
			problems += p.to_string() + "\n";
		ASSERT_TRUE(report.valid()) << problems;
		cfg = *report.cfg;
		ctl::host_facts host;
		host.port_mac = parse_mac(lb_mac);
		host.resolve = [](const ctl::ip_addr &a) -> std::optional<ctl::mac_addr> {
			if (a.to_string() == "10.10.0.66")
				return std::nullopt;
			return parse_mac("02:00:00:00:00:0b");
		};
		auto built = ctl::build_snapshot(cfg, host, registry, nullptr);
		ASSERT_TRUE(built) << built.error_message();
		snap = *built;
		shots = traffic_mix();
		outs.resize(shots.size());
		for (size_t i = 0; i < shots.size(); i++)
			verdicts.push_back(workers.send(*snap, shots[i], outs[i]));
		engine_drops[WEIR_DROP_tx_full] = tx_full_drops;
	}

	std::string render(const dp::snapshot &s, const ctl::health_lookup &health = {}) const
	{
		std::vector<dp::worker_view> views = workers.views();
		return ctl::render_metrics({"dpdk", 2, 4321, "metrics_test.toml"}, cfg, s, views,
		                           engine_drops, health);
	}

	ctl::config cfg;
	ctl::backend_registry registry;
	std::shared_ptr<const dp::snapshot> snap;
	std::vector<shot> shots;
	std::vector<uint8_t> verdicts;
	std::vector<frame> outs;
	lb_workers workers;
	ctl::drop_counts engine_drops{};
};

TEST_F(metrics_model, the_traffic_had_the_intended_fates)
{
	for (size_t i = 0; i < shots.size(); i++) {
		uint8_t want = shots[i].want == fate::pass   ? WEIR_VERDICT_PASS
		               : shots[i].want == fate::drop ? WEIR_VERDICT_DROP
		                                             : WEIR_VERDICT_TX;
		EXPECT_EQ(verdicts[i], want) << "shot " << i;
	}
}

TEST_F(metrics_model, promtool_accepts_the_exposition)
{
	if (!have_promtool()) {
		if (require_all())
			FAIL() << "promtool not found (Debian package prometheus) and WEIR_REQUIRE_ALL=1";
		GTEST_SKIP() << "promtool not found (Debian package prometheus)";
	}
	std::string text = render(*snap);
	check_result ok = promtool_check(text);
	EXPECT_EQ(ok.status, 0) << ok.output << "\n" << text;
	EXPECT_EQ(ok.output.find("problem"), std::string::npos) << ok.output;
	// The check can fail: a counter without _total and a family without HELP are refused.
	check_result bad = promtool_check(text + "# TYPE weir_oops counter\nweir_oops 1\n");
	EXPECT_NE(bad.status, 0) << bad.output;
}

TEST_F(metrics_model, packets_are_conserved)
{
	exposition e = parse_exposition(render(*snap));
	ASSERT_EQ(e.problem, "");
	uint64_t forwarded = 0, forwarded_bytes = 0, passed = 0, rx_bytes = 0;
	std::map<std::string, uint64_t> drops;
	for (size_t i = 0; i < shots.size(); i++) {
		rx_bytes += shots[i].in.size();
		forwarded += shots[i].want == fate::forward;
		forwarded_bytes += shots[i].want == fate::forward ? outs[i].size() : 0;
		passed += shots[i].want == fate::pass;
		if (shots[i].reason != WEIR_DROP__COUNT)
			drops[ctl::drop_reason_name(shots[i].reason)]++;
	}
	drops["tx_full"] += tx_full_drops;
	EXPECT_EQ(e.sum("weir_received_packets_total"), shots.size());
	EXPECT_EQ(e.sum("weir_received_bytes_total"), rx_bytes);
	EXPECT_EQ(e.sum("weir_forwarded_packets_total"), forwarded);
	EXPECT_EQ(e.sum("weir_forwarded_bytes_total"), forwarded_bytes);
	EXPECT_EQ(e.sum("weir_passed_packets_total"), passed);
	EXPECT_EQ(e.sum("weir_engine_drops_total"), tx_full_drops);
	// Every reason of weir_drop_reasons.def, zeros included.
	ASSERT_EQ(e.count("weir_drops_total"), size_t(WEIR_DROP__COUNT));
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++) {
		const char *name = ctl::drop_reason_name(r);
		EXPECT_EQ(e.sum("weir_drops_total", {{"reason", name}}), drops[name]) << name;
	}
	EXPECT_GE(drops.size(), 8u) << "the mix drops for several reasons";
	// received + engine drops = forwarded + passed + dropped by reason.
	EXPECT_EQ(e.sum("weir_received_packets_total") + e.sum("weir_engine_drops_total"),
	          e.sum("weir_forwarded_packets_total") + e.sum("weir_passed_packets_total") +
	                  e.sum("weir_drops_total"));
	EXPECT_EQ(e.sum("weir_icmp_sent_total"), 1u);
	EXPECT_EQ(e.sum("weir_icmp_forwarded_total"), 1u);
	EXPECT_EQ(e.sum("weir_fragments_forwarded_total"), 6u);
	EXPECT_EQ(e.sum("weir_untracked_total"), 7u);  // the fragments and the ICMP error
	// Per worker, the same identity without the engine's drops.
	for (const char *w : {"2", "6"}) {
		std::map<std::string, std::string> m = {{"worker", w}};
		EXPECT_EQ(e.sum("weir_worker_received_packets_total", m),
		          e.sum("weir_worker_forwarded_packets_total", m) +
		                  e.sum("weir_worker_passed_packets_total", m) +
		                  e.sum("weir_worker_dropped_packets_total", m))
		        << w;
		EXPECT_GT(e.sum("weir_worker_received_packets_total", m), 0u) << w;
	}
	EXPECT_EQ(e.sum("weir_worker_received_packets_total"), shots.size());
}

TEST_F(metrics_model, backends_and_vips_add_up_to_what_was_forwarded)
{
	exposition e = parse_exposition(render(*snap));
	std::map<std::string, uint64_t> to_backend, bytes_to_backend;
	for (size_t i = 0; i < shots.size(); i++) {
		if (shots[i].want != fate::forward)
			continue;
		to_backend[outer_dst(outs[i])]++;
		bytes_to_backend[outer_dst(outs[i])] += outs[i].size();
	}
	ASSERT_EQ(e.count("weir_packets_total"), 7u);
	for (const series &s : e.samples) {
		if (s.name != "weir_packets_total")
			continue;
		const std::string &b = s.labels.at("backend");
		EXPECT_EQ(s.value, to_backend[b]) << b;
		EXPECT_EQ(e.sum("weir_bytes_total", s.labels), bytes_to_backend[b]) << b;
	}
	EXPECT_EQ(e.sum("weir_packets_total"), e.sum("weir_forwarded_packets_total"));
	EXPECT_EQ(e.sum("weir_bytes_total"), e.sum("weir_forwarded_bytes_total"));
	EXPECT_EQ(e.sum("weir_vip_packets_total"), e.sum("weir_forwarded_packets_total"));
	EXPECT_EQ(e.sum("weir_packets_total", {{"backend", "10.10.0.23"}}), 0u)
	        << "weight 0 takes no new flows";
	EXPECT_GT(e.sum("weir_packets_total", {{"backend", "10.10.0.22"}}),
	          e.sum("weir_packets_total", {{"backend", "10.10.0.21"}}));
	// Flows: web's 48 and web6's 16 are tracked (fragments and ICMP errors are not),
	// plus the 3 to the backend whose MAC is unknown (tracked, then dropped).
	EXPECT_EQ(e.sum("weir_flows_active"), 48u + 16u + 3u);
	EXPECT_EQ(e.sum("weir_vip_flows_active", {{"vip", "web"}}), 48u);
	EXPECT_EQ(e.sum("weir_backend_flows_active", {{"vip", "web6"}}), 16u);
	EXPECT_EQ(e.sum("weir_flow_capacity"), 2 * flow_entries);
	EXPECT_EQ(e.sum("weir_worker_flows_inserted_total"), 48u + 16u + 3u);
	EXPECT_EQ(e.sum("weir_backend_weight", {{"backend", "10.10.0.22"}}), 3u);
	EXPECT_EQ(e.sum("weir_vip_backends", {{"vip", "web"}}), 3u);
	EXPECT_EQ(e.sum("weir_vip_usable_backends", {{"vip", "nobody"}}), 0u);
	EXPECT_EQ(e.sum("weir_vip_info", {{"vip", "web6"}, {"endpoint", "[fd00:1::1]:443/tcp"}}), 1u);
	EXPECT_EQ(e.sum("weir_vip_info", {{"vip", "frag"}, {"forwarding", "gue"}}), 1u);
	EXPECT_EQ(e.count("weir_vip_table_info"), 4u) << "no fingerprint for the VIP without backends";
	EXPECT_EQ(e.sum("weir_vip_table_info",
	                {{"vip", "web"},
	                 {"fingerprint", ctl::format_fingerprint(snap->tables[0]->fingerprint)}}),
	          1u);
}

TEST_F(metrics_model, process_families)
{
	exposition e = parse_exposition(render(*snap));
	EXPECT_EQ(e.sum("weir_build_info", {{"version", ctl::version()}, {"engine", "dpdk"}}), 1u);
	EXPECT_EQ(e.sum("weir_uptime_seconds"), 4321u);
	EXPECT_EQ(e.sum("weir_snapshot_generation"), snap->generation);
	EXPECT_EQ(e.sum("weir_workers"), 2u);
	// Every family has HELP and TYPE; counters and only counters end in _total.
	std::set<std::string> names;
	for (const series &s : e.samples)
		names.insert(s.name);
	EXPECT_GE(names.size(), 40u);
	for (const std::string &n : names) {
		ASSERT_TRUE(e.types.count(n) && e.helped.count(n)) << n;
		bool total = n.size() > 6 && n.compare(n.size() - 6, 6, "_total") == 0;
		EXPECT_EQ(total, e.types[n] == "counter") << n;
		EXPECT_EQ(n.rfind("weir_", 0), 0u) << n;
	}
}

TEST_F(metrics_model, health_fail_open_and_unknown_states)
{
	dp::snapshot s = *snap;
	s.vips[1].flags |= WEIR_VIP_F_FAIL_OPEN;  // web6: every backend down, used anyway
	auto health = [](const std::string &vip, const ctl::ip_addr &b) -> std::string {
		if (vip == "web6")
			return "down";
		if (vip == "frag")
			return "none";
		if (b.to_string() == "10.10.0.21")
			return "up";
		return b.to_string() == "10.10.0.22" ? "unknown" : "bogus";
	};
	exposition e = parse_exposition(render(s, health));
	ASSERT_EQ(e.problem, "");
	EXPECT_EQ(e.sum("weir_vip_fail_open", {{"vip", "web6"}}), 1u);
	EXPECT_EQ(e.sum("weir_vip_fail_open"), 1u);
	EXPECT_EQ(e.sum("weir_backend_up", {{"vip", "web6"}}), 0u);
	EXPECT_EQ(e.sum("weir_backend_usable", {{"vip", "web6"}}), 2u) << "failing open: both carry traffic";
	EXPECT_EQ(e.sum("weir_backend_up", {{"vip", "web"}}), 3u) << "up and unknown take traffic";
	EXPECT_EQ(e.sum("weir_backend_up", {{"vip", "frag"}}), 1u);
	auto state = [&](const char *backend, const char *st) {
		return e.sum("weir_backend_health", {{"backend", backend}, {"state", st}});
	};
	EXPECT_EQ(state("10.10.0.21", "up"), 1u);
	EXPECT_EQ(state("10.10.0.22", "unknown"), 1u);
	EXPECT_EQ(state("10.10.0.23", "unknown"), 1u) << "an unknown answer shows as unknown";
	EXPECT_EQ(state("fd00::31", "down"), 1u);
	EXPECT_EQ(state("10.10.0.41", "none"), 1u);
	// One state per backend, four series each.
	EXPECT_EQ(e.sum("weir_backend_health"), 7u);
	EXPECT_EQ(e.count("weir_backend_health"), 28u);
	// Without a health lookup every backend is unknown, and up.
	exposition plain = parse_exposition(render(*snap));
	EXPECT_EQ(plain.sum("weir_backend_health", {{"state", "unknown"}}), 7u);
	EXPECT_EQ(plain.sum("weir_backend_up"), 7u);
}

TEST_F(metrics_model, label_values_are_escaped)
{
	// Configured names cannot hold these characters (config validation), but
	// the exposition must not depend on it.
	dp::snapshot s = *snap;
	const std::string odd = "we\"b\\1\nx";
	s.vip_names[0] = odd;
	std::string text = render(s);
	EXPECT_NE(text.find(R"(vip="we\"b\\1\nx")"), std::string::npos);
	exposition e = parse_exposition(text);
	ASSERT_EQ(e.problem, "");
	exposition plain = parse_exposition(render(*snap));
	EXPECT_EQ(e.sum("weir_vip_packets_total", {{"vip", odd}}),
	          plain.sum("weir_vip_packets_total", {{"vip", "web"}}));
	EXPECT_EQ(e.sum("weir_packets_total", {{"vip", odd}}),
	          plain.sum("weir_packets_total", {{"vip", "web"}}));
	EXPECT_EQ(e.sum("weir_vip_flows_active", {{"vip", odd}}), 48u);
	EXPECT_EQ(ctl::escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
	if (have_promtool()) {
		check_result r = promtool_check(text);
		EXPECT_EQ(r.status, 0) << r.output;
	}
}

// Poll-loop families for the workers that have one (DPDK), in seconds for the
// busy time; none at all where no worker polls (XDP).
TEST_F(metrics_model, poll_loop_families)
{
	std::vector<dp::worker_view> views = workers.views();
	exposition none = parse_exposition(render(*snap));
	for (const char *f :
	     {"weir_worker_polls_total", "weir_worker_empty_polls_total", "weir_worker_busy_seconds_total"})
		EXPECT_EQ(none.count(f), 0u) << f;
	dp::worker_counters polled;
	polled.polls.add(1000);
	polled.empty_polls.add(750);
	polled.busy_cycles.add(2500);
	views[1].counters = &polled;
	views[1].cycles_hz = 1000;
	std::string text = ctl::render_metrics({"dpdk", 2, 1, ""}, cfg, *snap, views, engine_drops, {});
	exposition e = parse_exposition(text);
	ASSERT_EQ(e.problem, "");
	EXPECT_EQ(e.count("weir_worker_polls_total"), 1u);
	EXPECT_EQ(e.sum("weir_worker_polls_total", {{"worker", "6"}}), 1000u);
	EXPECT_EQ(e.sum("weir_worker_empty_polls_total", {{"worker", "6"}}), 750u);
	EXPECT_NE(text.find("weir_worker_busy_seconds_total{worker=\"6\"} 2.500000\n"), std::string::npos);
	if (have_promtool()) {
		check_result r = promtool_check(text);
		EXPECT_EQ(r.status, 0) << r.output;
	}
}

TEST_F(metrics_model, an_engine_without_flow_tables_omits_flow_families)
{
	std::vector<dp::worker_view> views = workers.views();
	for (auto &v : views)
		v.flows = nullptr;
	exposition e =
	        parse_exposition(ctl::render_metrics({"xdp", 2, 1, ""}, cfg, *snap, views, engine_drops, {}));
	ASSERT_EQ(e.problem, "");
	for (const char *f : {"weir_flows_active", "weir_flow_capacity", "weir_vip_flows_active",
	                      "weir_backend_flows_active", "weir_worker_flows_active"})
		EXPECT_EQ(e.count(f), 0u) << f;
	EXPECT_EQ(e.sum("weir_received_packets_total"), shots.size());
	EXPECT_EQ(e.sum("weir_build_info", {{"engine", "xdp"}}), 1u);
}

}  // namespace
}  // namespace weir::test
