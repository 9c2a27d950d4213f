// config_edit.h — live edits of the configuration (`weirctl vip ...`, `weirctl
// backend ...`) and the comparison of two configurations (what an edit or a
// reload changed). Pure functions over values; the control thread calls them.
//
// Every edit is made on a copy and then validated exactly as a file would be:
// the copy is written as TOML (config_save.h) and loaded back with
// load_config_text(), so edits, `save` and `reload` share one validator. A
// problem comes back as "key: message" with the VIP and backend named, e.g.
//   vip "web": scheduler: "fast" is not a scheduler; use "maglev", ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.h"
#include "result.h"

namespace weir::ctl {

// A configuration that passed validation, with the loader's warnings.
struct validated {
	config cfg;
	std::vector<std::string> warnings;
};

// "10.10.1.1:80", "[fd00:1::1]:443": the address as text, the port checked.
struct host_port {
	std::string address;
	uint16_t port = 0;
};
result<host_port> split_host_port(std::string_view text);

// "10.10.1.1:80/tcp", "[fd00:1::1]:443/udp": the parts as text, for the validator
// to judge (an unknown protocol is reported as the file's would be). Errors: the
// shape is wrong or the port is not a number.
struct endpoint_text {
	std::string address;
	uint16_t port = 0;
	std::string protocol;
};
result<endpoint_text> parse_endpoint(std::string_view text);

// The problems of a report as one message, keys naming VIPs and backends of
// `cfg` (the configuration the text was written from).
std::string describe_problems(const std::vector<config_problem> &problems, const config &cfg, bool warnings);

// Writes `next` as TOML plus `extra` (more TOML appended, e.g. a new [[vip]])
// and loads it back, as `name`.
result<validated> validate_as_file(const config &next, const std::string &extra = "");

struct vip_spec {
	std::string name;
	std::string endpoint;  // ADDR:PORT/PROTO
	std::optional<std::string> scheduler;  // default: the file's default
	std::optional<std::string> forwarding;
	std::optional<std::string> health = {};  // [vip.health] kind
	std::optional<int64_t> health_port = {};  // [vip.health] port: needed by a port-0 VIP
};

result<validated> add_vip(const config &live, const vip_spec &spec);
result<validated> delete_vip(const config &live, const std::string &name);
result<validated> add_backend(const config &live, const std::string &vip, const std::string &address,
                              std::optional<int64_t> weight);
result<validated> delete_backend(const config &live, const std::string &vip, const std::string &address);
// Drain is weight 0.
result<validated> set_weight(const config &live, const std::string &vip, const std::string &address,
                             int64_t weight);

// What differs between two configurations: VIPs added, removed, changed (by
// name), and the top-level tables ("node", "dataplane", ...) whose keys changed.
struct config_diff {
	std::vector<std::string> added, removed, changed, settings;

	bool empty() const { return added.empty() && removed.empty() && changed.empty() && settings.empty(); }
	nlohmann::json to_json() const;
	std::string to_string() const;  // "VIPs added: a; changed: b" or "no change"
};
config_diff diff_configs(const config &before, const config &after);

// The engine's own shape is fixed at start: copies engine, workers,
// flow_table_size, [dataplane.dpdk] and [dataplane.xdp] from `running` into
// `next`, and returns the names of those that differed (they take effect at
// restart).
std::vector<std::string> keep_engine_shape(config &next, const config &running);

}  // namespace weir::ctl
