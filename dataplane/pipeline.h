// pipeline.h — the per-packet decision of weir, engine-agnostic: a burst of
// frames in, a verdict per frame out, frames rewritten in place (encapsulated,
// MAC-rewritten, or turned into an ICMP error). The DPDK engine wraps it around
// its mbufs; tests and benchmarks drive it directly.
//
// Threads: one pipeline per worker, used only by that worker. It writes only its
// own flow table, counters and scheduler state; it reads the published snapshot
// and, for least_conn, the per-backend counts of its peers' flow tables.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "counters.h"
#include "flow_table.h"
#include "snapshot.h"
#include "weir_packet.h"
#include "weir_verdict.h"

namespace weir::dp {

// A frame in a buffer with room before it. The pipeline may move `data` earlier
// (encapsulation) and change `len`; it never writes before data - headroom or
// past data + len (except when len shrinks).
struct frame {
	uint8_t *data;
	uint32_t len;
	uint32_t headroom;
	// Set by the pipeline on a TX verdict when the frame is an ICMP error weir
	// wrote in place of the packet: counted as that packet's drop (mtu_exceeded)
	// and in icmp_sent, not as forwarded.
	bool icmp_reply = false;
};

class pipeline {
public:
	static constexpr uint32_t max_burst = 64;

	pipeline(flow_table &flows, worker_counters &counters);

	// The flow tables whose per-backend counts least_conn adds up: every worker's
	// (this one's included). Without peers, this worker's table alone is used.
	void set_peers(std::vector<const flow_table *> peers) { _peers = std::move(peers); }

	// Decides `n` (at most max_burst) frames against snapshot `s` at coarse time
	// `now` (seconds): verdicts[i] is a weir_verdict for frames[i].
	void process(const snapshot &s, frame *frames, uint8_t *verdicts, uint32_t n, uint32_t now);

private:
	struct packet;  // per-packet state of one burst (pipeline.cpp)

	void classify(const snapshot &s, packet &p, frame &f);
	uint8_t decide(const snapshot &s, packet &p, frame &f, uint32_t now);
	uint8_t track(const snapshot &s, packet &p, frame &f, uint32_t now);
	uint32_t schedule(const snapshot &s, const weir_vip &v, const packet &p);
	uint32_t least_conn(const snapshot &s, const weir_vip &v) const;
	// The VIP's Maglev choice, by the hash its scheduler uses (source address for
	// maglev_src, the 5-tuple otherwise): what untracked packets follow.
	uint32_t consistent(const snapshot &s, const weir_vip &v, const packet &p) const;
	const weir_backend *untracked_choice(const snapshot &s, const packet &p,
	                                     const weir_backend *chosen) const;
	uint8_t forward(const snapshot &s, packet &p, frame &f, const weir_backend &b, uint32_t now);
	uint8_t too_big(const snapshot &s, packet &p, frame &f, uint32_t overhead, uint32_t now);
	uint8_t drop(uint32_t reason);

	flow_table &_flows;
	worker_counters &_ctr;
	std::vector<const flow_table *> _peers;
	std::unique_ptr<uint32_t[]> _wrr_cursor;  // by VIP id: position in the VIP's rotation
	uint32_t _icmp_second = 0;
	uint32_t _icmp_budget = 0;
	bool _icmp_primed = false;  // _icmp_second holds a second already
};

}  // namespace weir::dp
