// counters.h — a worker's packet counters. Each worker owns one worker_counters
// and is its only writer; the control thread reads them (stats, metrics) while the
// worker runs. Single writer, so an increment is a relaxed load and a relaxed
// store, never a locked read-modify-write; relaxed atomics make the concurrent
// read well-defined and order nothing else (a reader may see one counter updated
// before another).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "weir_abi.h"
#include "weir_verdict.h"

namespace weir::dp {

class counter {
public:
	void add(uint64_t n) { _v.store(_v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
	void inc() { add(1); }
	void sub(uint64_t n) { add(-n); }  // unsigned wrap-around: exact
	uint64_t get() const { return _v.load(std::memory_order_relaxed); }

private:
	std::atomic<uint64_t> _v{0};
};

struct traffic_counters {
	counter packets;
	counter bytes;
};

struct worker_counters {
	counter rx_packets;
	counter rx_bytes;
	counter tx_packets;  // forwarded to a backend
	counter tx_bytes;
	counter pass_packets;  // to the kernel (not for a VIP)
	counter drops[WEIR_DROP__COUNT];
	counter icmp_sent;  // ICMP errors weir generated (fragmentation needed / packet too big)
	counter icmp_rate_limited;  // ICMP errors not sent because of the rate limit
	counter icmp_forwarded;  // ICMP errors to a VIP forwarded to the backend of the quoted flow
	counter fragments_forwarded;  // fragments forwarded by the 3-tuple hash
	counter untracked_collisions;  // new flows whose bucket and sig matched another VIP's flow
	counter untracked;  // forwarded without a flow-table entry (bucket full, fragments, ICMP)
	// The poll loop (DPDK engine): RX polls of the data port, those that found
	// nothing, and the timer cycles of those that found packets (receiving,
	// deciding, sending). busy / elapsed is how loaded the worker is: its core
	// shows 100 % either way.
	counter polls;
	counter empty_polls;
	counter busy_cycles;

	// Indexed by VIP id / backend id; allocated once for the maximum counts.
	std::unique_ptr<traffic_counters[]> vip{new traffic_counters[WEIR_MAX_VIPS]};
	std::unique_ptr<traffic_counters[]> backend{new traffic_counters[WEIR_MAX_BACKENDS]};
};

}  // namespace weir::dp
