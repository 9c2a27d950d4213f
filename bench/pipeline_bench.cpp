// pipeline_bench.cpp — the whole packet core (dataplane/pipeline.cpp) on bursts of
// 32 frames: parse, VIP lookup, hash, flow-table lookup with prefetch, schedule,
// IPIP encapsulation. Established flows (every packet finds its entry) and new
// flows (every packet is a SYN of a 5-tuple never seen: schedule + insert), with
// 10K and 1M flows tracked. Also the parser alone. Single-threaded.
//   build/bench/weir_micro_bench --benchmark_filter=pipeline
//
// Each burst writes its 32 flows' source address and port into 32 frame buffers
// first (a 64-byte TCP frame template, as a NIC would have DMA'd them); that costs
// what `pipeline_frame_setup` measures, included in the pipeline figures.
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "config.h"
#include "pipeline.h"
#include "snapshot_builder.h"
#include "weir_parse.h"

namespace {

using namespace weir;

constexpr uint32_t burst = 32;
constexpr uint32_t headroom = 128;
constexpr uint32_t frame_len = 64;
constexpr uint32_t now = 1000;

const char *world_toml = R"(
[node]
ipv4 = "10.10.0.2/24"
[dataplane.xdp]
interface = "eth1"
[[vip]]
name = "web"
address = "10.10.1.1"
port = 80
  [[vip.backend]]
  address = "10.10.0.21"
  [[vip.backend]]
  address = "10.10.0.22"
  weight = 2
  [[vip.backend]]
  address = "10.10.0.23"
  weight = 3
)";

// A 64-byte Ethernet + IPv4 + TCP frame to the VIP; the source is written per flow.
std::vector<uint8_t> frame_template(uint8_t tcp_flags)
{
	std::vector<uint8_t> f(frame_len, 0);
	const uint8_t eth[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
	std::memcpy(f.data(), eth, 14);
	uint8_t *ip = f.data() + 14;
	ip[0] = 0x45;
	ip[3] = 50;  // total length: 20 + 20 + 10 bytes of payload
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	const uint8_t dst[4] = {10, 10, 1, 1};
	std::memcpy(ip + 16, dst, 4);
	uint8_t *tcp = ip + 20;
	tcp[2] = 0;
	tcp[3] = 80;
	tcp[12] = 5 << 4;
	tcp[13] = tcp_flags;
	return f;
}

// Flow i: source 198.18.x.y (RFC 2544 benchmark range), port 1024 + i % 60000.
void write_flow(uint8_t *f, uint32_t i)
{
	uint32_t src = 0xc6120000u | ((i / 60000) & 0xffff);
	uint8_t a[4] = {uint8_t(src >> 24), uint8_t(src >> 16), uint8_t(src >> 8), uint8_t(src)};
	std::memcpy(f + 14 + 12, a, 4);
	uint16_t port = uint16_t(1024 + i % 60000);
	f[34] = uint8_t(port >> 8);
	f[35] = uint8_t(port);
}

struct bench_world {
	std::shared_ptr<const dp::snapshot> snap;
	std::unique_ptr<dp::flow_table> flows;
	std::unique_ptr<dp::worker_counters> counters = std::make_unique<dp::worker_counters>();
	std::unique_ptr<dp::pipeline> pipe;
	std::vector<uint8_t> tmpl_ack = frame_template(0x10), tmpl_syn = frame_template(0x02);
	alignas(64) uint8_t bufs[burst][256];
	dp::frame frames[burst];
	uint8_t verdicts[burst];

	explicit bench_world(uint32_t table_entries)
	{
		ctl::config_report r = ctl::load_config_text(world_toml, "bench");
		ctl::host_facts host;
		host.resolve = [](const ctl::ip_addr &) { return ctl::mac_addr{2, 0xbb, 0, 0, 0, 1}; };
		ctl::backend_registry registry;
		snap = ctl::build_snapshot(*r.cfg, host, registry, nullptr).value();
		flows = dp::flow_table::create(table_entries).value();
		pipe = std::make_unique<dp::pipeline>(*flows, *counters);
	}

	// Fills the burst with flows first .. first + burst - 1 (modulo `modulo`).
	void load(const std::vector<uint8_t> &tmpl, const uint32_t *ids)
	{
		for (uint32_t i = 0; i < burst; i++) {
			std::memcpy(bufs[i] + headroom, tmpl.data(), frame_len);
			write_flow(bufs[i] + headroom, ids[i]);
			frames[i] = dp::frame{bufs[i] + headroom, frame_len, headroom};
		}
	}
	void run() { pipe->process(*snap, frames, verdicts, burst, now); }
};

// A random order over `n` flows, drawn in advance (xorshift), bursts of 32.
std::vector<uint32_t> random_order(uint32_t n, size_t length)
{
	std::vector<uint32_t> order(length);
	uint64_t x = 88172645463325252ull;
	for (auto &o : order) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		o = uint32_t(x % n);
	}
	return order;
}

void report(benchmark::State &state, const bench_world &w, uint64_t expect_tx)
{
	uint64_t packets = uint64_t(state.iterations()) * burst;
	state.SetItemsProcessed(int64_t(packets));
	state.counters["ns_per_packet"] = benchmark::Counter(
	        double(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
	state.counters["Mpps"] = benchmark::Counter(double(packets) / 1e6, benchmark::Counter::kIsRate);
	if (w.counters->tx_packets.get() < expect_tx)
		state.SkipWithError("frames were not forwarded: the benchmark measured the wrong path");
}

void pipeline_established(benchmark::State &state)
{
	uint32_t flows = uint32_t(state.range(0));
	bench_world w(flows * 2);
	// Track every flow first.
	std::vector<uint32_t> ids(burst);
	for (uint32_t first = 0; first < flows; first += burst) {
		for (uint32_t i = 0; i < burst; i++)
			ids[i] = (first + i) % flows;
		w.load(w.tmpl_syn, ids.data());
		w.run();
	}
	if (w.flows->flows_active() < flows * 95 / 100)
		state.SkipWithError("flows were not tracked");
	std::vector<uint32_t> order = random_order(flows, size_t(1) << 20);
	size_t pos = 0;
	uint64_t before = w.counters->tx_packets.get(), inserted = w.flows->counters().inserted;
	for (auto _ : state) {
		w.load(w.tmpl_ack, &order[pos]);
		pos = (pos + burst) & (order.size() - 1);
		w.run();
	}
	report(state, w, before + uint64_t(state.iterations()) * burst);
	state.counters["new_entries"] = double(w.flows->counters().inserted - inserted);
}

void pipeline_new_flows(benchmark::State &state)
{
	uint32_t flows = uint32_t(state.range(0));
	constexpr uint32_t fresh = 1u << 22;  // 4M new flows at most: the table stays under 60% full
	bench_world w((flows + fresh) * 2);
	std::vector<uint32_t> ids(burst);
	for (uint32_t first = 0; first < flows; first += burst) {
		for (uint32_t i = 0; i < burst; i++)
			ids[i] = (first + i) % flows;
		w.load(w.tmpl_syn, ids.data());
		w.run();
	}
	uint32_t next = flows;
	uint64_t before = w.counters->tx_packets.get(), inserted = w.flows->counters().inserted;
	for (auto _ : state) {
		for (uint32_t i = 0; i < burst; i++)
			ids[i] = next++;
		w.load(w.tmpl_syn, ids.data());
		w.run();
	}
	report(state, w, before + uint64_t(state.iterations()) * burst);
	state.counters["new_entries"] = double(w.flows->counters().inserted - inserted);
}

void pipeline_frame_setup(benchmark::State &state)
{
	bench_world w(1024);
	std::vector<uint32_t> order = random_order(1u << 20, size_t(1) << 20);
	size_t pos = 0;
	for (auto _ : state) {
		w.load(w.tmpl_ack, &order[pos]);
		pos = (pos + burst) & (order.size() - 1);
		benchmark::DoNotOptimize(w.bufs);
	}
	state.SetItemsProcessed(int64_t(state.iterations()) * burst);
	state.counters["ns_per_packet"] =
	        benchmark::Counter(double(state.iterations()) * burst,
	                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void parse_tcp_frame(benchmark::State &state)
{
	std::vector<uint8_t> f = frame_template(0x10);
	write_flow(f.data(), 12345);
	weir_pkt pkt;
	__u8 reason;
	for (auto _ : state) {
		benchmark::DoNotOptimize(weir_parse(f.data(), f.data() + f.size(), &pkt, &reason));
		benchmark::DoNotOptimize(pkt);
	}
	state.counters["ns_per_packet"] = benchmark::Counter(
	        double(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK(pipeline_established)->Arg(10000)->Arg(1000000)->Unit(benchmark::kNanosecond);
BENCHMARK(pipeline_new_flows)->Arg(10000)->Arg(1000000)->Iterations(100000)->Unit(benchmark::kNanosecond);
BENCHMARK(pipeline_frame_setup)->Unit(benchmark::kNanosecond);
BENCHMARK(parse_tcp_frame)->Unit(benchmark::kNanosecond);
