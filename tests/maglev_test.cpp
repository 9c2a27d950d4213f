// maglev_test.cpp — properties of the Maglev table builder (control/maglev.h):
// every slot filled, weighted shares within one slot, determinism, low disruption
// when a backend is added, removed or reweighted, plus one golden and the errors.
// The measured disruption is printed (and recorded as test properties).
#include "maglev.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <vector>

using weir::ctl::build_maglev_table;
using weir::ctl::format_fingerprint;
using weir::ctl::ip_addr;
using weir::ctl::is_prime;
using weir::ctl::maglev_backend;
using weir::ctl::maglev_fingerprint;

namespace {

constexpr uint32_t test_seed = 0x5eed5eed;

ip_addr addr(const char *text)
{
	auto a = ip_addr::parse(text);
	EXPECT_TRUE(a) << text;
	return a.value_or(ip_addr{});
}

ip_addr random_addr(std::mt19937_64 &rng, bool v6)
{
	ip_addr a;
	a.family = v6 ? WEIR_AF_INET6 : WEIR_AF_INET;
	uint64_t r = rng();
	if (!v6) {
		a.bytes[0] = 10;
		std::memcpy(&a.bytes[1], &r, 3);
		return a;
	}
	a.bytes[0] = 0xfd;
	std::memcpy(&a.bytes[1], &r, 7);
	r = rng();
	std::memcpy(&a.bytes[8], &r, 8);
	return a;
}

// `n` distinct backends, sorted, about one in eight IPv6, all of weight 1.
std::vector<maglev_backend> random_backends(size_t n, std::mt19937_64 &rng)
{
	std::set<ip_addr> seen;
	while (seen.size() < n)
		seen.insert(random_addr(rng, rng() % 8 == 0));
	std::vector<maglev_backend> out;
	for (const auto &a : seen)
		out.push_back({a, 1});
	return out;
}

std::vector<uint32_t> build(const std::vector<maglev_backend> &backends, uint32_t size,
                            uint32_t seed = test_seed)
{
	auto t = build_maglev_table(backends, size, seed);
	EXPECT_TRUE(t) << (t ? "" : t.error_message());
	return t ? *t : std::vector<uint32_t>{};
}

std::vector<uint64_t> slot_counts(const std::vector<uint32_t> &table, size_t n)
{
	std::vector<uint64_t> counts(n);
	for (uint32_t e : table)
		if (e < n)
			counts[e]++;
	return counts;
}

void expect_all_slots_valid(const std::vector<uint32_t> &table, uint32_t size, size_t n)
{
	ASSERT_EQ(table.size(), size);
	for (uint32_t s = 0; s < size; s++)
		ASSERT_LT(table[s], n) << "slot " << s << " is not a backend index";
}

// |count − M·w/W| < 1, in integers: |count·W − M·w| < W.
void expect_within_one_slot(const std::vector<maglev_backend> &b, const std::vector<uint32_t> &table)
{
	uint64_t total = 0;
	for (const auto &x : b)
		total += x.weight;
	auto counts = slot_counts(table, b.size());
	for (size_t i = 0; i < b.size(); i++) {
		int64_t have = static_cast<int64_t>(counts[i] * total);
		int64_t ideal = static_cast<int64_t>(uint64_t{table.size()} * b[i].weight);
		EXPECT_LT(std::llabs(have - ideal), static_cast<int64_t>(total))
		        << "backend " << i << " weight " << b[i].weight << " has " << counts[i]
		        << " slots of " << table.size();
		if (b[i].weight == 0) {
			EXPECT_EQ(counts[i], 0u) << "a weight-0 backend must get no slots";
		}
	}
}

// Slots whose owner changed between two tables, compared by address (indices
// shift when the sorted array changes). `moved_among_others` leaves out slots
// that `subject` (the added, removed or reweighted backend) had before or has after.
struct disruption {
	uint64_t changed = 0;
	uint64_t moved_among_others = 0;
};

disruption compare_tables(const std::vector<maglev_backend> &b1, const std::vector<uint32_t> &t1,
                          const std::vector<maglev_backend> &b2, const std::vector<uint32_t> &t2,
                          const ip_addr &subject)
{
	disruption d;
	for (size_t s = 0; s < t1.size(); s++) {
		const ip_addr &a1 = b1[t1[s]].address, &a2 = b2[t2[s]].address;
		if (a1 == a2)
			continue;
		d.changed++;
		if (a1 != subject && a2 != subject)
			d.moved_among_others++;
	}
	return d;
}

std::vector<maglev_backend> without(const std::vector<maglev_backend> &b, size_t i)
{
	auto out = b;
	out.erase(out.begin() + static_cast<ptrdiff_t>(i));
	return out;
}

std::vector<maglev_backend> with(const std::vector<maglev_backend> &b, maglev_backend extra)
{
	auto out = b;
	out.insert(std::upper_bound(out.begin(), out.end(), extra,
	                            [](const auto &x, const auto &y) { return x.address < y.address; }),
	           extra);
	return out;
}

void report(const std::string &name, double value)
{
	std::cout << "[ figure   ] " << name << " = " << value << "\n";
	testing::Test::RecordProperty(name, std::to_string(value));
}

// The bound on slots moved among the other backends when `shares` backends' worth
// of weight is added or removed: 1% of M, or a quarter of one backend's share when
// that is larger. The second term only applies to small tables (M/N = 100 with N
// ≤ 100): there the slots a removed backend leaves fall to the others by chance,
// ±sqrt(M/N²) each, while their quotas grow evenly, and evening that out moves
// about 1.1% of M for N = 10, M = 1009 whatever the hash.
uint64_t disruption_bound(size_t n, uint32_t size, uint32_t shares)
{
	return shares * std::max<uint64_t>(size / 100, size / (4 * n));
}

void check_disruption(const std::string &tag, size_t n, uint32_t size, uint32_t shares, const disruption &d)
{
	EXPECT_LE(d.moved_among_others, disruption_bound(n, size, shares))
	        << tag << ": " << d.moved_among_others << " slots moved among the other backends";
}

struct disruption_case {
	size_t n;
	uint32_t size;
};

constexpr disruption_case disruption_cases[] = {
        {10, 1009}, {100, 10007}, {1000, 100003}, {10, 65537}, {100, 65537},
};

}  // namespace

TEST(maglev, is_prime_matches_a_sieve)
{
	constexpr uint32_t limit = 200000;
	std::vector<bool> composite(limit, false);
	for (uint32_t i = 2; i * i < limit; i++)
		if (!composite[i])
			for (uint32_t j = i * i; j < limit; j += i)
				composite[j] = true;
	for (uint32_t n = 0; n < limit; n++)
		ASSERT_EQ(is_prime(n), n >= 2 && !composite[n]) << n;
	EXPECT_TRUE(is_prime(65537));
	EXPECT_TRUE(is_prime(655373));
	EXPECT_TRUE(is_prime(4294967291u));  // the largest 32-bit prime
	EXPECT_FALSE(is_prime(4294967295u));
	EXPECT_FALSE(is_prime(65521u * 65519u));  // product of two large primes
}

TEST(maglev, every_slot_filled_with_a_valid_index)
{
	std::mt19937_64 rng(1);
	for (size_t n : {1, 2, 3, 7, 50, 1000})
		for (uint32_t size : {2u, 3u, 13u, 1009u, 65537u}) {
			auto b = random_backends(n, rng);
			auto t = build(b, size);
			expect_all_slots_valid(t, size, n);
			expect_within_one_slot(b, t);
		}
}

TEST(maglev, equal_weights_differ_by_at_most_one_slot)
{
	std::mt19937_64 rng(2);
	for (size_t n : {1, 2, 3, 10, 100, 1000})
		for (uint32_t size : {1009u, 65537u, 655373u}) {
			auto b = random_backends(n, rng);
			auto counts = slot_counts(build(b, size), n);
			auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
			EXPECT_LE(*hi - *lo, 1u) << n << " backends, " << size << " slots";
		}
}

TEST(maglev, weights_one_two_three_get_their_shares)
{
	std::vector<maglev_backend> b = {{addr("10.0.0.1"), 1}, {addr("10.0.0.2"), 2}, {addr("10.0.0.3"), 3}};
	constexpr uint32_t size = 65537;
	auto counts = slot_counts(build(b, size), b.size());
	for (size_t i = 0; i < b.size(); i++) {
		double ideal = size * (i + 1) / 6.0;
		EXPECT_LE(std::abs(static_cast<double>(counts[i]) - ideal), 0.005 * size) << "backend " << i;
		EXPECT_LT(std::abs(static_cast<double>(counts[i]) - ideal), 1.0) << "backend " << i;
	}
}

TEST(maglev, random_weights_within_one_slot_of_share)
{
	std::mt19937_64 rng(3);
	const uint32_t sizes[] = {13, 1009, 10007, 65537, 655373};
	for (int round = 0; round < 60; round++) {
		size_t n = 1 + rng() % 300;
		auto b = random_backends(n, rng);
		for (auto &x : b)
			x.weight =
			        rng() % 4 == 0 ? 0 : static_cast<uint32_t>(rng() % (round % 2 ? 1000 : 10));
		if (round % 10 == 0)
			b[rng() % n].weight = 4000000000u;  // huge weights must not overflow
		if (std::none_of(b.begin(), b.end(), [](const auto &x) { return x.weight > 0; }))
			b[0].weight = 1;
		uint32_t size = sizes[rng() % std::size(sizes)];
		auto t = build(b, size);
		expect_all_slots_valid(t, size, n);
		expect_within_one_slot(b, t);
	}
}

TEST(maglev, weight_zero_gets_no_slots)
{
	std::vector<maglev_backend> b = {
	        {addr("10.0.0.1"), 1}, {addr("10.0.0.2"), 0}, {addr("10.0.0.3"), 5}, {addr("fd00::1"), 0}};
	auto counts = slot_counts(build(b, 65537), b.size());
	EXPECT_EQ(counts[1], 0u);
	EXPECT_EQ(counts[3], 0u);
	EXPECT_EQ(counts[0] + counts[2], 65537u);
}

TEST(maglev, insertion_order_and_repetition_do_not_matter)
{
	std::mt19937_64 rng(4);
	auto sorted = random_backends(200, rng);
	for (auto &x : sorted)
		x.weight = 1 + static_cast<uint32_t>(rng() % 5);
	auto reference = build(sorted, 65537);
	for (int round = 0; round < 5; round++) {
		auto shuffled = sorted;
		std::shuffle(shuffled.begin(), shuffled.end(), rng);
		std::sort(shuffled.begin(), shuffled.end(),
		          [](const auto &x, const auto &y) { return x.address < y.address; });
		auto t = build(shuffled, 65537);
		ASSERT_EQ(t.size(), reference.size());
		EXPECT_EQ(std::memcmp(t.data(), reference.data(), t.size() * 4), 0) << "round " << round;
		EXPECT_EQ(maglev_fingerprint(shuffled, t), maglev_fingerprint(sorted, reference));
	}
	EXPECT_EQ(build(sorted, 65537), reference);
}

TEST(maglev, different_seed_gives_a_different_table)
{
	std::mt19937_64 rng(5);
	auto b = random_backends(10, rng);
	auto t1 = build(b, 65537, test_seed);
	auto t2 = build(b, 65537, test_seed ^ 1);
	size_t differ = 0;
	for (size_t s = 0; s < t1.size(); s++)
		differ += t1[s] != t2[s];
	// Independent tables over 10 backends disagree on about 90% of slots.
	EXPECT_GT(differ, t1.size() * 8 / 10);
	EXPECT_NE(maglev_fingerprint(b, t1), maglev_fingerprint(b, t2));
}

TEST(maglev, removing_a_backend_moves_few_other_slots)
{
	std::mt19937_64 rng(6);
	for (auto [n, size] : disruption_cases) {
		auto b = random_backends(n, rng);
		auto t = build(b, size);
		std::string tag = "remove_n" + std::to_string(n) + "_m" + std::to_string(size);
		uint64_t worst = 0, moved = 0, changed = 0;
		std::vector<size_t> picks = {0, n / 2, n - 1};
		while (picks.size() < 10)
			picks.push_back(rng() % n);
		for (size_t victim : picks) {
			auto b2 = without(b, victim);
			auto d = compare_tables(b, t, b2, build(b2, size), b[victim].address);
			check_disruption(tag + " #" + std::to_string(victim), n, size, 1, d);
			worst = std::max(worst, d.moved_among_others);
			moved += d.moved_among_others;
			changed += d.changed;
		}
		report(tag + "_worst_moved_among_others_pct", 100.0 * worst / size);
		report(tag + "_mean_moved_among_others_pct", 100.0 * moved / picks.size() / size);
		report(tag + "_mean_changed_over_minimum",
		       (double)changed / picks.size() / (double(size) / n));
	}
}

TEST(maglev, adding_a_backend_moves_few_other_slots)
{
	std::mt19937_64 rng(7);
	for (auto [n, size] : disruption_cases) {
		auto b = random_backends(n + 10, rng);
		// Keep ten out of the set to add them one at a time.
		std::vector<maglev_backend> extras;
		for (size_t k = 0; k < 10; k++) {
			size_t i = rng() % b.size();
			extras.push_back(b[i]);
			b = without(b, i);
		}
		auto t = build(b, size);
		std::string tag = "add_n" + std::to_string(n) + "_m" + std::to_string(size);
		uint64_t worst = 0, moved = 0, changed = 0;
		for (const auto &extra : extras) {
			auto b2 = with(b, extra);
			auto d = compare_tables(b, t, b2, build(b2, size), extra.address);
			check_disruption(tag + " " + extra.address.to_string(), n, size, 1, d);
			worst = std::max(worst, d.moved_among_others);
			moved += d.moved_among_others;
			changed += d.changed;
		}
		report(tag + "_worst_moved_among_others_pct", 100.0 * worst / size);
		report(tag + "_mean_moved_among_others_pct", 100.0 * moved / extras.size() / size);
		report(tag + "_mean_changed_over_minimum",
		       (double)changed / extras.size() / (double(size) / (n + 1)));
	}
}

TEST(maglev, weight_change_moves_slots_only_to_or_from_that_backend)
{
	std::mt19937_64 rng(8);
	const std::pair<uint32_t, uint32_t> changes[] = {{1, 2}, {2, 1}, {1, 3}, {3, 1}, {1, 0}};
	for (auto [n, size] : disruption_cases) {
		for (auto [from, to] : changes) {
			auto b = random_backends(n, rng);  // every other backend has weight 1
			size_t i = rng() % n;
			b[i].weight = from;
			auto t1 = build(b, size);
			auto b2 = b;
			b2[i].weight = to;
			auto t2 = build(b2, size);
			auto d = compare_tables(b, t1, b2, t2, b[i].address);
			std::string tag = "weight_n" + std::to_string(n) + "_m" + std::to_string(size) + "_" +
			                  std::to_string(from) + "to" + std::to_string(to);
			check_disruption(tag, n, size, from > to ? from - to : to - from, d);
			auto c1 = slot_counts(t1, n), c2 = slot_counts(t2, n);
			EXPECT_EQ(to > from, c2[i] > c1[i])
			        << "the changed backend's share must follow its weight";
			report(tag + "_moved_among_others_pct", 100.0 * d.moved_among_others / size);
		}
	}
}

// An accidental change of the algorithm (hashes, seeds, turn order) changes these.
TEST(maglev, golden_first_entries)
{
	std::vector<maglev_backend> b = {{addr("10.0.0.1"), 1}, {addr("10.0.0.2"), 2}, {addr("fd00::3"), 3}};
	auto t = build(b, 65537, test_seed);
	const std::vector<uint32_t> golden = {1, 2, 0, 1, 2, 1, 0, 2, 2, 1, 1, 0, 2, 2, 1, 2};
	EXPECT_EQ(std::vector<uint32_t>(t.begin(), t.begin() + 16), golden);
	EXPECT_EQ(format_fingerprint(maglev_fingerprint(b, t)), "ec65ef74e3f65d09");
	// By hand: 65537 × (1, 2, 3) / 6 = 10922.83, 21845.67, 32768.5; floors sum to
	// 65535 and the two left go to the largest remainders, backends 0 and 1.
	auto counts = slot_counts(t, b.size());
	EXPECT_EQ(counts, (std::vector<uint64_t>{10923, 21846, 32768}));
}

TEST(maglev, fingerprint_names_what_the_table_decides)
{
	std::vector<maglev_backend> b = {{addr("10.0.0.1"), 1}, {addr("10.0.0.2"), 1}};
	auto t = build(b, 1009);
	auto fp = maglev_fingerprint(b, t);
	EXPECT_EQ(format_fingerprint(fp).size(), 16u);
	EXPECT_EQ(format_fingerprint(0x1234abcdull), "000000001234abcd");

	// Proportional weights build the same table and so the same fingerprint.
	auto b2 = b;
	b2[0].weight = b2[1].weight = 7;
	auto t2 = build(b2, 1009);
	EXPECT_EQ(t2, t);
	EXPECT_EQ(maglev_fingerprint(b2, t2), fp);

	// The same indices naming other addresses decide differently.
	auto b3 = b;
	b3[1].address = addr("10.0.0.3");
	EXPECT_NE(maglev_fingerprint(b3, t), fp);

	// One slot changed.
	auto t4 = t;
	t4[500] ^= 1;
	EXPECT_NE(maglev_fingerprint(b, t4), fp);
}

TEST(maglev, rejects_bad_input_with_a_message)
{
	std::vector<maglev_backend> good = {{addr("10.0.0.1"), 1}, {addr("10.0.0.2"), 1}};
	auto expect_error = [](auto r, const char *needle) {
		ASSERT_FALSE(r);
		EXPECT_NE(r.error_message().find(needle), std::string::npos) << r.error_message();
	};
	expect_error(build_maglev_table(good, 65536, 1), "not a prime");
	expect_error(build_maglev_table(good, 0, 1), "not a prime");
	expect_error(build_maglev_table(good, 1, 1), "not a prime");
	expect_error(build_maglev_table(good, 655379, 1), "exceeds the maximum");  // prime, too large
	expect_error(build_maglev_table({}, 65537, 1), "no usable backend");
	std::vector<maglev_backend> zero = {{addr("10.0.0.1"), 0}, {addr("10.0.0.2"), 0}};
	expect_error(build_maglev_table(zero, 65537, 1), "no usable backend");
	std::vector<maglev_backend> unsorted = {{addr("10.0.0.2"), 1}, {addr("10.0.0.1"), 1}};
	expect_error(build_maglev_table(unsorted, 65537, 1), "sorted");
	std::vector<maglev_backend> v6_first = {{addr("fd00::1"), 1}, {addr("10.0.0.1"), 1}};
	expect_error(build_maglev_table(v6_first, 65537, 1), "sorted");
	std::vector<maglev_backend> dup = {{addr("10.0.0.1"), 1}, {addr("10.0.0.1"), 2}};
	expect_error(build_maglev_table(dup, 65537, 1), "duplicates");
	EXPECT_TRUE(build_maglev_table(good, WEIR_MAGLEV_MAX_SIZE, 1));
	EXPECT_TRUE(build_maglev_table(good, 2, 1));
}
