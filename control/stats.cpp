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

json fingerprint_of(const dp::snapshot &s, uint32_t vip)
{
	std::optional<uint64_t> f = table_fingerprint(s, vip);
	return f ? json(format_fingerprint(*f)) : json(nullptr);
}

json endpoint_of(const vip_config *v)
{
	return v ? json(vip_endpoint(*v)) : json(nullptr);
}

json worker_json(const dp::worker_view &w)
{
	worker_sums c = sum_workers({&w, 1});
	json j = {{"lcore", w.lcore},           {"rx_packets", c.rx_packets}, {"rx_bytes", c.rx_bytes},
	          {"tx_packets", c.tx_packets}, {"tx_bytes", c.tx_bytes},     {"passed", c.passed},
	          {"dropped", c.dropped},       {"untracked", c.untracked}};
	flow_sums f = sum_flows({&w, 1});
	if (f.known) {
		// Plain fields of the owning worker: a recent value, good enough for display.
		j["flows_active"] = f.active;
		j["flow_capacity"] = f.capacity;
		j["occupancy_pct"] = f.capacity ? double(uint64_t(f.active * 10000 / f.capacity)) / 100 : 0.0;
		j["expired"] = f.expired;
		j["inserted"] = f.inserted;
	} else {
		for (const char *k :
		     {"flows_active", "flow_capacity", "occupancy_pct", "expired", "inserted"})
			j[k] = nullptr;
	}
	poll_sums p = sum_polls({&w, 1});
	j["polls"] = p.known ? json(p.polls) : json(nullptr);
	j["empty_polls"] = p.known ? json(p.empty_polls) : json(nullptr);
	j["busy_seconds"] = p.known ? json(p.busy_seconds) : json(nullptr);
	return j;
}

json other_counters(const worker_sums &c)
{
	return {{"icmp_sent", c.icmp_sent},           {"icmp_rate_limited", c.icmp_rate_limited},
	        {"icmp_forwarded", c.icmp_forwarded}, {"fragments_forwarded", c.fragments_forwarded},
	        {"untracked", c.untracked},           {"untracked_collisions", c.untracked_collisions}};
}

// Per VIP and per backend, in VIP order and, within a VIP, backend address order.
void traffic_json(const dp::snapshot &s, const std::vector<const vip_config *> &cfgs,
                  std::span<const dp::worker_view> workers, json &vips, json &backends)
{
	bool tracked = sum_flows(workers).known;
	for (const weir_vip &v : s.vips) {
		for (uint32_t k = v.backend_first; k < v.backend_first + v.backend_count; k++) {
			uint32_t id = s.vip_backends[k];
			const weir_backend &b = s.backends[id];
			traffic_sum sum = sum_backend(workers, id);
			backends.push_back({{"vip", s.vip_names[v.id]},
			                    {"address", backend_address(b)},
			                    {"weight", b.weight},
			                    {"usable", (b.flags & WEIR_BACKEND_F_USABLE) != 0},
			                    {"flows_active", tracked ? json(sum.flows) : json(nullptr)},
			                    {"packets", sum.packets},
			                    {"bytes", sum.bytes}});
		}
		traffic_sum sum = sum_vip(s, v, workers);
		vips.push_back({{"name", s.vip_names[v.id]},
		                {"endpoint", endpoint_of(cfgs[v.id])},
		                {"packets", sum.packets},
		                {"bytes", sum.bytes},
		                {"flows_active", tracked ? json(sum.flows) : json(nullptr)},
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

worker_sums sum_workers(std::span<const dp::worker_view> workers)
{
	worker_sums t;
	for (const dp::worker_view &w : workers) {
		if (!w.counters)
			continue;
		const dp::worker_counters &c = *w.counters;
		t.rx_packets += c.rx_packets.get();
		t.rx_bytes += c.rx_bytes.get();
		t.tx_packets += c.tx_packets.get();
		t.tx_bytes += c.tx_bytes.get();
		t.passed += c.pass_packets.get();
		for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++) {
			uint64_t n = c.drops[r].get();
			t.drops[r] += n;
			t.dropped += n;
		}
		t.icmp_sent += c.icmp_sent.get();
		t.icmp_rate_limited += c.icmp_rate_limited.get();
		t.icmp_forwarded += c.icmp_forwarded.get();
		t.fragments_forwarded += c.fragments_forwarded.get();
		t.untracked += c.untracked.get();
		t.untracked_collisions += c.untracked_collisions.get();
	}
	return t;
}

flow_sums sum_flows(std::span<const dp::worker_view> workers)
{
	flow_sums f;
	for (const dp::worker_view &w : workers) {
		if (!w.counters || !w.flows)
			continue;
		dp::flow_counters fc = w.flows->counters();
		f.known = true;
		f.active += w.flows->flows_active();
		f.capacity += w.flows->capacity();
		f.inserted += fc.inserted;
		f.expired += fc.expired;
	}
	return f;
}

poll_sums sum_polls(std::span<const dp::worker_view> workers)
{
	poll_sums p;
	for (const dp::worker_view &w : workers) {
		if (!w.counters || !w.cycles_hz)
			continue;
		p.known = true;
		p.polls += w.counters->polls.get();
		p.empty_polls += w.counters->empty_polls.get();
		p.busy_seconds += double(w.counters->busy_cycles.get()) / double(w.cycles_hz);
	}
	return p;
}

traffic_sum sum_backend(std::span<const dp::worker_view> workers, uint32_t backend_id)
{
	traffic_sum b;
	for (const dp::worker_view &w : workers) {
		if (w.counters) {
			b.packets += w.counters->backend[backend_id].packets.get();
			b.bytes += w.counters->backend[backend_id].bytes.get();
		}
		if (w.flows)
			b.flows += w.flows->active(backend_id);
	}
	return b;
}

traffic_sum sum_vip(const dp::snapshot &snap, const weir_vip &vip, std::span<const dp::worker_view> workers)
{
	traffic_sum v;
	for (const dp::worker_view &w : workers) {
		if (w.counters) {
			v.packets += w.counters->vip[vip.counter_id].packets.get();
			v.bytes += w.counters->vip[vip.counter_id].bytes.get();
		}
	}
	for (uint32_t k = vip.backend_first; k < vip.backend_first + vip.backend_count; k++)
		v.flows += sum_backend(workers, snap.vip_backends[k]).flows;
	return v;
}

ip_addr backend_ip(const weir_backend &b)
{
	ip_addr a;
	a.family = b.family;
	std::memcpy(a.bytes.data(), b.addr, sizeof(b.addr));
	return a;
}

std::string backend_address(const weir_backend &b)
{
	return backend_ip(b).to_string();
}

std::optional<uint64_t> table_fingerprint(const dp::snapshot &snap, uint32_t vip)
{
	if (vip >= snap.tables.size() || !snap.tables[vip] || snap.tables[vip]->slots.empty())
		return std::nullopt;
	return snap.tables[vip]->fingerprint;
}

uint32_t usable_backends(const dp::snapshot &snap, const weir_vip &vip)
{
	uint32_t usable = 0;
	for (uint32_t k = vip.backend_first; k < vip.backend_first + vip.backend_count; k++)
		usable += (snap.backends[snap.vip_backends[k]].flags & WEIR_BACKEND_F_USABLE) != 0;
	return usable;
}

std::vector<const vip_config *> configs_by_id(const config &cfg, const dp::snapshot &snap)
{
	std::map<std::string, const vip_config *> by_name;
	for (const vip_config &v : cfg.vips)
		by_name.emplace(v.name, &v);
	std::vector<const vip_config *> out(snap.vips.size(), nullptr);
	for (size_t id = 0; id < snap.vips.size() && id < snap.vip_names.size(); id++)
		if (auto it = by_name.find(snap.vip_names[id]); it != by_name.end())
			out[id] = it->second;
	return out;
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
		vips.push_back({{"name", snap.vip_names[v.id]},
		                {"endpoint", endpoint_of(c)},
		                {"address", c ? json(c->address.to_string()) : json(nullptr)},
		                {"port", c ? json(c->port) : json(nullptr)},
		                {"protocol", c ? json(to_string(c->proto)) : json(nullptr)},
		                {"scheduler", scheduler_name(v.scheduler)},
		                {"forwarding", forwarding_name(v.forwarding)},
		                {"backends", v.backend_count},
		                {"usable_backends", usable_backends(snap, v)},
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
	worker_sums sums = sum_workers(workers);
	flow_sums flows = sum_flows(workers);
	json per_worker = json::array();
	for (const dp::worker_view &w : workers)
		if (w.counters)
			per_worker.push_back(worker_json(w));
	uint64_t engine_dropped = 0;
	json by_reason = json::object();
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++) {
		engine_dropped += engine_drops[r];
		by_reason[reasons[r].name] = sums.drops[r] + engine_drops[r];
	}
	json totals = {{"rx_packets", sums.rx_packets},
	               {"rx_bytes", sums.rx_bytes},
	               {"tx_packets", sums.tx_packets},
	               {"tx_bytes", sums.tx_bytes},
	               {"passed", sums.passed},
	               {"dropped", sums.dropped + engine_dropped},
	               {"engine_dropped", engine_dropped},
	               {"flows_active", flows.known ? json(flows.active) : json(nullptr)},
	               {"flow_capacity", flows.known ? json(flows.capacity) : json(nullptr)}};
	json vips = json::array(), backends = json::array();
	traffic_json(snap, configs_by_id(cfg, snap), workers, vips, backends);
	return {{"totals", std::move(totals)},     {"vips", std::move(vips)},
	        {"backends", std::move(backends)}, {"workers", std::move(per_worker)},
	        {"drops", std::move(by_reason)},   {"counters", other_counters(sums)}};
}

}  // namespace weir::ctl
