// engine.h — what the control thread sees of a packet engine (DPDK or XDP): start
// it, publish snapshots to it, read its counters, stop it. The engine owns its
// workers and their state; the control thread calls every member here, from the
// one control thread only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "counters.h"
#include "flow_table.h"
#include "snapshot.h"

namespace weir::dp {

// A worker's state as the control thread may read it while the worker runs:
// its counters and flow table (relaxed atomics and single-writer fields; see
// counters.h and flow_table.h).
struct worker_view {
	unsigned lcore = 0;  // DPDK lcore, or CPU for XDP
	const worker_counters *counters = nullptr;
	const flow_table *flows = nullptr;  // null where the engine tracks flows elsewhere (XDP maps)
	uint64_t cycles_hz = 0;  // counters->busy_cycles per second; 0 where there is no poll loop (XDP)
};

// A flow's connection-tracking entry as `weirctl explain` reports it.
struct tracked_flow {
	uint32_t backend_ref = 0;  // generation << 16 | id (weir_abi.h)
	uint32_t expires_in = 0;  // seconds left before the entry expires
	unsigned worker = 0;  // index in workers() of the worker holding it; 0 where tracking is shared
	bool closing = false;  // FIN or RST seen: a new connection (SYN) on its 5-tuple is scheduled anew

	// A live entry of a flow_table as read at `now`.
	static tracked_flow of(const flow_entry &e, uint32_t now, unsigned worker)
	{
		return {e.backend_ref, e.expires - now, worker, e.state == flow_state::tcp_closing};
	}
};

class engine {
public:
	virtual ~engine() = default;

	virtual const char *name() const = 0;  // "dpdk" | "xdp"
	// The data port's MAC: the source of every frame weir sends.
	virtual std::array<uint8_t, 6> port_mac() const = 0;

	// Makes `s` the snapshot every worker uses from its next burst on. Returns
	// once no worker can still be reading the previous one, which is then freed
	// by the caller dropping its reference. On error (XDP: a map update failed)
	// the previous snapshot stays in force, whole.
	virtual status publish(std::shared_ptr<const snapshot> s) = 0;

	// Workers, for status, stats and metrics.
	virtual std::vector<worker_view> workers() const = 0;

	// The live entry of the flow with hashes `hash` and `sig` (weir_hash.h
	// weir_flow_hash_sig), if any worker tracks it. Read while workers run: the answer may
	// be a packet old.
	virtual std::optional<tracked_flow> find_flow(uint32_t hash, uint32_t sig) const = 0;

	// Engine-level drops outside the pipeline (e.g. TX queue full), by reason.
	virtual uint64_t engine_drops(weir_drop_reason reason) const = 0;

	// Stops the workers and releases the port (idempotent).
	virtual void stop() = 0;
};

}  // namespace weir::dp
