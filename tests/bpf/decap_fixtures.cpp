// decap_fixtures.cpp — the frames of the weir_decap tests and their namespace
// (decap_fixtures.h). Every expected frame is built from the inner packet's own
// builder, never by cutting bytes out of the input: the test must not share the
// program's idea of where the outer headers end.
#include "decap_fixtures.h"

#include <utility>

#include "bpf_test_env.h"
#include "weir_decap.h"
#include "weir_proto.h"

namespace weir::test::decap {
namespace {

constexpr const char *weir_mac = "02:77:00:00:00:01";
constexpr const char *backend_mac = "02:77:00:00:00:10";
constexpr const char *weir4 = "192.0.2.1";
constexpr const char *weir6 = "2001:db8::1";
constexpr const char *client4 = "198.51.100.7";
constexpr const char *client6 = "2001:db8:c::7";
constexpr const char *vip4 = "198.51.100.1";
constexpr const char *vip6 = "2001:db8:f::1";

const char *const l2_names[] = {"", "/vlan", "/qinq"};

// Ethernet addresses of weir -> backend and `vlans` tags (3 for a stack too deep).
packet_builder with_l2(packet_builder b, int vlans)
{
	b.eth_src(weir_mac).eth_dst(backend_mac);
	if (vlans == 1)
		b.vlan(100, 0x8100, 3);
	if (vlans >= 2)
		b.vlan(10, 0x88a8).vlan(20);
	if (vlans >= 3)
		b.vlan(30);
	return b;
}

packet_builder client_udp(int family)
{
	packet_builder b;
	if (family == 4)
		b.ipv4(client4, vip4).ttl(3);
	else
		b.ipv6(client6, vip6).ttl(3);
	return b.udp(5353, 53).payload(24);
}

fixture decap_case(std::string name, const packet_builder &inner, int family, outer_ip outer, tunnel kind,
                   int vlans)
{
	uint32_t counter;
	if (kind == tunnel::gue)
		counter = outer == outer_ip::v4 ? WEIR_DECAP_GUE4 : WEIR_DECAP_GUE6;
	else if (outer == outer_ip::v4)
		counter = family == 4 ? WEIR_DECAP_4IN4 : WEIR_DECAP_6IN4;
	else
		counter = family == 4 ? WEIR_DECAP_4IN6 : WEIR_DECAP_6IN6;
	return {std::move(name) + l2_names[vlans], encapsulate(inner, family, outer, kind, vlans),
	        decapsulated(inner, vlans), counter};
}

fixture untouched(std::string name, frame in, uint32_t counter = WEIR_DECAP_PASSED)
{
	frame copy = in;
	return {std::move(name), std::move(in), std::move(copy), counter};
}

// What weir sends (SPEC §4), plus the two combinations it does not send but that
// are the same headers (6in4, GUE over IPv4 carrying IPv6).
void add_tunnels(std::vector<fixture> &out)
{
	struct kind {
		const char *name;
		int family;
		outer_ip outer;
		tunnel tunnel_kind;
	};
	const kind kinds[] = {
	        {"4in4", 4, outer_ip::v4, tunnel::ipip},       {"6in6", 6, outer_ip::v6, tunnel::ipip},
	        {"4in6", 4, outer_ip::v6, tunnel::ipip},       {"6in4", 6, outer_ip::v4, tunnel::ipip},
	        {"gue4/inner4", 4, outer_ip::v4, tunnel::gue}, {"gue6/inner6", 6, outer_ip::v6, tunnel::gue},
	        {"gue6/inner4", 4, outer_ip::v6, tunnel::gue}, {"gue4/inner6", 6, outer_ip::v4, tunnel::gue},
	};
	for (const kind &k : kinds)
		for (int vlans = 0; vlans <= 2; vlans++)
			out.push_back(decap_case(k.name, client_packet(k.family), k.family, k.outer,
			                         k.tunnel_kind, vlans));
	for (const kind &k : kinds)
		out.push_back(decap_case(std::string(k.name) + "/udp", client_udp(k.family), k.family,
		                         k.outer, k.tunnel_kind, 0));

	// Outer IPv4 options go with the outer header (a router alert here).
	packet_builder in4 = client_packet(4);
	frame with_options = with_l2(packet_builder(), 0)
	                             .ipv4(weir4, host4)
	                             .ip_options({0x94, 0x04, 0x00, 0x00})
	                             .l4_proto(WEIR_IPPROTO_IPIP)
	                             .payload(in4.l3())
	                             .build();
	out.push_back({"4in4/outer-ip-options", with_options, decapsulated(in4, 0), WEIR_DECAP_4IN4});

	// Ethernet padding after a short tunnel packet stays after the inner one; the
	// stack trims by the inner IP length.
	packet_builder tiny = packet_builder().ipv4(client4, vip4).l4_proto(253);
	frame padded = with_l2(packet_builder(), 0)
	                       .ipv4(weir4, host4)
	                       .l4_proto(WEIR_IPPROTO_IPIP)
	                       .payload(tiny.l3())
	                       .build();
	frame padded_expected = decapsulated(tiny, 0);
	padded.insert(padded.end(), 6, 0);
	padded_expected.insert(padded_expected.end(), 6, 0);
	out.push_back({"4in4/ethernet-padding", padded, padded_expected, WEIR_DECAP_4IN4});
}

// A GUE frame whose payload is `payload` (not necessarily an IP packet).
frame gue_with_payload(outer_ip outer, std::vector<uint8_t> payload, uint16_t port = 6080)
{
	packet_builder b = with_l2(packet_builder(), 0);
	if (outer == outer_ip::v4)
		b.ipv4(weir4, host4);
	else
		b.ipv6(weir6, host6);
	return b.udp(0xc001, port).payload(std::move(payload)).build();
}

// Traffic that is not a tunnel, or not one weir_decap opens.
void add_look_alikes(std::vector<fixture> &out)
{
	out.push_back(untouched(
	        "tcp4 to the host",
	        with_l2(packet_builder(), 0).ipv4(client4, host4).tcp(40000, 22).payload(10).build()));
	out.push_back(untouched(
	        "udp6 to the host",
	        with_l2(packet_builder(), 1).ipv6(client6, host6).udp(40000, 53).payload(10).build()));
	out.push_back(untouched("arp", with_l2(packet_builder(), 0).ethertype(0x0806).payload(28).build()));
	frame inner4 = client_packet(4).l3();
	frame inner6 = client_packet(6).l3();
	out.push_back(untouched("udp4 to another port carrying IPv4",
	                        gue_with_payload(outer_ip::v4, inner4, 6081)));
	out.push_back(untouched("udp6 to another port carrying IPv6",
	                        gue_with_payload(outer_ip::v6, inner6, 6081)));
	out.push_back(untouched(
	        "gre over ipv4",
	        with_l2(packet_builder(), 0).ipv4(weir4, host4).l4_proto(47).payload(inner4).build()));

	// GUE whose first nibble is not an IP version: variant 0 (a GUE header), 5, 7.
	for (uint8_t first : {0x05, 0x55, 0x75}) {
		frame p = inner4;
		p[0] = first;
		out.push_back(untouched("gue4 with version nibble " + std::to_string(first >> 4),
		                        gue_with_payload(outer_ip::v4, p)));
		out.push_back(untouched("gue6 with version nibble " + std::to_string(first >> 4),
		                        gue_with_payload(outer_ip::v6, p)));
	}
	std::vector<uint8_t> variant0 = {0x00, 0x04, 0x00, 0x00};
	variant0.insert(variant0.end(), inner4.begin(), inner4.end());
	out.push_back(untouched("gue4 variant 0 header", gue_with_payload(outer_ip::v4, variant0)));

	// Protocol and version disagree.
	out.push_back(untouched("ipip4 protocol carrying IPv6", with_l2(packet_builder(), 0)
	                                                                .ipv4(weir4, host4)
	                                                                .l4_proto(WEIR_IPPROTO_IPIP)
	                                                                .payload(inner6)
	                                                                .build()));
	out.push_back(untouched("ipv6 next header 41 carrying IPv4", with_l2(packet_builder(), 0)
	                                                                     .ipv6(weir6, host6)
	                                                                     .l4_proto(WEIR_IPPROTO_IPV6)
	                                                                     .payload(inner4)
	                                                                     .build()));
	out.push_back(untouched("gue6 nibble 6 carrying IPv4 header", gue_with_payload(outer_ip::v6, [&] {
		                        frame p = inner4;
		                        p[0] = 0x65;
		                        return p;
	                        }())));
}

// Frames that are malformed as tunnels: the kernel decides about them.
void add_malformed(std::vector<fixture> &out)
{
	packet_builder in4 = client_packet(4);
	frame inner4 = in4.l3();
	auto ipip4 = [&] {
		return with_l2(packet_builder(), 0).ipv4(weir4, host4).l4_proto(WEIR_IPPROTO_IPIP);
	};
	size_t outer_len = ipip4().payload(inner4).l3().size();

	out.push_back(untouched("4in4 first fragment", ipip4().mf().payload(inner4).build()));
	out.push_back(untouched("4in4 later fragment", ipip4().frag_offset(8).payload(inner4).build()));
	out.push_back(untouched("4in4 outer ihl 4", ipip4().ipv4_ihl(4).payload(inner4).build()));
	out.push_back(untouched("4in4 outer version 5", ipip4().ip_version(5).payload(inner4).build()));
	out.push_back(
	        untouched("4in4 outer length past the frame",
	                  ipip4().ip_length(static_cast<uint16_t>(outer_len + 1)).payload(inner4).build()));
	out.push_back(
	        untouched("4in4 outer length shorter than the inner packet",
	                  ipip4().ip_length(static_cast<uint16_t>(outer_len - 1)).payload(inner4).build()));
	out.push_back(
	        untouched("4in4 outer length below ihl", ipip4().ip_length(19).payload(inner4).build()));
	out.push_back(untouched("4in4 inner cut to 19 bytes",
	                        ipip4().payload(frame(inner4.begin(), inner4.begin() + 19)).build()));
	packet_builder long_inner = client_packet(4);
	long_inner.ip_length(static_cast<uint16_t>(inner4.size() + 4));
	out.push_back(untouched("4in4 inner length past the outer packet",
	                        ipip4().payload(long_inner.l3()).build()));
	out.push_back(untouched("gue4 inner length past the datagram",
	                        gue_with_payload(outer_ip::v4, long_inner.l3())));
	out.push_back(untouched("gue4 inner cut to 12 bytes",
	                        gue_with_payload(outer_ip::v4, frame(inner4.begin(), inner4.begin() + 12))));
	out.push_back(untouched("gue4 empty datagram", gue_with_payload(outer_ip::v4, {})));

	auto ipip6 = [] { return with_l2(packet_builder(), 0).ipv6(weir6, host6); };
	frame inner6 = client_packet(6).l3();
	out.push_back(untouched(
	        "6in6 behind a hop-by-hop header",
	        ipip6().ipv6_ext(ext_hop_by_hop, 8).l4_proto(WEIR_IPPROTO_IPV6).payload(inner6).build()));
	out.push_back(untouched("6in6 payload length 0",
	                        ipip6().ip_length(0).l4_proto(WEIR_IPPROTO_IPV6).payload(inner6).build()));
	out.push_back(untouched("6in6 payload length past the frame",
	                        ipip6().ip_length(static_cast<uint16_t>(inner6.size() + 1))
	                                .l4_proto(WEIR_IPPROTO_IPV6)
	                                .payload(inner6)
	                                .build()));
	out.push_back(untouched("4in4 behind three vlan tags", with_l2(packet_builder(), 3)
	                                                               .ipv4(weir4, host4)
	                                                               .l4_proto(WEIR_IPPROTO_IPIP)
	                                                               .payload(inner4)
	                                                               .build()));
}

// Well-formed tunnels for other hosts, while this host routes.
void add_not_local(std::vector<fixture> &out)
{
	packet_builder in4 = client_packet(4);
	packet_builder in6 = client_packet(6);
	out.push_back(untouched("4in4 to an on-link neighbour",
	                        encapsulate(in4, 4, outer_ip::v4, tunnel::ipip, 0, neighbour4),
	                        WEIR_DECAP_NOT_LOCAL));
	out.push_back(untouched("gue6 to an on-link neighbour",
	                        encapsulate(in6, 6, outer_ip::v6, tunnel::gue, 1, neighbour6),
	                        WEIR_DECAP_NOT_LOCAL));
	out.push_back(untouched("gue4 to a blackholed address",
	                        encapsulate(in4, 4, outer_ip::v4, tunnel::gue, 0, blackholed4),
	                        WEIR_DECAP_NOT_LOCAL));
	out.push_back(untouched("6in6 to a blackholed address",
	                        encapsulate(in6, 6, outer_ip::v6, tunnel::ipip, 0, blackholed6),
	                        WEIR_DECAP_NOT_LOCAL));
}

}  // namespace

std::string setup_netns()
{
	if (std::string e = enter_private_netns(); !e.empty())
		return e;
	const std::vector<std::vector<std::string>> commands = {
	        {"ip", "link", "set", "lo", "up"},
	        {"ip", "link", "add", "weird0", "type", "veth", "peer", "name", "weird1"},
	        {"ip", "link", "set", "weird0", "up"},
	        {"ip", "link", "set", "weird1", "up"},
	        {"ip", "addr", "add", std::string(host4) + "/24", "dev", "weird0"},
	        {"ip", "-6", "addr", "add", std::string(host6) + "/64", "dev", "weird0", "nodad"},
	        {"ip", "route", "add", "blackhole", "203.0.113.0/24"},
	        {"ip", "-6", "route", "add", "blackhole", "2001:db8:dead::/48"},
	};
	for (const auto &c : commands)
		if (std::string e = run_command(c); !e.empty())
			return e;
	return set_forwarding(true);
}

std::string set_forwarding(bool on)
{
	for (const char *family : {"ipv4", "ipv6"})
		if (std::string e = write_file(
		            std::string("/proc/sys/net/") + family + "/conf/all/forwarding", on ? "1" : "0");
		    !e.empty())
			return e;
	return "";
}

packet_builder client_packet(int family)
{
	packet_builder b;
	if (family == 4)
		b.ipv4(client4, vip4).ttl(57).tos(0x2a).df().ip_id(0x1234);
	else
		b.ipv6(client6, vip6).ttl(51).tos(0x2a).flow_label(0x5eed5);
	return b.tcp(40000, 443, tcp_psh | tcp_ack).tcp_seq(0x01020304, 0x0a0b0c0d).payload(37);
}

frame encapsulate(const packet_builder &inner, int inner_family, outer_ip outer, tunnel kind, int vlans,
                  const char *dst, uint16_t gue_port)
{
	packet_builder b = with_l2(packet_builder(), vlans);
	if (outer == outer_ip::v4)
		b.ipv4(weir4, dst ? dst : host4).df();
	else
		b.ipv6(weir6, dst ? dst : host6).flow_label(0xabcde);
	if (kind == tunnel::gue)
		b.udp(0xc123, gue_port);
	else
		b.l4_proto(inner_family == 4 ? WEIR_IPPROTO_IPIP : WEIR_IPPROTO_IPV6);
	return b.payload(inner.l3()).build();
}

frame decapsulated(const packet_builder &inner, int vlans)
{
	return with_l2(inner, vlans).build();
}

std::vector<fixture> fixtures()
{
	std::vector<fixture> out;
	add_tunnels(out);
	add_look_alikes(out);
	add_malformed(out);
	add_not_local(out);
	return out;
}

std::vector<fixture> decapsulated_fixtures()
{
	std::vector<fixture> out;
	for (fixture &f : fixtures())
		if (f.in != f.expected && f.name.find("padding") == std::string::npos)
			out.push_back(std::move(f));
	return out;
}

}  // namespace weir::test::decap
