// snapshot_builder.h — turns the configuration (and, later, health and socket
// edits) into the immutable snapshot the workers read (dataplane/snapshot.h).
// Control thread only: the registry and the builder are its state.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config.h"
#include "ip_addr.h"
#include "result.h"
#include "snapshot.h"

namespace weir::ctl {

// Stable backend ids. A (VIP, backend address) pair keeps its id and `ref` for as
// long as it stays configured, so flow entries stay valid across snapshots; an id
// freed by a removal is reused with the next generation, so flows of the removed
// backend never follow the id to its new owner (weir_abi.h).
class backend_registry {
public:
	// The ref of the pair, allocating one if it is new. Errors when all
	// WEIR_MAX_BACKENDS ids are taken.
	result<uint32_t> acquire(const std::string &vip, const ip_addr &backend);
	// Frees every pair not in `keep` (called once per built snapshot).
	void retain(const std::vector<std::pair<std::string, ip_addr>> &keep);

	// The counter id of a VIP name (weir_vip.counter_id): the same while the
	// name stays configured; a freed id is handed out again only after every
	// other one, since workers' counters under it still hold the old totals.
	result<uint16_t> acquire_vip(const std::string &name);
	// Frees every VIP name not in `keep`.
	void retain_vips(const std::vector<std::string> &keep);

private:
	std::map<std::pair<std::string, ip_addr>, uint32_t> _refs;
	std::vector<uint16_t> _generation = std::vector<uint16_t>(WEIR_MAX_BACKENDS, 0);
	std::vector<bool> _used = std::vector<bool>(WEIR_MAX_BACKENDS, false);
	uint32_t _next = 1;  // id 0 is never used: ref 0 means "no backend"
	std::map<std::string, uint16_t> _vip_ids;
	std::vector<bool> _vip_used = std::vector<bool>(WEIR_MAX_VIPS, false);
	uint32_t _vip_next = 0;
};

// What the snapshot needs beyond the configuration: facts about the host.
struct host_facts {
	mac_addr port_mac{};  // the data port's MAC
	// Next-hop MAC resolution (the kernel's neighbour table; a map in tests).
	// nullopt: not resolved yet; the data path drops as no_next_hop meanwhile.
	std::function<std::optional<mac_addr>(const ip_addr &)> resolve;
	uint32_t icmp_rate = 1000;  // ICMP errors per second per worker
	// Health: true when the VIP's backend is down (health checks). A down
	// backend gets no new flows and loses its tracked ones, unless every backend
	// of its VIP that could take new flows is down: then the VIP fails open and
	// uses all of them (SPEC §6). Unset: every backend is up.
	std::function<bool(const std::string &vip, const ip_addr &backend)> is_down;
};

// The address whose MAC a backend's frames go to: the backend itself when it is
// on-link (or with l2dsr), else the gateway of its family; nullopt when there is
// none to learn (an l2dsr backend with a configured mac, or no gateway).
std::optional<ip_addr> next_hop(const config &cfg, const vip_config &vip, const backend_config &b);

// Builds the snapshot for `cfg`. Tables of VIPs whose backends, weights and table
// size did not change since `previous` are shared with it by pointer.
result<std::shared_ptr<const dp::snapshot>> build_snapshot(const config &cfg, const host_facts &host,
                                                           backend_registry &registry,
                                                           const dp::snapshot *previous);

// The smooth weighted round robin order of `weights` (backend indexes), reduced
// by their greatest common divisor and scaled down to at most `max_len` entries.
std::vector<uint32_t> wrr_rotation(const std::vector<uint32_t> &weights, uint32_t max_len = 1u << 16);

}  // namespace weir::ctl
