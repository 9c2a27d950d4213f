// metrics.cpp — the Prometheus exposition (metrics.h): families, HELP texts and
// samples, from the sums stats.h computes. Control thread only; reads worker
// counters and flow tables that their workers keep writing. docs/metrics.md
// lists the families and which of them add up.
#include "metrics.h"

#include <cstdio>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "maglev.h"

namespace weir::ctl {

namespace {

// Text format 0.0.4: a family's samples follow its HELP and TYPE lines, together.
class exposition {
public:
	void family(std::string_view name, const char *type, std::string_view help)
	{
		_out.append("# HELP ").append(name).append(" ");
		for (char c : help) {
			if (c == '\\')
				_out.append("\\\\");
			else if (c == '\n')
				_out.append("\\n");
			else
				_out.push_back(c);
		}
		_out.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
	}

	// `labels`: name="value" pairs, values escaped (label_set), or "".
	void sample(std::string_view name, std::string_view labels, uint64_t value)
	{
		_out.append(name);
		if (!labels.empty())
			_out.append("{").append(labels).append("}");
		_out.append(" ").append(std::to_string(value)).append("\n");
	}

	// A value in seconds or another unit with a fraction: microsecond precision.
	void sample_real(std::string_view name, std::string_view labels, double value)
	{
		char text[32];
		std::snprintf(text, sizeof text, "%.6f", value);
		_out.append(name);
		if (!labels.empty())
			_out.append("{").append(labels).append("}");
		_out.append(" ").append(text).append("\n");
	}

	// A family of one unlabelled sample.
	void single(std::string_view name, const char *type, std::string_view help, uint64_t value)
	{
		family(name, type, help);
		sample(name, "", value);
	}

	std::string take() { return std::move(_out); }

private:
	std::string _out;
};

std::string label_set(std::initializer_list<std::pair<std::string_view, std::string_view>> labels)
{
	std::string s;
	for (const auto &[name, value] : labels) {
		if (!s.empty())
			s.push_back(',');
		s.append(name).append("=\"").append(escape_label_value(value)).append("\"");
	}
	return s;
}

// One labelled series per row, for every family of a row kind.
template <typename Row, typename Value>
void per_row(exposition &out, std::string_view name, const char *type, std::string_view help,
             const std::vector<Row> &rows, Value value)
{
	out.family(name, type, help);
	for (const Row &r : rows) {
		if constexpr (std::is_floating_point_v<decltype(value(r))>)
			out.sample_real(name, r.labels, value(r));
		else
			out.sample(name, r.labels, value(r));
	}
}

const char *const health_states[] = {"unknown", "up", "down", "none"};

std::string health_state(const health_lookup &health, const std::string &vip, const weir_backend &b)
{
	std::string s = health ? health(vip, backend_ip(b)) : "unknown";
	for (const char *known : health_states)
		if (s == known)
			return s;
	return "unknown";
}

struct vip_row {
	std::string labels;  // vip="..."
	std::string name;
	traffic_sum traffic;
	uint32_t backends = 0;
	uint32_t usable = 0;
	bool fail_open = false;
};

struct backend_row {
	std::string labels;  // vip="...",backend="..."
	std::string vip;
	std::string address;
	traffic_sum traffic;
	uint32_t weight = 0;
	bool usable = false;
	std::string health;
};

struct worker_row {
	std::string labels;  // worker="LCORE"
	worker_sums sums;
	flow_sums flows;
	poll_sums polls;
};

struct model {
	std::vector<vip_row> vips;
	std::vector<backend_row> backends;
	std::vector<worker_row> workers;
};

model build_model(const dp::snapshot &snap, std::span<const dp::worker_view> workers,
                  const health_lookup &health)
{
	model m;
	for (const weir_vip &v : snap.vips) {
		const std::string &name = snap.vip_names[v.id];
		m.vips.push_back({label_set({{"vip", name}}), name, sum_vip(snap, v, workers),
		                  v.backend_count, usable_backends(snap, v),
		                  (v.flags & WEIR_VIP_F_FAIL_OPEN) != 0});
		for (uint32_t k = v.backend_first; k < v.backend_first + v.backend_count; k++) {
			uint32_t id = snap.vip_backends[k];
			const weir_backend &b = snap.backends[id];
			std::string addr = backend_address(b);
			m.backends.push_back({label_set({{"vip", name}, {"backend", addr}}), name, addr,
			                      sum_backend(workers, id), b.weight,
			                      (b.flags & WEIR_BACKEND_F_USABLE) != 0,
			                      health_state(health, name, b)});
		}
	}
	for (const dp::worker_view &w : workers)
		if (w.counters)
			m.workers.push_back({label_set({{"worker", std::to_string(w.lcore)}}),
			                     sum_workers({&w, 1}), sum_flows({&w, 1}), sum_polls({&w, 1})});
	return m;
}

std::string drops_help()
{
	std::string h = "Packets dropped, by reason (engine drops included). Reasons:";
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++)
		h.append(r ? "; " : " ").append(drop_reason_name(r)).append(": ").append(drop_reason_help(r));
	return h;
}

void render_process(exposition &out, const status_info &info, const dp::snapshot &snap)
{
	out.family("weir_build_info", "gauge", "Always 1: weir's version and the packet engine running.");
	out.sample("weir_build_info", label_set({{"version", version()}, {"engine", info.engine}}), 1);
	out.single("weir_uptime_seconds", "gauge", "Seconds since weir started.", info.uptime_seconds);
	out.single("weir_snapshot_generation", "gauge",
	           "Generation of the snapshot the workers use; rises with every published change.",
	           snap.generation);
	out.single("weir_workers", "gauge", "Packet workers (DPDK lcores, or CPUs for XDP).", info.workers);
}

void render_totals(exposition &out, std::span<const dp::worker_view> workers, const drop_counts &engine_drops)
{
	worker_sums t = sum_workers(workers);
	uint64_t engine_dropped = 0;
	for (uint64_t d : engine_drops)
		engine_dropped += d;
	out.single("weir_received_packets_total", "counter", "Frames the workers received.", t.rx_packets);
	out.single("weir_received_bytes_total", "counter", "Bytes of the frames the workers received.",
	           t.rx_bytes);
	out.single("weir_forwarded_packets_total", "counter", "Packets forwarded to a backend.",
	           t.tx_packets);
	out.single("weir_forwarded_bytes_total", "counter",
	           "Bytes forwarded to backends, as sent (after encapsulation).", t.tx_bytes);
	out.single("weir_passed_packets_total", "counter",
	           "Packets not for a VIP, passed to the kernel (exception path / XDP_PASS).", t.passed);
	out.family("weir_drops_total", "counter", drops_help());
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++)
		out.sample("weir_drops_total", label_set({{"reason", drop_reason_name(r)}}),
		           t.drops[r] + engine_drops[r]);
	out.single("weir_engine_drops_total", "counter",
	           "Drops by the engine after the pipeline had counted the packet as forwarded or passed "
	           "(included in weir_drops_total).",
	           engine_dropped);
	out.single("weir_icmp_sent_total", "counter",
	           "ICMP fragmentation-needed / packet-too-big errors weir sent (each counts as an "
	           "mtu_exceeded drop).",
	           t.icmp_sent);
	out.single("weir_icmp_rate_limited_total", "counter",
	           "ICMP errors not sent because of the rate limit.", t.icmp_rate_limited);
	out.single("weir_icmp_forwarded_total", "counter",
	           "ICMP errors to a VIP forwarded to the backend of the flow they quote.", t.icmp_forwarded);
	out.single("weir_fragments_forwarded_total", "counter",
	           "IP fragments forwarded by the 3-tuple hash (fragments = \"3tuple\").",
	           t.fragments_forwarded);
	out.single("weir_untracked_total", "counter",
	           "Packets forwarded without a flow-table entry (bucket full, fragments, ICMP errors).",
	           t.untracked);
	out.single(
	        "weir_untracked_collisions_total", "counter",
	        "New flows forwarded untracked because another VIP's flow held their bucket and signature.",
	        t.untracked_collisions);
	flow_sums f = sum_flows(workers);
	if (f.known) {
		out.single("weir_flows_active", "gauge", "Connection-tracking entries in use, all workers.",
		           f.active);
		out.single("weir_flow_capacity", "gauge", "Connection-tracking entries, all workers.",
		           f.capacity);
	}
}

void render_vips(exposition &out, const model &m, const config &cfg, const dp::snapshot &snap, bool tracked)
{
	std::vector<const vip_config *> cfgs = configs_by_id(cfg, snap);
	out.family("weir_vip_info", "gauge", "Always 1: a VIP's endpoint, scheduler and forwarding.");
	for (const weir_vip &v : snap.vips)
		out.sample("weir_vip_info",
		           label_set({{"vip", snap.vip_names[v.id]},
		                      {"endpoint", cfgs[v.id] ? vip_endpoint(*cfgs[v.id]) : ""},
		                      {"scheduler", to_string(scheduler_kind(v.scheduler))},
		                      {"forwarding", to_string(forwarding_kind(v.forwarding))}}),
		           1);
	out.family("weir_vip_table_info", "gauge",
	           "Always 1: the fingerprint of a VIP's table; equal on every host with the same inputs "
	           "(no sample while the table is empty).");
	for (const weir_vip &v : snap.vips)
		if (std::optional<uint64_t> f = table_fingerprint(snap, v.id))
			out.sample("weir_vip_table_info",
			           label_set({{"vip", snap.vip_names[v.id]},
			                      {"fingerprint", format_fingerprint(*f)}}),
			           1);
	per_row(out, "weir_vip_packets_total", "counter", "Packets forwarded for a VIP.", m.vips,
	        [](const vip_row &r) { return r.traffic.packets; });
	per_row(out, "weir_vip_bytes_total", "counter", "Bytes forwarded for a VIP, as sent.", m.vips,
	        [](const vip_row &r) { return r.traffic.bytes; });
	if (tracked)
		per_row(out, "weir_vip_flows_active", "gauge", "Tracked flows of a VIP.", m.vips,
		        [](const vip_row &r) { return r.traffic.flows; });
	per_row(out, "weir_vip_backends", "gauge", "Backends of a VIP.", m.vips,
	        [](const vip_row &r) { return uint64_t(r.backends); });
	per_row(out, "weir_vip_usable_backends", "gauge",
	        "Backends of a VIP the data path may use (up, unknown or health none; all while failing "
	        "open).",
	        m.vips, [](const vip_row &r) { return uint64_t(r.usable); });
	per_row(out, "weir_vip_fail_open", "gauge",
	        "1 while every backend of the VIP is down and the VIP forwards to all of them anyway.",
	        m.vips, [](const vip_row &r) { return uint64_t(r.fail_open); });
}

void render_backends(exposition &out, const model &m, bool tracked)
{
	per_row(out, "weir_packets_total", "counter", "Packets forwarded to a backend of a VIP.", m.backends,
	        [](const backend_row &r) { return r.traffic.packets; });
	per_row(out, "weir_bytes_total", "counter", "Bytes forwarded to a backend of a VIP, as sent.",
	        m.backends, [](const backend_row &r) { return r.traffic.bytes; });
	if (tracked)
		per_row(out, "weir_backend_flows_active", "gauge", "Tracked flows on a backend.", m.backends,
		        [](const backend_row &r) { return r.traffic.flows; });
	per_row(out, "weir_backend_weight", "gauge", "A backend's weight (0: drained).", m.backends,
	        [](const backend_row &r) { return uint64_t(r.weight); });
	per_row(out, "weir_backend_usable", "gauge",
	        "1 when the data path may use the backend (its tracked flows stay; new flows if weight > 0).",
	        m.backends, [](const backend_row &r) { return uint64_t(r.usable); });
	per_row(out, "weir_backend_up", "gauge",
	        "0 when health checks hold the backend down, else 1 (up, unknown and health none take "
	        "traffic).",
	        m.backends, [](const backend_row &r) { return uint64_t(r.health != "down"); });
	out.family("weir_backend_health", "gauge",
	           "1 for the backend's health state (unknown, up, down, none), 0 for the others.");
	for (const backend_row &r : m.backends)
		for (const char *state : health_states)
			out.sample("weir_backend_health",
			           label_set({{"vip", r.vip}, {"backend", r.address}, {"state", state}}),
			           r.health == state);
}

void render_workers(exposition &out, const model &m)
{
	using row = worker_row;
	per_row(out, "weir_worker_received_packets_total", "counter", "Frames a worker received.", m.workers,
	        [](const row &r) { return r.sums.rx_packets; });
	per_row(out, "weir_worker_received_bytes_total", "counter", "Bytes of the frames a worker received.",
	        m.workers, [](const row &r) { return r.sums.rx_bytes; });
	per_row(out, "weir_worker_forwarded_packets_total", "counter",
	        "Packets a worker forwarded to backends.", m.workers,
	        [](const row &r) { return r.sums.tx_packets; });
	per_row(out, "weir_worker_forwarded_bytes_total", "counter", "Bytes a worker forwarded, as sent.",
	        m.workers, [](const row &r) { return r.sums.tx_bytes; });
	per_row(out, "weir_worker_passed_packets_total", "counter", "Packets a worker passed to the kernel.",
	        m.workers, [](const row &r) { return r.sums.passed; });
	per_row(out, "weir_worker_dropped_packets_total", "counter", "Packets a worker dropped, all reasons.",
	        m.workers, [](const row &r) { return r.sums.dropped; });
	per_row(out, "weir_worker_untracked_total", "counter",
	        "Packets a worker forwarded without a flow-table entry.", m.workers,
	        [](const row &r) { return r.sums.untracked; });
	std::vector<worker_row> polling;
	for (const worker_row &r : m.workers)
		if (r.polls.known)
			polling.push_back(r);
	if (!polling.empty()) {
		per_row(out, "weir_worker_polls_total", "counter", "RX polls of the data port by a worker.",
		        polling, [](const row &r) { return r.polls.polls; });
		per_row(out, "weir_worker_empty_polls_total", "counter", "RX polls that found no packet.",
		        polling, [](const row &r) { return r.polls.empty_polls; });
		per_row(out, "weir_worker_busy_seconds_total", "counter",
		        "Seconds a worker spent on polls that found packets: its load, where its core always "
		        "shows 100 %.",
		        polling, [](const row &r) { return r.polls.busy_seconds; });
	}
	std::vector<worker_row> tracked;
	for (const worker_row &r : m.workers)
		if (r.flows.known)
			tracked.push_back(r);
	if (tracked.empty())
		return;
	per_row(out, "weir_worker_flows_active", "gauge", "Entries in use in a worker's flow table.", tracked,
	        [](const row &r) { return r.flows.active; });
	per_row(out, "weir_worker_flow_capacity", "gauge", "Entries of a worker's flow table.", tracked,
	        [](const row &r) { return r.flows.capacity; });
	per_row(out, "weir_worker_flows_inserted_total", "counter",
	        "Flows a worker's table started tracking.", tracked,
	        [](const row &r) { return r.flows.inserted; });
	per_row(out, "weir_worker_flows_expired_total", "counter",
	        "Entries a worker's table reclaimed after their timeout.", tracked,
	        [](const row &r) { return r.flows.expired; });
}

}  // namespace

std::string escape_label_value(std::string_view v)
{
	std::string s;
	s.reserve(v.size());
	for (char c : v) {
		if (c == '\\')
			s.append("\\\\");
		else if (c == '"')
			s.append("\\\"");
		else if (c == '\n')
			s.append("\\n");
		else
			s.push_back(c);
	}
	return s;
}

std::string render_metrics(const status_info &info, const config &cfg, const dp::snapshot &snap,
                           std::span<const dp::worker_view> workers, const drop_counts &engine_drops,
                           const health_lookup &health)
{
	model m = build_model(snap, workers, health);
	bool tracked = sum_flows(workers).known;
	exposition out;
	render_process(out, info, snap);
	render_totals(out, workers, engine_drops);
	render_vips(out, m, cfg, snap, tracked);
	render_backends(out, m, tracked);
	render_workers(out, m);
	return out.take();
}

}  // namespace weir::ctl
