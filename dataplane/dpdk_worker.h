// dpdk_worker.h — a DPDK worker's state and its burst loop. Everything in a
// worker is written only by its own lcore; the control thread reads counters and
// flow-table counts (relaxed atomics).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "dpdk_engine.h"
#include "flow_table.h"
#include "pipeline.h"

struct rte_rcu_qsbr;

namespace weir::dp {

struct dpdk_engine::worker {
	worker(dpdk_engine &e, uint32_t i, unsigned lc, std::unique_ptr<flow_table> ft)
	    : engine(e), index(i), lcore(lc), flows(std::move(ft)), pipe(*flows, counters)
	{}
	dpdk_engine &engine;
	uint32_t index;  // queue pair and RCU thread id
	unsigned lcore;
	uint16_t port = 0;
	uint16_t tap = UINT16_MAX;
	std::unique_ptr<flow_table> flows;
	worker_counters counters;
	pipeline pipe;
};

// The loop: receive a burst, run the pipeline, transmit, pass the rest to the
// TAP, forward the kernel's packets from the TAP out of the port, report
// quiescence. Returns when `stop` is set.
void run_worker(dpdk_engine::worker &w, const std::atomic<const snapshot *> &published,
                const std::atomic<bool> &stop, rte_rcu_qsbr *qsbr);

}  // namespace weir::dp
