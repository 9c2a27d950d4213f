// maglev.cpp — the weighted Maglev table builder. Pure functions, called by the
// control thread while it builds a snapshot; nothing here is shared.
//
// Algorithm (Maglev, NSDI 2016, §3.4, with exact weighted quotas):
//  1. Quotas. Backend i gets q_i = floor(M × w_i / W) slots (M the table size, W
//     the sum of weights); the M − Σq_i slots left over go one each to the
//     backends with the largest remainders (M × w_i mod W), ties to the lower
//     index. So Σq_i = M and every q_i is within one slot of M × w_i / W.
//  2. Permutations. Each backend hashes its 16 address bytes and its family with
//     weir_hash_words under two seeds derived from the cluster seed: offset =
//     h1 mod M, skip = h2 mod (M − 1) + 1. Its preference list is slot
//     (offset + j × skip) mod M for j = 0, 1, ...: a permutation of all slots
//     because M is prime. Entries are computed as the walk goes (one cursor per
//     backend), never stored as an N × M table.
//  3. Turns. A backend's k-th turn happens at time k / w_i, so backends walk in
//     proportion to their weights; equal times go to the heavier backend, then to
//     the lower index (equal weights: round robin in address order, as in the
//     paper). On a turn a backend looks at the next entry of its permutation and
//     claims the slot if it is free. It stops once it holds its quota.
//
// Why quotas: the walk decides which slots a backend gets but, with weights, not
// reliably how many; counting claims against an exact quota makes "within one
// slot of the weighted share" true by construction.
//
// Why one entry per turn, where the paper's walk skips ahead to the first free
// slot: a slot then goes to the backend that reaches it first in weighted time,
// whatever that backend claimed before, until backends start meeting their quotas.
// Adding, removing or reweighting one backend therefore moves other backends'
// slots only through the end of the build (who meets its quota when), not through
// every later claim. Measured when this was chosen (slots moved among the other
// backends when one of N is removed, mean, skipping walk → this walk): N = 10,
// M = 1009: 2.4% → 1.2% of M; N = 100, M = 10007: 1.7% → 0.8%; N = 1000,
// M = 65537: 0.57% → 0.34%; build time about 1.3x.
//
// It terminates with every slot filled: a free slot has not been looked at by
// any backend still walking (it would have taken it), so each of them reaches it
// within M turns, and the quotas sum to M.
//
// Why turn times k / w_i rather than k / q_i: they do not depend on the other
// backends, so a change elsewhere does not reorder a backend's walk.
//
// Cost: memory is the table, 4 bytes × M (65537 → 256 KiB, 655373 → 2.5 MiB),
// plus a bitmap of taken slots (M / 8 bytes: 8 KiB, 80 KiB) and O(N) state (per
// backend quota, remainder, cursor, skip; a heap of weight groups). Time is about
// M·ln M permutation steps (bench/maglev_bench.cpp: 1.5 ms for M = 65537, N =
// 1000, equal weights); many distinct weights add a heap operation per group turn
// (about 10 ms with weights 1..100).
#include "maglev.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace weir::ctl {

namespace {

// The second hash's seed differs from the first for every cluster seed.
constexpr uint32_t skip_seed_delta = 0x9e3779b9u;

// One backend's walk along its permutation of the slots.
struct walker {
	uint32_t index;  // into the sorted backend array
	uint32_t quota;  // slots still to claim
	uint32_t cursor;  // next slot of its permutation
	uint32_t skip;
};

// Backends of one weight share their turn times; they take each turn in index order.
struct turn_group {
	uint32_t weight;
	std::vector<walker> members;  // index order; members drop out when their quota is met
};

class slot_bitmap {
public:
	explicit slot_bitmap(uint32_t size) : _words((size + 63) / 64, 0) {}
	bool test(uint32_t slot) const { return (_words[slot >> 6] >> (slot & 63)) & 1; }
	void set(uint32_t slot) { _words[slot >> 6] |= uint64_t{1} << (slot & 63); }

private:
	std::vector<uint64_t> _words;
};

status check_inputs(std::span<const maglev_backend> backends, uint32_t size)
{
	if (size > WEIR_MAGLEV_MAX_SIZE)
		return error{"Maglev table size " + std::to_string(size) + " exceeds the maximum " +
		             std::to_string(WEIR_MAGLEV_MAX_SIZE) + "; use a prime such as 65537"};
	if (!is_prime(size))
		return error{"Maglev table size " + std::to_string(size) +
		             " is not a prime; use a prime such as 65537 (default) or 655373"};
	for (size_t i = 1; i < backends.size(); i++) {
		if (!(backends[i - 1].address < backends[i].address))
			return error{"Maglev backends must be sorted by address without duplicates: " +
			             backends[i].address.to_string() + " comes after " +
			             backends[i - 1].address.to_string()};
	}
	bool usable =
	        std::any_of(backends.begin(), backends.end(), [](const auto &b) { return b.weight > 0; });
	if (!usable)
		return error{
		        "no backend with weight > 0: the VIP has no usable backend; publish it without a "
		        "table so its new flows are dropped as 'no usable backend', or give a backend a "
		        "weight"};
	return ok();
}

// Largest-remainder apportionment of `size` slots by weight.
std::vector<uint32_t> compute_quotas(std::span<const maglev_backend> backends, uint32_t size)
{
	uint64_t total = 0;
	for (const auto &b : backends)
		total += b.weight;
	std::vector<uint32_t> quotas(backends.size());
	std::vector<uint64_t> remainders(backends.size());
	std::vector<uint32_t> order;
	uint64_t given = 0;
	for (uint32_t i = 0; i < backends.size(); i++) {
		uint64_t share = uint64_t{size} * backends[i].weight;  // < 2^52
		quotas[i] = static_cast<uint32_t>(share / total);
		remainders[i] = share % total;
		given += quotas[i];
		if (backends[i].weight > 0)
			order.push_back(i);
	}
	uint64_t left = size - given;  // < number of weighted backends
	std::stable_sort(order.begin(), order.end(),
	                 [&](uint32_t a, uint32_t b) { return remainders[a] > remainders[b]; });
	for (uint64_t k = 0; k < left; k++)
		quotas[order[k]]++;
	return quotas;
}

walker make_walker(const maglev_backend &b, uint32_t index, uint32_t quota, uint32_t size, uint32_t seed)
{
	uint32_t words[5];
	std::memcpy(words, b.address.bytes.data(), 16);
	words[4] = b.address.family;
	uint32_t offset = weir_hash_words(words, 5, seed) % size;
	uint32_t skip = size > 1 ? weir_hash_words(words, 5, seed + skip_seed_delta) % (size - 1) + 1 : 1;
	return walker{index, quota, offset, skip};
}

// Groups of equal weight, heaviest first; members in index order.
std::vector<turn_group> make_groups(std::span<const maglev_backend> backends,
                                    std::span<const uint32_t> quotas, uint32_t size, uint32_t seed)
{
	std::vector<uint32_t> order;
	for (uint32_t i = 0; i < backends.size(); i++)
		if (quotas[i] > 0)
			order.push_back(i);
	std::stable_sort(order.begin(), order.end(),
	                 [&](uint32_t a, uint32_t b) { return backends[a].weight > backends[b].weight; });
	std::vector<turn_group> groups;
	for (uint32_t i : order) {
		if (groups.empty() || groups.back().weight != backends[i].weight)
			groups.push_back(turn_group{backends[i].weight, {}});
		groups.back().members.push_back(make_walker(backends[i], i, quotas[i], size, seed));
	}
	return groups;
}

// One turn of a group: each member looks at the next entry of its permutation.
void take_turn(turn_group &g, std::vector<uint32_t> &table, slot_bitmap &taken)
{
	const uint32_t size = static_cast<uint32_t>(table.size());
	uint32_t *slots = table.data();
	walker *members = g.members.data();
	size_t kept = 0, count = g.members.size();
	for (size_t i = 0; i < count; i++) {
		walker w = members[i];  // a copy: stores to the table cannot alias it
		uint32_t c = w.cursor;
		if (!taken.test(c)) {
			taken.set(c);
			slots[c] = w.index;
			w.quota--;
		}
		c += w.skip;
		w.cursor = c >= size ? c - size : c;
		if (w.quota > 0)
			members[kept++] = w;
	}
	g.members.resize(kept);
}

// A group's next turn in the schedule: turn number `turns` at time turns / weight.
struct next_turn {
	uint64_t turns;
	uint32_t weight;
	uint32_t group;
};

// Exact comparison of turns_a / weight_a with turns_b / weight_b (turns < 2^32,
// so the products fit); equal times go to the heavier group. Weights of groups
// differ, so this is a strict total order.
bool before(const next_turn &a, const next_turn &b)
{
	uint64_t ta = a.turns * b.weight, tb = b.turns * a.weight;
	return ta != tb ? ta < tb : a.weight > b.weight;
}

// Restores the min-heap after the top entry's time grew. One sift instead of
// pop + push: the fill loop does this once per turn.
void sift_down(std::vector<next_turn> &heap)
{
	size_t i = 0, n = heap.size();
	next_turn moving = heap[0];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= n)
			break;
		if (child + 1 < n && before(heap[child + 1], heap[child]))
			child++;
		if (!before(heap[child], moving))
			break;
		heap[i] = heap[child];
		i = child;
	}
	heap[i] = moving;
}

// Runs the groups' turns in time order until every member holds its quota.
std::vector<uint32_t> fill_table(std::vector<turn_group> &groups, uint32_t size)
{
	std::vector<uint32_t> table(size, UINT32_MAX);  // an unclaimed slot would be invalid
	slot_bitmap taken(size);
	std::vector<next_turn> heap;
	for (uint32_t g = 0; g < groups.size(); g++)
		heap.push_back(next_turn{0, groups[g].weight, g});
	auto after = [](const next_turn &a, const next_turn &b) { return before(b, a); };
	std::make_heap(heap.begin(), heap.end(), after);
	while (!heap.empty()) {
		turn_group &g = groups[heap[0].group];
		take_turn(g, table, taken);
		if (g.members.empty()) {
			std::pop_heap(heap.begin(), heap.end(), after);
			heap.pop_back();
			continue;
		}
		heap[0].turns++;
		sift_down(heap);
	}
	return table;
}

}  // namespace

bool is_prime(uint32_t n)
{
	if (n < 4)
		return n >= 2;
	if (n % 2 == 0 || n % 3 == 0)
		return false;
	for (uint64_t d = 5; d * d <= n; d += 6)
		if (n % d == 0 || n % (d + 2) == 0)
			return false;
	return true;
}

result<std::vector<uint32_t>> build_maglev_table(std::span<const maglev_backend> sorted_backends,
                                                 uint32_t size, uint32_t seed)
{
	if (auto st = check_inputs(sorted_backends, size); !st)
		return error{st.error_message()};
	auto quotas = compute_quotas(sorted_backends, size);
	auto groups = make_groups(sorted_backends, quotas, size, seed);
	return fill_table(groups, size);
}

uint64_t maglev_fingerprint(std::span<const maglev_backend> sorted_backends, std::span<const uint32_t> table)
{
	// FNV-1a (64-bit) over bytes in a fixed order, little-endian for integers.
	uint64_t h = 0xcbf29ce484222325ull;
	auto feed = [&h](uint8_t byte) {
		h ^= byte;
		h *= 0x100000001b3ull;
	};
	auto feed_u32 = [&feed](uint32_t v) {
		for (int i = 0; i < 4; i++)
			feed(static_cast<uint8_t>(v >> (8 * i)));
	};
	feed_u32(static_cast<uint32_t>(sorted_backends.size()));
	for (const auto &b : sorted_backends) {
		feed(b.address.family);
		for (uint8_t byte : b.address.bytes)
			feed(byte);
	}
	feed_u32(static_cast<uint32_t>(table.size()));
	for (uint32_t entry : table)
		feed_u32(entry);
	return h;
}

std::string format_fingerprint(uint64_t fingerprint)
{
	char buf[17];
	std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(fingerprint));
	return buf;
}

}  // namespace weir::ctl
