// stats.cpp — the status and stats models (stats.h). Control thread only; reads
// worker counters and flow tables that their workers keep writing.
#include "stats.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "maglev.h"
#include "weir_version.h"

namespace weir::ctl {

namespace {

using json = nlohmann::json;

struct reason_text {
	const char *name;
	const char *help;
};

constexpr reason_text reasons[] = {
#define WEIR_DROP(name, help) {#name, help},
#include "weir_drop_reasons.def"
#undef WEIR_DROP
};
static_assert(std::size(reasons) == WEIR_DROP__COUNT);

const char *scheduler_name(uint8_t s)
{
	return to_string(scheduler_kind(s));  // the ABI's values are the config enum's (snapshot_builder.cpp)
}

const char *forwarding_name(uint8_t f)
{
	return to_string(forwarding_kind(f));
}

std::string backend_address(const weir_backend &b)
{
	ip_addr a;
	a.family = b.family;
	std::memcpy(a.bytes.data(), b.addr, sizeof(b.addr));
	return a.to_string();
}

json fingerprint_of(const dp::snapshot &s, uint32_t vip)
{
	if (vip >= s.tables.size() || !s.tables[vip] || s.tables[vip]->slots.empty())
		return nullptr;
	return format_fingerprint(s.tables[vip]->fingerprint);
}

// The configuration of each snapshot VIP, by id (null when the names disagree).
std::vector<const vip_config *> configs_by_id(const config &cfg, const dp::snapshot &s)
{
	std::map<std::string, const vip_config *> by_name;
	for (const vip_config &v : cfg.vips)
		by_name.emplace(v.name, &v);
	std::vector<const vip_config *> out(s.vips.size(), nullptr);
	for (size_t id = 0; id < s.vips.size() && id < s.vip_names.size(); id++)
		if (auto it = by_name.find(s.vip_names[id]); it != by_name.end())
			out[id] = it->second;
	return out;
}

json endpoint_of(const vip_config *v)
{
	return v ? json(vip_endpoint(*v)) : json(nullptr);
}

// Sums of one backend id's counters and flow counts over the workers.
struct backend_sum {
	uint64_t packets = 0;
	uint64_t bytes = 0;
	uint64_t flows = 0;
};

backend_sum sum_backend(std::span<const dp::worker_view> workers, uint32_t id)
{
	backend_sum b;
	for (const dp::worker_view &w : workers) {
		if (w.counters) {
			b.packets += w.counters->backend[id].packets.get();
			b.bytes += w.counters->backend[id].bytes.get();
		}
		if (w.flows)
			b.flows += w.flows->active(id);
	}
	return b;
}

json worker_json(const dp::worker_view &w, drop_counts &drops, json &totals)
{
	const dp::worker_counters &c = *w.counters;
	uint64_t dropped = 0;
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++) {
		uint64_t n = c.drops[r].get();
		drops[r] += n;
		dropped += n;
	}
	json j = {{"lcore", w.lcore},
	          {"rx_packets", c.rx_packets.get()},
	          {"rx_bytes", c.rx_bytes.get()},
	          {"tx_packets", c.tx_packets.get()},
	          {"tx_bytes", c.tx_bytes.get()},
	          {"passed", c.pass_packets.get()},
	          {"dropped", dropped},
	          {"untracked", c.untracked.get()}};
	if (w.flows) {
		// Plain fields of the owning worker: a recent value, good enough for display.
		const dp::flow_counters &fc = w.flows->counters();
		uint64_t active = w.flows->flows_active();
		size_t cap = w.flows->capacity();
		j["flows_active"] = active;
		j["flow_capacity"] = cap;
		j["occupancy_pct"] = cap ? double(uint64_t(active * 10000 / cap)) / 100 : 0.0;
		j["expired"] = fc.expired;
		j["inserted"] = fc.inserted;
		totals["flows_active"] = totals["flows_active"].get<uint64_t>() + active;
		totals["flow_capacity"] = totals["flow_capacity"].get<uint64_t>() + cap;
	} else {
		for (const char *k :
		     {"flows_active", "flow_capacity", "occupancy_pct", "expired", "inserted"})
			j[k] = nullptr;
	}
	for (const char *k : {"rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "passed", "dropped"})
		totals[k] = totals[k].get<uint64_t>() + j[k].get<uint64_t>();
	return j;
}

json other_counters(std::span<const dp::worker_view> workers)
{
	uint64_t sent = 0, limited = 0, icmp_fwd = 0, frag_fwd = 0, untracked = 0, collisions = 0;
	for (const dp::worker_view &w : workers) {
		if (!w.counters)
			continue;
		sent += w.counters->icmp_sent.get();
		limited += w.counters->icmp_rate_limited.get();
		icmp_fwd += w.counters->icmp_forwarded.get();
		frag_fwd += w.counters->fragments_forwarded.get();
		untracked += w.counters->untracked.get();
		collisions += w.counters->untracked_collisions.get();
	}
	return {{"icmp_sent", sent},          {"icmp_rate_limited", limited},
	        {"icmp_forwarded", icmp_fwd}, {"fragments_forwarded", frag_fwd},
	        {"untracked", untracked},     {"untracked_collisions", collisions}};
}

// Per VIP and per backend, in VIP order and, within a VIP, backend address order.
void traffic_json(const dp::snapshot &s, const std::vector<const vip_config *> &cfgs,
                  std::span<const dp::worker_view> workers, json &vips, json &backends)
{
	bool tracked =
	        std::any_of(workers.begin(), workers.end(), [](const dp::worker_view &w) { return w.flows; });
	for (const weir_vip &v : s.vips) {
		uint64_t packets = 0, bytes = 0, flows = 0;
		for (const dp::worker_view &w : workers) {
			if (w.counters) {
				packets += w.counters->vip[v.counter_id].packets.get();
				bytes += w.counters->vip[v.counter_id].bytes.get();
			}
		}
		for (uint32_t k = v.backend_first; k < v.backend_first + v.backend_count; k++) {
			uint32_t id = s.vip_backends[k];
			const weir_backend &b = s.backends[id];
			backend_sum sum = sum_backend(workers, id);
			flows += sum.flows;
			backends.push_back({{"vip", s.vip_names[v.id]},
			                    {"address", backend_address(b)},
			                    {"weight", b.weight},
			                    {"usable", (b.flags & WEIR_BACKEND_F_USABLE) != 0},
			                    {"flows_active", tracked ? json(sum.flows) : json(nullptr)},
			                    {"packets", sum.packets},
			                    {"bytes", sum.bytes}});
		}
		vips.push_back({{"name", s.vip_names[v.id]},
		                {"endpoint", endpoint_of(cfgs[v.id])},
		                {"packets", packets},
		                {"bytes", bytes},
		                {"flows_active", tracked ? json(flows) : json(nullptr)},
		                {"fingerprint", fingerprint_of(s, v.id)}});
	}
}

}  // namespace

const char *drop_reason_name(uint32_t reason)
{
	return reason < WEIR_DROP__COUNT ? reasons[reason].name : "?";
}

const char *drop_reason_help(uint32_t reason)
{
	return reason < WEIR_DROP__COUNT ? reasons[reason].help : "";
}

const char *version()
{
	return WEIR_VERSION;
}

std::string vip_endpoint(const vip_config &vip)
{
	std::string addr =
	        vip.address.is_v6() ? "[" + vip.address.to_string() + "]" : vip.address.to_string();
	return addr + ":" + std::to_string(vip.port) + "/" + to_string(vip.proto);
}

drop_counts engine_drop_counts(const dp::engine &e)
{
	drop_counts d{};
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++)
		d[r] = e.engine_drops(weir_drop_reason(r));
	return d;
}

json status_json(const status_info &info, const config &cfg, const dp::snapshot &snap)
{
	std::vector<const vip_config *> cfgs = configs_by_id(cfg, snap);
	json vips = json::array();
	for (const weir_vip &v : snap.vips) {
		const vip_config *c = cfgs[v.id];
		uint32_t usable = 0;
		for (uint32_t k = v.backend_first; k < v.backend_first + v.backend_count; k++)
			usable += (snap.backends[snap.vip_backends[k]].flags & WEIR_BACKEND_F_USABLE) != 0;
		vips.push_back({{"name", snap.vip_names[v.id]},
		                {"endpoint", endpoint_of(c)},
		                {"address", c ? json(c->address.to_string()) : json(nullptr)},
		                {"port", c ? json(c->port) : json(nullptr)},
		                {"protocol", c ? json(to_string(c->proto)) : json(nullptr)},
		                {"scheduler", scheduler_name(v.scheduler)},
		                {"forwarding", forwarding_name(v.forwarding)},
		                {"backends", v.backend_count},
		                {"usable_backends", usable},
		                {"fail_open", (v.flags & WEIR_VIP_F_FAIL_OPEN) != 0},
		                {"fingerprint", fingerprint_of(snap, v.id)}});
	}
	return {{"version", version()},
	        {"engine", info.engine},
	        {"workers", info.workers},
	        {"uptime_seconds", info.uptime_seconds},
	        {"config_file", info.config_file},
	        {"generation", snap.generation},
	        {"vips", std::move(vips)}};
}

json stats_json(const config &cfg, const dp::snapshot &snap, std::span<const dp::worker_view> workers,
                const drop_counts &engine_drops)
{
	json totals = {{"rx_packets", 0}, {"rx_bytes", 0}, {"tx_packets", 0},   {"tx_bytes", 0},
	               {"passed", 0},     {"dropped", 0},  {"flows_active", 0}, {"flow_capacity", 0}};
	drop_counts drops{};
	json per_worker = json::array();
	bool any_flows = false;
	for (const dp::worker_view &w : workers) {
		if (!w.counters)
			continue;
		per_worker.push_back(worker_json(w, drops, totals));
		any_flows |= w.flows != nullptr;
	}
	uint64_t engine_dropped = 0;
	json by_reason = json::object();
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++) {
		engine_dropped += engine_drops[r];
		by_reason[reasons[r].name] = drops[r] + engine_drops[r];
	}
	totals["dropped"] = totals["dropped"].get<uint64_t>() + engine_dropped;
	totals["engine_dropped"] = engine_dropped;
	if (!any_flows)
		totals["flows_active"] = totals["flow_capacity"] = nullptr;
	json vips = json::array(), backends = json::array();
	traffic_json(snap, configs_by_id(cfg, snap), workers, vips, backends);
	return {{"totals", std::move(totals)},     {"vips", std::move(vips)},
	        {"backends", std::move(backends)}, {"workers", std::move(per_worker)},
	        {"drops", std::move(by_reason)},   {"counters", other_counters(workers)}};
}

}  // namespace weir::ctl
