// commands.cpp — the handlers of commands.h. Control thread only: each runs to
// completion between two control-socket events and changes the running state
// only through command_host::apply.
#include "commands.h"

#include <stdexcept>

#include "config_edit.h"
#include "config_save.h"
#include "explain.h"
#include "stats.h"

namespace weir::ctl {

namespace {

using json = nlohmann::json;

// A request without a field it needs: control_socket turns the exception into
// {"ok": false, "error"} and keeps the connection.
std::string text_field(const json &req, const char *name)
{
	auto it = req.find(name);
	if (it == req.end() || !it->is_string())
		throw std::invalid_argument(std::string("missing string field \"") + name + "\"");
	return it->get<std::string>();
}

std::optional<std::string> optional_text(const json &req, const char *name)
{
	if (!req.contains(name) || req[name].is_null())
		return std::nullopt;
	return text_field(req, name);
}

int64_t int_field(const json &req, const char *name)
{
	auto it = req.find(name);
	if (it == req.end() || !it->is_number_integer())
		throw std::invalid_argument(std::string("missing integer field \"") + name + "\"");
	return it->get<int64_t>();
}

json failure(const std::string &message)
{
	return {{"ok", false}, {"error", message}};
}

// Applies a validated edit of VIP `vip` and says what changed. The whole file is
// validated, so warnings about other VIPs (already there before) are left out.
json publish(command_host &h, result<validated> edit, const std::string &what, const std::string &vip)
{
	if (!edit)
		return failure(what + ": " + edit.error_message());
	json warnings = json::array();
	for (const std::string &w : edit->warnings)
		if (w.rfind("vip \"", 0) != 0 || w.rfind("vip \"" + vip + "\"", 0) == 0)
			warnings.push_back(w);
	config_diff d = diff_configs(h.live(), edit->cfg);
	if (!d.empty())
		if (status st = h.apply(std::move(edit->cfg), what); !st)
			return failure(what + ": " + st.error_message());
	return {{"ok", true},
	        {"summary", what + " (" + d.to_string() + ")"},
	        {"changed", d.to_json()},
	        {"warnings", std::move(warnings)},
	        {"generation", h.snapshot().generation}};
}

const vip_config *vip_named(const config &cfg, const std::string &name)
{
	for (const vip_config &v : cfg.vips)
		if (v.name == name)
			return &v;
	return nullptr;
}

json vip_list(const command_host &h)
{
	const config &cfg = h.live();
	json vips = status_json({}, cfg, h.snapshot())["vips"];
	for (json &v : vips)
		if (const vip_config *c = vip_named(cfg, v["name"].get<std::string>())) {
			v["table_size"] = c->table_size;
			v["fragments"] = to_string(c->fragments);
			v["health"] = to_string(c->health.kind);
		}
	return {{"vips", std::move(vips)}};
}

json backend_list(const command_host &h, const std::string &name)
{
	const vip_config *vip = vip_named(h.live(), name);
	if (!vip)
		return failure("no VIP named \"" + name + "\"");
	auto workers = h.workers();
	json all = stats_json(h.live(), h.snapshot(), workers, drop_counts{})["backends"];
	json out = json::array();
	for (json &b : all) {
		if (b["vip"] != name)
			continue;
		auto a = ip_addr::parse(b["address"].get<std::string>());
		b["health"] = a ? h.backend_health(*vip, *a) : "unknown";
		out.push_back(std::move(b));
	}
	return {{"vip", name}, {"backends", std::move(out)}};
}

json save(const command_host &h, const json &req)
{
	const config &cfg = h.live();
	// A client's path must not depend on weir's working directory; the default is
	// the file as weir opened it (and reloads it).
	std::optional<std::string> asked = optional_text(req, "path");
	if (asked && (asked->empty() || asked->front() != '/'))
		return failure("save: \"" + *asked + "\" is not an absolute path");
	std::string path = asked.value_or(cfg.file);
	std::string text = config_toml(cfg);
	// What is written must load: a file weir cannot start from is worse than none.
	config_report r = load_config_text(text, path);
	if (!r.valid())
		return failure("save: the running configuration does not load back: " +
		               describe_problems(r.problems, cfg, false));
	if (status st = write_file_atomically(path, text); !st)
		return failure("save: " + st.error_message());
	return {{"path", path}, {"bytes", text.size()}, {"vips", cfg.vips.size()}};
}

json explain(const command_host &h, const json &req)
{
	auto key = parse_flow(text_field(req, "src"), text_field(req, "dst"), text_field(req, "protocol"));
	if (!key)
		return failure("explain: " + key.error_message());
	return explain_flow(h.snapshot(), *key,
	                    [&h](uint32_t hash, uint32_t sig) { return h.find_flow(hash, sig); });
}

void register_edits(control_socket &s, command_host &h)
{
	s.on("vip_add", [&h](const json &req) {
		vip_spec spec{text_field(req, "name"), text_field(req, "endpoint"),
		              optional_text(req, "scheduler"), optional_text(req, "forwarding"),
		              optional_text(req, "health")};
		if (req.contains("health_port") && !req["health_port"].is_null())
			spec.health_port = int_field(req, "health_port");
		return publish(h, add_vip(h.live(), spec), "vip add " + spec.name, spec.name);
	});
	s.on("vip_del", [&h](const json &req) {
		std::string name = text_field(req, "name");
		return publish(h, delete_vip(h.live(), name), "vip del " + name, name);
	});
	s.on("backend_add", [&h](const json &req) {
		std::string vip = text_field(req, "vip"), addr = text_field(req, "address");
		std::optional<int64_t> weight;
		if (req.contains("weight") && !req["weight"].is_null())
			weight = int_field(req, "weight");
		return publish(h, add_backend(h.live(), vip, addr, weight), "backend add " + vip + " " + addr,
		               vip);
	});
	s.on("backend_del", [&h](const json &req) {
		std::string vip = text_field(req, "vip"), addr = text_field(req, "address");
		return publish(h, delete_backend(h.live(), vip, addr), "backend del " + vip + " " + addr,
		               vip);
	});
	s.on("backend_weight", [&h](const json &req) {
		std::string vip = text_field(req, "vip"), addr = text_field(req, "address");
		int64_t w = int_field(req, "weight");
		return publish(h, set_weight(h.live(), vip, addr, w),
		               "backend weight " + vip + " " + addr + " " + std::to_string(w), vip);
	});
	s.on("backend_drain", [&h](const json &req) {
		std::string vip = text_field(req, "vip"), addr = text_field(req, "address");
		return publish(h, set_weight(h.live(), vip, addr, 0), "backend drain " + vip + " " + addr,
		               vip);
	});
}

}  // namespace

std::string unchecked_health(const vip_config &vip)
{
	return vip.health.kind == health_kind::none ? "none" : "unknown";
}

json reload_config(command_host &h)
{
	const config &live = h.live();
	std::string file = live.file;
	config_report r = load_config(file);
	json warnings = json::array(), problems = json::array();
	for (const config_problem &p : r.problems)
		(p.warning ? warnings : problems).push_back(p.to_string());
	if (!r.valid()) {
		std::string first = problems.empty() ? "" : ": " + problems[0].get<std::string>();
		if (problems.size() > 1)
			first += " (and " + std::to_string(problems.size() - 1) + " more)";
		return {{"ok", false},
		        {"error", "reload: " + file + " is invalid, nothing changed" + first},
		        {"problems", std::move(problems)},
		        {"warnings", std::move(warnings)}};
	}
	config next = std::move(*r.cfg);
	std::vector<std::string> restart = keep_engine_shape(next, live);
	config_diff d = diff_configs(live, next);
	if (!d.empty())
		if (status st = h.apply(std::move(next), "reload"); !st)
			return failure("reload: " + st.error_message() + "; nothing changed");
	return {{"ok", true},
	        {"file", file},
	        {"summary", "reload of " + file + ": " + d.to_string()},
	        {"changed", d.to_json()},
	        {"restart_required", restart},
	        {"warnings", std::move(warnings)},
	        {"generation", h.snapshot().generation}};
}

void register_commands(control_socket &s, command_host &h)
{
	s.on("vip_list", [&h](const json &) { return vip_list(h); });
	s.on("backend_list", [&h](const json &req) { return backend_list(h, text_field(req, "vip")); });
	s.on("explain", [&h](const json &req) { return explain(h, req); });
	s.on("reload", [&h](const json &) { return reload_config(h); });
	s.on("save", [&h](const json &req) { return save(h, req); });
	register_edits(s, h);
}

}  // namespace weir::ctl
