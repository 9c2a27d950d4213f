// flow_table_test.cpp — the worker flow table (dataplane/flow_table.h): lookup,
// expiry at the boundary and across the clock's wrap, bucket overflow, slot
// reuse, per-backend counts, the sweep, and a randomized check against a
// std::unordered_map model. Single-threaded.
#include "flow_table.h"
#include "weir_hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

namespace {

using weir::dp::flow_entry;
using weir::dp::flow_state;
using weir::dp::flow_table;

std::unique_ptr<flow_table> make_table(uint32_t entries)
{
	auto r = flow_table::create(entries);
	EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error_message());
	return std::move(r).value();
}

constexpr uint32_t ref(uint32_t generation, uint32_t id)
{
	return generation << 16 | id;
}

// The k-th hash that lands in bucket `b` of table `t`.
uint32_t in_bucket(const flow_table &t, uint32_t b, uint32_t k)
{
	return b + k * uint32_t(t.buckets());
}

TEST(flow_table, insert_then_find)
{
	auto t = make_table(1024);
	flow_entry *e = t->insert(77, 1234, ref(1, 3), 130, flow_state::tcp, 100);
	ASSERT_NE(e, nullptr);
	EXPECT_EQ(t->find(77, 1234, 101), e);
	EXPECT_EQ(e->backend_ref, ref(1, 3));
	EXPECT_EQ(e->state, flow_state::tcp);
	EXPECT_EQ(t->find(77, 1235, 101), nullptr) << "another sig in the same bucket";
	EXPECT_EQ(t->find(78, 1234, 101), nullptr) << "the same sig in another bucket";
	EXPECT_EQ(t->counters().inserted, 1u);
	EXPECT_EQ(t->flows_active(), 1u);
	EXPECT_EQ(t->active(3), 1u);
}

TEST(flow_table, insert_of_a_tracked_flow_returns_its_entry)
{
	auto t = make_table(64);
	flow_entry *e = t->insert(5, 99, ref(1, 1), 130, flow_state::udp, 100);
	flow_entry *again = t->insert(5, 99, ref(1, 2), 140, flow_state::tcp, 101);
	EXPECT_EQ(again, e);
	EXPECT_EQ(e->backend_ref, ref(1, 1)) << "the existing choice stands";
	EXPECT_EQ(t->counters().inserted, 1u);
	EXPECT_EQ(t->flows_active(), 1u);
	EXPECT_EQ(t->active(2), 0u);
}

TEST(flow_table, insert_replaces_the_flows_own_expired_entry)
{
	auto t = make_table(64);
	flow_entry *first = t->insert(in_bucket(*t, 2, 0), 50, ref(1, 1), 20, flow_state::tcp, 10);
	flow_entry *a = t->insert(in_bucket(*t, 2, 1), 51, ref(1, 1), 20, flow_state::tcp, 10);
	ASSERT_TRUE(first && a);
	t->erase(first);  // an empty slot ahead of the expired entry
	flow_entry *again = t->insert(in_bucket(*t, 2, 1), 51, ref(1, 2), 40, flow_state::tcp, 30);
	ASSERT_NE(again, nullptr);
	EXPECT_EQ(t->counters().expired, 1u) << "the old entry is reclaimed, not left behind";
	EXPECT_EQ(t->active(1), 0u);
	EXPECT_EQ(t->active(2), 1u);
	EXPECT_EQ(t->flows_active(), 1u);
	EXPECT_EQ(t->sweep(uint32_t(t->buckets()), 30), 0u);
	EXPECT_EQ(t->find(in_bucket(*t, 2, 1), 51, 31), again);
}

TEST(flow_table, expires_exactly_at_the_boundary)
{
	auto t = make_table(64);
	ASSERT_NE(t->insert(9, 42, ref(1, 7), 130, flow_state::tcp, 100), nullptr);
	EXPECT_NE(t->find(9, 42, 129), nullptr) << "one second before expiry";
	EXPECT_EQ(t->counters().expired, 0u);
	EXPECT_EQ(t->find(9, 42, 130), nullptr) << "expires == now is expired";
	EXPECT_EQ(t->counters().expired, 1u);
	EXPECT_EQ(t->active(7), 0u);
	EXPECT_EQ(t->flows_active(), 0u);
	EXPECT_EQ(t->find(9, 42, 130), nullptr);
	EXPECT_EQ(t->counters().expired, 1u) << "reclaimed once";
}

TEST(flow_table, refresh_extends_and_changes_state)
{
	auto t = make_table(64);
	flow_entry *e = t->insert(9, 42, ref(1, 7), 130, flow_state::tcp, 100);
	ASSERT_NE(e, nullptr);
	t->refresh(t->find(9, 42, 120), 150, flow_state::tcp_closing);
	flow_entry *f = t->find(9, 42, 140);
	ASSERT_EQ(f, e);
	EXPECT_EQ(f->state, flow_state::tcp_closing);
	EXPECT_NE(t->find(9, 42, 149), nullptr);
	EXPECT_EQ(t->find(9, 42, 150), nullptr);
}

TEST(flow_table, clock_wraps_around)
{
	auto t = make_table(64);
	uint32_t now = 0xfffffff0u;
	uint32_t expires = now + 30;  // 14 after the wrap
	ASSERT_EQ(expires, 14u);
	ASSERT_NE(t->insert(3, 5, ref(1, 1), expires, flow_state::udp, now), nullptr);
	ASSERT_NE(t->insert(4, 6, ref(1, 1), now + 5, flow_state::udp, now), nullptr);
	EXPECT_NE(t->find(3, 5, 0xffffffffu), nullptr);
	EXPECT_NE(t->find(3, 5, 0), nullptr);
	EXPECT_NE(t->find(3, 5, 13), nullptr);
	EXPECT_EQ(t->sweep(uint32_t(t->buckets()), 2), 1u) << "only the entry that expired before the wrap";
	EXPECT_EQ(t->find(4, 6, 2), nullptr);
	EXPECT_EQ(t->find(3, 5, 14), nullptr);
	EXPECT_EQ(t->counters().expired, 2u);
	EXPECT_EQ(t->active(1), 0u);
}

TEST(flow_table, full_bucket_leaves_the_flow_untracked)
{
	auto t = make_table(64);
	std::vector<flow_entry *> entries;
	for (uint32_t k = 0; k < 4; k++) {
		entries.push_back(
		        t->insert(in_bucket(*t, 3, k), 100 + k, ref(1, k), 1000, flow_state::tcp, 10));
		ASSERT_NE(entries.back(), nullptr);
	}
	EXPECT_EQ(t->find(in_bucket(*t, 3, 4), 104, 11), nullptr);
	EXPECT_EQ(t->insert(in_bucket(*t, 3, 4), 104, ref(1, 9), 1000, flow_state::tcp, 11), nullptr);
	EXPECT_EQ(t->counters().untracked, 1u);
	EXPECT_EQ(t->counters().inserted, 4u);
	EXPECT_EQ(t->active(9), 0u);
	for (uint32_t k = 0; k < 4; k++)
		EXPECT_EQ(t->find(in_bucket(*t, 3, k), 100 + k, 999), entries[k])
		        << "no live entry is evicted";
	EXPECT_NE(t->insert(in_bucket(*t, 4, 0), 104, ref(1, 9), 1000, flow_state::tcp, 11), nullptr)
	        << "the neighbouring bucket is unaffected";
}

TEST(flow_table, expired_slot_is_reused_before_failing)
{
	auto t = make_table(64);
	for (uint32_t k = 0; k < 4; k++)
		ASSERT_NE(t->insert(in_bucket(*t, 0, k), 100 + k, ref(1, k), k == 2 ? 20 : 1000,
		                    flow_state::tcp, 10),
		          nullptr);
	flow_entry *e = t->insert(in_bucket(*t, 0, 4), 104, ref(1, 8), 1000, flow_state::tcp, 20);
	ASSERT_NE(e, nullptr);
	EXPECT_EQ(e->backend_ref, ref(1, 8));
	EXPECT_EQ(t->counters().expired, 1u);
	EXPECT_EQ(t->counters().untracked, 0u);
	EXPECT_EQ(t->active(2), 0u);
	EXPECT_EQ(t->active(8), 1u);
	EXPECT_EQ(t->flows_active(), 4u);
	EXPECT_EQ(t->find(in_bucket(*t, 0, 2), 102, 21), nullptr);
	for (uint32_t k : {0u, 1u, 3u, 4u})
		EXPECT_NE(t->find(in_bucket(*t, 0, k), 100 + k, 21), nullptr) << k;
}

TEST(flow_table, empty_slot_is_taken_before_an_expired_one)
{
	auto t = make_table(64);
	ASSERT_NE(t->insert(in_bucket(*t, 1, 0), 100, ref(1, 1), 20, flow_state::udp, 10), nullptr);
	ASSERT_NE(t->insert(in_bucket(*t, 1, 1), 101, ref(1, 1), 1000, flow_state::udp, 10), nullptr);
	ASSERT_NE(t->insert(in_bucket(*t, 1, 2), 102, ref(1, 2), 1000, flow_state::udp, 30), nullptr);
	EXPECT_EQ(t->counters().expired, 0u) << "the bucket had room: nothing reclaimed";
	EXPECT_EQ(t->flows_active(), 3u);
	EXPECT_EQ(t->active(1), 2u) << "the expired entry is counted until reclaimed";
	EXPECT_EQ(t->sweep(uint32_t(t->buckets()), 30), 1u);
	EXPECT_EQ(t->active(1), 1u);
}

TEST(flow_table, sig_zero_is_a_flow_not_an_empty_slot)
{
	auto t = make_table(64);
	flow_entry *e = t->insert(in_bucket(*t, 5, 0), 0, ref(1, 4), 1000, flow_state::tcp, 10);
	ASSERT_NE(e, nullptr);
	EXPECT_NE(e->sig, 0u);
	EXPECT_EQ(t->find(in_bucket(*t, 5, 0), 0, 11), e);
	EXPECT_EQ(t->active(4), 1u);
	for (uint32_t k = 1; k < 4; k++)
		ASSERT_NE(t->insert(in_bucket(*t, 5, k), 500 + k, ref(1, 4), 1000, flow_state::tcp, 10),
		          nullptr);
	EXPECT_EQ(t->insert(in_bucket(*t, 5, 4), 600, ref(1, 4), 1000, flow_state::tcp, 10), nullptr)
	        << "the sig-0 flow occupies its slot";
	EXPECT_EQ(t->find(in_bucket(*t, 5, 0), 0, 11), e);
}

TEST(flow_table, per_backend_counts_follow_every_change)
{
	auto t = make_table(1024);
	uint32_t now = 100;
	// Backend id 5 in two generations counts as one id.
	flow_entry *a = t->insert(in_bucket(*t, 0, 0), 1, ref(1, 5), now + 10, flow_state::tcp, now);
	flow_entry *b = t->insert(in_bucket(*t, 1, 0), 2, ref(2, 5), now + 50, flow_state::tcp, now);
	flow_entry *c = t->insert(in_bucket(*t, 2, 0), 3, ref(1, 6), now + 50, flow_state::tcp, now);
	ASSERT_TRUE(a && b && c);
	for (uint32_t k = 0; k < 4; k++)  // bucket 3: three expire at 120, one lives
		ASSERT_NE(t->insert(in_bucket(*t, 3, k), 10 + k, ref(1, 7), k == 3 ? now + 50 : now + 20,
		                    flow_state::udp, now),
		          nullptr);
	EXPECT_EQ(t->active(5), 2u);
	EXPECT_EQ(t->active(6), 1u);
	EXPECT_EQ(t->active(7), 4u);
	EXPECT_EQ(t->flows_active(), 7u);

	now = 110;  // a expires: reclaimed by find
	EXPECT_EQ(t->find(in_bucket(*t, 0, 0), 1, now), nullptr);
	EXPECT_EQ(t->active(5), 1u);

	now = 120;  // insert into the full bucket 3 reuses one expired entry
	ASSERT_NE(t->insert(in_bucket(*t, 3, 4), 14, ref(1, 6), now + 50, flow_state::udp, now), nullptr);
	EXPECT_EQ(t->active(7), 3u);
	EXPECT_EQ(t->active(6), 2u);
	EXPECT_EQ(t->sweep(uint32_t(t->buckets()), now), 2u) << "the two other expired entries of bucket 3";
	EXPECT_EQ(t->active(7), 1u);

	t->retarget(b, ref(1, 6));  // backend 5 removed: its flow is re-chosen
	EXPECT_EQ(t->active(5), 0u);
	EXPECT_EQ(t->active(6), 3u);
	EXPECT_EQ(t->counters().rechosen, 1u);
	EXPECT_EQ(t->find(in_bucket(*t, 1, 0), 2, now)->backend_ref, ref(1, 6));

	t->erase(c);
	EXPECT_EQ(t->active(6), 2u);
	EXPECT_EQ(t->find(in_bucket(*t, 2, 0), 3, now), nullptr);
	EXPECT_EQ(t->flows_active(), 3u);
	const auto &n = t->counters();
	EXPECT_EQ(n.inserted - n.expired - n.erased, t->flows_active());
}

TEST(flow_table, sweep_over_the_table_expires_old_entries_only)
{
	auto t = make_table(4096);
	std::mt19937 rng(7);
	std::vector<std::pair<uint32_t, uint32_t>> live, old;
	for (uint32_t i = 0; i < 3000; i++) {
		uint32_t h = rng();
		bool keep = i % 2;
		if (t->insert(h, i + 1, ref(1, i % 16), keep ? 1000 : 50, flow_state::tcp, 10))
			(keep ? live : old).emplace_back(h, i + 1);
	}
	ASSERT_GT(old.size(), 1000u);
	// In slices, as the engine does between bursts: 13 does not divide the bucket count.
	uint32_t reclaimed = 0;
	for (size_t swept = 0; swept < t->buckets(); swept += 13)
		reclaimed += t->sweep(13, 60);
	EXPECT_EQ(reclaimed, old.size());
	EXPECT_EQ(t->counters().expired, old.size());
	EXPECT_EQ(t->flows_active(), live.size());
	uint64_t sum = 0;
	for (uint32_t id = 0; id < 16; id++)
		sum += t->active(id);
	EXPECT_EQ(sum, live.size());
	for (auto [h, s] : live)
		ASSERT_NE(t->find(h, s, 60), nullptr);
	EXPECT_EQ(t->sweep(uint32_t(t->buckets()), 60), 0u) << "nothing left to expire";
	EXPECT_EQ(t->sweep(uint32_t(t->buckets()), 1000), live.size());
	EXPECT_EQ(t->flows_active(), 0u);
}

TEST(flow_table, capacity_rounds_up_to_whole_power_of_two_buckets)
{
	struct {
		uint32_t asked, capacity;
	} cases[] = {{1, 4}, {4, 4}, {5, 8}, {1000, 1024}, {1024, 1024}, {1025, 2048}, {1u << 20, 1u << 20}};
	for (auto c : cases) {
		auto t = make_table(c.asked);
		EXPECT_EQ(t->capacity(), c.capacity) << c.asked;
		EXPECT_EQ(t->buckets() * 4, t->capacity());
		EXPECT_EQ(t->bytes(), c.capacity * sizeof(flow_entry) + WEIR_MAX_BACKENDS * 4);
	}
	// Bucket 0's first slot sits at the start of the allocation.
	auto small = make_table(64);
	auto *e = small->insert(0, 1, ref(1, 1), 100, flow_state::tcp, 1);
	EXPECT_EQ(reinterpret_cast<uintptr_t>(e) % 64, 0u);
	auto large = make_table(1u << 20);  // 16 MiB
	e = large->insert(0, 1, ref(1, 1), 100, flow_state::tcp, 1);
	EXPECT_EQ(reinterpret_cast<uintptr_t>(e) % (2u << 20), 0u) << "large tables are 2 MiB aligned";
}

TEST(flow_table, create_rejects_zero_and_absurd_sizes)
{
	for (uint32_t n : {0u, flow_table::max_entries + 1, 0xffffffffu}) {
		auto r = flow_table::create(n);
		ASSERT_FALSE(r.ok()) << n;
		EXPECT_NE(r.error_message().find("flow_table_size"), std::string::npos) << r.error_message();
	}
}

// The reference: each flow's entry, and expiry applied eagerly. A bucket refuses
// a new flow iff it holds 4 live ones, whatever expired entries the table still
// keeps; counts agree exactly once a full sweep has reclaimed every expired entry.
class model {
public:
	struct entry {
		uint32_t bucket, ref, expires;
	};
	std::unordered_map<uint32_t, entry> flows;  // by flow id
	std::vector<std::vector<uint32_t>> by_bucket;
	uint64_t expired = 0;

	explicit model(size_t buckets) : by_bucket(buckets) {}

	const entry *find(uint32_t id, uint32_t now)
	{
		auto it = flows.find(id);
		if (it == flows.end())
			return nullptr;
		if (flow_table::is_expired(it->second.expires, now)) {
			remove(id);
			expired++;
			return nullptr;
		}
		return &it->second;
	}
	size_t live_in_bucket(uint32_t b, uint32_t now) const
	{
		size_t n = 0;
		for (uint32_t id : by_bucket[b])
			n += !flow_table::is_expired(flows.at(id).expires, now);
		return n;
	}
	void add(uint32_t id, entry e)
	{
		flows[id] = e;
		by_bucket[e.bucket].push_back(id);
	}
	void remove(uint32_t id)
	{
		auto &v = by_bucket[flows.at(id).bucket];
		std::erase(v, id);
		flows.erase(id);
	}
	void expire_all(uint32_t now)
	{
		std::vector<uint32_t> gone;
		for (auto &[id, e] : flows)
			if (flow_table::is_expired(e.expires, now))
				gone.push_back(id);
		for (uint32_t id : gone)
			remove(id);
		expired += gone.size();
	}
};

void expect_same_counts(flow_table &t, model &m, uint32_t now, uint64_t inserted, uint64_t untracked,
                        uint64_t rechosen, uint64_t erased)
{
	t.sweep(uint32_t(t.buckets()), now);
	m.expire_all(now);
	ASSERT_EQ(t.flows_active(), m.flows.size());
	std::vector<uint32_t> per_backend(16);
	for (auto &[id, e] : m.flows)
		per_backend[WEIR_BACKEND_ID(e.ref)]++;
	for (uint32_t b = 0; b < 16; b++)
		ASSERT_EQ(t.active(b), per_backend[b]) << "backend " << b;
	const auto &c = t.counters();
	ASSERT_EQ(c.expired, m.expired);
	ASSERT_EQ(c.inserted, inserted);
	ASSERT_EQ(c.untracked, untracked);
	ASSERT_EQ(c.rechosen, rechosen);
	ASSERT_EQ(c.erased, erased);
}

TEST(flow_table, randomized_against_a_map_model)
{
	auto t = make_table(1024);
	model m(t->buckets());
	std::mt19937 rng(2024);
	auto pick = [&](uint32_t n) { return uint32_t(rng() % n); };
	// Flow ids get distinct sigs (id + 1), so the model never has to reproduce a
	// false match; their hashes spread them over the buckets.
	auto hash_of = [](uint32_t id) { return weir_hash_words(&id, 1, 0x5eed); };
	uint32_t now = 0xffffffffu - 400;  // the clock wraps part-way through
	uint64_t inserted = 0, untracked = 0, rechosen = 0, erased = 0, hits = 0;

	for (int op = 0; op < 100000; op++) {
		uint32_t r = pick(1000);
		if (r < 10) {
			now += 1 + pick(3);
			continue;
		}
		if (r < 30) {
			t->sweep(1 + pick(16), now);
			continue;
		}
		uint32_t id = pick(1500);
		uint32_t h = hash_of(id);
		flow_entry *e = t->find(h, id + 1, now);
		const model::entry *me = m.find(id, now);
		ASSERT_EQ(e != nullptr, me != nullptr) << "op " << op << " flow " << id;
		if (e) {
			hits++;
			ASSERT_EQ(e->backend_ref, me->ref);
			uint32_t action = pick(100);
			if (action < 3) {
				t->erase(e);
				m.remove(id);
				erased++;
			} else if (action < 8) {
				uint32_t to = ref(1 + pick(4), pick(16));
				t->retarget(e, to);
				m.flows[id].ref = to;
				rechosen++;
			} else {
				uint32_t exp = now + 1 + pick(20);
				t->refresh(e, exp, flow_state::tcp);
				m.flows[id].expires = exp;
			}
		} else {
			uint32_t bucket = h & uint32_t(t->buckets() - 1);
			bool room = m.live_in_bucket(bucket, now) < 4;
			uint32_t to = ref(1 + pick(4), pick(16));
			uint32_t exp = now + 1 + pick(20);
			e = t->insert(h, id + 1, to, exp, flow_state::udp, now);
			ASSERT_EQ(e != nullptr, room) << "op " << op << " flow " << id;
			if (room) {
				m.add(id, {bucket, to, exp});
				inserted++;
			} else {
				untracked++;
			}
		}
		const auto &c = t->counters();
		ASSERT_EQ(c.inserted - c.expired - c.erased, t->flows_active());
		if (op % 1000 == 999)
			expect_same_counts(*t, m, now, inserted, untracked, rechosen, erased);
	}
	expect_same_counts(*t, m, now, inserted, untracked, rechosen, erased);
	EXPECT_LT(now, 100000u) << "the clock wrapped";
	// Every path ran many times.
	EXPECT_GT(hits, 10000u);
	EXPECT_GT(untracked, 100u);
	EXPECT_GT(m.expired, 10000u);
	EXPECT_GT(rechosen, 500u);
	EXPECT_GT(erased, 500u);
}

}  // namespace
