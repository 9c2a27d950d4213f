// config_edit.cpp — live edits, their validation through the TOML text, and
// configuration diffs (config_edit.h). Pure functions; the control thread.
#include "config_edit.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "config_save.h"

namespace weir::ctl {

namespace {

std::string quote(const std::string &s)
{
	return "\"" + s + "\"";
}

// "vip[2].backend[1].weight" -> "vip \"web\" backend 10.10.0.22: weight".
std::string describe_key(const std::string &key, const config &cfg, const std::string &extra_name)
{
	size_t vi = 0, bi = 0;
	if (std::sscanf(key.c_str(), "vip[%zu]", &vi) != 1)
		return key;
	size_t dot = key.find('.');
	std::string rest = dot == std::string::npos ? "" : key.substr(dot + 1);
	std::string vip = vi < cfg.vips.size() ? cfg.vips[vi].name : extra_name;
	std::string out = vip.empty() ? key.substr(0, dot) : "vip " + quote(vip);
	if (std::sscanf(rest.c_str(), "backend[%zu]", &bi) == 1 && vi < cfg.vips.size() &&
	    bi < cfg.vips[vi].backends.size()) {
		size_t d = rest.find('.');
		out += " backend " + cfg.vips[vi].backends[bi].address.to_string();
		rest = d == std::string::npos ? "" : rest.substr(d + 1);
	}
	return rest.empty() ? out : out + ": " + rest;
}

std::string describe(const std::vector<config_problem> &problems, const config &cfg,
                     const std::string &extra_name, bool warnings)
{
	std::string out;
	for (const config_problem &p : problems) {
		if (p.warning != warnings)
			continue;
		std::string key = describe_key(p.key, cfg, extra_name);
		out += (out.empty() ? "" : "; ") + (key.empty() ? "" : key + ": ") + p.message;
	}
	return out;
}

result<validated> load_back(const config &next, const std::string &extra, const std::string &extra_name)
{
	std::string text = config_toml(next) + extra;
	config_report r = load_config_text(text, next.file);
	if (!r.valid())
		return error{describe(r.problems, next, extra_name, false)};
	validated v{std::move(*r.cfg), {}};
	for (const config_problem &p : r.problems)
		if (p.warning)
			v.warnings.push_back(describe({p}, v.cfg, "", true));
	return v;
}

vip_config *find_vip(config &cfg, const std::string &name)
{
	for (vip_config &v : cfg.vips)
		if (v.name == name)
			return &v;
	return nullptr;
}

// The VIP and the backend an edit names, in `cfg`; errors name what is missing.
struct backend_place {
	vip_config *vip = nullptr;
	std::vector<backend_config>::iterator backend;
};

result<backend_place> find_backend(config &cfg, const std::string &vip, const std::string &address,
                                   bool must_exist)
{
	backend_place p;
	p.vip = find_vip(cfg, vip);
	if (!p.vip)
		return error{"no VIP named " + quote(vip)};
	auto a = ip_addr::parse(address);
	if (!a)
		return error{quote(address) + " is not an IPv4 or IPv6 address"};
	p.backend = std::find_if(p.vip->backends.begin(), p.vip->backends.end(),
	                         [&](const backend_config &b) { return b.address == *a; });
	bool exists = p.backend != p.vip->backends.end();
	if (must_exist && !exists)
		return error{"VIP " + quote(vip) + " has no backend " + a->to_string()};
	if (!must_exist && exists)
		return error{"VIP " + quote(vip) + " already has backend " + a->to_string()};
	return p;
}

bool parse_u32(std::string_view s, uint32_t &out)
{
	auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
	return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace

result<host_port> split_host_port(std::string_view text)
{
	const std::string shape =
	        quote(std::string(text)) + " is not ADDR:PORT, e.g. 10.10.1.1:80 or [fd00:1::1]:443";
	size_t colon = text.rfind(':');
	if (colon == std::string_view::npos || colon == 0)
		return error{shape};
	host_port hp;
	std::string_view addr = text.substr(0, colon);
	if (addr.front() == '[') {
		if (addr.size() < 3 || addr.back() != ']')
			return error{shape};
		addr = addr.substr(1, addr.size() - 2);
	} else if (addr.find(':') != std::string_view::npos) {
		return error{quote(std::string(text)) +
		             ": write an IPv6 address in brackets, e.g. [fd00:1::1]:443"};
	}
	hp.address = std::string(addr);
	uint32_t port = 0;
	if (!parse_u32(text.substr(colon + 1), port) || port > 65535)
		return error{quote(std::string(text)) + ": the port is not a number in 0..65535"};
	hp.port = uint16_t(port);
	return hp;
}

result<endpoint_text> parse_endpoint(std::string_view text)
{
	size_t slash = text.rfind('/');
	if (slash == std::string_view::npos)
		return error{quote(std::string(text)) +
		             " is not ADDR:PORT/PROTO, e.g. 10.10.1.1:80/tcp or [fd00:1::1]:443/udp"};
	auto hp = split_host_port(text.substr(0, slash));
	if (!hp)
		return error{hp.error_message()};
	return endpoint_text{hp->address, hp->port, std::string(text.substr(slash + 1))};
}

std::string describe_problems(const std::vector<config_problem> &problems, const config &cfg, bool warnings)
{
	return describe(problems, cfg, "", warnings);
}

result<validated> validate_as_file(const config &next, const std::string &extra)
{
	return load_back(next, extra, "");
}

result<validated> add_vip(const config &live, const vip_spec &spec)
{
	auto e = parse_endpoint(spec.endpoint);
	if (!e)
		return error{e.error_message()};
	// Written as the file would have it, so that the validator judges every part.
	std::string text = "\n[[vip]]\nname = " + quote(spec.name) + "\naddress = " + quote(e->address) +
	                   "\nport = " + std::to_string(e->port) + "\nprotocol = " + quote(e->protocol) +
	                   "\n";
	if (spec.scheduler)
		text += "scheduler = " + quote(*spec.scheduler) + "\n";
	if (spec.forwarding)
		text += "forwarding = " + quote(*spec.forwarding) + "\n";
	if (spec.health || spec.health_port)
		text += "[vip.health]\n";
	if (spec.health)
		text += "kind = " + quote(*spec.health) + "\n";
	if (spec.health_port)
		text += "port = " + std::to_string(*spec.health_port) + "\n";
	if (spec.name.find_first_of("\"\\\n") != std::string::npos ||
	    e->address.find_first_of("\"\\\n") != std::string::npos ||
	    e->protocol.find_first_of("\"\\\n") != std::string::npos ||
	    (spec.scheduler && spec.scheduler->find_first_of("\"\\\n") != std::string::npos) ||
	    (spec.forwarding && spec.forwarding->find_first_of("\"\\\n") != std::string::npos) ||
	    (spec.health && spec.health->find_first_of("\"\\\n") != std::string::npos))
		return error{"quotes, backslashes and newlines are not allowed in names and values"};
	return load_back(live, text, spec.name);
}

result<validated> delete_vip(const config &live, const std::string &name)
{
	config next = live;
	auto it = std::find_if(next.vips.begin(), next.vips.end(),
	                       [&](const vip_config &v) { return v.name == name; });
	if (it == next.vips.end())
		return error{"no VIP named " + quote(name)};
	next.vips.erase(it);
	return load_back(next, "", "");
}

result<validated> add_backend(const config &live, const std::string &vip, const std::string &address,
                              std::optional<int64_t> weight)
{
	config next = live;
	auto p = find_backend(next, vip, address, false);
	if (!p)
		return error{p.error_message()};
	backend_config b;
	b.address = *ip_addr::parse(address);
	if (weight) {
		if (*weight < 0 || *weight > int64_t(UINT32_MAX))
			return error{"weight " + std::to_string(*weight) + " is out of range 0..65535"};
		b.weight = uint32_t(*weight);
	}
	p->vip->backends.push_back(b);
	return load_back(next, "", "");
}

result<validated> delete_backend(const config &live, const std::string &vip, const std::string &address)
{
	config next = live;
	auto p = find_backend(next, vip, address, true);
	if (!p)
		return error{p.error_message()};
	p->vip->backends.erase(p->backend);
	return load_back(next, "", "");
}

result<validated> set_weight(const config &live, const std::string &vip, const std::string &address,
                             int64_t weight)
{
	config next = live;
	auto p = find_backend(next, vip, address, true);
	if (!p)
		return error{p.error_message()};
	if (weight < 0 || weight > int64_t(UINT32_MAX))
		return error{"weight " + std::to_string(weight) + " is out of range 0..65535"};
	p->backend->weight = uint32_t(weight);
	return load_back(next, "", "");
}

namespace {

// The file's top-level tables other than [[vip]], each as its text ([dataplane]
// with its sub-tables).
std::map<std::string, std::string> settings_sections(const config &cfg)
{
	config c = cfg;
	c.vips.clear();
	std::map<std::string, std::string> out;
	std::string text = config_toml(c), section;
	size_t pos = 0;
	while (pos < text.size()) {
		size_t nl = text.find('\n', pos);
		std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
		pos = nl == std::string::npos ? text.size() : nl + 1;
		if (line.size() > 2 && line[0] == '[') {
			section = line.substr(1, line.find_first_of(".]") - 1);
			continue;
		}
		if (!section.empty())
			out[section] += line + "\n";
	}
	return out;
}

}  // namespace

config_diff diff_configs(const config &before, const config &after)
{
	config_diff d;
	std::map<std::string, std::string> old_vips;
	for (const vip_config &v : before.vips)
		old_vips[v.name] = vip_toml(v);
	for (const vip_config &v : after.vips) {
		auto it = old_vips.find(v.name);
		if (it == old_vips.end())
			d.added.push_back(v.name);
		else if (it->second != vip_toml(v))
			d.changed.push_back(v.name);
		if (it != old_vips.end())
			old_vips.erase(it);
	}
	for (const auto &[name, text] : old_vips)
		d.removed.push_back(name);
	auto a = settings_sections(before), b = settings_sections(after);
	for (const auto &[name, text] : b)
		if (a[name] != text)
			d.settings.push_back(name);
	return d;
}

nlohmann::json config_diff::to_json() const
{
	return {{"vips_added", added},
	        {"vips_removed", removed},
	        {"vips_changed", changed},
	        {"settings_changed", settings}};
}

std::string config_diff::to_string() const
{
	if (empty())
		return "no change";
	std::string out;
	auto part = [&](const char *what, const std::vector<std::string> &names) {
		if (names.empty())
			return;
		std::string list;
		for (const std::string &n : names)
			list += (list.empty() ? "" : ", ") + n;
		out += (out.empty() ? "" : "; ") + std::string(what) + ": " + list;
	};
	part("VIPs added", added);
	part("VIPs removed", removed);
	part("VIPs changed", changed);
	part("settings changed", settings);
	return out;
}

std::vector<std::string> keep_engine_shape(config &next, const config &running)
{
	std::vector<std::string> differ;
	dataplane_config &d = next.dataplane;
	const dataplane_config &r = running.dataplane;
	if (d.engine != r.engine)
		differ.push_back("dataplane.engine");
	if (d.workers != r.workers)
		differ.push_back("dataplane.workers");
	if (d.flow_table_size != r.flow_table_size)
		differ.push_back("dataplane.flow_table_size");
	if (d.dpdk.eal_args != r.dpdk.eal_args || d.dpdk.port != r.dpdk.port ||
	    d.dpdk.exception_path != r.dpdk.exception_path || d.dpdk.tap_name != r.dpdk.tap_name)
		differ.push_back("dataplane.dpdk");
	if (d.xdp.interface != r.xdp.interface || d.xdp.mode != r.xdp.mode)
		differ.push_back("dataplane.xdp");
	d.engine = r.engine;
	d.workers = r.workers;
	d.flow_table_size = r.flow_table_size;
	d.dpdk = r.dpdk;
	d.xdp = r.xdp;
	return differ;
}

}  // namespace weir::ctl
