// generator.h — weir_pktgen's send/receive loop over one DPDK port: paced or
// flat-out TX of a frame_plan's frames, RX checks of the replies, counters.
// Everything here runs on the generator's one lcore.
#pragma once

#include <cstdint>
#include <vector>

#include "frames.h"
#include "histogram.h"
#include "port.h"

struct rte_mbuf;

namespace weir::bench {

struct run_counts {
	uint64_t sent = 0;  // accepted by the TX queue: offered to the device
	uint64_t refused = 0;  // TX bursts the full TX queue refused at least in part
	uint64_t received = 0;
	uint64_t verdicts[size_t(verdict::count)] = {};
	std::vector<uint64_t> per_backend;
	uint64_t moved = 0;  // replies of a flow seen at another backend before
	histogram latency_ns;
	double seconds = 0;  // of the sending phase
};

class generator {
public:
	generator(const dpdk_port &port, const frame_plan &plan, const reply_check &rc);

	// Sends every flow once (so an established run meets tracked flows), then
	// drains the replies. Its counts are kept apart from the run's.
	run_counts warm_up();
	// Sends for `seconds` at `mpps` (0: as fast as the TX queue takes frames),
	// then collects the replies still in flight.
	run_counts run(double seconds, double mpps);

private:
	uint16_t send(run_counts &c, uint16_t want);
	void drop_pending();
	void receive(run_counts &c);
	void drain(run_counts &c);
	uint32_t next_flow(uint32_t &pass);

	const dpdk_port &_port;
	const frame_plan &_plan;
	const reply_check &_rc;
	uint64_t _hz;
	uint32_t _cursor = 0, _stride = 1;
	uint32_t _left = 0;  // flows left in this pass
	uint32_t _pass = 0, _passes = 1;  // SYN-only: a new pass, new 5-tuples
	// Frames built but refused by a full TX queue, sent first next time: when the
	// device is the bottleneck the generator does not rebuild frames it could not
	// offer (their stamp is when they were built: at most a loop turn earlier).
	rte_mbuf *_pending[burst] = {};
	uint16_t _pending_n = 0;
	std::vector<uint8_t> _flow_backend;  // per flow: 0 unseen, else backend index + 1
};

}  // namespace weir::bench
