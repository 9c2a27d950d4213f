// pipeline.cpp — the burst loop of the packet core: parse and classify every
// frame (prefetching its flow-table bucket), then decide and act on each. See
// pipeline.h for ownership; nothing here allocates, locks or logs.
#include "pipeline.h"

#include <cstring>

#include "weir_byteorder.h"
#include "weir_encap.h"
#include "weir_icmp.h"
#include "weir_maglev.h"
#include "weir_parse.h"
#include "weir_proto.h"

namespace weir::dp {

namespace {

enum class kind : uint8_t {
	pass,  // to the kernel
	drop,  // counted under `reason`
	flow,  // TCP/UDP to a VIP: tracked
	fragment,  // fragment to a VIP with fragments = "3tuple": hashed, untracked
	icmp,  // ICMP error about a VIP's flow: to that flow's backend, untracked
};

}  // namespace

struct pipeline::packet {
	weir_pkt pkt;
	kind what;
	uint8_t reason;
	uint32_t vip;
	uint32_t hash;  // flow hash of the key that picks the backend
	uint32_t sig;
	// The key that picks the backend: the packet's flow, the flow an ICMP error
	// quotes, or a fragment's (source, destination, protocol).
	weir_flow_key key;
};

pipeline::pipeline(flow_table &flows, worker_counters &counters)
    : _flows(flows), _ctr(counters), _wrr_cursor(new uint32_t[WEIR_MAX_VIPS]())
{}

void pipeline::process(const snapshot &s, frame *frames, uint8_t *verdicts, uint32_t n, uint32_t now)
{
	packet ps[max_burst];
	if (n > max_burst)
		n = max_burst;
	// Stage 1: parse and classify all, and start loading their flow-table buckets,
	// so that the lookups of stage 2 find them in cache.
	for (uint32_t i = 0; i < n; i++) {
		_ctr.rx_packets.inc();
		_ctr.rx_bytes.add(frames[i].len);
		classify(s, ps[i], frames[i]);
		if (ps[i].what == kind::flow || ps[i].what == kind::icmp)
			_flows.prefetch(ps[i].hash);
	}
	// Stage 2: decide and rewrite.
	for (uint32_t i = 0; i < n; i++)
		verdicts[i] = decide(s, ps[i], frames[i], now);
}

void pipeline::classify(const snapshot &s, packet &p, frame &f)
{
	weir_pkt &pkt = p.pkt;
	p.what = kind::pass;
	p.vip = vip_index::none;
	switch (weir_parse(f.data, f.data + f.len, &pkt, &p.reason)) {
	case WEIR_PARSE_DROP:
		p.what = kind::drop;
		return;
	case WEIR_PARSE_PASS:
		return;
	default:
		break;
	}
	if (pkt.vip_drop) {
		// Well-formed enough to route, not to forward: the VIP's problem only.
		if (find_vip_by_addr(s, pkt.key, 0) != vip_index::none) {
			p.what = kind::drop;
			p.reason = uint8_t(pkt.vip_drop - 1);
		}
		return;
	}
	if (pkt.flags & WEIR_PKT_F_FRAGMENT) {
		p.vip = find_vip_by_addr(s, pkt.key, pkt.key.proto);
		if (p.vip == vip_index::none)
			return;
		if (!(s.vips[p.vip].flags & WEIR_VIP_F_FRAG_3TUPLE)) {
			p.what = kind::drop;
			p.reason = WEIR_DROP_fragment;
			return;
		}
		// Every fragment of a datagram, the first one too, hashes the same way.
		p.key = pkt.key;
		p.key.sport = p.key.dport = 0;
		p.what = kind::fragment;
	} else if (pkt.flags & WEIR_PKT_F_ICMP_ERROR) {
		// Only errors addressed to the VIP whose flow they quote are weir's;
		// the rest (e.g. to this host's own address) go to the kernel.
		if (std::memcmp(pkt.key.daddr, pkt.inner.daddr, sizeof(pkt.key.daddr)) != 0)
			return;
		p.vip = find_vip(s, pkt.inner);
		if (p.vip == vip_index::none)
			return;
		p.key = pkt.inner;
		p.what = kind::icmp;
	} else if (pkt.key.proto == WEIR_IPPROTO_TCP || pkt.key.proto == WEIR_IPPROTO_UDP) {
		p.vip = find_vip(s, pkt.key);
		if (p.vip == vip_index::none)
			return;
		p.key = pkt.key;
		p.what = kind::flow;
	} else {
		return;
	}
	weir_flow_hash_sig(&p.key, s.node.hash_seed, &p.hash, &p.sig);
}

uint8_t pipeline::decide(const snapshot &s, packet &p, frame &f, uint32_t now)
{
	switch (p.what) {
	case kind::pass:
		_ctr.pass_packets.inc();
		return WEIR_VERDICT_PASS;
	case kind::drop:
		return drop(p.reason);
	case kind::flow:
		return track(s, p, f, now);
	case kind::fragment:
	case kind::icmp:
		break;
	}
	// Untracked: an ICMP error follows its flow's entry if there is one; both it
	// and fragments otherwise take the VIP's Maglev table, which gives the same
	// backend as the flow got under maglev (and under maglev_src for fragments of
	// one source only when they agree; fragments are hashed on three fields).
	const weir_backend *b = nullptr;
	if (p.what == kind::icmp) {
		if (flow_entry *e = _flows.find(p.hash, p.sig, now)) {
			b = s.backend_by_ref(e->backend_ref);
			if (b && (!(b->flags & WEIR_BACKEND_F_USABLE) || b->vip_id != p.vip))
				b = nullptr;
		}
	}
	if (!b) {
		uint32_t id = consistent(s, s.vips[p.vip], p);
		if (id == vip_index::none)
			return drop(WEIR_DROP_no_backend);
		b = &s.backends[id];
	}
	uint8_t verdict = forward(s, p, f, *b, now);
	if (verdict == WEIR_VERDICT_TX) {
		(p.what == kind::icmp ? _ctr.icmp_forwarded : _ctr.fragments_forwarded).inc();
		_ctr.untracked.inc();
	}
	return verdict;
}

namespace {

flow_state state_of(const weir_pkt &pkt, const flow_entry *e)
{
	if (pkt.key.proto == WEIR_IPPROTO_UDP)
		return flow_state::udp;
	if (pkt.flags & WEIR_PKT_F_TCP_CLOSING)
		return flow_state::tcp_closing;
	// Once closing, a flow stays closing until a new SYN reuses its 5-tuple.
	if (e && e->state == flow_state::tcp_closing && !(pkt.flags & WEIR_PKT_F_TCP_SYN))
		return flow_state::tcp_closing;
	return flow_state::tcp;
}

// A SYN on a flow that has closed (FIN or RST seen) opens a new connection
// that reuses the 5-tuple: it is scheduled like any new flow, so that a drained
// backend gets none and wrr and least_conn choose anew. A retransmitted SYN of
// a handshake in progress finds its entry open and stays.
bool reopens(const weir_pkt &pkt, const flow_entry &e)
{
	return e.state == flow_state::tcp_closing && (pkt.flags & WEIR_PKT_F_TCP_SYN);
}

uint32_t timeout_of(const weir_node &node, flow_state st)
{
	switch (st) {
	case flow_state::tcp:
		return node.timeout_tcp;
	case flow_state::tcp_closing:
		return node.timeout_tcp_closing;
	case flow_state::udp:
		break;
	}
	return node.timeout_udp;
}

}  // namespace

uint8_t pipeline::track(const snapshot &s, packet &p, frame &f, uint32_t now)
{
	flow_entry *e = _flows.find(p.hash, p.sig, now);
	bool collision = false;
	if (e) {
		const weir_backend *b = s.backend_by_ref(e->backend_ref);
		if (b && b->vip_id == p.vip && (b->flags & WEIR_BACKEND_F_USABLE) && !reopens(p.pkt, *e)) {
			flow_state st = state_of(p.pkt, e);
			_flows.refresh(e, now + timeout_of(s.node, st), st);
			return forward(s, p, f, *b, now);
		}
		// A backend of another VIP: the entry is another flow's that shares this
		// one's bucket and sig (about 1e-9 per new flow). Leave it alone and
		// forward this flow untracked.
		collision = b && b->vip_id != p.vip;
	}
	uint32_t id = schedule(s, s.vips[p.vip], p);
	if (id == vip_index::none)
		return drop(WEIR_DROP_no_backend);
	const weir_backend *b = &s.backends[id];
	flow_state st = state_of(p.pkt, e);
	if (collision) {
		_ctr.untracked_collisions.inc();
		_ctr.untracked.inc();
		b = untracked_choice(s, p, b);
	} else if (e) {
		_flows.retarget(e, b->ref);  // its backend was removed or went down, or it reopened
		_flows.refresh(e, now + timeout_of(s.node, st), st);
	} else if (flow_entry *n =
	                   _flows.insert(p.hash, p.sig, b->ref, now + timeout_of(s.node, st), st, now)) {
		if (n->backend_ref != b->ref) {
			// An earlier packet of this burst already tracked the flow (wrr and
			// least_conn can choose differently twice): keep its choice.
			if (const weir_backend *first = s.backend_by_ref(n->backend_ref))
				b = first;
		}
	} else {
		_ctr.untracked.inc();  // bucket full: forwarded without an entry
		b = untracked_choice(s, p, b);
	}
	return forward(s, p, f, *b, now);
}

uint32_t pipeline::schedule(const snapshot &s, const weir_vip &v, const packet &p)
{
	switch (v.scheduler) {
	case WEIR_SCHED_MAGLEV:
	case WEIR_SCHED_MAGLEV_SRC:
		return consistent(s, v, p);
	case WEIR_SCHED_WRR: {
		const vip_table *t = s.rotations[v.id].get();
		if (!t || t->slots.empty())
			return vip_index::none;
		uint32_t &cursor = _wrr_cursor[v.id];
		uint32_t id = t->slots[cursor % t->slots.size()];
		cursor = cursor + 1 == t->slots.size() ? 0 : cursor + 1;
		return id;
	}
	default:
		return least_conn(s, v);
	}
}

uint32_t pipeline::consistent(const snapshot &s, const weir_vip &v, const packet &p) const
{
	const vip_table &t = *s.tables[v.id];
	if (t.slots.empty())
		return vip_index::none;
	uint32_t h = v.scheduler == WEIR_SCHED_MAGLEV_SRC ? weir_src_hash(&p.key, s.node.hash_seed) : p.hash;
	return weir_maglev_lookup(t.slots.data(), uint32_t(t.slots.size()), h);
}

// A flow without an entry must still go to one backend packet after packet:
// wrr and least_conn would choose anew each time, so such a flow takes the
// VIP's Maglev table instead (maglev and maglev_src already did).
const weir_backend *pipeline::untracked_choice(const snapshot &s, const packet &p,
                                               const weir_backend *chosen) const
{
	const weir_vip &v = s.vips[p.vip];
	if (v.scheduler != WEIR_SCHED_WRR && v.scheduler != WEIR_SCHED_LEAST_CONN)
		return chosen;
	uint32_t id = consistent(s, v, p);
	return id == vip_index::none ? chosen : &s.backends[id];
}

uint32_t pipeline::least_conn(const snapshot &s, const weir_vip &v) const
{
	uint32_t best = vip_index::none;
	uint64_t best_active = 0, best_weight = 1;
	for (uint32_t k = v.backend_first; k < v.backend_first + v.backend_count; k++) {
		uint32_t id = s.vip_backends[k];
		const weir_backend &b = s.backends[id];
		if (!(b.flags & WEIR_BACKEND_F_USABLE) || b.weight == 0)
			continue;
		uint64_t active = 0;
		if (_peers.empty())
			active = _flows.active(id);
		for (const flow_table *t : _peers)
			active += t->active(id);
		// active / weight < best_active / best_weight, without division.
		if (best == vip_index::none || active * best_weight < best_active * b.weight) {
			best = id;
			best_active = active;
			best_weight = b.weight;
		}
	}
	return best;
}

uint8_t pipeline::forward(const snapshot &s, packet &p, frame &f, const weir_backend &b, uint32_t now)
{
	const weir_vip &v = s.vips[p.vip];
	const weir_pkt &pkt = p.pkt;
	if (!(b.flags & WEIR_BACKEND_F_MAC))
		return drop(WEIR_DROP_no_next_hop);
	if (v.forwarding != WEIR_FWD_L2DSR) {
		uint32_t overhead = weir_encap_overhead(v.forwarding, b.family);
		if (pkt.l3_len + overhead > s.node.mtu)
			return too_big(s, p, f, overhead, now);
		if (f.headroom < overhead)
			return drop(WEIR_DROP_no_headroom);
		uint32_t l2 = pkt.l3_off;
		const uint8_t *inner = f.data + l2;
		uint8_t tos = pkt.key.family == WEIR_AF_INET ? inner[1]
		                                             : uint8_t((inner[0] << 4) | (inner[1] >> 4));
		f.data -= overhead;
		f.headroom -= overhead;
		std::memmove(f.data, f.data + overhead, l2);
		f.len = l2 + overhead + pkt.l3_len;  // Ethernet padding after the packet is dropped
		uint8_t *outer = f.data + l2;
		if (b.family == WEIR_AF_INET6 && pkt.key.family == WEIR_AF_INET) {
			__be16 et = WEIR_HTONS(WEIR_ETH_P_IPV6);
			std::memcpy(f.data + pkt.proto_off, &et, 2);
		}
		uint8_t proto = v.forwarding == WEIR_FWD_GUE     ? WEIR_IPPROTO_UDP
		                : pkt.key.family == WEIR_AF_INET ? WEIR_IPPROTO_IPIP
		                                                 : WEIR_IPPROTO_IPV6;
		uint32_t ip_hlen = b.family == WEIR_AF_INET ? WEIR_IPV4_MIN_HLEN : WEIR_IPV6_FIXED_HLEN;
		if (b.family == WEIR_AF_INET)
			weir_write_ipv4(outer, s.node.ipv4, b.addr[0], proto, uint16_t(overhead + pkt.l3_len),
			                tos, pkt.flags & WEIR_PKT_F_DF);
		else
			weir_write_ipv6(outer, s.node.ipv6, b.addr, proto,
			                uint16_t(overhead - ip_hlen + pkt.l3_len), tos,
			                weir_outer_flow_label(p.hash));
		if (v.forwarding == WEIR_FWD_GUE) {
			uint8_t *udp = outer + ip_hlen;
			uint32_t udp_len = WEIR_UDP_HDR_LEN + pkt.l3_len;
			weir_write_udp(udp, weir_gue_sport(p.hash), s.node.gue_port, uint16_t(udp_len));
			if (b.family == WEIR_AF_INET6) {
				__be16 c = weir_udp6_checksum(s.node.ipv6, b.addr, udp, udp_len);
				std::memcpy(udp + 6, &c, 2);
			}
		}
	}
	weir_write_eth_addrs(f.data, b.next_hop_mac, s.node.mac);
	_ctr.tx_packets.inc();
	_ctr.tx_bytes.add(f.len);
	_ctr.vip[v.counter_id].packets.inc();
	_ctr.vip[v.counter_id].bytes.add(f.len);
	uint32_t id = WEIR_BACKEND_ID(b.ref);
	_ctr.backend[id].packets.inc();
	_ctr.backend[id].bytes.add(f.len);
	return WEIR_VERDICT_TX;
}

uint8_t pipeline::too_big(const snapshot &s, packet &p, frame &f, uint32_t overhead, uint32_t now)
{
	const weir_pkt &pkt = p.pkt;
	// No ICMP error about an ICMP error, nor when the sender allows fragmentation
	// (weir does not fragment: such packets are dropped and counted).
	if (p.what == kind::icmp || !(pkt.flags & WEIR_PKT_F_DF))
		return drop(WEIR_DROP_mtu_exceeded);
	if (!_icmp_primed || now != _icmp_second) {
		_icmp_primed = true;
		_icmp_second = now;
		_icmp_budget = s.node.icmp_rate;
	}
	bool v4 = pkt.key.family == WEIR_AF_INET;
	uint32_t push = v4 ? WEIR_ICMP4_PUSH : WEIR_ICMP6_PUSH;
	uint32_t quote =
	        weir_icmp_quote_len(pkt.l3_len, push, v4 ? WEIR_ICMP4_MAX_REPLY : WEIR_ICMP6_MAX_REPLY);
	if (_icmp_budget == 0) {
		_ctr.icmp_rate_limited.inc();
		return drop(WEIR_DROP_mtu_exceeded);
	}
	if (quote == 0 || f.headroom < push)
		return drop(WEIR_DROP_mtu_exceeded);
	_icmp_budget--;
	uint32_t l2 = pkt.l3_off;
	f.data -= push;
	f.headroom -= push;
	std::memmove(f.data, f.data + push, l2);
	std::memcpy(f.data, f.data + 6, 6);  // back to the sender
	std::memcpy(f.data + 6, s.node.mac, 6);
	uint32_t mtu = s.node.mtu - overhead;
	if (v4)
		weir_write_icmp4_frag_needed(f.data + l2, pkt.key.daddr[0], pkt.key.saddr[0], uint16_t(mtu),
		                             quote);
	else
		weir_write_icmp6_too_big(f.data + l2, pkt.key.daddr, pkt.key.saddr, mtu < 1280 ? 1280 : mtu,
		                         quote);
	f.len = l2 + push + quote;
	f.icmp_reply = true;
	_ctr.icmp_sent.inc();
	_ctr.drops[WEIR_DROP_mtu_exceeded].inc();
	return WEIR_VERDICT_TX;
}

uint8_t pipeline::drop(uint32_t reason)
{
	_ctr.drops[reason].inc();
	return WEIR_VERDICT_DROP;
}

}  // namespace weir::dp
