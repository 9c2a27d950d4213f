// fixtures.h — the packet-core behaviour table (STYLE.md principle 4): for every
// behaviour, a world (configuration and host facts), frames in, and the verdict,
// frame out, drop reason and counter movements weir must produce. Plain data, so
// that every engine runs the same table: the C++ pipeline (tests/fixture_test.cpp),
// the DPDK engine, and the XDP program through bpf_prog_test_run_opts. Test code
// only; the table is built once and then only read, by any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "packet_builder.h"
#include "weir_verdict.h"

namespace weir::test {

// Where a fixture runs: a configuration file's text plus what the control plane
// learns from the host (the data port's MAC, the kernel's neighbour table, the
// ICMP rate). Two worlds with the same name are the same world.
struct world {
	std::string name;
	std::string config;  // TOML, as weir reads it from a file
	mac_addr port_mac{};
	// Next-hop resolution: address (as text) -> MAC. An address missing here is
	// unresolved (the data path drops as no_next_hop).
	std::vector<std::pair<std::string, mac_addr>> neighbours;
	uint32_t icmp_rate = 1000;  // ICMP errors weir may send per second per worker
};

// Counters besides the drop counters that a step may move. A step lists the ones
// it moves; every counter it does not list must stay where it was. Engines
// without one of these (e.g. the XDP flow map has no `rechosen`) skip it.
enum class counter_id : uint8_t {
	tx_packets,  // frames forwarded to a backend (not ICMP errors weir sends)
	pass_packets,  // to the kernel
	icmp_sent,  // fragmentation needed / packet too big sent back
	icmp_rate_limited,
	icmp_forwarded,  // ICMP errors forwarded to the quoted flow's backend
	fragments_forwarded,  // by the 3-tuple hash
	untracked,  // forwarded without a flow-table entry (fragments, ICMP errors, full bucket)
	flows_inserted,  // connection-tracking entries created
	flows_expired,  // entries reclaimed after their timeout
	flows_rechosen,  // flows moved off a removed backend
	count
};

const char *to_string(counter_id id);

struct counter_delta {
	counter_id id;
	int64_t delta;
};

// One frame through the packet core.
struct step {
	std::optional<world> change;  // publish this world before the frame (same flow table)
	uint32_t now = 1000;  // the engine's coarse clock, seconds
	frame input;
	uint32_t headroom = 128;  // bytes free in front of the frame
	uint8_t verdict = WEIR_VERDICT_PASS;  // enum weir_verdict
	// TX: the frame as sent; PASS: the input unchanged; DROP: empty.
	frame output;
	// DROP: its reason; TX of an ICMP error weir generated: mtu_exceeded. Exactly
	// this drop counter moves by one, no other drop counter moves.
	std::optional<weir_drop_reason> reason;
	std::vector<counter_delta> counters;
};

struct fixture {
	std::string name;
	world start;
	std::vector<step> steps;
	// True when the steps depend on nothing but themselves: no world change, one
	// clock value, no scheduler state (wrr, least_conn) or ICMP budget shared with
	// other fixtures. Such fixtures of one world may run together in bursts.
	bool burst = true;
};

// The whole table; every name is unique.
std::vector<fixture> all_fixtures();

// Every input frame of the table, once each: the fuzzers' seed corpus.
std::vector<frame> fixture_inputs();

}  // namespace weir::test
