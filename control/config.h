// config.h — weir's typed configuration (SPEC §3), the result of loading and
// validating a TOML file. Values only: the control thread owns the live copy.
//
// Every field carries its documented default; `load_config` fills them from the
// file and reports every problem as FILE:LINE: key: message.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ip_addr.h"
#include "result.h"
#include "weir_proto.h"

namespace weir::ctl {

enum class engine_kind { dpdk, xdp, automatic };
enum class xdp_mode { native, generic };
enum class protocol { tcp, udp };
enum class scheduler_kind { maglev, maglev_src, wrr, least_conn };
enum class forwarding_kind { ipip, gue, l2dsr };
enum class fragment_policy { drop, three_tuple };
enum class health_kind { tcp, http, udp, none };

struct node_config {
	ip_prefix ipv4;  // required
	std::optional<ip_prefix> ipv6;
	std::optional<ip_addr> gateway;  // IPv4 next hop for off-link backends
	std::optional<ip_addr> gateway6;  // IPv6 next hop
	uint32_t hash_seed = 0x5eed5eed;  // hex string in the file
};

struct dpdk_config {
	std::vector<std::string> eal_args;
	std::string port;  // device name or PCI address
	bool exception_path = true;
	std::string tap_name = "weir0";
};

struct xdp_config {
	std::string interface;
	xdp_mode mode = xdp_mode::native;
};

struct dataplane_config {
	engine_kind engine = engine_kind::automatic;
	uint32_t workers = 1;
	uint32_t flow_table_size = 1048576;
	uint32_t mtu = 1500;
	uint16_t gue_port = WEIR_GUE_PORT_DEFAULT;
	dpdk_config dpdk;
	xdp_config xdp;
};

struct timeouts_config {
	uint32_t tcp = 900;  // seconds
	uint32_t tcp_closing = 10;  // after FIN or RST
	uint32_t udp = 30;
};

struct control_config {
	std::string socket = "/run/weir/weir.sock";
	uint32_t socket_mode = 0660;  // octal string in the file
	std::string metrics_listen = "127.0.0.1:9310";  // "" disables
};

struct health_config {
	health_kind kind = health_kind::tcp;
	std::optional<uint16_t> port;  // default: the VIP's port
	std::string path = "/healthz";  // http only
	uint32_t interval_ms = 1000;
	uint32_t timeout_ms = 500;
	uint32_t rise = 2;
	uint32_t fall = 3;
};

struct backend_config {
	ip_addr address;
	uint32_t weight = 1;  // 0 = drained
	std::optional<std::array<uint8_t, 6>> mac;  // l2dsr only
};

struct vip_config {
	std::string name;
	ip_addr address;
	uint16_t port = 0;  // 0 = every port
	protocol proto = protocol::tcp;
	scheduler_kind scheduler = scheduler_kind::maglev;
	forwarding_kind forwarding = forwarding_kind::ipip;
	uint32_t table_size = 65537;  // prime
	fragment_policy fragments = fragment_policy::drop;
	health_config health;
	std::vector<backend_config> backends;
};

struct config {
	std::string file;  // where it was loaded from
	node_config node;
	dataplane_config dataplane;
	timeouts_config timeouts;
	control_config control;
	std::vector<vip_config> vips;
};

// One problem found in a file, printed as FILE:LINE: key: message.
struct config_problem {
	std::string file;
	unsigned line = 0;  // 0 when no line applies
	std::string key;  // dotted path, e.g. "vip[1].backend[0].weight"; "" for the whole file
	std::string message;
	bool warning = false;  // warnings do not make the file invalid

	std::string to_string() const;
};

struct config_report {
	std::optional<config> cfg;  // set when there are no errors
	std::vector<config_problem> problems;  // errors and warnings, in file order

	bool valid() const { return cfg.has_value(); }
};

// What the command line lays over the file before it is validated.
struct load_options {
	std::optional<engine_kind> engine;  // `weir --engine`
};

// Parse and validate a TOML file. Never throws: every problem is in the report.
config_report load_config(const std::string &path, const load_options &opts = {});

// Same, from text (tests, `weirctl reload` diffs); `name` stands for FILE.
config_report load_config_text(const std::string &text, const std::string &name,
                               const load_options &opts = {});

// Names as written in the file, for messages and for `weirctl save`.
const char *to_string(engine_kind);
const char *to_string(xdp_mode);
const char *to_string(protocol);
const char *to_string(scheduler_kind);
const char *to_string(forwarding_kind);
const char *to_string(fragment_policy);
const char *to_string(health_kind);

// "dpdk" | "xdp" | "auto", as in the file; nullopt for anything else.
std::optional<engine_kind> parse_engine(std::string_view name);

}  // namespace weir::ctl
