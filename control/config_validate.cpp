// config_validate.cpp — gives the file's values their meaning: ranges, names,
// addresses, and the rules that tie keys together (the engine and its data port,
// the MTU and IPv6, ...). The [[vip]] tables are config_validate_vip.cpp's.
// Fills the typed config over its defaults. Runs on whichever thread loads a file.
#include <algorithm>
#include <cctype>

#include "config.h"
#include "config_detail.h"

namespace weir::ctl::detail {
namespace {

// Limits chosen for weir (documented in conf/weir.toml).
constexpr int64_t max_workers = 128;  // DPDK's default RTE_MAX_LCORE
constexpr int64_t max_flow_table = int64_t{1} << 27;  // 134217728 entries
constexpr int64_t min_mtu = 576, min_mtu_v6 = 1280, max_mtu = 9000;
constexpr int64_t max_timeout = 7 * 24 * 3600;  // a week, in seconds
constexpr size_t max_ifname = 15;  // IFNAMSIZ - 1
constexpr size_t max_socket_path = 107;  // sizeof(sun_path) - 1

bool all_of(const std::string &s, int (*pred)(int))
{
	return std::all_of(s.begin(), s.end(),
	                   [pred](char c) { return pred(static_cast<unsigned char>(c)) != 0; });
}

std::optional<uint32_t> parse_hex32(const std::string &s)
{
	if (s.empty() || s.size() > 8 || !all_of(s, std::isxdigit))
		return std::nullopt;
	return static_cast<uint32_t>(std::stoul(s, nullptr, 16));
}

// "0660", "660": permission bits only, no setuid/setgid/sticky.
std::optional<uint32_t> parse_mode(const std::string &s)
{
	if (s.empty() || s.size() > 4 || s.find_first_not_of("01234567") != std::string::npos)
		return std::nullopt;
	uint32_t mode = static_cast<uint32_t>(std::stoul(s, nullptr, 8));
	return mode <= 0777 ? std::optional<uint32_t>(mode) : std::nullopt;
}

bool valid_ifname(const std::string &s)
{
	return !s.empty() && s.size() <= max_ifname && all_of(s, std::isgraph) &&
	       s.find('/') == std::string::npos;
}

// "" | HOST:PORT | [IPV6]:PORT, HOST an IPv4 address or a host name.
bool valid_listen(const std::string &s)
{
	if (s.empty())
		return true;
	size_t colon = s.rfind(':');
	if (colon == std::string::npos || colon == 0)
		return false;
	std::string host = s.substr(0, colon), port = s.substr(colon + 1);
	if (port.empty() || port.size() > 5 || !all_of(port, std::isdigit))
		return false;
	unsigned long p = std::stoul(port);
	if (p == 0 || p > 65535)
		return false;
	if (host.front() == '[') {
		auto a = host.back() == ']' ? ip_addr::parse(host.substr(1, host.size() - 2)) : std::nullopt;
		return a && a->is_v6();
	}
	return std::all_of(host.begin(), host.end(), [](char c) {
		return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
	});
}

const char *ifname_rule = " is not an interface name: 1 to 15 characters, no \"/\" or spaces";

class validator {
public:
	validator(const raw_config &raw, const load_options &opts, config &out, problem_list &p)
	    : _raw(raw), _opts(opts), _out(out), _r(p)
	{}

	void run();

private:
	void read_node();
	void read_dataplane();
	void read_dpdk_xdp();
	void read_timeouts();
	void read_control();
	void check_engine();
	void check_mtu();

	const raw_config &_raw;
	const load_options &_opts;
	config &_out;
	value_reader _r;
};

void validator::read_node()
{
	const raw_table &t = _raw.node;
	node_config &n = _out.node;
	if (_r.require(t, "ipv4", "this host's address and prefix on the data port, e.g. \"10.10.0.2/24\""))
		if (auto p = _r.read_prefix(t, "ipv4", WEIR_AF_INET,
		                            "an IPv4 address with prefix length, e.g. \"10.10.0.2/24\""))
			n.ipv4 = *p;
	n.ipv6 = _r.read_prefix(t, "ipv6", WEIR_AF_INET6,
	                        "an IPv6 address with prefix length, e.g. \"fd00::2/64\"");
	n.gateway = _r.read_addr(t, "gateway", WEIR_AF_INET, "an IPv4 address");
	if (n.gateway && n.ipv4.length != 0 && !n.ipv4.contains(*n.gateway))
		_r.error(t, "gateway",
		         n.gateway->to_string() + " is not on node.ipv4's subnet " + n.ipv4.to_string() +
		                 ", so it cannot be the next hop");
	n.gateway6 = _r.read_addr(t, "gateway6", WEIR_AF_INET6, "an IPv6 address");
	if (n.gateway6 && !n.ipv6)
		_r.warning(t, "gateway6", "unused without node.ipv6");
	if (auto seed = _r.read_string(t, "hash_seed")) {
		if (auto v = parse_hex32(*seed))
			n.hash_seed = *v;
		else
			_r.error(t, "hash_seed",
			         quote(*seed) + " is not a hex number of 1 to 8 digits, e.g. \"5eed5eed\"");
	}
}

void validator::read_dataplane()
{
	const raw_table &t = _raw.dataplane;
	dataplane_config &d = _out.dataplane;
	if (auto e = _r.read_enum<engine_kind>(t, "engine", "engine", all_engines))
		d.engine = *e;
	if (_opts.engine)
		d.engine = *_opts.engine;
	if (auto v = _r.read_int(t, "workers", 1, max_workers))
		d.workers = static_cast<uint32_t>(*v);
	if (auto v = _r.read_int(t, "flow_table_size", 1, max_flow_table, " entries"))
		d.flow_table_size = static_cast<uint32_t>(*v);
	if (auto v = _r.read_int(t, "mtu", min_mtu, max_mtu, " bytes"))
		d.mtu = static_cast<uint32_t>(*v);
	if (auto v = _r.read_int(t, "gue_port", 1, 65535))
		d.gue_port = static_cast<uint16_t>(*v);
	read_dpdk_xdp();
}

void validator::read_dpdk_xdp()
{
	const raw_table &dpdk = _raw.dpdk, &xdp = _raw.xdp;
	dataplane_config &d = _out.dataplane;
	if (const raw_value *v = dpdk.find("eal_args"))
		d.dpdk.eal_args = std::get<std::vector<std::string>>(v->value);
	if (auto s = _r.read_string(dpdk, "port")) {
		if (!s->empty())
			d.dpdk.port = *s;
		else
			_r.error(dpdk, "port",
			         "empty: give the DPDK device name or PCI address of the data port");
	}
	if (auto b = _r.read_bool(dpdk, "exception_path")) {
		d.dpdk.exception_path = *b;
		if (!*b)
			_r.warning(dpdk, "exception_path",
			           "false: the DPDK engine then has no kernel neighbour table to learn "
			           "next-hop MACs "
			           "from, so only l2dsr backends with a configured mac are reachable");
	}
	if (auto s = _r.read_string(dpdk, "tap_name")) {
		if (valid_ifname(*s))
			d.dpdk.tap_name = *s;
		else
			_r.error(dpdk, "tap_name", quote(*s) + ifname_rule);
	}
	if (auto s = _r.read_string(xdp, "interface")) {
		if (valid_ifname(*s))
			d.xdp.interface = *s;
		else
			_r.error(xdp, "interface", quote(*s) + ifname_rule);
	}
	if (auto m = _r.read_enum<xdp_mode>(xdp, "mode", "mode", all_xdp_modes))
		d.xdp.mode = *m;
}

void validator::read_timeouts()
{
	const raw_table &t = _raw.timeouts;
	timeouts_config &o = _out.timeouts;
	if (auto v = _r.read_int(t, "tcp", 1, max_timeout, " seconds"))
		o.tcp = static_cast<uint32_t>(*v);
	if (auto v = _r.read_int(t, "tcp_closing", 1, max_timeout, " seconds"))
		o.tcp_closing = static_cast<uint32_t>(*v);
	if (auto v = _r.read_int(t, "udp", 1, max_timeout, " seconds"))
		o.udp = static_cast<uint32_t>(*v);
	if (o.tcp_closing > o.tcp)
		_r.warning(t, "tcp_closing",
		           "longer than timeouts.tcp: closing connections outlive open ones");
}

void validator::read_control()
{
	const raw_table &t = _raw.control;
	control_config &c = _out.control;
	if (auto s = _r.read_string(t, "socket")) {
		if (s->empty() || s->front() != '/')
			_r.error(t, "socket", quote(*s) + " is not an absolute path");
		else if (s->size() > max_socket_path)
			_r.error(t, "socket", "longer than 107 bytes, the limit of a Unix socket path");
		else
			c.socket = *s;
	}
	if (auto s = _r.read_string(t, "socket_mode")) {
		if (auto m = parse_mode(*s))
			c.socket_mode = *m;
		else
			_r.error(t, "socket_mode",
			         quote(*s) + " is not an octal file mode up to \"0777\", e.g. \"0660\"");
	}
	if (auto s = _r.read_string(t, "metrics_listen")) {
		if (valid_listen(*s))
			c.metrics_listen = *s;
		else
			_r.error(t, "metrics_listen",
			         quote(*s) + " is not HOST:PORT or [IPV6]:PORT, e.g. \"127.0.0.1:9310\" "
			                     "(\"\" disables)");
	}
}

// The engine needs its data port: DPDK a device, XDP an interface, "auto" either.
void validator::check_engine()
{
	const dataplane_config &d = _out.dataplane;
	bool has_port = _raw.dpdk.present("port"), has_if = _raw.xdp.present("interface");
	// Without its table, a missing key belongs where the engine was chosen.
	line_fn engine_line = _raw.dataplane.where_of("engine");
	if (d.engine == engine_kind::dpdk && !has_port)
		_r.problems().error(_raw.dpdk.exists ? _raw.dpdk.where : engine_line, _raw.dpdk.key("port"),
		                    "required with engine \"dpdk\": the DPDK device name or PCI address of "
		                    "the data port");
	if (d.engine == engine_kind::xdp && !has_if)
		_r.problems().error(_raw.xdp.exists ? _raw.xdp.where : engine_line, _raw.xdp.key("interface"),
		                    "required with engine \"xdp\": the data port's interface name");
	if (d.engine == engine_kind::automatic && !has_port && !has_if)
		_r.problems().error(
		        engine_line, "dataplane",
		        "no data port: set dataplane.dpdk.port (DPDK) or dataplane.xdp.interface (XDP)");
}

void validator::check_mtu()
{
	bool v6 = _out.node.ipv6.has_value();
	for (const vip_config &v : _out.vips) {
		v6 = v6 || v.address.is_v6();
		for (const backend_config &b : v.backends)
			v6 = v6 || b.address.is_v6();
	}
	if (v6 && _out.dataplane.mtu < min_mtu_v6) {
		_r.error(_raw.dataplane, "mtu",
		         std::to_string(_out.dataplane.mtu) +
		                 " is below 1280, the minimum MTU of IPv6 links, and this file uses IPv6");
		return;
	}
	// An IPv6 client cannot go below 1280 whatever "packet too big" says, so an
	// encapsulated IPv6 VIP needs 1280 plus the outer headers.
	for (const vip_config &v : _out.vips) {
		if (!v.address.is_v6() || v.forwarding == forwarding_kind::l2dsr)
			continue;
		uint32_t need = min_mtu_v6 + (v.forwarding == forwarding_kind::gue ? 48 : 40);
		if (_out.dataplane.mtu < need) {
			_r.error(_raw.dataplane, "mtu",
			         std::to_string(_out.dataplane.mtu) + " leaves less than 1280 bytes inside " +
			                 to_string(v.forwarding) + " for IPv6 VIP \"" + v.name +
			                 "\"; use at least " + std::to_string(need));
			return;
		}
	}
}

void validator::run()
{
	read_node();
	read_dataplane();
	read_timeouts();
	read_control();
	validate_vips(_raw, _out, _r);
	check_engine();
	check_mtu();
}

}  // namespace

std::optional<int64_t> value_reader::read_int(const raw_table &t, const char *key, int64_t lo, int64_t hi,
                                              const char *unit)
{
	const raw_value *v = t.find(key);
	if (!v)
		return std::nullopt;
	int64_t n = std::get<int64_t>(v->value);
	// toml11 saturates overflowing literals at the int64 limits, so they land here too.
	if (n < lo || n > hi) {
		error(t, key,
		      v->text() + " is out of range: expected " + std::to_string(lo) + ".." +
		              std::to_string(hi) + unit);
		return std::nullopt;
	}
	return n;
}

std::optional<std::string> value_reader::read_string(const raw_table &t, const char *key)
{
	const raw_value *v = t.find(key);
	return v ? std::optional<std::string>(std::get<std::string>(v->value)) : std::nullopt;
}

std::optional<bool> value_reader::read_bool(const raw_table &t, const char *key)
{
	const raw_value *v = t.find(key);
	return v ? std::optional<bool>(std::get<bool>(v->value)) : std::nullopt;
}

std::optional<ip_addr> value_reader::read_addr(const raw_table &t, const char *key, uint8_t family,
                                               const char *what)
{
	auto s = read_string(t, key);
	if (!s)
		return std::nullopt;
	auto a = ip_addr::parse(*s);
	if (a && (family == 0 || a->family == family))
		return a;
	error(t, key, quote(*s) + " is not " + what);
	return std::nullopt;
}

std::optional<ip_prefix> value_reader::read_prefix(const raw_table &t, const char *key, uint8_t family,
                                                   const char *what)
{
	auto s = read_string(t, key);
	if (!s)
		return std::nullopt;
	auto p = ip_prefix::parse(*s);
	if (p && (family == 0 || p->addr.family == family))
		return p;
	error(t, key, quote(*s) + " is not " + what);
	return std::nullopt;
}

bool value_reader::require(const raw_table &t, const char *key, const std::string &what)
{
	if (t.present(key))
		return true;
	error(t, key, "required key is missing: " + what);
	return false;
}

void validate_config(const raw_config &raw, const load_options &opts, config &out, problem_list &problems)
{
	validator(raw, opts, out, problems).run();
}

}  // namespace weir::ctl::detail
