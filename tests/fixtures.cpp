// fixtures.cpp — the worlds of the fixture table, the builders of expected frames
// and steps (fixtures_detail.h), and the table itself (fixtures.h). Test code only.
#include "fixtures.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "fixtures_detail.h"
#include "ip_addr.h"
#include "weir_byteorder.h"
#include "weir_encap.h"

namespace weir::test {

const char *to_string(counter_id id)
{
	switch (id) {
	case counter_id::tx_packets:
		return "tx_packets";
	case counter_id::pass_packets:
		return "pass_packets";
	case counter_id::icmp_sent:
		return "icmp_sent";
	case counter_id::icmp_rate_limited:
		return "icmp_rate_limited";
	case counter_id::icmp_forwarded:
		return "icmp_forwarded";
	case counter_id::fragments_forwarded:
		return "fragments_forwarded";
	case counter_id::untracked:
		return "untracked";
	case counter_id::flows_inserted:
		return "flows_inserted";
	case counter_id::flows_expired:
		return "flows_expired";
	case counter_id::flows_rechosen:
		return "flows_rechosen";
	case counter_id::count:
		break;
	}
	return "?";
}

namespace fx {
namespace {

// [node] .. [timeouts]; without `v6` the file has no IPv6 at all (MTUs below
// 1280 are valid only then).
std::string node_section(const char *seed, unsigned mtu, bool v6 = true)
{
	return std::string(R"([node]
ipv4 = "10.10.0.2/24"
gateway = "10.10.0.1"
)") + (v6 ? "ipv6 = \"fd00::2/64\"\ngateway6 = \"fd00::1\"\n" : "") +
	       "hash_seed = \"" + seed + R"("

[dataplane]
mtu = )" + std::to_string(mtu) +
	       R"(
gue_port = 6080

[dataplane.xdp]
interface = "eth1"

[timeouts]
tcp = 900
tcp_closing = 10
udp = 30
)";
}

// One [[vip]] with its backends ("addr" or "addr weight"), table size 1009.
std::string vip(const std::string &name, const std::string &addr, int port, const std::string &extra,
                const std::vector<std::string> &backends)
{
	std::string s = "\n[[vip]]\nname = \"" + name + "\"\naddress = \"" + addr +
	                "\"\nport = " + std::to_string(port) + "\ntable_size = 1009\n" + extra;
	for (const std::string &b : backends) {
		size_t sp = b.find(' ');
		s += "\n  [[vip.backend]]\n  address = \"" + b.substr(0, sp) + "\"\n";
		if (sp != std::string::npos)
			s += "  weight = " + b.substr(sp + 1) + "\n";
	}
	return s;
}

std::string main_vips()
{
	return vip("ipip4", "10.10.1.1", 80, "", {"10.10.0.21"}) +
	       vip("gue4", "10.10.1.2", 80, "forwarding = \"gue\"\n", {"10.10.0.22"}) +
	       vip("dsr4", "10.10.1.3", 80, "forwarding = \"l2dsr\"\n", {"10.10.0.23"}) +
	       vip("ipip6", "fd00:1::1", 80, "", {"fd00::21"}) +
	       vip("gue6", "fd00:1::2", 80, "forwarding = \"gue\"\n", {"fd00::22"}) +
	       // The MAC comes from the config, not the neighbour table.
	       vip("dsr6", "fd00:1::3", 80, "forwarding = \"l2dsr\"\n", {"fd00::23"}) +
	       "  mac = \"02:00:00:00:06:23\"\n" + vip("ipip4in6", "10.10.1.4", 80, "", {"fd00::24"}) +
	       vip("gue4in6", "10.10.1.5", 80, "forwarding = \"gue\"\n", {"fd00::25"}) +
	       vip("anyport", "10.10.1.6", 0, "[vip.health]\nkind = \"none\"\n", {"10.10.0.26"}) +
	       vip("dns", "10.10.1.7", 53, "protocol = \"udp\"\nforwarding = \"gue\"\n", {"10.10.0.27"}) +
	       vip("frag3", "10.10.1.8", 80, "fragments = \"3tuple\"\n",
	           {"10.10.0.31", "10.10.0.32", "10.10.0.33"}) +
	       vip("empty", "10.10.1.9", 80, "", {}) +
	       vip("unresolved", "10.10.1.10", 80, "", {"10.10.0.99"}) +
	       vip("offlink", "10.10.1.11", 80, "", {"192.168.50.5"}) +
	       vip("drained", "10.10.1.12", 80, "", {"10.10.0.41 0", "10.10.0.42 0"}) +
	       vip("frag3v6", "fd00:1::8", 53, "protocol = \"udp\"\nfragments = \"3tuple\"\n", {"fd00::31"});
}

std::vector<std::pair<std::string, mac_addr>> main_neighbours()
{
	std::vector<std::pair<std::string, mac_addr>> n = {
	        {"10.10.0.1", parse_mac(router_mac)},
	        {"fd00::1", parse_mac("02:00:00:00:01:06")},
	};
	// Backends: 02:00:00:00:00:NN for 10.10.0.NN, 02:00:00:00:06:NN for fd00::NN.
	for (const char *last : {"21", "22", "23", "26", "27", "31", "32", "33", "41", "42"})
		n.push_back(
		        {std::string("10.10.0.") + last, parse_mac(std::string("02:00:00:00:00:") + last)});
	for (const char *last : {"21", "22", "24", "25", "31"})
		n.push_back({std::string("fd00::") + last, parse_mac(std::string("02:00:00:00:06:") + last)});
	return n;
}

}  // namespace

world main_world()
{
	return {"main", node_section("5eed5eed", 1500) + main_vips(), parse_mac(port_mac), main_neighbours()};
}

world small_mtu_world()
{
	// 576 is below IPv6's minimum: this world has no IPv6 at all.
	std::string cfg =
	        node_section("5eed5eed", 576, false) + vip("ipip4", "10.10.1.1", 80, "", {"10.10.0.21"});
	return {"small_mtu", cfg, parse_mac(port_mac), main_neighbours()};
}

world min_mtu6_world()
{
	std::string cfg = node_section("5eed5eed", 1320) + vip("ipip6", "fd00:1::1", 80, "", {"fd00::21"});
	return {"min_mtu6", cfg, parse_mac(port_mac), main_neighbours()};
}

world rate_limited_world()
{
	world w = main_world();
	w.name = "rate_limited";
	w.icmp_rate = 1;
	return w;
}

world sched_world()
{
	std::string three[] = {"10.10.0.21", "10.10.0.22", "10.10.0.23"};
	std::string cfg = node_section("0badcafe", 1500) +
	                  vip("maglev", "10.10.2.1", 80, "", {three[0], three[1], three[2]}) +
	                  vip("maglev_src", "10.10.2.2", 80, "scheduler = \"maglev_src\"\n",
	                      {three[0], three[1], three[2]}) +
	                  vip("wrr", "10.10.2.3", 80, "scheduler = \"wrr\"\n",
	                      {three[0] + " 1", three[1] + " 2", three[2] + " 3"}) +
	                  vip("least_conn", "10.10.2.4", 80, "scheduler = \"least_conn\"\n",
	                      {three[0] + " 1", three[1] + " 2"});
	return {"sched", cfg, parse_mac(port_mac), main_neighbours()};
}

world state_world(const std::string &version)
{
	std::vector<std::string> svc;
	if (version == "one")
		svc = {"10.10.0.21"};
	else if (version == "added")
		svc = {"10.10.0.21", "10.10.0.22", "10.10.0.23"};
	else if (version == "drained")
		svc = {"10.10.0.21 0", "10.10.0.22"};
	else if (version == "removed")
		svc = {"10.10.0.22"};
	else
		throw std::invalid_argument("state_world: no version " + version);
	std::string cfg = node_section("5eed5eed", 1500) + vip("svc", "10.10.3.1", 80, "", svc) +
	                  vip("dns", "10.10.3.2", 53, "protocol = \"udp\"\n", {"10.10.0.21"});
	return {"state-" + version, cfg, parse_mac(port_mac), main_neighbours()};
}

mac_addr neighbour(const world &w, const std::string &addr)
{
	for (const auto &[a, mac] : w.neighbours)
		if (a == addr)
			return mac;
	throw std::invalid_argument("fixture world " + w.name + " does not resolve " + addr);
}

uint32_t flow_hash(const std::string &src, const std::string &dst, uint8_t proto, uint16_t sport,
                   uint16_t dport, uint32_t seed)
{
	auto s = ctl::ip_addr::parse(src), d = ctl::ip_addr::parse(dst);
	if (!s || !d)
		throw std::invalid_argument("flow_hash: bad address " + src + " / " + dst);
	weir_flow_key k{};
	std::copy(s->bytes.begin(), s->bytes.end(), reinterpret_cast<uint8_t *>(k.saddr));
	std::copy(d->bytes.begin(), d->bytes.end(), reinterpret_cast<uint8_t *>(k.daddr));
	k.sport = WEIR_HTONS(sport);
	k.dport = WEIR_HTONS(dport);
	k.proto = proto;
	k.family = s->family;
	return weir_flow_hash(&k, seed);
}

namespace {

// `in` with the L2 header's MACs replaced, cut after `keep` bytes of it.
frame new_l2(const frame &in, const mac_addr &dst, const mac_addr &src, size_t keep)
{
	frame f(in.begin(), in.begin() + std::min(keep, in.size()));
	std::copy(dst.begin(), dst.end(), f.begin());
	std::copy(src.begin(), src.end(), f.begin() + 6);
	return f;
}

frame concat(frame a, const frame &b)
{
	a.insert(a.end(), b.begin(), b.end());
	return a;
}

}  // namespace

frame forwarded(const packet_builder &in, const world &w, mode m, const std::string &backend,
                const mac_addr &mac, uint32_t hash)
{
	frame inf = in.build(), inner = in.l3();
	size_t l3 = in.l3_offset();
	if (m == mode::l2dsr)
		return new_l2(inf, mac, w.port_mac, inf.size());
	bool inner4 = inner[0] >> 4 == 4, outer4 = backend.find(':') == std::string::npos;
	uint8_t tos = inner4 ? inner[1] : uint8_t(inner[0] << 4 | inner[1] >> 4);
	packet_builder outer;
	if (outer4)
		outer.ipv4(node4, backend).df(!inner4 || (inner[6] & 0x40));
	else
		outer.ipv6(node6, backend).flow_label(weir_outer_flow_label(hash));
	outer.tos(tos).ttl(64).payload(inner);
	if (m == mode::gue)
		outer.udp(WEIR_NTOHS(weir_gue_sport(hash)), gue_port);
	else
		outer.l4_proto(inner4 ? 4 : 41);
	frame ip = outer.l3();
	if (m == mode::gue && outer4)
		ip[26] = ip[27] = 0;  // GUE over IPv4 carries no UDP checksum
	frame l2 = new_l2(inf, mac, w.port_mac, l3);
	if (inner4 && !outer4) {
		l2[l3 - 2] = 0x86;
		l2[l3 - 1] = 0xdd;
	}
	return concat(l2, ip);
}

frame too_big_reply(const packet_builder &in, const world &w, const std::string &vip,
                    const std::string &client, uint32_t mtu)
{
	frame inf = in.build(), trigger = in.l3();
	bool v4 = trigger[0] >> 4 == 4;
	size_t max_reply = v4 ? 576 : 1280, push = v4 ? 28 : 48;
	frame quote(trigger.begin(), trigger.begin() + (std::min(trigger.size(), max_reply) - push));
	packet_builder reply;
	if (v4)
		reply.ipv4(vip, client).icmp(3, 4, mtu);
	else
		reply.ipv6(vip, client).icmp(2, 0, mtu);
	reply.ttl(64).quote(quote);
	mac_addr back{};
	std::copy(inf.begin() + 6, inf.begin() + 12, back.begin());
	return concat(new_l2(inf, back, w.port_mac, in.l3_offset()), reply.l3());
}

packet_builder tcp_in(const std::string &client, const std::string &vip, uint16_t sport, uint16_t dport,
                      uint8_t flags)
{
	packet_builder b;
	b.eth_src(client_mac).eth_dst(port_mac);
	if (client.find(':') == std::string::npos)
		b.ipv4(client, vip).df();
	else
		b.ipv6(client, vip);
	b.tcp(sport, dport, flags).tcp_seq(1000, flags & tcp_ack ? 2000 : 0).payload(64);
	return b;
}

packet_builder udp_in(const std::string &client, const std::string &vip, uint16_t sport, uint16_t dport)
{
	packet_builder b;
	b.eth_src(client_mac).eth_dst(port_mac);
	if (client.find(':') == std::string::npos)
		b.ipv4(client, vip);
	else
		b.ipv6(client, vip);
	b.udp(sport, dport).payload(64);
	return b;
}

step pass(const frame &in)
{
	step s;
	s.input = in;
	s.verdict = WEIR_VERDICT_PASS;
	s.output = in;
	s.counters = {{counter_id::pass_packets, 1}};
	return s;
}

step drop(const frame &in, weir_drop_reason reason, std::vector<counter_delta> moved)
{
	step s;
	s.input = in;
	s.verdict = WEIR_VERDICT_DROP;
	s.reason = reason;
	s.counters = std::move(moved);
	return s;
}

step tx(const frame &in, frame out, std::vector<counter_delta> moved)
{
	step s;
	s.input = in;
	s.verdict = WEIR_VERDICT_TX;
	s.output = std::move(out);
	s.counters = std::move(moved);
	s.counters.push_back({counter_id::tx_packets, 1});
	return s;
}

step icmp_reply(const frame &in, frame out, std::vector<counter_delta> moved)
{
	step s;
	s.input = in;
	s.verdict = WEIR_VERDICT_TX;
	s.output = std::move(out);
	s.reason = WEIR_DROP_mtu_exceeded;
	s.counters = std::move(moved);
	s.counters.push_back({counter_id::icmp_sent, 1});
	return s;
}

step to_backend(const packet_builder &in, const world &w, mode m, const std::string &backend, uint32_t hash,
                std::vector<counter_delta> moved)
{
	return tx(in.build(), forwarded(in, w, m, backend, neighbour(w, backend), hash), std::move(moved));
}

fixture one(std::string name, world w, step s)
{
	return fixture{std::move(name), std::move(w), {std::move(s)}, true};
}

fixture seq(std::string name, world w, std::vector<step> steps, bool burst)
{
	return fixture{std::move(name), std::move(w), std::move(steps), burst};
}

}  // namespace fx

std::vector<fixture> all_fixtures()
{
	std::vector<fixture> all;
	for (auto part :
	     {fx::forwarding_fixtures, fx::passing_fixtures, fx::malformed_fixtures, fx::icmp_fixtures,
	      fx::mtu_fixtures, fx::backend_fixtures, fx::scheduler_fixtures, fx::state_fixtures}) {
		std::vector<fixture> some = part();
		all.insert(all.end(), std::make_move_iterator(some.begin()),
		           std::make_move_iterator(some.end()));
	}
	std::set<std::string> names;
	for (const fixture &f : all)
		if (!names.insert(f.name).second)
			throw std::logic_error("two fixtures named " + f.name);
	return all;
}

std::vector<frame> fixture_inputs()
{
	std::set<frame> seen;
	std::vector<frame> inputs;
	for (const fixture &f : all_fixtures())
		for (const step &s : f.steps)
			if (seen.insert(s.input).second)
				inputs.push_back(s.input);
	return inputs;
}

}  // namespace weir::test
