// flow_table.h — connection tracking of one DPDK worker: which backend each flow
// was given, so every later packet of the flow goes to the same backend (SPEC §5).
//
// Threads: one table per worker. Only its worker calls any non-const member
// (find, insert, refresh, retarget, erase, sweep); it takes no lock and does no
// atomic read-modify-write. Other threads only read: other workers read the
// per-backend counts (`active`) for least_conn, the control thread reads `active`
// and `flows_active` for status and metrics.
//
// Layout. A bucket is one 64-byte cache line holding 4 entries of 16 bytes
// ({sig, backend_ref, expires, state}); a lookup touches exactly one line, so a
// burst can prefetch every packet's bucket before looking any up. The table holds
// `capacity()` entries in a power-of-two number of buckets, allocated and zeroed
// once at creation (never grows; 2 MiB-aligned and on transparent huge pages when
// large, so a random lookup costs one cache miss and rarely a TLB miss):
//     1M entries (262144 buckets)  -> 16 MiB,
//     8M entries (2097152 buckets) -> 128 MiB,
// plus 256 KiB of per-backend counts (WEIR_MAX_BACKENDS x 4 bytes).
//
// Keys. The table never sees the 5-tuple: the pipeline passes two independent
// 32-bit hashes of it, `hash` (its low bits pick the bucket) and `sig` (compared
// with the entries' sig). sig 0 marks an empty slot, so a computed 0 is stored as
// 1. A different flow is taken for this one iff it lands in the same bucket AND
// has the same sig: for a new flow whose bucket holds k live entries (k <= 4) that
// happens with probability k / 2^32, at most 9.3e-10 per new flow: at 1M new
// flows per second into half-full buckets (k = 2), about once every 36 minutes.
// The victim flow is then sent where the other flow goes, so the pipeline checks
// that the entry's backend serves the packet's VIP before using it.
//
// Expiry. Time is the engine's coarse clock in seconds (uint32_t, wraps every
// 136 years; compared wrap-safely, so timeouts must stay below 2^31 s). An entry
// with expires == now is expired. Expired entries are reclaimed lazily: by a
// lookup that matches them, by an insert that needs their slot, and by `sweep`,
// which the engine calls with a few buckets per burst and more when idle, so
// `active` and `flows_active` count expired entries only until the sweep cursor
// (or a lookup) reaches them.
//
// Eviction. insert takes an empty slot first, then an expired one; a live entry
// is never evicted. When all 4 slots of the bucket are live, insert fails and
// counts `untracked`: the packet is still forwarded by the scheduler, untracked.
#pragma once

#include "counters.h"
#include "result.h"
#include "weir_abi.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace weir::dp {

// How the pipeline chose the entry's timeout; the table stores it, never reads it.
enum class flow_state : uint8_t {
	tcp = 0,
	tcp_closing = 1,  // FIN or RST seen
	udp = 2,
};

struct flow_entry {
	uint32_t sig;  // 0 = empty slot
	uint32_t backend_ref;  // generation << 16 | id (weir_abi.h)
	uint32_t expires;  // coarse clock, seconds
	flow_state state;
	uint8_t pad[3];
};
static_assert(sizeof(flow_entry) == 16, "4 entries per cache line");

inline constexpr unsigned flow_bucket_entries = 4;

struct alignas(64) flow_bucket {
	flow_entry entries[flow_bucket_entries];
};
static_assert(sizeof(flow_bucket) == 64, "a bucket is one cache line");

// A flow table's event counts as read at one moment (flow_table::counters()).
struct flow_counters {
	uint64_t inserted = 0;  // new entries
	uint64_t expired = 0;  // entries reclaimed after their expiry
	uint64_t erased = 0;  // entries removed by erase()
	uint64_t untracked = 0;  // inserts refused because the bucket held 4 live entries
	uint64_t rechosen = 0;  // flows moved to another backend by retarget()
};

class flow_table {
public:
	// Entries per table are at most 2^28 (4 GiB of buckets): far above any real
	// flow_table_size, and it keeps the bucket count's arithmetic in 32 bits.
	static constexpr uint32_t max_entries = 1u << 28;

	// A table of at least `entries` entries (rounded up to a power-of-two number
	// of buckets), zeroed. Errors: 0 or more than max_entries, or out of memory.
	static result<std::unique_ptr<flow_table>> create(uint32_t entries);

	~flow_table();
	flow_table(const flow_table &) = delete;
	flow_table &operator=(const flow_table &) = delete;

	// Starts loading the bucket of `hash`; the burst loop calls it for every
	// packet before the first find, so the lookups overlap their cache misses.
	void prefetch(uint32_t hash) const { __builtin_prefetch(&_buckets[hash & _mask], 1, 3); }

	// The live entry of the flow, or nullptr; a matching expired entry is
	// reclaimed here. The entry stays the flow's until it expires or is erased,
	// so the pipeline may hold the pointer for the rest of the burst, not longer.
	//
	// The four sigs are compared without a branch per slot: which slot holds a
	// flow is random, and mispredicted branches cost more than the compares
	// (bench/flow_table_bench.cpp, 2-core EPYC VM: a prefetched lookup in a
	// half-full 1M-entry table 11.4 -> 8.2 ns, in cache 7.5 -> 3.0 ns). Without
	// the prefetch a branchy loop would win (17 vs 39 ns at 1M entries), as the
	// CPU runs ahead on the predicted slot into the next lookup's miss: the burst
	// loop always prefetches.
	flow_entry *find(uint32_t hash, uint32_t sig, uint32_t now)
	{
		sig = stored_sig(sig);
		flow_bucket &b = _buckets[hash & _mask];
		unsigned match = 0;
		for (unsigned i = 0; i < flow_bucket_entries; i++)
			match |= unsigned(b.entries[i].sig == sig) << i;
		if (!match)
			return nullptr;
		flow_entry &e = b.entries[__builtin_ctz(match)];
		if (WEIR_LIKELY(!is_expired(e.expires, now)))
			return &e;
		reclaim_expired(e);
		return nullptr;
	}

	// For the control thread (explain): the flow's live entry as read now, without
	// reclaiming anything. The worker may change the entry meanwhile; the fields
	// are read one by one with relaxed atomic loads, so the copy is a recent state
	// of each field, not torn within one.
	std::optional<flow_entry> peek(uint32_t hash, uint32_t sig, uint32_t now) const
	{
		sig = stored_sig(sig);
		const flow_bucket &b = _buckets[hash & _mask];
		for (const flow_entry &e : b.entries) {
			if (__atomic_load_n(&e.sig, __ATOMIC_RELAXED) != sig)
				continue;
			flow_entry copy{};
			copy.sig = sig;
			copy.backend_ref = __atomic_load_n(&e.backend_ref, __ATOMIC_RELAXED);
			copy.expires = __atomic_load_n(&e.expires, __ATOMIC_RELAXED);
			copy.state = flow_state(__atomic_load_n(reinterpret_cast<const uint8_t *>(&e.state),
			                                        __ATOMIC_RELAXED));
			if (is_expired(copy.expires, now))
				return std::nullopt;
			return copy;
		}
		return std::nullopt;
	}

	// Tracks a new flow and returns its entry, or nullptr (counted `untracked`)
	// when its bucket holds 4 live entries. If the flow already has a live entry
	// (an earlier packet of the same burst inserted it), that entry is returned
	// unchanged: the caller forwards by its backend_ref. A bucket never holds two
	// entries with the same sig.
	flow_entry *insert(uint32_t hash, uint32_t sig, uint32_t backend_ref, uint32_t expires,
	                   flow_state state, uint32_t now)
	{
		sig = stored_sig(sig);
		flow_entry *empty = nullptr;
		flow_entry *expired = nullptr;
		for (flow_entry &e : _buckets[hash & _mask].entries) {
			if (e.sig == 0) {
				empty = empty ? empty : &e;
			} else if (!is_expired(e.expires, now)) {
				if (e.sig == sig)
					return &e;
			} else if (e.sig == sig) {
				reclaim_expired(e);  // this flow's old entry: never leave a duplicate
				empty = empty ? empty : &e;
			} else {
				expired = expired ? expired : &e;
			}
		}
		flow_entry *slot = empty ? empty : expired;
		if (WEIR_UNLIKELY(!slot)) {
			_counters.untracked.inc();
			return nullptr;
		}
		if (slot == expired)
			reclaim_expired(*slot);
		*slot = flow_entry{sig, backend_ref, expires, state, {}};
		count_add(backend_ref);
		_counters.inserted.inc();
		return slot;
	}

	void refresh(flow_entry *e, uint32_t expires, flow_state state)
	{
		e->expires = expires;
		e->state = state;
	}

	// The flow's backend was removed or is down: it now goes to `new_ref`.
	void retarget(flow_entry *e, uint32_t new_ref)
	{
		count_sub(e->backend_ref);
		count_add(new_ref);
		e->backend_ref = new_ref;
		_counters.rechosen.inc();
	}

	void erase(flow_entry *e)
	{
		count_sub(e->backend_ref);
		e->sig = 0;
		_counters.erased.inc();
	}

	// Reclaims the expired entries of the next `buckets` buckets after the
	// cursor (all of them at most) and returns how many it reclaimed.
	uint32_t sweep(uint32_t buckets, uint32_t now);

	// Entries held for this backend id (live, or expired and not yet reclaimed).
	// Any thread.
	uint32_t active(uint32_t backend_id) const
	{
		return _active[backend_id & (WEIR_MAX_BACKENDS - 1)].load(std::memory_order_relaxed);
	}
	// Entries held in the whole table. Any thread.
	uint64_t flows_active() const { return _flows_active.load(std::memory_order_relaxed); }

	// The owning worker's counters, as read now. Any thread.
	flow_counters counters() const
	{
		return {_counters.inserted.get(), _counters.expired.get(), _counters.erased.get(),
		        _counters.untracked.get(), _counters.rechosen.get()};
	}
	size_t capacity() const { return (size_t(_mask) + 1) * flow_bucket_entries; }
	size_t buckets() const { return size_t(_mask) + 1; }
	// Memory owned by the table: buckets plus the per-backend counts.
	size_t bytes() const;

	// Wrap-safe: valid while entries are reclaimed within 2^31 s of expiring.
	static bool is_expired(uint32_t expires, uint32_t now) { return int32_t(expires - now) <= 0; }
	// The sig stored for a computed sig (0 means empty, so 0 is stored as 1).
	static uint32_t stored_sig(uint32_t sig) { return sig | uint32_t(sig == 0); }

private:
	flow_table(flow_bucket *buckets, uint32_t mask, std::unique_ptr<std::atomic<uint32_t>[]> active);

	// The counts are written only here, by the owner, with a relaxed load and
	// store: a single writer needs no read-modify-write. Relaxed orders nothing
	// else: readers get a recent value of each count, which is all least_conn and
	// metrics need, and never a torn one.
	void count_add(uint32_t ref)
	{
		std::atomic<uint32_t> &a = _active[WEIR_BACKEND_ID(ref)];
		a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
		_flows_active.store(_flows_active.load(std::memory_order_relaxed) + 1,
		                    std::memory_order_relaxed);
	}
	void count_sub(uint32_t ref)
	{
		std::atomic<uint32_t> &a = _active[WEIR_BACKEND_ID(ref)];
		a.store(a.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
		_flows_active.store(_flows_active.load(std::memory_order_relaxed) - 1,
		                    std::memory_order_relaxed);
	}
	void reclaim_expired(flow_entry &e)
	{
		count_sub(e.backend_ref);
		e.sig = 0;
		_counters.expired.inc();
	}

	flow_bucket *_buckets;
	uint32_t _mask;  // buckets - 1
	uint32_t _sweep_cursor = 0;  // next bucket sweep() visits
	// Written only by the owner (relaxed load + store, see counters.h), read by
	// the control thread through counters().
	struct {
		counter inserted, expired, erased, untracked, rechosen;
	} _counters;
	std::atomic<uint64_t> _flows_active{0};  // see count_add for its ordering
	std::unique_ptr<std::atomic<uint32_t>[]> _active;  // WEIR_MAX_BACKENDS counts, by backend id
};

}  // namespace weir::dp
