// fixtures_icmp.cpp — fixtures of ICMP: errors from routers about a VIP's flows
// (forwarded to the flow's backend, never answered), and the "fragmentation
// needed" / "packet too big" errors weir itself sends when a packet would exceed
// the MTU once encapsulated (reply contents, length limits, rate limit). Test
// code only.
#include "fixtures_detail.h"

namespace weir::test::fx {
namespace {

constexpr uint8_t tcp = 6;

// An ICMP error from `router` to `vip` about the VIP -> client packet of the
// flow client:sport -> vip:vport. Routers quote the IPv4 header and 8 bytes of
// TCP; IPv6 routers quote as much as fits, here the whole 60-byte packet. `cut`
// shortens the quote further.
packet_builder error_in(const std::string &router, const std::string &client, const std::string &vip,
                        uint16_t sport, uint8_t type, uint8_t code, uint32_t rest, size_t cut = 0,
                        uint16_t vport = 80)
{
	bool v4 = vip.find(':') == std::string::npos;
	packet_builder q;
	if (v4)
		q.ipv4(vip, client).df();
	else
		q.ipv6(vip, client);
	frame quoted = q.tcp(vport, sport, tcp_ack).payload(0).l3();
	size_t keep = cut ? cut : v4 ? 28 : quoted.size();
	quoted.resize(std::min(keep, quoted.size()));
	packet_builder b;
	b.eth_src(router_mac).eth_dst(port_mac);
	if (v4)
		b.ipv4(router, vip);
	else
		b.ipv6(router, vip);
	return b.icmp(type, code, rest).quote(quoted);
}

std::vector<counter_delta> icmp_moved()
{
	return {{counter_id::icmp_forwarded, 1}, {counter_id::untracked, 1}};
}

std::vector<fixture> router_errors()
{
	std::vector<fixture> out;
	{
		// wrr sends the first flow to 10.10.0.23; the VIP's Maglev table would
		// send this flow to 10.10.0.21 (golden): the error follows the entry.
		world w = sched_world();
		uint32_t hash = flow_hash(client4, "10.10.2.3", tcp, 42201, 80, sched_seed);
		packet_builder syn = tcp_in(client4, "10.10.2.3", 42201);
		packet_builder err = error_in(router4, client4, "10.10.2.3", 42201, 3, 4, 1400);
		out.push_back(seq("icmp4_frag_needed_follows_tracked_flow", w,
		                  {to_backend(syn, w, mode::ipip, "10.10.0.23", hash, {inserted()}),
		                   to_backend(err, w, mode::ipip, "10.10.0.23", hash, icmp_moved())},
		                  false));
	}
	world w = main_world();
	{
		uint32_t hash = flow_hash(client6, "fd00:1::1", tcp, 42300, 80, main_seed);
		packet_builder syn = tcp_in(client6, "fd00:1::1", 42300);
		packet_builder err = error_in(router6, client6, "fd00:1::1", 42300, 2, 0, 1400);
		out.push_back(seq("icmp6_packet_too_big_follows_tracked_flow", w,
		                  {to_backend(syn, w, mode::ipip, "fd00::21", hash, {inserted()}),
		                   to_backend(err, w, mode::ipip, "fd00::21", hash, icmp_moved())}));
	}
	// No entry: the VIP's Maglev table on the quoted flow's hash (golden backend).
	out.push_back(
	        one("icmp4_error_untracked_flow_by_maglev", w,
	            to_backend(error_in(router4, client4, "10.10.1.8", 42100, 3, 4, 1400), w, mode::ipip,
	                       "10.10.0.33", flow_hash(client4, "10.10.1.8", tcp, 42100, 80, main_seed),
	                       icmp_moved())));
	// Time exceeded is an error too; GUE's source port is the quoted flow's.
	out.push_back(one("icmp4_time_exceeded_forwarded_gue", w,
	                  to_backend(error_in(router4, client4, "10.10.1.2", 42301, 11, 0, 0), w, mode::gue,
	                             "10.10.0.22", flow_hash(client4, "10.10.1.2", tcp, 42301, 80, main_seed),
	                             icmp_moved())));
	out.push_back(one("icmp4_error_about_other_port_to_kernel", w,
	                  pass(error_in(router4, client4, "10.10.1.1", 42302, 3, 4, 1400, 0, 443).build())));
	// Addressed to this host, not to the VIP: the kernel's, whatever it quotes.
	packet_builder to_node = error_in(router4, client4, "10.10.1.1", 42303, 3, 4, 1400);
	to_node.ipv4(router4, node4);
	out.push_back(one("icmp4_error_to_node_address_to_kernel", w, pass(to_node.build())));
	// Quotes cut inside the transport header's 8 bytes cannot name a flow.
	out.push_back(one("icmp4_error_short_quote_to_vip_dropped", w,
	                  drop(error_in(router4, client4, "10.10.1.1", 42304, 3, 4, 1400, 24).build(),
	                       WEIR_DROP_bad_icmp_error)));
	out.push_back(one("icmp6_error_short_quote_to_vip_dropped", w,
	                  drop(error_in(router6, client6, "fd00:1::1", 42305, 2, 0, 1400, 30).build(),
	                       WEIR_DROP_bad_icmp_error)));
	// Too big for the tunnel: dropped, never answered with another ICMP error.
	packet_builder big = error_in(router4, client4, "10.10.1.1", 42306, 3, 4, 1400);
	big.df().payload(1481 - 20 - 8 - 28);
	out.push_back(one("icmp4_error_too_big_dropped_without_reply", w,
	                  drop(big.build(), WEIR_DROP_mtu_exceeded)));
	return out;
}

// A TCP packet whose IP packet is `l3_len` bytes.
packet_builder sized(const std::string &client, const std::string &vip, uint16_t sport, size_t l3_len)
{
	size_t headers = client.find(':') == std::string::npos ? 40 : 60;
	return tcp_in(client, vip, sport, 80, tcp_ack).payload(l3_len - headers);
}

fixture reply_fixture(std::string name, const world &w, const packet_builder &in, const std::string &client,
                      const std::string &vip, uint32_t mtu)
{
	return one(std::move(name), w,
	           icmp_reply(in.build(), too_big_reply(in, w, vip, client, mtu), {inserted()}));
}

std::vector<fixture> too_big()
{
	std::vector<fixture> out;
	world w = main_world();
	auto fits = [&](std::string name, const packet_builder &in, const std::string &vip, uint16_t sport,
	                mode m, const std::string &backend) {
		uint32_t hash =
		        flow_hash(in.l3()[0] >> 4 == 4 ? client4 : client6, vip, tcp, sport, 80, main_seed);
		return one(std::move(name), w, to_backend(in, w, m, backend, hash, {inserted()}));
	};
	// MTU 1500: the largest packet that fits is 1500 - overhead.
	out.push_back(fits("ipip4_exactly_mtu_forwarded", sized(client4, "10.10.1.1", 42400, 1480),
	                   "10.10.1.1", 42400, mode::ipip, "10.10.0.21"));
	out.push_back(reply_fixture("ipip4_one_byte_too_big_frag_needed", w,
	                            sized(client4, "10.10.1.1", 42401, 1481), client4, "10.10.1.1", 1480));
	out.push_back(reply_fixture("gue4_too_big_frag_needed", w, sized(client4, "10.10.1.2", 42402, 1473),
	                            client4, "10.10.1.2", 1472));
	out.push_back(reply_fixture("ipip6_too_big_packet_too_big", w,
	                            sized(client6, "fd00:1::1", 42403, 1461), client6, "fd00:1::1", 1460));
	out.push_back(reply_fixture("gue6_too_big_packet_too_big", w,
	                            sized(client6, "fd00:1::2", 42404, 1500), client6, "fd00:1::2", 1452));
	out.push_back(reply_fixture("ipip_4in6_too_big_frag_needed", w,
	                            sized(client4, "10.10.1.4", 42405, 1461), client4, "10.10.1.4", 1460));
	out.push_back(fits("gue_4in6_exactly_mtu_forwarded", sized(client4, "10.10.1.5", 42406, 1452),
	                   "10.10.1.5", 42406, mode::gue, "fd00::25"));
	out.push_back(reply_fixture("vlan_ipip4_too_big_reply_keeps_tag", w,
	                            sized(client4, "10.10.1.1", 42407, 1500).vlan(100), client4, "10.10.1.1",
	                            1480));
	// DF clear: weir does not fragment, so the packet is dropped and counted.
	out.push_back(one("ipip4_too_big_df_clear_dropped", w,
	                  drop(sized(client4, "10.10.1.1", 42408, 1481).df(false).build(),
	                       WEIR_DROP_mtu_exceeded, {inserted()})));
	// No room to push the reply's headers: no reply, still counted.
	step no_room =
	        drop(sized(client4, "10.10.1.1", 42409, 1481).build(), WEIR_DROP_mtu_exceeded, {inserted()});
	no_room.headroom = 27;
	out.push_back(one("too_big_without_headroom_for_reply_dropped", w, no_room));
	return out;
}

std::vector<fixture> reply_limits()
{
	std::vector<fixture> out;
	// MTU 576: a 560-byte trigger is answered with 560 bytes (28 of headers, 532
	// quoted), never more; a 600-byte one with the RFC 1812 maximum, 576.
	world small = small_mtu_world();
	out.push_back(reply_fixture("frag_needed_never_longer_than_trigger", small,
	                            sized(client4, "10.10.1.1", 42410, 560), client4, "10.10.1.1", 556));
	out.push_back(reply_fixture("frag_needed_capped_at_576", small,
	                            sized(client4, "10.10.1.1", 42411, 600), client4, "10.10.1.1", 556));
	// MTU 1320 leaves exactly the IPv6 minimum, 1280, inside 6in6 (a smaller mtu
	// with an IPv6 ipip VIP is a configuration error): weir says 1280.
	out.push_back(reply_fixture("packet_too_big_at_the_ipv6_minimum", min_mtu6_world(),
	                            sized(client6, "fd00:1::1", 42412, 1300), client6, "fd00:1::1", 1280));
	// One reply per second: the second trigger of a second is only counted.
	world limited = rate_limited_world();
	packet_builder a = sized(client4, "10.10.1.1", 42413, 1481),
	               b = sized(client4, "10.10.1.1", 42414, 1481),
	               c = sized(client4, "10.10.1.1", 42415, 1481);
	step later =
	        icmp_reply(c.build(), too_big_reply(c, limited, "10.10.1.1", client4, 1480), {inserted()});
	later.now = 1001;
	out.push_back(seq(
	        "frag_needed_rate_limited_per_second", limited,
	        {icmp_reply(a.build(), too_big_reply(a, limited, "10.10.1.1", client4, 1480), {inserted()}),
	         drop(b.build(), WEIR_DROP_mtu_exceeded, {inserted(), {counter_id::icmp_rate_limited, 1}}),
	         later},
	        false));
	// The first second of the engine's clock has a budget like any other.
	packet_builder z = sized(client4, "10.10.1.1", 42416, 1481);
	step at_zero = icmp_reply(z.build(), too_big_reply(z, main_world(), "10.10.1.1", client4, 1480),
	                          {inserted()});
	at_zero.now = 0;
	out.push_back(seq("frag_needed_at_clock_zero", main_world(), {at_zero}, false));
	return out;
}

}  // namespace

std::vector<fixture> icmp_fixtures()
{
	return router_errors();
}

std::vector<fixture> mtu_fixtures()
{
	std::vector<fixture> out = too_big();
	std::vector<fixture> more = reply_limits();
	out.insert(out.end(), more.begin(), more.end());
	return out;
}

}  // namespace weir::test::fx
