// xdp_rig.h — what the XDP engine's tests and benchmark share: a fixture world
// turned into a snapshot as the daemon builds it, the C++ pipeline of one worker
// to compare the program with, and the program's counters summed over CPUs.
// Test code; one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fixtures.h"
#include "pipeline.h"
#include "result.h"
#include "snapshot_builder.h"
#include "xdp_program.h"

namespace weir::test {

// The snapshot of world `w` (its configuration text and host facts).
result<std::shared_ptr<const dp::snapshot>> world_snapshot(const world &w, ctl::backend_registry &registry,
                                                           const dp::snapshot *previous);

// One frame's fate.
struct outcome {
	uint8_t verdict = 0;  // enum weir_verdict
	frame out;  // as left by the engine (TX, PASS)
};

// enum weir_verdict of an XDP action; 0xff for anything else.
uint8_t verdict_of_xdp(uint32_t action);

// The DPDK engine's packet core for one worker, fed one frame at a time.
class cpp_engine {
public:
	cpp_engine();
	outcome run(const dp::snapshot &s, const frame &in, uint32_t headroom, uint32_t now);
	const dp::worker_counters &counters() const { return _ctr; }
	const dp::flow_table &flows() const { return *_flows; }

private:
	std::unique_ptr<dp::flow_table> _flows;
	dp::worker_counters _ctr;
	std::unique_ptr<dp::pipeline> _pipe;
};

// weir_lb through BPF_PROG_TEST_RUN on the calling CPU.
outcome run_program(const xdp::program &p, const frame &in);

// Counter `index` (enum weir_xdp_counter) summed over CPUs.
uint64_t xdp_counter(const xdp::program &p, uint32_t index);

// Pins the calling thread to one CPU: per-CPU state (wrr positions, ICMP
// budgets) must be one CPU's across test runs. "" or why not.
std::string pin_to_cpu(unsigned cpu);

}  // namespace weir::test
