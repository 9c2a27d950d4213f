// xdp_program.h — the XDP engine's program and maps from user space: loads
// weir_lb.bpf.o (libbpf skeleton), publishes snapshots into its maps by a
// generation flip (weir_xdp_abi.h), reads its per-CPU counters and flow table.
// Attaching to an interface is xdp_engine's business.
//
// Threads: one owner thread (the control thread, or a test's main thread) calls
// every member; the program itself runs on every CPU meanwhile and only reads
// what publish() writes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "counters.h"
#include "result.h"
#include "snapshot.h"
#include "weir_xdp_abi.h"

struct weir_lb;

namespace weir::xdp {

struct program_options {
	uint32_t flow_table_size = 65536;  // entries of the shared LRU flow table
};

// A flow's entry as the program keeps it.
struct flow_view {
	uint32_t backend_ref = 0;
	uint32_t expires = 0;  // flow clock, seconds
	uint8_t state = 0;  // WEIR_XDP_FLOW_*
};

class program {
public:
	// Opens, sizes and loads the program: the verifier's verdict comes here, as
	// one line ("rejected by the verifier" and the log's last line).
	static result<std::unique_ptr<program>> load(const program_options &opt);
	~program();
	program(const program &) = delete;
	program &operator=(const program &) = delete;

	int prog_fd() const;
	uint32_t flow_capacity() const { return _flow_capacity; }

	// Writes `s` into the half of the maps no packet reads, flips the
	// generation, and returns once no packet can still be reading the old half
	// (an RCU grace period). Errors leave the running generation in place.
	status publish(const dp::snapshot &s);

	// Fixes the flow clock at `now` seconds (tests); 0 returns to the kernel's
	// monotonic clock.
	status set_clock(uint32_t now);
	// The flow clock as the program reads it now.
	uint32_t now() const;

	// Forgets all packet state: flows, least_conn counts, wrr positions, ICMP
	// budgets (tests run each fixture from a clean table).
	status reset_state();

	// Counter `index` (enum weir_xdp_counter) of each possible CPU.
	std::vector<uint64_t> counter(uint32_t index) const;
	// Fills per_cpu[c] (one per possible CPU) with CPU c's counters.
	void read_counters(std::vector<dp::worker_counters> &per_cpu) const;

	std::optional<flow_view> find_flow(uint32_t hash, uint32_t sig) const;

	// Visits up to `budget` flow entries, continuing where the last call
	// stopped (and starting over at the table's end), deletes the expired ones
	// and records them per backend in weir_swept, which least_conn subtracts:
	// entries no packet looks up again stop counting as active. Returns the
	// entries deleted. May run on a thread other than the owner's (xdp_engine's
	// sweeper): it touches only the flow table, weir_swept and its own cursor.
	uint32_t sweep(uint32_t budget);

	static unsigned possible_cpus();

private:
	program() = default;
	status write_backends(const dp::snapshot &s, uint32_t half);
	status write_vips(const dp::snapshot &s, uint32_t half);
	status write_tables(const dp::snapshot &s, uint32_t half);
	status write_keys(const dp::snapshot &s, uint32_t half);
	result<int> table_fd(const std::shared_ptr<const dp::vip_table> &t, bool rotation);
	status set_state(uint32_t generation, uint32_t fixed_now);
	void release_unused_tables();

	struct inner_table {
		std::shared_ptr<const dp::vip_table> table;  // keeps the key's address unique
		int fd = -1;
	};

	weir_lb *_skel = nullptr;
	uint32_t _flow_capacity = 0;
	uint32_t _generation = 0;  // the half packets read
	uint32_t _fixed_now = 0;
	int _fence_fd = -1;  // inner map stored in the fence slot
	// What each half holds, so the next write of that half can clear the rest.
	struct half_state {
		std::vector<uint32_t> backend_ids;
		uint32_t vip_backends = 0;
		std::vector<weir_xdp_vip_key> keys, addr_keys;
		std::vector<uint32_t> table_slots, rotation_slots;
		std::set<std::pair<const dp::vip_table *, bool>> tables;  // inner maps in use
	};
	half_state _halves[WEIR_XDP_GENERATIONS];
	std::map<std::pair<const dp::vip_table *, bool>, inner_table> _inner;
	// sweep()'s: its totals per backend id (what weir_swept holds) and the next
	// entry to visit.
	std::vector<uint32_t> _swept = std::vector<uint32_t>(WEIR_MAX_BACKENDS, 0);
	weir_xdp_flow_key _sweep_next{};
	bool _sweep_resume = false;
};

}  // namespace weir::xdp
