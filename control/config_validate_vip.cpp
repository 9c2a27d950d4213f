// config_validate_vip.cpp — the [[vip]] tables: each VIP's values, its health
// check and backends, and the rules that tie them to each other and to [node]
// (address families, outer sources, Maglev table size, duplicates). Runs on
// whichever thread loads a file.
#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>

#include "config.h"
#include "config_detail.h"
#include "maglev.h"
#include "weir_maglev.h"

namespace weir::ctl::detail {
namespace {

// Limits chosen for weir (documented in conf/weir.toml).
constexpr int64_t max_weight = 65535;
constexpr int64_t max_health_ms = 3600 * 1000;
constexpr int64_t max_rise_fall = 1000;
constexpr size_t max_name = 64;
constexpr int64_t slots_per_backend = 100;  // fewer and Maglev shares grow uneven

// Callers pass sizes at most WEIR_MAGLEV_MAX_SIZE-ish: far inside uint32_t.
bool is_prime(int64_t n)
{
	return n >= 2 && n <= INT64_C(0xffffffff) && weir::ctl::is_prime(static_cast<uint32_t>(n));
}

int64_t prime_at_least(int64_t n)
{
	while (!is_prime(n))
		n++;
	return n;
}

std::string nearest_primes(int64_t n)
{
	int64_t below = n - 1;
	while (below >= 2 && !is_prime(below))
		below--;
	std::string above = std::to_string(prime_at_least(n));
	return below >= 2 ? std::to_string(below) + " and " + above : above;
}

std::optional<std::array<uint8_t, 6>> parse_mac(const std::string &s)
{
	std::array<uint8_t, 6> mac{};
	if (s.size() != 17)
		return std::nullopt;
	for (size_t i = 0; i < 6; i++) {
		const char *p = s.c_str() + 3 * i;
		if (!std::isxdigit(static_cast<unsigned char>(p[0])) ||
		    !std::isxdigit(static_cast<unsigned char>(p[1])) || (i < 5 && p[2] != ':'))
			return std::nullopt;
		mac[i] = static_cast<uint8_t>(std::stoul(std::string(p, 2), nullptr, 16));
	}
	return mac;
}

bool valid_name(const std::string &s)
{
	return !s.empty() && s.size() <= max_name && std::all_of(s.begin(), s.end(), [](char c) {
		return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
	});
}

// What a GET request line can carry.
bool valid_http_path(const std::string &s)
{
	return !s.empty() && s.front() == '/' && std::all_of(s.begin(), s.end(), [](char c) {
		return std::isgraph(static_cast<unsigned char>(c));
	});
}

std::string family_name(const ip_addr &a)
{
	return a.is_v4() ? "IPv4" : "IPv6";
}

class vip_validator {
public:
	vip_validator(const raw_config &raw, config &out, value_reader &r) : _raw(raw), _out(out), _r(r) {}

	void run();

private:
	// Which values parsed, so that rules between them skip what is already reported.
	struct parsed {
		bool name = false, address = false;
		std::vector<bool> backends;
	};

	void read_vip(const raw_vip &raw, vip_config &vip, parsed &ok);
	void read_health(const raw_vip &raw, vip_config &vip);
	bool read_backend(const raw_table &t, backend_config &b);
	void check_table_size(const raw_vip &raw, vip_config &vip);
	void check_backend(const raw_table &t, const vip_config &vip, const backend_config &b, bool vip_ok);
	void check_backends(const raw_vip &raw, const vip_config &vip, const parsed &ok);
	void check_duplicates(const std::vector<parsed> &ok);

	const raw_config &_raw;
	config &_out;
	value_reader &_r;
};

void vip_validator::read_vip(const raw_vip &raw, vip_config &vip, parsed &ok)
{
	const raw_table &t = raw.table;
	if (_r.require(t, "name", "the VIP's name, e.g. \"web\"")) {
		auto s = _r.read_string(t, "name");
		ok.name = s && valid_name(*s);
		if (ok.name)
			vip.name = *s;
		else if (s)
			_r.error(t, "name", quote(*s) + " is not a name: use 1 to 64 of A-Z a-z 0-9 _ . -");
	}
	if (_r.require(t, "address", "the VIP's IPv4 or IPv6 address")) {
		auto a = _r.read_addr(t, "address", 0, "an IPv4 or IPv6 address");
		ok.address = a.has_value();
		vip.address = a.value_or(ip_addr{});
	}
	if (auto v = _r.read_int(t, "port", 0, 65535, " (0 = every port)"))
		vip.port = static_cast<uint16_t>(*v);
	if (auto v = _r.read_enum<protocol>(t, "protocol", "protocol", all_protocols))
		vip.proto = *v;
	if (auto v = _r.read_enum<scheduler_kind>(t, "scheduler", "scheduler", all_schedulers))
		vip.scheduler = *v;
	if (auto v = _r.read_enum<forwarding_kind>(t, "forwarding", "forwarding", all_forwardings))
		vip.forwarding = *v;
	if (auto v = _r.read_enum<fragment_policy>(t, "fragments", "fragments policy", all_fragment_policies))
		vip.fragments = *v;
	read_health(raw, vip);
	vip.backends.resize(raw.backends.size());
	for (size_t j = 0; j < raw.backends.size(); j++)
		ok.backends.push_back(read_backend(raw.backends[j], vip.backends[j]));
	check_table_size(raw, vip);
	check_backends(raw, vip, ok);
}

void vip_validator::read_health(const raw_vip &raw, vip_config &vip)
{
	const raw_table &h = raw.health;
	health_config &c = vip.health;
	if (auto v = _r.read_enum<health_kind>(h, "kind", "health kind", all_health_kinds))
		c.kind = *v;
	if (auto v = _r.read_int(h, "port", 1, 65535))
		c.port = static_cast<uint16_t>(*v);
	if (auto s = _r.read_string(h, "path")) {
		if (valid_http_path(*s))
			c.path = *s;
		else
			_r.error(h, "path",
			         quote(*s) + " is not a URL path: it must start with \"/\", without spaces");
		if (c.kind != health_kind::http)
			_r.warning(h, "path", "only used by kind = \"http\"; ignored");
	}
	if (auto v = _r.read_int(h, "interval_ms", 1, max_health_ms))
		c.interval_ms = static_cast<uint32_t>(*v);
	if (auto v = _r.read_int(h, "timeout_ms", 1, max_health_ms))
		c.timeout_ms = static_cast<uint32_t>(*v);
	if (auto v = _r.read_int(h, "rise", 1, max_rise_fall))
		c.rise = static_cast<uint32_t>(*v);
	if (auto v = _r.read_int(h, "fall", 1, max_rise_fall))
		c.fall = static_cast<uint32_t>(*v);
	if (c.timeout_ms > c.interval_ms)
		_r.error(h, "timeout_ms",
		         std::to_string(c.timeout_ms) + " is longer than interval_ms " +
		                 std::to_string(c.interval_ms) +
		                 ": a probe must end before the next one starts");
	if (c.kind == health_kind::http && vip.proto == protocol::udp)
		_r.error(h, "kind", "\"http\" cannot check a udp VIP; use \"udp\", \"tcp\" or \"none\"");
	if (c.kind == health_kind::udp && vip.proto == protocol::tcp)
		_r.error(h, "kind", "\"udp\" cannot check a tcp VIP; use \"tcp\", \"http\" or \"none\"");
	const raw_value *port = raw.table.find("port");
	bool every_port = !raw.table.rejected.count("port") && (!port || std::get<int64_t>(port->value) == 0);
	if (every_port && c.kind != health_kind::none && !h.present("port"))
		_r.problems().error(h.exists ? h.where : raw.table.where, h.key("port"),
		                    "required when the VIP takes every port (port = 0): the port to probe");
}

bool vip_validator::read_backend(const raw_table &t, backend_config &b)
{
	if (auto v = _r.read_int(t, "weight", 0, max_weight, " (0 drains the backend)"))
		b.weight = static_cast<uint32_t>(*v);
	if (auto s = _r.read_string(t, "mac")) {
		b.mac = parse_mac(*s);
		if (!b.mac)
			_r.error(t, "mac", quote(*s) + " is not a MAC address like \"02:00:00:00:00:21\"");
		else if ((*b.mac)[0] & 1)
			_r.error(t, "mac", quote(*s) + " is a multicast address, not a backend's");
	}
	if (!_r.require(t, "address", "the backend's IPv4 or IPv6 address"))
		return false;
	auto a = _r.read_addr(t, "address", 0, "an IPv4 or IPv6 address");
	b.address = a.value_or(ip_addr{});
	return a.has_value();
}

void vip_validator::check_table_size(const raw_vip &raw, vip_config &vip)
{
	const raw_table &t = raw.table;
	if (auto v = _r.read_int(t, "table_size", 1, UINT32_MAX, " (a prime)")) {
		if (*v > WEIR_MAGLEV_MAX_SIZE)
			_r.error(t, "table_size",
			         std::to_string(*v) + " is larger than " +
			                 std::to_string(WEIR_MAGLEV_MAX_SIZE) +
			                 ", the largest Maglev table weir supports");
		else if (!is_prime(*v))
			_r.error(t, "table_size",
			         std::to_string(*v) +
			                 " is not a prime; nearest primes: " + nearest_primes(*v));
		else
			vip.table_size = static_cast<uint32_t>(*v);
	}
	int64_t n = static_cast<int64_t>(vip.backends.size());
	if (n > 0 && vip.table_size < slots_per_backend * n) {
		int64_t want = std::min<int64_t>(prime_at_least(slots_per_backend * n), WEIR_MAGLEV_MAX_SIZE);
		_r.warning(t, "table_size",
		           std::to_string(vip.table_size) + " slots for " + std::to_string(n) +
		                   " backends: below 100 per backend, balance degrades (shares differ by up "
		                   "to one "
		                   "slot each); use a prime of at least " +
		                   std::to_string(slots_per_backend * n) + ", e.g. " + std::to_string(want));
	}
}

void vip_validator::check_backend(const raw_table &t, const vip_config &vip, const backend_config &b,
                                  bool vip_ok)
{
	const node_config &node = _out.node;
	std::string addr = b.address.to_string();
	if (vip_ok && b.address == vip.address)
		_r.error(t, "address", addr + " is the VIP's own address: packets would loop");
	if (b.address == node.ipv4.addr || (node.ipv6 && b.address == node.ipv6->addr))
		_r.error(t, "address",
		         addr + " is this host's own address (" +
		                 (b.address.is_v4() ? "node.ipv4" : "node.ipv6") + "): packets would loop");
	if (vip.forwarding == forwarding_kind::l2dsr && vip_ok && b.address.family != vip.address.family)
		_r.error(t, "address",
		         "l2dsr cannot send to an " + family_name(b.address) + " backend behind an " +
		                 family_name(vip.address) +
		                 " VIP: it forwards the frame unchanged, so the backend must have the VIP's "
		                 "address "
		                 "family; use ipip or gue");
	if (vip.forwarding != forwarding_kind::l2dsr && vip_ok && vip.address.is_v6() && b.address.is_v4())
		_r.error(t, "address",
		         std::string("an IPv6 VIP cannot be sent to an IPv4 backend with ") +
		                 to_string(vip.forwarding) +
		                 " (weir encapsulates 4in4, 6in6 and 4in6, not 6in4); give the backend an "
		                 "IPv6 address");
	if (vip.forwarding != forwarding_kind::l2dsr && b.address.is_v6() && !node.ipv6)
		_r.error(t, "address",
		         std::string("an IPv6 backend with ") + to_string(vip.forwarding) +
		                 " needs node.ipv6 as the outer source address; set node.ipv6");
	if (b.mac && vip.forwarding != forwarding_kind::l2dsr)
		_r.warning(t, "mac",
		           std::string("only used with forwarding = \"l2dsr\"; ignored with \"") +
		                   to_string(vip.forwarding) + "\"");
}

void vip_validator::check_backends(const raw_vip &raw, const vip_config &vip, const parsed &ok)
{
	std::map<ip_addr, size_t> seen;
	for (size_t j = 0; j < vip.backends.size(); j++) {
		const raw_table &t = raw.backends[j];
		if (!ok.backends[j])
			continue;
		auto [it, fresh] = seen.emplace(vip.backends[j].address, j);
		if (!fresh) {
			_r.error(t, "address",
			         "duplicate backend " + vip.backends[j].address.to_string() +
			                 ": also backend[" + std::to_string(it->second) + "] (line " +
			                 std::to_string(raw.backends[it->second].line()) + ")");
			continue;
		}
		check_backend(t, vip, vip.backends[j], ok.address);
	}
	if (vip.backends.empty())
		_r.warning(raw.table, "backend",
		           "no backends: packets to this VIP are dropped until backends are added");
	else if (std::all_of(vip.backends.begin(), vip.backends.end(), [](auto &b) { return b.weight == 0; }))
		_r.warning(raw.table, "backend",
		           "every backend has weight 0 (drained): the VIP takes no new flows");
}

void vip_validator::check_duplicates(const std::vector<parsed> &ok)
{
	std::map<std::string, size_t> names;
	std::map<std::tuple<ip_addr, uint16_t, protocol>, size_t> vips;
	for (size_t i = 0; i < _out.vips.size(); i++) {
		const vip_config &v = _out.vips[i];
		const raw_table &t = _raw.vips[i].table;
		if (ok[i].name) {
			auto [it, fresh] = names.emplace(v.name, i);
			if (!fresh)
				_r.error(t, "name",
				         "duplicate VIP name " + quote(v.name) + ": also vip[" +
				                 std::to_string(it->second) + "] (line " +
				                 std::to_string(_raw.vips[it->second].table.line()) + ")");
		}
		if (!ok[i].address)
			continue;
		auto [it, fresh] = vips.emplace(std::make_tuple(v.address, v.port, v.proto), i);
		if (!fresh)
			_r.error(t, "address",
			         "duplicate VIP " + v.address.to_string() + " port " +
			                 std::to_string(v.port) + " " + to_string(v.proto) + ": also vip[" +
			                 std::to_string(it->second) + "] " +
			                 quote(_out.vips[it->second].name) + " (line " +
			                 std::to_string(_raw.vips[it->second].table.line()) + ")");
	}
}

void vip_validator::run()
{
	std::vector<parsed> ok(_raw.vips.size());
	_out.vips.resize(_raw.vips.size());
	for (size_t i = 0; i < _raw.vips.size(); i++)
		read_vip(_raw.vips[i], _out.vips[i], ok[i]);
	check_duplicates(ok);
	if (_raw.vips.empty())
		_r.problems().warning(0, "vip",
		                      "no [[vip]] tables: nothing is balanced until VIPs are added over the "
		                      "control socket");
}

}  // namespace

void validate_vips(const raw_config &raw, config &out, value_reader &r)
{
	vip_validator(raw, out, r).run();
}

}  // namespace weir::ctl::detail
