// snapshot_builder.cpp — configuration → snapshot (control thread only).
#include "snapshot_builder.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <set>

#include "maglev.h"
#include "weir_byteorder.h"
#include "weir_proto.h"

namespace weir::ctl {

static_assert(int(scheduler_kind::maglev) == WEIR_SCHED_MAGLEV &&
                      int(scheduler_kind::maglev_src) == WEIR_SCHED_MAGLEV_SRC &&
                      int(scheduler_kind::wrr) == WEIR_SCHED_WRR &&
                      int(scheduler_kind::least_conn) == WEIR_SCHED_LEAST_CONN,
              "config enums follow the ABI's");
static_assert(int(forwarding_kind::ipip) == WEIR_FWD_IPIP && int(forwarding_kind::gue) == WEIR_FWD_GUE &&
                      int(forwarding_kind::l2dsr) == WEIR_FWD_L2DSR,
              "config enums follow the ABI's");

result<uint32_t> backend_registry::acquire(const std::string &vip, const ip_addr &backend)
{
	auto key = std::make_pair(vip, backend);
	if (auto it = _refs.find(key); it != _refs.end())
		return it->second;
	for (uint32_t tries = 1; tries < WEIR_MAX_BACKENDS; tries++) {
		uint32_t id = _next;
		_next = _next + 1 == WEIR_MAX_BACKENDS ? 1 : _next + 1;
		if (_used[id])
			continue;
		_used[id] = true;
		uint32_t ref = (uint32_t(_generation[id]) << 16) | id;
		_refs.emplace(key, ref);
		return ref;
	}
	return error{"more than " + std::to_string(WEIR_MAX_BACKENDS - 1) + " backends in all VIPs together"};
}

void backend_registry::retain(const std::vector<std::pair<std::string, ip_addr>> &keep)
{
	std::set<std::pair<std::string, ip_addr>> wanted(keep.begin(), keep.end());
	for (auto it = _refs.begin(); it != _refs.end();) {
		if (wanted.count(it->first)) {
			++it;
			continue;
		}
		uint32_t id = WEIR_BACKEND_ID(it->second);
		_used[id] = false;
		_generation[id]++;  // the next owner of this id gets a different ref
		it = _refs.erase(it);
	}
}

result<uint16_t> backend_registry::acquire_vip(const std::string &name)
{
	if (auto it = _vip_ids.find(name); it != _vip_ids.end())
		return it->second;
	for (uint32_t tries = 0; tries < WEIR_MAX_VIPS; tries++) {
		uint32_t id = _vip_next;
		_vip_next = (_vip_next + 1) % WEIR_MAX_VIPS;
		if (_vip_used[id])
			continue;
		_vip_used[id] = true;
		_vip_ids.emplace(name, uint16_t(id));
		return uint16_t(id);
	}
	return error{"more than " + std::to_string(WEIR_MAX_VIPS) + " VIPs"};
}

void backend_registry::retain_vips(const std::vector<std::string> &keep)
{
	std::set<std::string> wanted(keep.begin(), keep.end());
	for (auto it = _vip_ids.begin(); it != _vip_ids.end();) {
		if (wanted.count(it->first)) {
			++it;
			continue;
		}
		_vip_used[it->second] = false;
		it = _vip_ids.erase(it);
	}
}

std::vector<uint32_t> wrr_rotation(const std::vector<uint32_t> &weights, uint32_t max_len)
{
	uint64_t g = 0, total = 0;
	for (uint32_t w : weights)
		g = std::gcd(g, uint64_t(w));
	if (g == 0)
		return {};
	std::vector<int64_t> w(weights.size());
	for (size_t i = 0; i < weights.size(); i++)
		total += (w[i] = weights[i] / g);
	if (total > max_len) {  // keep the proportions, within one entry each
		uint64_t scaled = 0;
		for (size_t i = 0; i < w.size(); i++)
			if (w[i])
				scaled += (w[i] = std::max<int64_t>(1, w[i] * max_len / total));
		total = scaled;
	}
	// Smooth weighted round robin: every step each backend gains its weight, the
	// richest is chosen and pays the total; heavy backends are spread out
	// instead of chosen in runs.
	std::vector<int64_t> current(w.size(), 0);
	std::vector<uint32_t> order;
	order.reserve(total);
	for (uint64_t step = 0; step < total; step++) {
		size_t best = 0;
		for (size_t i = 0; i < w.size(); i++) {
			current[i] += w[i];
			if (current[i] > current[best])
				best = i;
		}
		current[best] -= int64_t(total);
		order.push_back(uint32_t(best));
	}
	return order;
}

namespace {

void copy_addr(__be32 *dst, const ip_addr &a)
{
	std::memcpy(dst, a.bytes.data(), 16);
}

std::optional<mac_addr> next_hop_mac(const config &cfg, const vip_config &vip, const backend_config &b,
                                     const host_facts &host)
{
	if (vip.forwarding == forwarding_kind::l2dsr && b.mac)
		return b.mac;
	auto hop = next_hop(cfg, vip, b);
	return hop && host.resolve ? host.resolve(*hop) : std::nullopt;
}

weir_node make_node(const config &cfg, const host_facts &host)
{
	weir_node n{};
	std::memcpy(&n.ipv4, cfg.node.ipv4.addr.bytes.data(), 4);
	if (cfg.node.ipv6) {
		copy_addr(n.ipv6, cfg.node.ipv6->addr);
		n.has_ipv6 = 1;
	}
	std::memcpy(n.mac, host.port_mac.data(), 6);
	n.mtu = uint16_t(cfg.dataplane.mtu);
	n.gue_port = WEIR_HTONS(cfg.dataplane.gue_port);
	n.hash_seed = cfg.node.hash_seed;
	n.timeout_tcp = cfg.timeouts.tcp;
	n.timeout_tcp_closing = cfg.timeouts.tcp_closing;
	n.timeout_udp = cfg.timeouts.udp;
	n.icmp_rate = host.icmp_rate;
	return n;
}

weir_vip_key vip_key(const ip_addr &addr, uint16_t port, uint8_t proto)
{
	weir_vip_key k{};
	copy_addr(k.addr, addr);
	k.port = WEIR_HTONS(port);
	k.proto = proto;
	k.family = addr.family;
	return k;
}

uint8_t proto_number(protocol p)
{
	return p == protocol::tcp ? WEIR_IPPROTO_TCP : WEIR_IPPROTO_UDP;
}

// The previous snapshot's tables can be kept when the VIP decides exactly as
// before: same backends (refs), weights, usability, table size and seed.
bool same_inputs(const dp::snapshot &prev, const dp::snapshot &next, uint32_t id)
{
	if (id >= prev.vips.size() || prev.vip_names[id] != next.vip_names[id])
		return false;
	const weir_vip &a = prev.vips[id], &b = next.vips[id];
	if (a.table_size != b.table_size || a.scheduler != b.scheduler ||
	    a.backend_count != b.backend_count || prev.node.hash_seed != next.node.hash_seed)
		return false;
	for (uint32_t k = 0; k < a.backend_count; k++) {
		const weir_backend &x = prev.backends[prev.vip_backends[a.backend_first + k]];
		const weir_backend &y = next.backends[next.vip_backends[b.backend_first + k]];
		if (x.ref != y.ref || x.weight != y.weight || x.flags != y.flags)
			return false;
	}
	return true;
}

// The VIP's Maglev table (and wrr rotation) over its sorted backends.
status build_tables(dp::snapshot &s, const vip_config &vip, uint32_t id, const std::vector<uint32_t> &ids)
{
	std::vector<maglev_backend> mb;
	std::vector<uint32_t> weights;
	for (uint32_t bid : ids) {
		const weir_backend &b = s.backends[bid];
		ip_addr a;
		a.family = b.family;
		std::memcpy(a.bytes.data(), b.addr, 16);
		uint32_t w = (b.flags & WEIR_BACKEND_F_USABLE) ? b.weight : 0;
		mb.push_back({a, w});
		weights.push_back(w);
	}
	auto table = std::make_shared<dp::vip_table>();
	bool any = std::any_of(weights.begin(), weights.end(), [](uint32_t w) { return w > 0; });
	if (any) {
		auto built = build_maglev_table(mb, vip.table_size, s.node.hash_seed);
		if (!built)
			return error{"vip " + vip.name + ": " + built.error_message()};
		table->fingerprint = maglev_fingerprint(mb, *built);
		table->slots.reserve(built->size());
		for (uint32_t local : *built)
			table->slots.push_back(ids[local]);
	}
	s.tables[id] = std::move(table);
	if (vip.scheduler == scheduler_kind::wrr) {
		auto rot = std::make_shared<dp::vip_table>();
		for (uint32_t local : wrr_rotation(weights))
			rot->slots.push_back(ids[local]);
		s.rotations[id] = std::move(rot);
	}
	return ok();
}

void build_indexes(dp::snapshot &s, const config &cfg)
{
	std::vector<std::pair<weir_vip_key, uint32_t>> by_key, by_addr;
	// Per (address, protocol): the VIP that owns fragments — the port-0 VIP if
	// there is one, else the lowest-port VIP with fragments = "3tuple", else the
	// lowest-port VIP (whose policy then drops them).
	std::map<std::pair<std::string, uint8_t>, uint32_t> frag_owner;
	auto rank = [&](uint32_t id) {
		const vip_config &v = cfg.vips[id];
		return std::make_tuple(v.port != 0, v.fragments != fragment_policy::three_tuple, v.port);
	};
	for (uint32_t id = 0; id < cfg.vips.size(); id++) {
		const vip_config &v = cfg.vips[id];
		uint8_t proto = proto_number(v.proto);
		by_key.push_back({vip_key(v.address, v.port, proto), id});
		auto [it, fresh] = frag_owner.emplace(std::make_pair(v.address.to_string(), proto), id);
		if (!fresh && rank(id) < rank(it->second))
			it->second = id;
	}
	std::set<std::string> any_seen;
	for (const auto &[key, id] : frag_owner) {
		const vip_config &v = cfg.vips[id];
		by_addr.push_back({vip_key(v.address, 0, key.second), id});
		if (any_seen.insert(key.first).second)
			by_addr.push_back({vip_key(v.address, 0, 0), id});
	}
	s.by_key.build(by_key, s.node.hash_seed);
	s.by_addr.build(by_addr, s.node.hash_seed);
}

// Takes down backends out of the VIP (no USABLE flag: no new flows, tracked
// flows re-chosen), unless that leaves no backend able to take new flows while
// some are down: then all stay usable and the VIP is marked fail-open.
void apply_health(dp::snapshot &s, const vip_config &v, const std::vector<uint32_t> &ids,
                  const host_facts &host, weir_vip &wv)
{
	if (!host.is_down)
		return;
	std::vector<uint32_t> down;
	bool capacity_left = false;
	for (uint32_t bid : ids) {
		weir_backend &b = s.backends[bid];
		ip_addr a;
		a.family = b.family;
		std::memcpy(a.bytes.data(), b.addr, 16);
		if (host.is_down(v.name, a))
			down.push_back(bid);
		else if (b.weight > 0)
			capacity_left = true;
	}
	if (down.empty())
		return;
	if (!capacity_left) {
		wv.flags |= WEIR_VIP_F_FAIL_OPEN;
		return;
	}
	for (uint32_t bid : down)
		s.backends[bid].flags &= uint8_t(~WEIR_BACKEND_F_USABLE);
}

}  // namespace

std::optional<ip_addr> next_hop(const config &cfg, const vip_config &vip, const backend_config &b)
{
	if (vip.forwarding == forwarding_kind::l2dsr)
		return b.mac ? std::nullopt : std::optional<ip_addr>(b.address);
	bool on_link = b.address.is_v4() ? cfg.node.ipv4.contains(b.address)
	                                 : cfg.node.ipv6 && cfg.node.ipv6->contains(b.address);
	if (on_link)
		return b.address;
	const auto &gw = b.address.is_v4() ? cfg.node.gateway : cfg.node.gateway6;
	return gw;
}

result<std::shared_ptr<const dp::snapshot>> build_snapshot(const config &cfg, const host_facts &host,
                                                           backend_registry &registry,
                                                           const dp::snapshot *previous)
{
	if (cfg.vips.size() > WEIR_MAX_VIPS)
		return error{"more than " + std::to_string(WEIR_MAX_VIPS) + " VIPs"};
	auto s = std::make_shared<dp::snapshot>();
	s->generation = previous ? previous->generation + 1 : 1;
	s->node = make_node(cfg, host);
	s->tables.resize(cfg.vips.size());
	s->rotations.resize(cfg.vips.size());

	std::vector<std::pair<std::string, ip_addr>> keep;
	std::vector<std::vector<uint32_t>> ids_by_vip;
	for (uint32_t id = 0; id < cfg.vips.size(); id++) {
		const vip_config &v = cfg.vips[id];
		weir_vip wv{};
		wv.id = id;
		wv.table_size = v.table_size;
		wv.backend_first = uint32_t(s->vip_backends.size());
		wv.backend_count = uint16_t(v.backends.size());
		wv.scheduler = uint8_t(v.scheduler);  // scheduler_kind follows enum weir_scheduler
		wv.forwarding = uint8_t(v.forwarding);
		wv.flags = v.fragments == fragment_policy::three_tuple ? WEIR_VIP_F_FRAG_3TUPLE : 0;
		auto counter_id = registry.acquire_vip(v.name);
		if (!counter_id)
			return error{counter_id.error_message()};
		wv.counter_id = *counter_id;

		std::vector<backend_config> sorted = v.backends;
		std::sort(sorted.begin(), sorted.end(), [](const backend_config &a, const backend_config &b) {
			return a.address < b.address;
		});
		std::vector<uint32_t> ids;
		for (const backend_config &b : sorted) {
			auto ref = registry.acquire(v.name, b.address);
			if (!ref)
				return error{ref.error_message()};
			keep.emplace_back(v.name, b.address);
			weir_backend wb{};
			copy_addr(wb.addr, b.address);
			wb.ref = *ref;
			wb.weight = uint16_t(b.weight);
			wb.vip_id = uint16_t(id);
			wb.family = b.address.family;
			wb.flags = WEIR_BACKEND_F_USABLE;
			if (auto mac = next_hop_mac(cfg, v, b, host)) {
				std::memcpy(wb.next_hop_mac, mac->data(), 6);
				wb.flags |= WEIR_BACKEND_F_MAC;
			}
			uint32_t bid = WEIR_BACKEND_ID(*ref);
			if (s->backends.size() <= bid)
				s->backends.resize(bid + 1);
			s->backends[bid] = wb;
			ids.push_back(bid);
			s->vip_backends.push_back(bid);
		}
		apply_health(*s, v, ids, host, wv);
		s->vips.push_back(wv);
		s->vip_names.push_back(v.name);
		ids_by_vip.push_back(std::move(ids));
	}
	for (uint32_t id = 0; id < cfg.vips.size(); id++) {
		if (previous && same_inputs(*previous, *s, id)) {
			s->tables[id] = previous->tables[id];
			s->rotations[id] = previous->rotations[id];
			continue;
		}
		if (status st = build_tables(*s, cfg.vips[id], id, ids_by_vip[id]); !st)
			return error{st.error_message()};
	}
	build_indexes(*s, cfg);
	registry.retain(keep);
	registry.retain_vips(s->vip_names);
	return std::shared_ptr<const dp::snapshot>(std::move(s));
}

}  // namespace weir::ctl
