// fixtures_malformed.cpp — fixtures of frames weir drops before choosing a
// backend: truncation at every header boundary, inconsistent IP headers, and the
// packets that are only a VIP's problem (IPv4 options, TTL 0, IPv6 extension
// chains, cut L4 headers, fragments under the "drop" policy). Test code only.
#include "fixtures_detail.h"

namespace weir::test::fx {
namespace {

constexpr const char *vip4 = "10.10.1.1";  // ipip4, TCP 80
constexpr const char *vip6 = "fd00:1::1";  // ipip6, TCP 80

fixture dropped(std::string name, const packet_builder &in, weir_drop_reason reason)
{
	return one(std::move(name), main_world(), drop(in.build(), reason));
}

// Cut at every header boundary (and inside each header): L2 and L3 cuts are
// dropped whatever the destination.
std::vector<fixture> truncation()
{
	std::vector<fixture> out;
	auto t4 = [](uint16_t sport) { return tcp_in(client4, vip4, sport); };
	out.push_back(dropped("eth_header_cut_at_13", t4(41000).truncate(13), WEIR_DROP_truncated_l2));
	out.push_back(dropped("eth_only_no_payload", t4(41001).truncate(14), WEIR_DROP_truncated_l3));
	out.push_back(dropped("vlan_tag_cut", t4(41002).vlan(100).truncate(16), WEIR_DROP_truncated_l2));
	out.push_back(dropped("qinq_inner_tag_cut", t4(41003).vlan(10, 0x88a8).vlan(20).truncate(20),
	                      WEIR_DROP_truncated_l2));
	out.push_back(dropped("three_vlan_tags", t4(41004).vlan(1).vlan(2).vlan(3), WEIR_DROP_vlan_too_deep));
	out.push_back(dropped("ipv4_header_cut_at_19", t4(41005).truncate(14 + 19), WEIR_DROP_truncated_l3));
	out.push_back(
	        dropped("vlan_ipv4_header_cut", t4(41006).vlan(9).truncate(18 + 10), WEIR_DROP_truncated_l3));
	out.push_back(dropped("ipv6_header_cut_at_39", tcp_in(client6, vip6, 41007).truncate(14 + 39),
	                      WEIR_DROP_truncated_l3));
	// The frame ends inside the packet its total length announces.
	out.push_back(
	        dropped("ipv4_frame_cut_inside_tcp", t4(41008).truncate(14 + 30), WEIR_DROP_bad_ip_header));
	// Header and frame agree, but the TCP header is cut: a VIP's problem.
	out.push_back(dropped("tcp_header_cut_at_10_to_vip", t4(41009).payload(0).ip_length(30).truncate(44),
	                      WEIR_DROP_truncated_l4));
	out.push_back(dropped("tcp_cut_before_ports_to_vip", t4(41010).payload(0).ip_length(22).truncate(36),
	                      WEIR_DROP_truncated_l4));
	out.push_back(dropped("udp_header_cut_at_6_to_vip",
	                      udp_in(client4, "10.10.1.7", 41011).payload(0).ip_length(26).truncate(40),
	                      WEIR_DROP_truncated_l4));
	out.push_back(dropped("ipv6_tcp_header_cut_to_vip",
	                      tcp_in(client6, vip6, 41012).payload(0).ip_length(12).truncate(14 + 52),
	                      WEIR_DROP_truncated_l4));
	packet_builder icmp;
	icmp.eth_src(client_mac).eth_dst(port_mac).ipv4(client4, vip4).icmp(8, 0).ip_length(24).truncate(38);
	out.push_back(dropped("icmp_header_cut_to_vip", icmp, WEIR_DROP_truncated_l4));
	return out;
}

std::vector<fixture> bad_headers()
{
	std::vector<fixture> out;
	auto t4 = [](uint16_t sport) { return tcp_in(client4, vip4, sport); };
	out.push_back(dropped("ipv4_ihl_4", t4(41020).ipv4_ihl(4), WEIR_DROP_bad_ip_header));
	out.push_back(
	        dropped("ipv4_version_6_in_ipv4_frame", t4(41021).ip_version(6), WEIR_DROP_bad_ip_header));
	out.push_back(dropped("ipv4_total_length_past_frame", t4(41022).ip_length(20 + 20 + 64 + 1),
	                      WEIR_DROP_bad_ip_header));
	out.push_back(
	        dropped("ipv4_total_length_below_header", t4(41023).ip_length(19), WEIR_DROP_bad_ip_header));
	out.push_back(dropped("ipv6_payload_length_past_frame",
	                      tcp_in(client6, vip6, 41024).ip_length(20 + 64 + 1), WEIR_DROP_bad_ip_header));
	out.push_back(dropped("ipv6_version_4_in_ipv6_frame", tcp_in(client6, vip6, 41025).ip_version(4),
	                      WEIR_DROP_bad_ip_header));
	out.push_back(
	        dropped("tcp_data_offset_4_to_vip", t4(41026).tcp_data_offset(4), WEIR_DROP_truncated_l4));
	out.push_back(dropped("tcp_data_offset_past_packet_to_vip", t4(41027).payload(0).tcp_data_offset(15),
	                      WEIR_DROP_truncated_l4));
	return out;
}

std::vector<fixture> vip_only_drops()
{
	std::vector<fixture> out;
	auto t4 = [](uint16_t sport) { return tcp_in(client4, vip4, sport); };
	// Record-route option (7, 7 bytes): valid, unsupported.
	out.push_back(dropped("ipv4_options_to_vip", t4(41030).ip_options({7, 7, 4, 0, 0, 0, 0}),
	                      WEIR_DROP_ip_options));
	// Matched by address alone: another port of a VIP's address is still the VIP's.
	out.push_back(dropped("ipv4_options_to_vip_address_other_port",
	                      tcp_in(client4, vip4, 41031, 443).ip_options({0x94, 4, 0, 0}),
	                      WEIR_DROP_ip_options));
	out.push_back(dropped("ipv4_ttl_0_to_vip", t4(41032).ttl(0), WEIR_DROP_ttl_zero));
	// The parser reports the first problem it finds: options come before TTL.
	out.push_back(dropped("ipv4_options_and_ttl_0_first_reason_wins",
	                      t4(41033).ttl(0).ip_options({0x94, 4, 0, 0}), WEIR_DROP_ip_options));
	out.push_back(
	        dropped("ipv6_hop_limit_0_to_vip", tcp_in(client6, vip6, 41034).ttl(0), WEIR_DROP_ttl_zero));
	packet_builder seven = tcp_in(client6, vip6, 41035);
	for (int i = 0; i < 7; i++)
		seven.ipv6_ext(ext_dest_opts, 8);
	out.push_back(dropped("ipv6_seven_extension_headers_to_vip", seven, WEIR_DROP_ipv6_ext_unsupported));
	// A chain that keeps going (hop-by-hop, routing, destination options, again
	// and again) never reaches a transport header within the walk's bound.
	packet_builder loop = tcp_in(client6, vip6, 41036);
	for (int i = 0; i < 4; i++)
		loop.ipv6_ext(ext_routing, 8).ipv6_ext(ext_dest_opts, 8).ipv6_ext(ext_routing, 16);
	out.push_back(dropped("ipv6_looping_extension_chain_to_vip", loop, WEIR_DROP_ipv6_ext_unsupported));
	// The header's own length runs past the packet.
	out.push_back(dropped("ipv6_extension_header_past_packet_to_vip",
	                      tcp_in(client6, vip6, 41037)
	                              .ipv6_ext(ext_dest_opts, 16)
	                              .payload(0)
	                              .ip_length(12)
	                              .truncate(14 + 40 + 12),
	                      WEIR_DROP_ipv6_ext_unsupported));
	return out;
}

// Fragments to a VIP whose policy is "drop" (the default).
std::vector<fixture> fragments()
{
	std::vector<fixture> out;
	out.push_back(dropped("ipv4_first_fragment_to_drop_vip", tcp_in(client4, vip4, 41040).df(false).mf(),
	                      WEIR_DROP_fragment));
	packet_builder later;
	later.eth_src(client_mac)
	        .eth_dst(port_mac)
	        .ipv4(client4, vip4)
	        .frag_offset(11)
	        .l4_proto(6)
	        .payload(40);
	out.push_back(dropped("ipv4_later_fragment_to_drop_vip", later, WEIR_DROP_fragment));
	out.push_back(dropped("ipv6_first_fragment_to_drop_vip",
	                      tcp_in(client6, vip6, 41041).ipv6_frag(0, true), WEIR_DROP_fragment));
	return out;
}

}  // namespace

std::vector<fixture> malformed_fixtures()
{
	std::vector<fixture> out = truncation();
	for (auto part : {bad_headers, vip_only_drops, fragments}) {
		std::vector<fixture> more = part();
		out.insert(out.end(), more.begin(), more.end());
	}
	return out;
}

}  // namespace weir::test::fx
