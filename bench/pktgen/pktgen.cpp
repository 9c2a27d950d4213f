// pktgen.cpp — weir_pktgen: a DPDK packet generator for weir's benchmarks, in
// the spirit of Pktgen-DPDK. Sends TCP (SYN or established) or UDP frames of one
// size from 1 to 10M flows to a VIP, flat out or at a set rate, over one port
// (net_memif or net_ring to weir or weir_macswap); checks every frame that comes
// back (encapsulation, backend, the flow's backend never changing, the packet
// intact) and reports offered and forwarded Mpps, loss, latency percentiles and
// the backend distribution as one JSON object on stdout. Main lcore only.
//   weir_pktgen EAL_ARGS -- --port net_memif0 --reply ipip --vip 10.10.1.1:80 ...
#include <rte_eal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "generator.h"

namespace {

using namespace weir::bench;

std::atomic<bool> ending{false};  // SIGTERM/SIGINT during the linger; relaxed: only a flag

void on_signal(int)
{
	ending.store(true, std::memory_order_relaxed);
}

// After the report, keeps the port open without polling it until a signal or
// `seconds`: the harness stops the device first, so the link goes down while
// nobody polls it (net_memif unmaps the rings on a peer's disconnect, under a
// poller's feet).
void linger(double seconds)
{
	std::signal(SIGTERM, on_signal);
	std::signal(SIGINT, on_signal);
	for (double t = 0; t < seconds && !ending.load(std::memory_order_relaxed); t += 0.1)
		usleep(100000);
}
using nlohmann::json;

struct options {
	std::string port = "net_memif0";
	std::string reply = "ipip", kind = "established";
	std::string vip = "10.10.1.1:80", node = "10.10.0.2";
	std::string dst_mac = "02:00:00:00:00:02";
	std::vector<std::string> backends;  // ADDR,MAC[,WEIGHT]
	uint32_t flows = 1'000'000;
	unsigned size = 64;
	double mpps = 0, seconds = 5, link_wait = 10, linger = 0;
	bool warm_up = true;
};

weir::result<backend> parse_backend(const std::string &s)
{
	auto c1 = s.find(','), c2 = s.find(',', c1 == std::string::npos ? c1 : c1 + 1);
	if (c1 == std::string::npos)
		return weir::error{"--backend " + s + ": expected ADDR,MAC[,WEIGHT]"};
	auto a = parse_ipv4(s.substr(0, c1));
	auto m = parse_mac(s.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1));
	if (!a)
		return weir::error{a.error_message()};
	if (!m)
		return weir::error{m.error_message()};
	backend b{*a, *m, 1};
	if (c2 != std::string::npos)
		b.weight = uint32_t(std::stoul(s.substr(c2 + 1)));
	return b;
}

// The frame plan and reply check the options describe.
weir::status make_plan(const options &o, const mac &src, frame_spec &spec, reply_check &rc)
{
	auto colon = o.vip.rfind(':');
	auto vip = parse_ipv4(o.vip.substr(0, colon));
	auto node = parse_ipv4(o.node);
	auto dst = parse_mac(o.dst_mac);
	if (!vip || colon == std::string::npos)
		return weir::error{"--vip " + o.vip + ": expected ADDR:PORT"};
	if (!node || !dst)
		return weir::error{!node ? node.error_message() : dst.error_message()};
	spec.src_mac = src;
	spec.dst_mac = *dst;
	spec.vip = *vip;
	spec.vport = uint16_t(std::stoul(o.vip.substr(colon + 1)));
	spec.kind = o.kind == "syn" ? traffic::syn : o.kind == "udp" ? traffic::udp : traffic::established;
	spec.size = uint16_t(o.size - 4);  // the FCS is the NIC's
	spec.flows = o.flows;
	rc.kind = o.reply == "macswap" ? reply_kind::macswap : reply_kind::ipip;
	rc.node = *node;
	for (const std::string &s : o.backends) {
		auto b = parse_backend(s);
		if (!b)
			return weir::error{b.error_message()};
		rc.backends.push_back(*b);
	}
	if (rc.kind == reply_kind::ipip && rc.backends.empty())
		return weir::error{"--reply ipip needs the VIP's backends (--backend ADDR,MAC[,WEIGHT])"};
	return weir::ok();
}

// Shares of the replies per backend against the weights' shares.
json distribution(const run_counts &c, const reply_check &rc, uint64_t ok)
{
	json out = json::array();
	uint64_t wsum = 0;
	for (const backend &b : rc.backends)
		wsum += b.weight;
	for (size_t i = 0; i < rc.backends.size(); i++) {
		double share = ok ? double(c.per_backend[i]) / double(ok) : 0;
		double want = wsum ? double(rc.backends[i].weight) / double(wsum) : 0;
		out.push_back({{"backend", format_ipv4(rc.backends[i].addr)},
		               {"packets", c.per_backend[i]},
		               {"share", share},
		               {"expected_share", want}});
	}
	return out;
}

json report(const run_counts &c, const reply_check &rc, const options &o)
{
	uint64_t ok = c.verdicts[size_t(verdict::ok)];
	json bad = json::object();
	for (size_t v = 0; v < size_t(verdict::count); v++)
		if (verdict(v) != verdict::ok && c.verdicts[v])
			bad[verdict_name(verdict(v))] = c.verdicts[v];
	double max_dev = 0;
	json dist = distribution(c, rc, ok);
	for (const json &d : dist)
		max_dev = std::max(max_dev,
		                   std::fabs(d["share"].get<double>() - d["expected_share"].get<double>()));
	return {{"reply", o.reply},
	        {"traffic", o.kind},
	        {"flows", o.flows},
	        {"frame_bytes", o.size},
	        {"target_mpps", o.mpps},
	        {"seconds", c.seconds},
	        {"sent", c.sent},
	        {"tx_full_bursts", c.refused},
	        {"received", c.received},
	        {"ok", ok},
	        {"invalid", bad},
	        {"offered_mpps", double(c.sent) / c.seconds / 1e6},
	        {"forwarded_mpps", double(ok) / c.seconds / 1e6},
	        {"loss", c.sent ? 1.0 - double(std::min(ok, c.sent)) / double(c.sent) : 0.0},
	        {"latency_ns",
	         {{"p50", c.latency_ns.percentile(0.5)},
	          {"p90", c.latency_ns.percentile(0.9)},
	          {"p99", c.latency_ns.percentile(0.99)},
	          {"p999", c.latency_ns.percentile(0.999)},
	          {"max", c.latency_ns.max()}}},
	        {"backends", dist},
	        {"max_share_deviation", max_dev},
	        {"flows_moved", c.moved}};
}

int run(const options &o)
{
	auto port = open_port(o.port, o.link_wait);
	if (!port) {
		std::fprintf(stderr, "weir_pktgen: %s\n", port.error_message().c_str());
		return 1;
	}
	frame_spec spec;
	reply_check rc;
	mac src;
	std::copy(std::begin(port->mac), std::end(port->mac), src.begin());
	weir::status st = make_plan(o, src, spec, rc);
	auto plan = st ? frame_plan::create(spec) : weir::result<frame_plan>(weir::error{st.error_message()});
	if (!plan) {
		std::fprintf(stderr, "weir_pktgen: %s\n", plan.error_message().c_str());
		return 2;
	}
	generator gen(*port, *plan, rc);
	json out;
	if (o.warm_up && spec.kind != traffic::syn) {
		run_counts w = gen.warm_up();
		out["warm_up"] = {
		        {"sent", w.sent}, {"ok", w.verdicts[size_t(verdict::ok)]}, {"seconds", w.seconds}};
	}
	run_counts c = gen.run(o.seconds, o.mpps);
	out.update(report(c, rc, o));
	std::printf("%s\n", out.dump().c_str());
	std::fflush(stdout);
	linger(o.linger);
	close_port(*port);
	return 0;
}

}  // namespace

int main(int argc, char **argv)
{
	auto used = start_eal(argc, argv);
	if (!used) {
		std::fprintf(stderr, "weir_pktgen: %s\n", used.error_message().c_str());
		return 1;
	}
	options o;
	CLI::App app{"weir_pktgen: DPDK packet generator for weir's benchmarks"};
	app.add_option("--port", o.port, "DPDK port name");
	app.add_option("--reply", o.reply, "what comes back: ipip (weir) or macswap")
	        ->check(CLI::IsMember({"ipip", "macswap"}));
	app.add_option("--traffic", o.kind, "syn, established or udp")
	        ->check(CLI::IsMember({"syn", "established", "udp"}));
	app.add_option("--flows", o.flows, "distinct flows")->check(CLI::Range(1u, max_flows));
	app.add_option("--size", o.size, "frame size with FCS, bytes")->check(CLI::Range(64u, 1518u));
	app.add_option("--rate", o.mpps, "Mpps to offer; 0 = flat out");
	app.add_option("--duration", o.seconds, "seconds of sending")->check(CLI::PositiveNumber);
	app.add_option("--vip", o.vip, "VIP ADDR:PORT");
	app.add_option("--node", o.node, "weir's node address (outer source)");
	app.add_option("--dst-mac", o.dst_mac, "destination MAC of the frames (weir's port)");
	app.add_option("--backend", o.backends, "ADDR,MAC[,WEIGHT] of each backend");
	app.add_option("--link-wait", o.link_wait, "seconds to wait for the link");
	app.add_option("--linger", o.linger,
	               "after the report, seconds to keep the port open (until a signal)");
	app.add_flag("!--no-warm-up", o.warm_up, "do not send every flow once first");
	try {
		app.parse(argc - *used, argv + *used);
	} catch (const CLI::ParseError &e) {
		return app.exit(e);
	}
	int rc = run(o);
	rte_eal_cleanup();
	return rc;
}
