// dpdk_engine.h — the DPDK poll-mode engine: EAL, the one-armed data port, one RX
// and one TX queue per worker lcore, the exception TAP to the kernel, and the
// workers' burst loops around the packet core (pipeline.h).
//
// Threads. The control thread (the EAL main lcore) creates the engine, publishes
// snapshots and reads counters. Each worker lcore owns its queues, its flow table,
// its counters and its pipeline; nothing a worker writes is written by anyone
// else. Snapshots are published with a release store and reclaimed after an RCU
// grace period (rte_rcu_qsbr): workers report quiescence once per loop.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "pipeline.h"
#include "result.h"

struct rte_mempool;
struct rte_rcu_qsbr;

namespace weir::dp {

struct dpdk_options {
	std::vector<std::string> eal_args;  // after argv[0]
	std::string port;  // device name (vdev) or PCI address
	uint32_t workers = 1;
	uint32_t flow_table_size = 1u << 20;
	bool exception_path = true;
	std::string tap_name = "weir0";
	bool eal_ready = false;  // the caller (a test) initialised the EAL itself
	// Receives DPDK's own log lines (any thread); without it they are dropped.
	std::function<void(const std::string &)> log_line;
};

class dpdk_engine final : public engine {
public:
	// Initialises the EAL (unless eal_ready), finds and configures the port and
	// the TAP, allocates mempools and flow tables. Every failure is one line
	// naming the cause.
	static result<std::unique_ptr<dpdk_engine>> create(const dpdk_options &opt);
	~dpdk_engine() override;

	// Launches the workers on `first`.
	status start(std::shared_ptr<const snapshot> first);

	const char *name() const override { return "dpdk"; }
	std::array<uint8_t, 6> port_mac() const override { return _mac; }
	status publish(std::shared_ptr<const snapshot> s) override;
	std::vector<worker_view> workers() const override;
	std::optional<tracked_flow> find_flow(uint32_t hash, uint32_t sig) const override;
	uint64_t engine_drops(weir_drop_reason) const override { return 0; }
	void stop() override;

	// The kernel's name of the exception TAP ("" without exception path).
	const std::string &tap_name() const { return _tap_name; }

	struct worker;

private:
	dpdk_engine() = default;
	status setup_port(const dpdk_options &opt);
	status setup_tap(const dpdk_options &opt);
	static int worker_main(void *arg);

	uint16_t _port = 0;
	uint16_t _tap = UINT16_MAX;  // UINT16_MAX: no exception path
	std::string _tap_name;
	std::array<uint8_t, 6> _mac{};
	rte_mempool *_pool = nullptr;
	rte_rcu_qsbr *_qsbr = nullptr;
	std::vector<std::unique_ptr<worker>> _workers;
	std::shared_ptr<const snapshot> _current;  // owner of what _published points to
	std::atomic<const snapshot *> _published{
	        nullptr};  // release: a snapshot fully built before workers see it
	std::atomic<bool> _stop{false};
	bool _port_started = false;
	bool _started = false;
	bool _stopped = false;
};

}  // namespace weir::dp
