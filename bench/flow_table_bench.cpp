// flow_table_bench.cpp — cost of a worker flow-table lookup (dataplane/flow_table.h)
// at 1K, 1M and 8M entries, half full of live flows, keys drawn at random so the
// large tables miss the cache as real traffic does. Each iteration handles one
// burst of 32 packets, either one lookup after another or as the pipeline does:
// prefetch all 32 buckets, then look them up. `time_per_lookup` is the figure to
// compare; `hit_ratio` shows the lookups did what the name says. Single-threaded.
//   build/bench/weir_micro_bench --benchmark_filter=flow
#include "flow_table.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace {

using weir::dp::flow_entry;
using weir::dp::flow_state;
using weir::dp::flow_table;

constexpr uint32_t burst = 32;
constexpr uint32_t now = 1000;
constexpr uint32_t forever = now + 1000000;
constexpr size_t sequence_length = size_t(1) << 20;  // lookups drawn in advance; a power of two

struct flow_keys {
	uint32_t hash, sig;
};

// splitmix64: fast, and good enough to scatter keys over the buckets.
struct key_source {
	uint64_t state;
	uint64_t next()
	{
		uint64_t z = (state += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		return z ^ (z >> 31);
	}
	flow_keys keys()
	{
		uint64_t r = next();
		return {uint32_t(r), uint32_t(r >> 32)};
	}
};

struct filled_table {
	std::unique_ptr<flow_table> table;
	std::vector<flow_keys> hits;  // random draws among the tracked flows, in lookup order
};

// Built once per size and kept: filling the 8M table takes about a second, and
// Google Benchmark calls each benchmark function several times.
filled_table &table_of(uint32_t entries)
{
	static std::map<uint32_t, filled_table> tables;
	auto it = tables.find(entries);
	if (it != tables.end())
		return it->second;
	filled_table f{std::move(flow_table::create(entries)).value(), {}};
	key_source src{entries};
	std::vector<flow_keys> tracked;
	tracked.reserve(entries / 2);
	for (uint32_t i = 0; i < entries / 2; i++) {
		flow_keys k = src.keys();
		if (f.table->insert(k.hash, k.sig, i & 0xff, forever, flow_state::tcp, now))
			tracked.push_back(k);
	}
	f.hits.resize(sequence_length);
	for (flow_keys &k : f.hits)
		k = tracked[src.next() % tracked.size()];
	return tables.emplace(entries, std::move(f)).first->second;
}

void report(benchmark::State &state, uint64_t hits)
{
	uint64_t lookups = uint64_t(state.iterations()) * burst;
	state.SetItemsProcessed(int64_t(lookups));
	state.counters["time_per_lookup"] = benchmark::Counter(
	        double(lookups), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
	state.counters["hit_ratio"] = double(hits) / double(lookups);
	const flow_table &t = *table_of(uint32_t(state.range(0))).table;
	state.counters["fill"] = double(t.flows_active()) / double(t.capacity());
}

void find_hit(benchmark::State &state, bool prefetch)
{
	filled_table &f = table_of(uint32_t(state.range(0)));
	flow_table &t = *f.table;
	size_t pos = 0;
	uint64_t hits = 0;
	for (auto _ : state) {
		const flow_keys *k = &f.hits[pos];
		pos = (pos + burst) & (sequence_length - 1);
		if (prefetch)
			for (uint32_t i = 0; i < burst; i++)
				t.prefetch(k[i].hash);
		for (uint32_t i = 0; i < burst; i++) {
			flow_entry *e = t.find(k[i].hash, k[i].sig, now);
			hits += e != nullptr;
			benchmark::DoNotOptimize(e);
		}
	}
	report(state, hits);
}

// A new flow: the lookup misses and the flow is inserted. The entries are erased
// at the end of the burst so the table stays half full however long it runs.
void find_miss_insert(benchmark::State &state, bool prefetch)
{
	filled_table &f = table_of(uint32_t(state.range(0)));
	flow_table &t = *f.table;
	key_source src{0xfeed};
	uint64_t hits = 0;
	flow_keys k[burst];
	flow_entry *added[burst];
	for (auto _ : state) {
		for (uint32_t i = 0; i < burst; i++)
			k[i] = src.keys();
		if (prefetch)
			for (uint32_t i = 0; i < burst; i++)
				t.prefetch(k[i].hash);
		for (uint32_t i = 0; i < burst; i++) {
			flow_entry *e = t.find(k[i].hash, k[i].sig, now);
			hits += e != nullptr;
			added[i] =
			        e ? nullptr : t.insert(k[i].hash, k[i].sig, 7, forever, flow_state::udp, now);
		}
		for (flow_entry *e : added)
			if (e)
				t.erase(e);
	}
	report(state, hits);
}

void flow_find_hit_one_by_one(benchmark::State &state)
{
	find_hit(state, false);
}
void flow_find_hit_prefetch_burst(benchmark::State &state)
{
	find_hit(state, true);
}
void flow_find_miss_insert_one_by_one(benchmark::State &state)
{
	find_miss_insert(state, false);
}
void flow_find_miss_insert_prefetch_burst(benchmark::State &state)
{
	find_miss_insert(state, true);
}

#define WEIR_FLOW_SIZES ArgName("entries")->Arg(1 << 10)->Arg(1 << 20)->Arg(8 << 20)
BENCHMARK(flow_find_hit_one_by_one)->WEIR_FLOW_SIZES;
BENCHMARK(flow_find_hit_prefetch_burst)->WEIR_FLOW_SIZES;
BENCHMARK(flow_find_miss_insert_one_by_one)->WEIR_FLOW_SIZES;
BENCHMARK(flow_find_miss_insert_prefetch_burst)->WEIR_FLOW_SIZES;

}  // namespace
