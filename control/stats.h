// stats.h — what `weirctl status` and `weirctl stats` show, as JSON: built by the
// control thread from the configuration, the published snapshot and the workers'
// counters and flow tables, which it only reads (relaxed loads: a reply may see
// one counter a few packets ahead of another, never a torn value). The daemon
// returns these objects from its control socket handlers.
//
// status_json:
//   version, engine, workers, uptime_seconds, config_file, generation,
//   vips: [{name, endpoint "ADDR:PORT/PROTO", address, port, protocol, scheduler,
//           forwarding, backends, usable_backends, fail_open, fingerprint}]
// stats_json:
//   totals:   {rx_packets, rx_bytes, tx_packets, tx_bytes, passed, dropped,
//              engine_dropped, flows_active, flow_capacity}
//   vips:     [{name, endpoint, packets, bytes, flows_active, fingerprint}]
//   backends: [{vip, address, weight, usable, flows_active, packets, bytes}]
//   workers:  [{lcore, rx_packets, rx_bytes, tx_packets, tx_bytes, passed, dropped,
//              flows_active, flow_capacity, occupancy_pct, untracked, expired, inserted,
//              polls, empty_polls, busy_seconds}]
//   drops:    {REASON: count} for every reason of weir_drop_reasons.def
//   counters: {icmp_sent, icmp_rate_limited, icmp_forwarded, fragments_forwarded,
//              untracked, untracked_collisions}
// Packet counts add up: rx = tx + passed + dropped - engine_dropped, where an ICMP
// error weir sends in place of a packet counts as that packet's drop
// (mtu_exceeded). Engine drops (e.g. tx_full) happen after the pipeline decided,
// to packets already counted as tx or passed: they are in drops,
// totals.dropped and totals.engine_dropped, and in no worker's counts. A fingerprint is 16 hex digits, or
// null for a VIP whose table is empty (no usable backend). Flow fields are null where the engine keeps no
// per-worker flow table (XDP); poll fields are null where there is no poll loop (XDP).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.h"
#include "engine.h"
#include "snapshot.h"
#include "weir_verdict.h"

namespace weir::ctl {

using drop_counts = std::array<uint64_t, WEIR_DROP__COUNT>;

// The name of a drop reason as in weir_drop_reasons.def (the metric label), and
// its description; "?" / "" when out of range.
const char *drop_reason_name(uint32_t reason);
const char *drop_reason_help(uint32_t reason);

// This build's version (the meson project version).
const char *version();

// "10.10.1.1:80/tcp", "[fd00:1::1]:443/udp"; port 0 (every port) prints as 0.
std::string vip_endpoint(const vip_config &vip);

// The engine's own drops by reason.
drop_counts engine_drop_counts(const dp::engine &e);

struct status_info {
	std::string engine;  // dp::engine::name()
	size_t workers = 0;
	uint64_t uptime_seconds = 0;
	std::string config_file;
};

// ---- Sums shared by the stats model and the metrics exposition (metrics.h), so
// that both report the same numbers. Workers without counters are skipped.

// A set of workers' packet counters, added up.
struct worker_sums {
	uint64_t rx_packets = 0;
	uint64_t rx_bytes = 0;
	uint64_t tx_packets = 0;
	uint64_t tx_bytes = 0;
	uint64_t passed = 0;
	uint64_t dropped = 0;  // the sum of `drops`
	drop_counts drops{};
	uint64_t icmp_sent = 0;
	uint64_t icmp_rate_limited = 0;
	uint64_t icmp_forwarded = 0;
	uint64_t fragments_forwarded = 0;
	uint64_t untracked = 0;
	uint64_t untracked_collisions = 0;
};
worker_sums sum_workers(std::span<const dp::worker_view> workers);

// A set of workers' flow tables; `known` is false when none has one (XDP).
struct flow_sums {
	bool known = false;
	uint64_t active = 0;
	uint64_t capacity = 0;
	uint64_t inserted = 0;
	uint64_t expired = 0;
};
flow_sums sum_flows(std::span<const dp::worker_view> workers);

// A set of workers' poll loops; `known` is false when none has one (XDP).
struct poll_sums {
	bool known = false;
	uint64_t polls = 0;
	uint64_t empty_polls = 0;
	double busy_seconds = 0;
};
poll_sums sum_polls(std::span<const dp::worker_view> workers);

// One VIP's or backend's traffic over the workers; a VIP's flows are its backends'.
struct traffic_sum {
	uint64_t packets = 0;
	uint64_t bytes = 0;
	uint64_t flows = 0;
};
traffic_sum sum_backend(std::span<const dp::worker_view> workers, uint32_t backend_id);
traffic_sum sum_vip(const dp::snapshot &snap, const weir_vip &vip, std::span<const dp::worker_view> workers);

// A backend's address, and as text.
ip_addr backend_ip(const weir_backend &b);
std::string backend_address(const weir_backend &b);

// The fingerprint of VIP `vip`'s table; none for an empty table (no usable backend).
std::optional<uint64_t> table_fingerprint(const dp::snapshot &snap, uint32_t vip);

// Backends of `vip` the data path may use (WEIR_BACKEND_F_USABLE).
uint32_t usable_backends(const dp::snapshot &snap, const weir_vip &vip);

// The configuration of each snapshot VIP, by VIP id (null when no VIP of that name is in `cfg`).
std::vector<const vip_config *> configs_by_id(const config &cfg, const dp::snapshot &snap);

// `cfg` is the configuration `snap` was built from (VIP addresses are not in the
// snapshot); VIPs are matched by name.
nlohmann::json status_json(const status_info &info, const config &cfg, const dp::snapshot &snap);

nlohmann::json stats_json(const config &cfg, const dp::snapshot &snap,
                          std::span<const dp::worker_view> workers, const drop_counts &engine_drops);

}  // namespace weir::ctl
