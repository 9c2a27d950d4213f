// fixtures_forwarding.cpp — fixtures of packets that reach a backend (every
// forwarding mode and address family, VLAN/QinQ, padding, TTL, port-0 and UDP
// VIPs) and of packets that are not the load balancer's business (PASS,
// unchanged). Test code only.
#include "fixtures_detail.h"

namespace weir::test::fx {
namespace {

constexpr uint8_t tcp = 6, udp = 17;

uint32_t h(const std::string &src, const std::string &dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
	return flow_hash(src, dst, proto, sport, dport, main_seed);
}

// One new TCP flow from `client`:sport to `vip`:80, forwarded with `m`.
fixture new_flow(std::string name, packet_builder in, const std::string &client, const std::string &vip,
                 uint16_t sport, mode m, const std::string &backend)
{
	world w = main_world();
	uint32_t hash = h(client, vip, tcp, sport, 80);
	return one(std::move(name), w, to_backend(in, w, m, backend, hash, {inserted()}));
}

std::vector<fixture> modes()
{
	std::vector<fixture> out;
	// TOS 0xb9 (DSCP 46, ECN 01) is copied to the outer header; DF too.
	out.push_back(new_flow("ipip4_new_flow", tcp_in(client4, "10.10.1.1", 40001).tos(0xb9), client4,
	                       "10.10.1.1", 40001, mode::ipip, "10.10.0.21"));
	out.push_back(new_flow("ipip4_df_clear_stays_clear", tcp_in(client4, "10.10.1.1", 40002).df(false),
	                       client4, "10.10.1.1", 40002, mode::ipip, "10.10.0.21"));
	out.push_back(new_flow("gue4_new_flow", tcp_in(client4, "10.10.1.2", 40003).tos(0x10), client4,
	                       "10.10.1.2", 40003, mode::gue, "10.10.0.22"));
	out.push_back(new_flow("l2dsr4_new_flow", tcp_in(client4, "10.10.1.3", 40004), client4, "10.10.1.3",
	                       40004, mode::l2dsr, "10.10.0.23"));
	// The inner flow label is the client's; the outer one comes from the flow hash.
	out.push_back(new_flow("ipip6_new_flow",
	                       tcp_in(client6, "fd00:1::1", 40005).tos(0x28).flow_label(0x12345), client6,
	                       "fd00:1::1", 40005, mode::ipip, "fd00::21"));
	out.push_back(new_flow("gue6_new_flow", tcp_in(client6, "fd00:1::2", 40006).tos(0x04), client6,
	                       "fd00:1::2", 40006, mode::gue, "fd00::22"));
	out.push_back(new_flow("ipip_4in6_new_flow", tcp_in(client4, "10.10.1.4", 40008).tos(0x48), client4,
	                       "10.10.1.4", 40008, mode::ipip, "fd00::24"));
	out.push_back(new_flow("gue_4in6_new_flow", tcp_in(client4, "10.10.1.5", 40009), client4, "10.10.1.5",
	                       40009, mode::gue, "fd00::25"));
	// An off-link backend is reached through the gateway's MAC.
	{
		world w = main_world();
		packet_builder in = tcp_in(client4, "10.10.1.11", 40010);
		frame out_f = forwarded(in, w, mode::ipip, "192.168.50.5", neighbour(w, "10.10.0.1"),
		                        h(client4, "10.10.1.11", tcp, 40010, 80));
		out.push_back(
		        one("ipip4_offlink_backend_via_gateway", w, tx(in.build(), out_f, {inserted()})));
	}
	// The l2dsr backend's MAC given in the config (not in the neighbour table).
	{
		world w = main_world();
		packet_builder in = tcp_in(client6, "fd00:1::3", 40007);
		frame out_f = forwarded(in, w, mode::l2dsr, "fd00::23", parse_mac("02:00:00:00:06:23"), 0);
		out.push_back(one("l2dsr6_mac_from_config", w, tx(in.build(), out_f, {inserted()})));
	}
	return out;
}

std::vector<fixture> framing()
{
	std::vector<fixture> out;
	out.push_back(new_flow("vlan_ipip4_tag_kept",
	                       tcp_in(client4, "10.10.1.1", 40020).vlan(100, 0x8100, 5), client4, "10.10.1.1",
	                       40020, mode::ipip, "10.10.0.21"));
	// QinQ, IPv4 inside, IPv6 outside: the innermost EtherType becomes 0x86dd.
	out.push_back(new_flow("qinq_gue_4in6_inner_ethertype_rewritten",
	                       tcp_in(client4, "10.10.1.5", 40021).vlan(10, 0x88a8).vlan(20), client4,
	                       "10.10.1.5", 40021, mode::gue, "fd00::25"));
	out.push_back(new_flow("qinq_ipip6_tags_kept",
	                       tcp_in(client6, "fd00:1::1", 40022).vlan(10, 0x88a8).vlan(20), client6,
	                       "fd00:1::1", 40022, mode::ipip, "fd00::21"));
	out.push_back(new_flow("vlan_l2dsr4_only_macs_change", tcp_in(client4, "10.10.1.3", 40023).vlan(7),
	                       client4, "10.10.1.3", 40023, mode::l2dsr, "10.10.0.23"));
	// A bare ACK is 54 bytes, padded to 60 on the wire: encapsulation drops the
	// padding (the outer length counts the IP packet only), l2dsr keeps the frame.
	packet_builder ack = tcp_in(client4, "10.10.1.1", 40024, 80, tcp_ack).payload(0).eth_padding(6);
	out.push_back(new_flow("ipip4_ethernet_padding_removed", ack, client4, "10.10.1.1", 40024, mode::ipip,
	                       "10.10.0.21"));
	packet_builder ack_dsr = tcp_in(client4, "10.10.1.3", 40025, 80, tcp_ack).payload(0).eth_padding(6);
	out.push_back(new_flow("l2dsr4_ethernet_padding_kept", ack_dsr, client4, "10.10.1.3", 40025,
	                       mode::l2dsr, "10.10.0.23"));
	// TTL 1 is forwarded and the inner TTL stays 1 (weir is not a router hop).
	out.push_back(new_flow("ipip4_ttl_1_forwarded_unchanged", tcp_in(client4, "10.10.1.1", 40026).ttl(1),
	                       client4, "10.10.1.1", 40026, mode::ipip, "10.10.0.21"));
	out.push_back(new_flow("gue6_hop_limit_1_forwarded_unchanged",
	                       tcp_in(client6, "fd00:1::2", 40027).ttl(1), client6, "fd00:1::2", 40027,
	                       mode::gue, "fd00::22"));
	// Extension headers weir walks do not stop forwarding; the inner packet keeps them.
	out.push_back(new_flow(
	        "ipip6_extension_headers_forwarded",
	        tcp_in(client6, "fd00:1::1", 40028).ipv6_ext(ext_hop_by_hop, 8).ipv6_ext(ext_dest_opts, 16),
	        client6, "fd00:1::1", 40028, mode::ipip, "fd00::21"));
	// Six extension headers are the most the parser walks: still forwarded.
	packet_builder six = tcp_in(client6, "fd00:1::1", 40029);
	for (int i = 0; i < 6; i++)
		six.ipv6_ext(ext_dest_opts, 8);
	out.push_back(new_flow("ipip6_six_extension_headers_forwarded", six, client6, "fd00:1::1", 40029,
	                       mode::ipip, "fd00::21"));
	return out;
}

std::vector<fixture> services()
{
	std::vector<fixture> out;
	world w = main_world();
	// A port-0 VIP takes every TCP port of its address, each port its own flow.
	packet_builder ssh = tcp_in(client4, "10.10.1.6", 40030, 22),
	               web = tcp_in(client4, "10.10.1.6", 40030, 8443);
	out.push_back(seq("port0_vip_every_port", w,
	                  {to_backend(ssh, w, mode::ipip, "10.10.0.26",
	                              h(client4, "10.10.1.6", tcp, 40030, 22), {inserted()}),
	                   to_backend(web, w, mode::ipip, "10.10.0.26",
	                              h(client4, "10.10.1.6", tcp, 40030, 8443), {inserted()})}));
	// ... but not UDP: the VIP is TCP only.
	out.push_back(
	        one("port0_tcp_vip_udp_passes", w, pass(udp_in(client4, "10.10.1.6", 40031, 53).build())));
	packet_builder dns = udp_in(client4, "10.10.1.7", 5353);
	out.push_back(one("udp_vip_gue", w,
	                  to_backend(dns, w, mode::gue, "10.10.0.27", h(client4, "10.10.1.7", udp, 5353, 53),
	                             {inserted()})));
	// SYN, ACK, data, FIN of one connection: one entry, every packet to the backend.
	uint32_t hash = h(client4, "10.10.1.2", tcp, 40032, 80);
	std::vector<step> conn;
	for (uint8_t flags : {tcp_syn, tcp_ack, uint8_t(tcp_ack | tcp_psh), uint8_t(tcp_ack | tcp_fin)})
		conn.push_back(to_backend(tcp_in(client4, "10.10.1.2", 40032, 80, flags), w, mode::gue,
		                          "10.10.0.22", hash,
		                          flags == tcp_syn ? std::vector<counter_delta>{inserted()}
		                                           : std::vector<counter_delta>{}));
	out.push_back(seq("gue4_connection_tracked_once", w, conn));
	return out;
}

}  // namespace

std::vector<fixture> forwarding_fixtures()
{
	std::vector<fixture> out = modes();
	for (auto part : {framing, services}) {
		std::vector<fixture> more = part();
		out.insert(out.end(), more.begin(), more.end());
	}
	return out;
}

std::vector<fixture> passing_fixtures()
{
	world w = main_world();
	std::vector<fixture> out;
	packet_builder arp;
	arp.eth_src(client_mac).eth_dst("ff:ff:ff:ff:ff:ff").ethertype(0x0806).payload(28);
	out.push_back(one("arp_to_kernel", w, pass(arp.build())));
	packet_builder lldp;
	lldp.eth_dst("01:80:c2:00:00:0e").ethertype(0x88cc).vlan(5).payload(46);
	out.push_back(one("vlan_lldp_to_kernel", w, pass(lldp.build())));
	out.push_back(
	        one("ipv4_to_node_address_to_kernel", w, pass(tcp_in(client4, node4, 40040, 22).build())));
	out.push_back(
	        one("ipv6_to_node_address_to_kernel", w, pass(tcp_in(client6, node6, 40041, 22).build())));
	out.push_back(one("vip_address_other_port_to_kernel", w,
	                  pass(tcp_in(client4, "10.10.1.1", 40042, 443).build())));
	out.push_back(one("udp_to_tcp_vip_port_to_kernel", w,
	                  pass(udp_in(client4, "10.10.1.1", 40043, 80).build())));
	packet_builder ping;
	ping.eth_src(client_mac)
	        .eth_dst(port_mac)
	        .ipv4(client4, "10.10.1.1")
	        .icmp(8, 0, 0x00010001)
	        .payload(32);
	out.push_back(one("icmp_echo_to_vip_to_kernel", w, pass(ping.build())));
	packet_builder ping6;
	ping6.eth_src(client_mac).eth_dst(port_mac).ipv6(client6, "fd00:1::1").icmp(128, 0, 7).payload(32);
	out.push_back(one("icmpv6_echo_to_vip_to_kernel", w, pass(ping6.build())));
	// What the parser would drop for a VIP is the kernel's business elsewhere.
	out.push_back(one("ipv4_options_to_non_vip_to_kernel", w,
	                  pass(tcp_in(client4, node4, 40044, 22).ip_options({0x94, 0x04, 0, 0}).build())));
	out.push_back(
	        one("ttl_0_to_non_vip_to_kernel", w, pass(tcp_in(client4, node4, 40045, 22).ttl(0).build())));
	packet_builder chain = tcp_in(client6, node6, 40046, 22);
	for (int i = 0; i < 8; i++)
		chain.ipv6_ext(ext_dest_opts, 8);
	out.push_back(one("ipv6_long_extension_chain_to_non_vip_to_kernel", w, pass(chain.build())));
	out.push_back(one("fragment_to_non_vip_to_kernel", w,
	                  pass(tcp_in(client4, node4, 40047, 22).df(false).mf().build())));
	out.push_back(
	        one("truncated_tcp_to_non_vip_to_kernel", w,
	            pass(tcp_in(client4, node4, 40048, 22).payload(0).ip_length(30).truncate(44).build())));
	// ESP to a VIP address: not TCP/UDP, so no VIP matches.
	packet_builder esp;
	esp.eth_src(client_mac).eth_dst(port_mac).ipv4(client4, "10.10.1.1").l4_proto(50).payload(40);
	out.push_back(one("esp_to_vip_address_to_kernel", w, pass(esp.build())));
	return out;
}

}  // namespace weir::test::fx
