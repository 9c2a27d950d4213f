// xdp_engine.h — the XDP engine: weir_lb.bpf.o attached to one interface (the
// data port, shared with the kernel: what is not for a VIP is passed to it), fed
// with snapshots through its maps, its per-CPU counters shown as one worker per
// possible CPU.
//
// Threads: the control thread creates the engine and calls every member; the
// program runs on every CPU that receives packets on the interface; the engine's
// sweeper thread deletes expired flow entries once a second (program::sweep),
// touching nothing else.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine.h"
#include "result.h"
#include "xdp_program.h"

namespace weir::xdp {

struct xdp_options {
	std::string interface;
	bool generic = false;  // SKB mode: any interface, slow; native otherwise
	uint32_t flow_table_size = 1u << 20;
};

class xdp_engine final : public dp::engine {
public:
	// Loads the program and attaches it. Errors in one line: interface missing,
	// program rejected by the verifier, another XDP program already attached,
	// native XDP not supported by the driver.
	static result<std::unique_ptr<xdp_engine>> create(const xdp_options &opt);
	~xdp_engine() override;

	const char *name() const override { return "xdp"; }
	std::array<uint8_t, 6> port_mac() const override { return _mac; }
	status publish(std::shared_ptr<const dp::snapshot> s) override;
	std::vector<dp::worker_view> workers() const override;
	std::optional<dp::tracked_flow> find_flow(uint32_t hash, uint32_t sig) const override;
	uint64_t engine_drops(weir_drop_reason) const override { return 0; }
	void stop() override;

	int ifindex() const { return _ifindex; }
	// Why the last publish failed ("" when it did not): the previous snapshot
	// then stays in force.

private:
	xdp_engine() = default;
	void sweeper();

	std::unique_ptr<program> _prog;
	std::string _interface;
	int _ifindex = 0;
	uint32_t _attach_flags = 0;
	bool _attached = false;
	std::array<uint8_t, 6> _mac{};
	std::shared_ptr<const dp::snapshot> _current;
	// One per possible CPU, refreshed from the per-CPU maps by workers().
	mutable std::vector<dp::worker_counters> _counters;
	std::thread _sweeper;
	std::mutex _sweep_mutex;  // guards _stopping; the condition wakes the sweeper to stop
	std::condition_variable _sweep_wake;
	bool _stopping = false;
};

}  // namespace weir::xdp
