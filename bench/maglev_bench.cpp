// maglev_bench.cpp — micro-benchmarks of Maglev table building (control thread)
// and of the per-packet choice (flow hash + table lookup, as a worker does it).
// Single-threaded; each benchmark owns its data.
//
//   weir_micro_bench --benchmark_filter=maglev_build   build time, in ms
//   weir_micro_bench --benchmark_filter=lookup         ns per packet
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "maglev.h"
#include "weir_hash.h"
#include "weir_maglev.h"

namespace {

using weir::ctl::build_maglev_table;
using weir::ctl::ip_addr;
using weir::ctl::maglev_backend;

constexpr uint32_t seed = 0x5eed5eed;

// `n` distinct IPv4 backends in 10.0.0.0/8, sorted; weights 1, or 1..100 when
// `weighted` (the groups of equal weight are then small and the build slower).
std::vector<maglev_backend> make_backends(size_t n, bool weighted)
{
	std::mt19937_64 rng(n);
	std::set<ip_addr> seen;
	while (seen.size() < n) {
		ip_addr a;
		uint64_t r = rng();
		a.bytes[0] = 10;
		std::memcpy(&a.bytes[1], &r, 3);
		seen.insert(a);
	}
	std::vector<maglev_backend> out;
	for (const auto &a : seen)
		out.push_back({a, weighted ? 1 + static_cast<uint32_t>(rng() % 100) : 1});
	return out;
}

std::vector<uint32_t> make_table(const std::vector<maglev_backend> &backends, uint32_t size)
{
	auto t = build_maglev_table(backends, size, seed);
	return t ? std::move(*t) : std::vector<uint32_t>{};
}

std::vector<weir_flow_key> make_keys(size_t n)
{
	std::mt19937_64 rng(42);
	std::vector<weir_flow_key> keys(n);
	for (auto &k : keys) {
		k.saddr[0] = static_cast<__be32>(rng());
		k.daddr[0] = static_cast<__be32>(rng());
		k.sport = static_cast<__be16>(rng());
		k.dport = static_cast<__be16>(rng());
		k.proto = 6;
		k.family = WEIR_AF_INET;
	}
	return keys;
}

// args: table size M, backends N, weighted (0/1).
void maglev_build(benchmark::State &state)
{
	auto size = static_cast<uint32_t>(state.range(0));
	auto n = static_cast<size_t>(state.range(1));
	bool weighted = state.range(2) != 0;
	auto backends = make_backends(n, weighted);
	for (auto _ : state) {
		auto t = build_maglev_table(backends, size, seed);
		if (!t) {
			state.SkipWithError(t.error_message().c_str());
			break;
		}
		benchmark::DoNotOptimize(t->data());
	}
	state.SetLabel("M=" + std::to_string(size) + " N=" + std::to_string(n) +
	               (weighted ? " weights 1..100" : " equal weights") + ", time per table build");
}
BENCHMARK(maglev_build)
        ->Args({65537, 10, 0})
        ->Args({65537, 100, 0})
        ->Args({65537, 1000, 0})
        ->Args({65537, 1000, 1})
        ->Args({655373, 1000, 0})
        ->Args({655373, 1000, 1})
        ->Unit(benchmark::kMillisecond);

// One packet's choice: weir_flow_hash of its 5-tuple, then the table entry.
// args: table size M, backends N, number of distinct keys, streamed in order.
void maglev_lookup(benchmark::State &state)
{
	auto size = static_cast<uint32_t>(state.range(0));
	auto table = make_table(make_backends(static_cast<size_t>(state.range(1)), false), size);
	auto keys = make_keys(static_cast<size_t>(state.range(2)));
	size_t i = 0;
	for (auto _ : state) {
		uint32_t backend = weir_maglev_lookup(table.data(), size, weir_flow_hash(&keys[i], seed));
		benchmark::DoNotOptimize(backend);
		i = i + 1 == keys.size() ? 0 : i + 1;
	}
	state.SetItemsProcessed(state.iterations());
	size_t mib = keys.size() * sizeof(weir_flow_key) >> 20;
	state.SetLabel("M=" + std::to_string(size) + ", " + std::to_string(keys.size()) + " keys" +
	               (mib ? " (" + std::to_string(mib) + " MiB, larger than the caches)" : " (hot)") +
	               ", time per packet");
}
BENCHMARK(maglev_lookup)
        ->Args({65537, 100, 2 << 20})
        ->Args({655373, 1000, 2 << 20})
        ->Args({65537, 100, 64})
        ->Args({655373, 1000, 64})
        ->Unit(benchmark::kNanosecond);

// The 5-tuple hash alone (10 words of MurmurHash3), over hot keys.
void flow_hash(benchmark::State &state)
{
	auto keys = make_keys(1024);
	size_t i = 0;
	for (auto _ : state) {
		uint32_t h = weir_flow_hash(&keys[i], seed);
		benchmark::DoNotOptimize(h);
		i = (i + 1) & 1023;
	}
	state.SetItemsProcessed(state.iterations());
	state.SetLabel("1024 hot keys, time per hash");
}
BENCHMARK(flow_hash)->Unit(benchmark::kNanosecond);

}  // namespace
