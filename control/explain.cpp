// explain.cpp — `weirctl explain` (explain.h): the pipeline's choice for one flow,
// restated from the snapshot. Control thread only; reads the snapshot and,
// through `lookup`, the workers' flow tables.
#include "explain.h"

#include <cstdio>
#include <cstring>

#include "config.h"
#include "config_edit.h"
#include "ip_addr.h"
#include "pipeline.h"
#include "stats.h"
#include "weir_byteorder.h"
#include "weir_maglev.h"
#include "weir_proto.h"

namespace weir::ctl {

namespace {

using json = nlohmann::json;

std::string hex(uint32_t v)
{
	char buf[16];
	std::snprintf(buf, sizeof(buf), "0x%08x", v);
	return buf;
}

std::string address_of(const weir_backend &b)
{
	ip_addr a;
	a.family = b.family;
	std::memcpy(a.bytes.data(), b.addr, sizeof(b.addr));
	return a.to_string();
}

std::string endpoint(const __be32 *addr, uint8_t family, __be16 port_be)
{
	ip_addr a;
	a.family = family;
	std::memcpy(a.bytes.data(), addr, a.bytes.size());
	uint16_t port = WEIR_NTOHS(port_be);
	std::string text = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
	return text + ":" + std::to_string(port);
}

// What a new flow of the VIP gets from its Maglev table.
struct maglev_choice {
	uint32_t hash = 0, slot = 0, size = 0;
	const weir_backend *backend = nullptr;  // null: empty table (no usable backend)
};

maglev_choice maglev_of(const dp::snapshot &s, const weir_vip &v, const weir_flow_key &key, uint32_t hash)
{
	maglev_choice m;
	const dp::vip_table *t = s.tables[v.id].get();
	m.hash = v.scheduler == WEIR_SCHED_MAGLEV_SRC ? weir_src_hash(&key, s.node.hash_seed) : hash;
	if (!t || t->slots.empty())
		return m;
	m.size = uint32_t(t->slots.size());
	m.slot = weir_maglev_slot(m.hash, m.size);
	m.backend = &s.backends[t->slots[m.slot]];
	return m;
}

bool any_weighted(const dp::snapshot &s, const weir_vip &v)
{
	for (uint32_t k = v.backend_first; k < v.backend_first + v.backend_count; k++) {
		const weir_backend &b = s.backends[s.vip_backends[k]];
		if ((b.flags & WEIR_BACKEND_F_USABLE) && b.weight > 0)
			return true;
	}
	return false;
}

// The choice of a flow without a usable entry: the scheduler's, or for wrr and
// least_conn the backend that is decided only when the packet arrives.
void new_flow(json &j, std::string &why, const dp::snapshot &s, const weir_vip &v, const maglev_choice &m)
{
	std::string maglev_text = m.backend ? "Maglev slot " + std::to_string(m.slot) + " of " +
	                                              std::to_string(m.size) + ": " + address_of(*m.backend)
	                                    : "";
	bool usable = v.scheduler == WEIR_SCHED_LEAST_CONN ? any_weighted(s, v) : m.backend != nullptr;
	if (!usable) {
		j["verdict"] = "drop";
		j["reason"] = drop_reason_name(WEIR_DROP_no_backend);
		why += "dropped: the VIP has no usable backend";
		return;
	}
	switch (v.scheduler) {
	case WEIR_SCHED_MAGLEV:
	case WEIR_SCHED_MAGLEV_SRC:
		j["choice"] = "maglev";
		j["backend"] = address_of(*m.backend);
		why += "a new flow takes " + maglev_text;
		return;
	case WEIR_SCHED_WRR:
		j["choice"] = "rotation";
		why += "a new flow takes the next backend of the weighted rotation (not determined by the "
		       "tuple)";
		break;
	default:
		j["choice"] = "least_loaded";
		why += "a new flow takes the backend with the fewest flows per weight at that moment (not "
		       "determined by the tuple)";
		break;
	}
	if (m.backend)
		why += "; if the flow table cannot track it, its packets take " + maglev_text;
}

}  // namespace

result<weir_flow_key> parse_flow(std::string_view src, std::string_view dst, std::string_view proto)
{
	auto s = split_host_port(src), d = split_host_port(dst);
	if (!s)
		return error{"source: " + s.error_message()};
	if (!d)
		return error{"destination: " + d.error_message()};
	auto sa = ip_addr::parse(s->address), da = ip_addr::parse(d->address);
	if (!sa || !da)
		return error{"\"" + (sa ? d->address : s->address) + "\" is not an IPv4 or IPv6 address"};
	if (sa->family != da->family)
		return error{"the source and the destination are of different address families"};
	if (proto != "tcp" && proto != "udp")
		return error{"\"" + std::string(proto) + "\" is not a protocol; use \"tcp\" or \"udp\""};
	weir_flow_key k{};
	std::memcpy(k.saddr, sa->bytes.data(), sizeof(k.saddr));
	std::memcpy(k.daddr, da->bytes.data(), sizeof(k.daddr));
	k.sport = WEIR_HTONS(s->port);
	k.dport = WEIR_HTONS(d->port);
	k.proto = proto == "tcp" ? WEIR_IPPROTO_TCP : WEIR_IPPROTO_UDP;
	k.family = sa->family;
	return k;
}

json explain_flow(const dp::snapshot &s, const weir_flow_key &key, const flow_lookup &lookup)
{
	uint32_t hash, sig;
	weir_flow_hash_sig(&key, s.node.hash_seed, &hash, &sig);
	json j = {{"flow", endpoint(key.saddr, key.family, key.sport) + " -> " +
	                           endpoint(key.daddr, key.family, key.dport) +
	                           (key.proto == WEIR_IPPROTO_TCP ? "/tcp" : "/udp")},
	          {"hash", hex(hash)},
	          {"vip", nullptr},
	          {"tracked", false},
	          {"backend", nullptr}};
	uint32_t id = dp::find_vip(s, key);
	if (id == dp::vip_index::none) {
		j["verdict"] = "pass";
		j["summary"] = "not a VIP: passed to the kernel";
		return j;
	}
	const weir_vip &v = s.vips[id];
	const char *sched = to_string(scheduler_kind(v.scheduler));
	j["verdict"] = "forward";
	j["vip"] = s.vip_names[id];
	j["scheduler"] = sched;
	maglev_choice m = maglev_of(s, v, key, hash);
	if (m.backend)
		j["maglev"] = {
		        {"hash_of", v.scheduler == WEIR_SCHED_MAGLEV_SRC ? "source address" : "5-tuple"},
		        {"hash", hex(m.hash)},
		        {"slot", m.slot},
		        {"table_size", m.size},
		        {"backend", address_of(*m.backend)}};
	std::string why = "VIP " + s.vip_names[id] + " (" + sched + "): ";
	const weir_backend *chosen = nullptr;
	if (auto e = lookup(hash, sig)) {
		const weir_backend *b = s.backend_by_ref(e->backend_ref);
		if (b && b->vip_id == id && (b->flags & WEIR_BACKEND_F_USABLE)) {
			chosen = b;
			j["tracked"] = true;
			j["choice"] = "tracked";
			j["backend"] = address_of(*b);
			j["expires_in"] = e->expires_in;
			j["worker"] = e->worker;
			j["closing"] = e->closing;
			why += "tracked on worker " + std::to_string(e->worker) + " to " + address_of(*b) +
			       ", " + std::to_string(e->expires_in) + " s left";
			if (e->closing)
				why += " (closed: a new connection from this 5-tuple is scheduled anew)";
		} else if (b && b->vip_id != id) {
			// Another flow's entry with this flow's bucket and sig: forwarded untracked.
			chosen = m.backend;
			j["choice"] = "maglev";
			if (m.backend) {
				j["backend"] = address_of(*m.backend);
			} else {
				j["verdict"] = "drop";
				j["reason"] = drop_reason_name(WEIR_DROP_no_backend);
			}
			why += "an entry of another flow shares this flow's bucket and signature, so it goes "
			       "untracked by Maglev slot " +
			       std::to_string(m.slot);
		} else {
			why += "its entry names a backend that was removed or is down, so its next packet "
			       "chooses again: ";
		}
	}
	if (!chosen && !j.contains("choice"))
		new_flow(j, why, s, v, m);
	if (!chosen && j["backend"].is_string())
		chosen = m.backend;
	if (chosen && !(chosen->flags & WEIR_BACKEND_F_MAC)) {
		j["verdict"] = "drop";
		j["reason"] = drop_reason_name(WEIR_DROP_no_next_hop);
		why += "; dropped until the next hop's MAC is resolved";
	}
	j["summary"] = why;
	return j;
}

}  // namespace weir::ctl
