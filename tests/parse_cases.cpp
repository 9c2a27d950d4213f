// parse_cases.cpp — the parser's behaviour table: L2, IPv4, ICMP, IPv6 cases with
// exact expected offsets, lengths, flags, keys and quoted flows. Test code only.
#include "parse_cases.h"

namespace weir::test {
namespace {

parse_case pc(std::string name, frame f, want w)
{
	return {std::move(name), std::move(f), w};
}

constexpr uint8_t df = WEIR_PKT_F_DF;
constexpr uint8_t frag = WEIR_PKT_F_FRAGMENT;
constexpr uint8_t later = WEIR_PKT_F_LATER_FRAGMENT;
constexpr uint8_t icmp_err = WEIR_PKT_F_ICMP_ERROR;

const flow k_tcp4{client4, vip4, 6, 40000, 80};
const flow k_udp4{client4, vip4, 17, 5353, 53};
const flow k_tcp6{client6, vip6, 6, 40001, 443};
const flow k_udp6{client6, vip6, 17, 5353, 53};
const flow k_icmp4{router4, vip4, 1};
const flow k_icmp6{router6, vip6, 58};

}  // namespace

packet_builder tcp4(uint8_t flags)
{
	return packet_builder().ipv4(client4, vip4).tcp(40000, 80, flags);
}

packet_builder udp4()
{
	return packet_builder().ipv4(client4, vip4).udp(5353, 53);
}

packet_builder tcp6(uint8_t flags)
{
	return packet_builder().ipv6(client6, vip6).tcp(40001, 443, flags);
}

packet_builder udp6()
{
	return packet_builder().ipv6(client6, vip6).udp(5353, 53);
}

frame cut(frame f, size_t n)
{
	f.resize(std::min(n, f.size()));
	return f;
}

// The quoted packets of ICMP errors went VIP -> client.
frame quote4_tcp()
{
	return packet_builder().ipv4(vip4, client4).tcp(80, 40000).payload(32).l3();
}

frame quote6_tcp()
{
	return packet_builder().ipv6(vip6, client6).tcp(443, 40001).payload(32).l3();
}

packet_builder icmp4(uint8_t type, uint8_t code, frame quote)
{
	return packet_builder().ipv4(router4, vip4).icmp(type, code, 1400).quote(std::move(quote));
}

packet_builder icmp6(uint8_t type, uint8_t code, frame quote)
{
	return packet_builder().ipv6(router6, vip6).icmp(type, code, 1280).quote(std::move(quote));
}

namespace {

std::vector<parse_case> l2_and_ipv4_cases()
{
	return {
	        pc("ipv4_tcp", tcp4().payload(10).build(), {.key = k_tcp4, .l4_off = 34, .l3_len = 50}),
	        pc("ipv4_tcp_syn", tcp4(tcp_syn).build(),
	           {.key = k_tcp4, .l4_off = 34, .l3_len = 40, .flags = WEIR_PKT_F_TCP_SYN}),
	        pc("ipv4_tcp_syn_ack", tcp4(tcp_syn | tcp_ack).build(),
	           {.key = k_tcp4, .l4_off = 34, .l3_len = 40}),
	        pc("ipv4_tcp_fin", tcp4(tcp_fin | tcp_ack).build(),
	           {.key = k_tcp4, .l4_off = 34, .l3_len = 40, .flags = WEIR_PKT_F_TCP_CLOSING}),
	        pc("ipv4_tcp_rst", tcp4(tcp_rst).build(),
	           {.key = k_tcp4, .l4_off = 34, .l3_len = 40, .flags = WEIR_PKT_F_TCP_CLOSING}),
	        pc("ipv4_tcp_options", tcp4().tcp_options({2, 4, 5, 0xb4, 1, 1, 4, 2}).build(),
	           {.key = k_tcp4, .l4_off = 34, .l3_len = 48}),
	        pc("ipv4_udp", udp4().payload(20).build(), {.key = k_udp4, .l4_off = 34, .l3_len = 48}),
	        pc("ipv4_udp_eth_padding", udp4().eth_padding(18).build(),
	           {.key = k_udp4, .l4_off = 34, .l3_len = 28}),
	        pc("vlan_8021q", tcp4().vlan(100).build(),
	           {.key = k_tcp4, .l3_off = 18, .l4_off = 38, .l3_len = 40, .proto_off = 16, .vlans = 1}),
	        pc("qinq_88a8", tcp4().vlan(10, 0x88a8).vlan(20).build(),
	           {.key = k_tcp4, .l3_off = 22, .l4_off = 42, .l3_len = 40, .proto_off = 20, .vlans = 2}),
	        pc("qinq_8100_8100", udp4().vlan(10).vlan(20).build(),
	           {.key = k_udp4, .l3_off = 22, .l4_off = 42, .l3_len = 28, .proto_off = 20, .vlans = 2}),
	        pc("three_vlan_tags", tcp4().vlan(1, 0x88a8).vlan(2).vlan(3).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_vlan_too_deep}),
	        pc("arp", packet_builder().ethertype(0x0806).payload(28).build(),
	           {.result = WEIR_PARSE_PASS, .ttl = 0}),
	        pc("arp_in_vlan", packet_builder().vlan(7).ethertype(0x0806).payload(28).build(),
	           {.result = WEIR_PARSE_PASS, .l3_off = 18, .proto_off = 16, .vlans = 1, .ttl = 0}),
	        pc("lldp", packet_builder().ethertype(0x88cc).payload(40).build(),
	           {.result = WEIR_PARSE_PASS, .ttl = 0}),
	        pc("empty_frame", frame{}, {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_truncated_l2}),
	        pc("ethernet_cut", packet_builder().ethertype(0x0806).truncate(13).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_truncated_l2}),
	        pc("vlan_tag_cut", tcp4().vlan(5).truncate(16).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_truncated_l2}),
	        pc("ipv4_header_cut", tcp4().truncate(14 + 19).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_truncated_l3}),
	        pc("ipv4_ihl_4", tcp4().ipv4_ihl(4).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_bad_ip_header}),
	        pc("ipv4_version_5", tcp4().ip_version(5).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_bad_ip_header}),
	        pc("ipv4_total_length_below_ihl", tcp4().ip_length(19).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_bad_ip_header}),
	        pc("ipv4_total_length_past_frame", tcp4().ip_length(41).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_bad_ip_header}),
	        pc("ipv4_ethertype_ipv6_header", tcp6().ethertype(0x0800).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_bad_ip_header}),
	        pc("ipv4_options", tcp4().ip_options({1, 1, 1, 0}).build(),
	           {.key = k_tcp4, .l4_off = 38, .l3_len = 44, .vip_drop = vd(WEIR_DROP_ip_options)}),
	        pc("ipv4_ttl_0", tcp4().ttl(0).build(),
	           {.key = k_tcp4, .l4_off = 34, .l3_len = 40, .ttl = 0, .vip_drop = vd(WEIR_DROP_ttl_zero)}),
	        pc("ipv4_ttl_1", tcp4().ttl(1).build(),
	           {.key = k_tcp4, .l4_off = 34, .l3_len = 40, .ttl = 1}),
	        pc("ipv4_options_and_ttl_0", tcp4().ip_options({1, 1, 1, 1}).ttl(0).build(),
	           {.key = k_tcp4,
	            .l4_off = 38,
	            .l3_len = 44,
	            .ttl = 0,
	            .vip_drop = vd(WEIR_DROP_ip_options)}),
	        pc("ipv4_df", tcp4().df().build(), {.key = k_tcp4, .l4_off = 34, .l3_len = 40, .flags = df}),
	        pc("ipv4_first_fragment", tcp4().mf().payload(16).build(),
	           {.key = k_tcp4, .l4_off = 34, .l3_len = 56, .flags = frag}),
	        pc("ipv4_middle_fragment", tcp4().mf().frag_offset(185).l4_proto(6).payload(16).build(),
	           {.key = {client4, vip4, 6}, .l3_len = 36, .flags = frag | later}),
	        pc("ipv4_last_fragment", udp4().frag_offset(1).l4_proto(17).payload(8).build(),
	           {.key = {client4, vip4, 17}, .l3_len = 28, .flags = frag | later}),
	        pc("ipv4_fragment_offset_top_bit", udp4().frag_offset(0x1000).l4_proto(17).payload(8).build(),
	           {.key = {client4, vip4, 17}, .l3_len = 28, .flags = frag | later}),
	        pc("ipv4_gre", tcp4().l4_proto(47).payload(8).build(),
	           {.key = {client4, vip4, 47}, .l3_len = 28}),
	        pc("ipv4_udp_cut_by_total_length", udp4().ip_length(24).build(),
	           {.key = k_udp4, .l3_len = 24, .vip_drop = vd(WEIR_DROP_truncated_l4)}),
	        pc("ipv4_tcp_cut_by_total_length", tcp4().ip_length(30).build(),
	           {.key = k_tcp4, .l3_len = 30, .vip_drop = vd(WEIR_DROP_truncated_l4)}),
	        pc("ipv4_tcp_data_offset_4", tcp4().tcp_data_offset(4).build(),
	           {.key = k_tcp4, .l3_len = 40, .vip_drop = vd(WEIR_DROP_truncated_l4)}),
	        pc("ipv4_tcp_data_offset_past_packet", tcp4().tcp_data_offset(6).build(),
	           {.key = k_tcp4, .l3_len = 40, .vip_drop = vd(WEIR_DROP_truncated_l4)}),
	};
}

std::vector<parse_case> icmp4_cases()
{
	const flow in_tcp{client4, vip4, 6, 40000, 80};
	return {
	        pc("icmp_echo_request",
	           packet_builder().ipv4(client4, vip4).icmp(8, 0, 0x10001).payload(56).build(),
	           {.key = {client4, vip4, 1}, .l4_off = 34, .l3_len = 84, .icmp_type = 8}),
	        pc("icmp_frag_needed", icmp4(3, 4, quote4_tcp()).build(),
	           {.key = k_icmp4,
	            .inner = in_tcp,
	            .l4_off = 34,
	            .l3_len = 100,
	            .flags = icmp_err,
	            .icmp_type = 3,
	            .icmp_code = 4}),
	        pc("icmp_time_exceeded_udp",
	           icmp4(11, 0, packet_builder().ipv4(vip4, client4).udp(53, 5353).payload(30).l3()).build(),
	           {.key = k_icmp4,
	            .inner = {client4, vip4, 17, 5353, 53},
	            .l4_off = 34,
	            .l3_len = 86,
	            .flags = icmp_err,
	            .icmp_type = 11}),
	        pc("icmp_param_problem_quote_cut_after_8", icmp4(12, 0, cut(quote4_tcp(), 28)).build(),
	           {.key = k_icmp4,
	            .inner = in_tcp,
	            .l4_off = 34,
	            .l3_len = 56,
	            .flags = icmp_err,
	            .icmp_type = 12}),
	        pc("icmp_error_quote_with_options",
	           icmp4(3, 3,
	                 packet_builder()
	                         .ipv4(vip4, client4)
	                         .ip_options({1, 1, 1, 1, 1, 1, 1, 1})
	                         .tcp(80, 40000)
	                         .l3())
	                   .build(),
	           {.key = k_icmp4,
	            .inner = in_tcp,
	            .l4_off = 34,
	            .l3_len = 76,
	            .flags = icmp_err,
	            .icmp_type = 3,
	            .icmp_code = 3}),
	        pc("icmp_error_quoted_later_fragment",
	           icmp4(11, 1,
	                 packet_builder().ipv4(vip4, client4).frag_offset(10).l4_proto(6).payload(8).l3())
	                   .build(),
	           {.key = k_icmp4,
	            .inner = {client4, vip4, 6},
	            .l4_off = 34,
	            .l3_len = 56,
	            .flags = icmp_err,
	            .icmp_type = 11,
	            .icmp_code = 1}),
	        pc("icmp_error_quote_too_short", icmp4(3, 4, cut(quote4_tcp(), 24)).build(),
	           {.key = k_icmp4,
	            .l4_off = 34,
	            .l3_len = 52,
	            .flags = icmp_err,
	            .vip_drop = vd(WEIR_DROP_bad_icmp_error),
	            .icmp_type = 3,
	            .icmp_code = 4}),
	        pc("icmp_error_quoted_ports_in_padding",
	           icmp4(3, 4, cut(quote4_tcp(), 28)).ip_length(52).build(),
	           {.key = k_icmp4,
	            .l4_off = 34,
	            .l3_len = 52,
	            .flags = icmp_err,
	            .vip_drop = vd(WEIR_DROP_bad_icmp_error),
	            .icmp_type = 3,
	            .icmp_code = 4}),
	        pc("icmp_error_quote_not_ipv4", icmp4(3, 4, quote6_tcp()).build(),
	           {.key = k_icmp4,
	            .l4_off = 34,
	            .l3_len = 120,
	            .flags = icmp_err,
	            .vip_drop = vd(WEIR_DROP_bad_icmp_error),
	            .icmp_type = 3,
	            .icmp_code = 4}),
	        pc("icmp_header_cut", packet_builder().ipv4(router4, vip4).icmp(8, 0).ip_length(24).build(),
	           {.key = k_icmp4, .l3_len = 24, .vip_drop = vd(WEIR_DROP_truncated_l4)}),
	};
}

std::vector<parse_case> ipv6_cases()
{
	const flow in_tcp{client6, vip6, 6, 40001, 443};
	auto chain = [](int n) {
		static const uint8_t kinds[] = {0, 60, 43, 44, 60, 60, 60};
		packet_builder b = tcp6();
		for (int i = 0; i < n; i++)
			if (kinds[i] == 44)
				b.ipv6_frag(0, false);
			else
				b.ipv6_ext(kinds[i], 8);
		return b.build();
	};
	return {
	        pc("ipv6_tcp", tcp6().payload(10).build(),
	           {.key = k_tcp6, .l4_off = 54, .l3_len = 70, .flags = df}),
	        pc("ipv6_tcp_syn", tcp6(tcp_syn).build(),
	           {.key = k_tcp6, .l4_off = 54, .l3_len = 60, .flags = df | WEIR_PKT_F_TCP_SYN}),
	        pc("ipv6_udp", udp6().payload(3).build(),
	           {.key = k_udp6, .l4_off = 54, .l3_len = 51, .flags = df}),
	        pc("ipv6_in_vlan", udp6().vlan(9).build(),
	           {.key = k_udp6,
	            .l3_off = 18,
	            .l4_off = 58,
	            .l3_len = 48,
	            .proto_off = 16,
	            .vlans = 1,
	            .flags = df}),
	        pc("ipv6_hop_limit_0", tcp6().ttl(0).build(),
	           {.key = k_tcp6,
	            .l4_off = 54,
	            .l3_len = 60,
	            .flags = df,
	            .ttl = 0,
	            .vip_drop = vd(WEIR_DROP_ttl_zero)}),
	        pc("ipv6_header_cut", tcp6().truncate(14 + 39).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_truncated_l3}),
	        pc("ipv6_payload_length_past_frame", tcp6().ip_length(21).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_bad_ip_header}),
	        pc("ipv6_version_4", tcp6().ip_version(4).build(),
	           {.result = WEIR_PARSE_DROP, .reason = WEIR_DROP_bad_ip_header}),
	        pc("ipv6_hop_by_hop", tcp6().ipv6_ext(ext_hop_by_hop, 8).build(),
	           {.key = k_tcp6, .l4_off = 62, .l3_len = 68, .flags = df}),
	        pc("ipv6_routing", tcp6().ipv6_ext(ext_routing, 24).build(),
	           {.key = k_tcp6, .l4_off = 78, .l3_len = 84, .flags = df}),
	        pc("ipv6_dest_opts", udp6().ipv6_ext(ext_dest_opts, 16).build(),
	           {.key = k_udp6, .l4_off = 70, .l3_len = 64, .flags = df}),
	        pc("ipv6_first_fragment", tcp6().ipv6_frag(0, true).payload(16).build(),
	           {.key = k_tcp6, .l4_off = 62, .l3_len = 84, .flags = df | frag}),
	        pc("ipv6_later_fragment", udp6().ipv6_frag(100, false).l4_proto(17).payload(16).build(),
	           {.key = {client6, vip6, 17}, .l3_len = 64, .flags = df | frag | later}),
	        pc("ipv6_atomic_fragment", udp6().ipv6_frag(0, false).build(),
	           {.key = k_udp6, .l4_off = 62, .l3_len = 56, .flags = df | frag}),
	        pc("ipv6_chain_at_bound", chain(WEIR_MAX_IPV6_EXT),
	           {.key = k_tcp6, .l4_off = 102, .l3_len = 108, .flags = df | frag}),
	        pc("ipv6_chain_too_long", chain(WEIR_MAX_IPV6_EXT + 1),
	           {.key = {client6, vip6, 60},
	            .l3_len = 116,
	            .flags = df | frag,
	            .vip_drop = vd(WEIR_DROP_ipv6_ext_unsupported)}),
	        pc("ipv6_fragment_header_in_padding", udp6().ipv6_frag(8, false).ip_length(4).build(),
	           {.key = {client6, vip6, 44},
	            .l3_len = 44,
	            .flags = df,
	            .vip_drop = vd(WEIR_DROP_ipv6_ext_unsupported)}),
	        pc("ipv6_chain_truncated", tcp6().ipv6_ext(ext_dest_opts, 64).ip_length(16).build(),
	           {.key = {client6, vip6, 60},
	            .l3_len = 56,
	            .flags = df,
	            .vip_drop = vd(WEIR_DROP_ipv6_ext_unsupported)}),
	        pc("ipv6_jumbogram", tcp6().ipv6_ext(ext_hop_by_hop, 8).ip_length(0).build(),
	           {.key = {client6, vip6, 0},
	            .l3_len = 40,
	            .flags = df,
	            .vip_drop = vd(WEIR_DROP_ipv6_ext_unsupported)}),
	        pc("ipv6_ah", tcp6().l4_proto(51).payload(24).build(),
	           {.key = {client6, vip6, 51}, .l3_len = 64, .flags = df}),
	        pc("ipv6_esp_after_dest_opts",
	           tcp6().ipv6_ext(ext_dest_opts, 8).l4_proto(50).payload(24).build(),
	           {.key = {client6, vip6, 50}, .l3_len = 72, .flags = df}),
	        pc("ipv6_no_next_header", tcp6().l4_proto(59).build(),
	           {.key = {client6, vip6, 59}, .l3_len = 40, .flags = df}),
	        pc("ipv6_mobility", tcp6().l4_proto(135).payload(16).build(),
	           {.key = {client6, vip6, 135}, .l3_len = 56, .flags = df}),
	        pc("ipv6_icmpv4_proto_is_not_icmp", tcp6().l4_proto(1).payload(8).build(),
	           {.key = {client6, vip6, 1}, .l3_len = 48, .flags = df}),
	        pc("icmpv6_echo_request",
	           packet_builder().ipv6(client6, vip6).icmp(128, 0, 7).payload(56).build(),
	           {.key = {client6, vip6, 58}, .l4_off = 54, .l3_len = 104, .flags = df, .icmp_type = 128}),
	        pc("icmpv6_packet_too_big", icmp6(2, 0, quote6_tcp()).build(),
	           {.key = k_icmp6,
	            .inner = in_tcp,
	            .l4_off = 54,
	            .l3_len = 140,
	            .flags = df | icmp_err,
	            .icmp_type = 2}),
	        pc("icmpv6_dest_unreachable_udp",
	           icmp6(1, 4, packet_builder().ipv6(vip6, client6).udp(53, 5353).l3()).build(),
	           {.key = k_icmp6,
	            .inner = {client6, vip6, 17, 5353, 53},
	            .l4_off = 54,
	            .l3_len = 96,
	            .flags = df | icmp_err,
	            .icmp_type = 1,
	            .icmp_code = 4}),
	        pc("icmpv6_time_exceeded", icmp6(3, 0, cut(quote6_tcp(), 48)).build(),
	           {.key = k_icmp6,
	            .inner = in_tcp,
	            .l4_off = 54,
	            .l3_len = 96,
	            .flags = df | icmp_err,
	            .icmp_type = 3}),
	        pc("icmpv6_error_quote_with_fragment_and_options",
	           icmp6(2, 0,
	                 packet_builder()
	                         .ipv6(vip6, client6)
	                         .ipv6_frag(0, true)
	                         .ipv6_ext(ext_dest_opts, 8)
	                         .tcp(443, 40001)
	                         .l3())
	                   .build(),
	           {.key = k_icmp6,
	            .inner = in_tcp,
	            .l4_off = 54,
	            .l3_len = 124,
	            .flags = df | icmp_err,
	            .icmp_type = 2}),
	        pc("icmpv6_error_quote_chain_too_long",
	           icmp6(2, 0,
	                 packet_builder()
	                         .ipv6(vip6, client6)
	                         .ipv6_frag(0, true)
	                         .ipv6_ext(ext_dest_opts, 8)
	                         .ipv6_ext(ext_dest_opts, 8)
	                         .tcp(443, 40001)
	                         .l3())
	                   .build(),
	           {.key = k_icmp6,
	            .l4_off = 54,
	            .l3_len = 132,
	            .flags = df | icmp_err,
	            .vip_drop = vd(WEIR_DROP_bad_icmp_error),
	            .icmp_type = 2}),
	        pc("icmpv6_param_problem_quote_with_ext",
	           icmp6(4, 1,
	                 packet_builder().ipv6(vip6, client6).ipv6_ext(ext_dest_opts, 8).tcp(443, 40001).l3())
	                   .build(),
	           {.key = k_icmp6,
	            .inner = in_tcp,
	            .l4_off = 54,
	            .l3_len = 116,
	            .flags = df | icmp_err,
	            .icmp_type = 4,
	            .icmp_code = 1}),
	        pc("icmpv6_error_quote_cut", icmp6(2, 0, cut(quote6_tcp(), 44)).build(),
	           {.key = k_icmp6,
	            .l4_off = 54,
	            .l3_len = 92,
	            .flags = df | icmp_err,
	            .vip_drop = vd(WEIR_DROP_bad_icmp_error),
	            .icmp_type = 2}),
	        pc("icmpv6_error_quoted_ports_in_padding",
	           icmp6(2, 0, cut(quote6_tcp(), 48)).ip_length(8 + 44).build(),
	           {.key = k_icmp6,
	            .l4_off = 54,
	            .l3_len = 92,
	            .flags = df | icmp_err,
	            .vip_drop = vd(WEIR_DROP_bad_icmp_error),
	            .icmp_type = 2}),
	        pc("icmpv6_error_quote_ipv4", icmp6(1, 0, quote4_tcp()).build(),
	           {.key = k_icmp6,
	            .l4_off = 54,
	            .l3_len = 120,
	            .flags = df | icmp_err,
	            .vip_drop = vd(WEIR_DROP_bad_icmp_error),
	            .icmp_type = 1}),
	};
}

}  // namespace

std::vector<parse_case> parse_cases()
{
	std::vector<parse_case> all = l2_and_ipv4_cases();
	for (auto &&part : {icmp4_cases(), ipv6_cases()})
		all.insert(all.end(), part.begin(), part.end());
	return all;
}

}  // namespace weir::test
