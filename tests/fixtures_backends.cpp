// fixtures_backends.cpp — fixtures of what a VIP's backends allow: none usable,
// an unresolved next hop, too little headroom for the encapsulation, and
// fragments forwarded by the 3-tuple hash. Test code only.
#include "fixtures_detail.h"

namespace weir::test::fx {
namespace {

constexpr uint8_t tcp = 6, udp = 17;

std::vector<fixture> unusable()
{
	std::vector<fixture> out;
	world w = main_world();
	out.push_back(one("vip_without_backends_dropped", w,
	                  drop(tcp_in(client4, "10.10.1.9", 43100).build(), WEIR_DROP_no_backend)));
	out.push_back(one("vip_with_all_backends_drained_dropped", w,
	                  drop(tcp_in(client4, "10.10.1.12", 43101).build(), WEIR_DROP_no_backend)));
	// The flow is tracked before its next hop turns out unresolved, so it keeps
	// its backend once the MAC is known.
	out.push_back(
	        one("unresolved_next_hop_dropped", w,
	            drop(tcp_in(client4, "10.10.1.10", 43102).build(), WEIR_DROP_no_next_hop, {inserted()})));
	step tight = drop(tcp_in(client4, "10.10.1.1", 43103).build(), WEIR_DROP_no_headroom, {inserted()});
	tight.headroom = 19;
	out.push_back(one("ipip4_headroom_19_dropped", w, tight));
	// Exactly the overhead is enough (GUE in IPv6: 48 bytes).
	packet_builder in = tcp_in(client4, "10.10.1.5", 43104);
	step exact = to_backend(in, w, mode::gue, "fd00::25",
	                        flow_hash(client4, "10.10.1.5", tcp, 43104, 80, main_seed), {inserted()});
	exact.headroom = 48;
	out.push_back(one("gue_4in6_headroom_48_enough", w, exact));
	step none = to_backend(tcp_in(client4, "10.10.1.3", 43105), w, mode::l2dsr, "10.10.0.23", 0,
	                       {inserted()});
	none.headroom = 0;
	out.push_back(one("l2dsr_needs_no_headroom", w, none));
	return out;
}

std::vector<counter_delta> fragment_moved()
{
	return {{counter_id::fragments_forwarded, 1}, {counter_id::untracked, 1}};
}

// fragments = "3tuple": every fragment of a datagram hashes on (source,
// destination, protocol) through the VIP's Maglev table, untracked. Golden:
// 198.51.100.7 -> 10.10.1.8/tcp lands on 10.10.0.31, 203.0.113.5 on 10.10.0.32
// (seed 5eed5eed, table 1009).
std::vector<fixture> fragments()
{
	std::vector<fixture> out;
	world w = main_world();
	uint32_t h7 = flow_hash(client4, "10.10.1.8", tcp, 0, 0, main_seed);
	packet_builder first = tcp_in(client4, "10.10.1.8", 43110).df(false).mf().ip_id(77);
	packet_builder later;
	later.eth_src(client_mac)
	        .eth_dst(port_mac)
	        .ipv4(client4, "10.10.1.8")
	        .ip_id(77)
	        .frag_offset(11)
	        .l4_proto(tcp)
	        .payload(40);
	packet_builder other;
	other.eth_src(client_mac)
	        .eth_dst(port_mac)
	        .ipv4("203.0.113.5", "10.10.1.8")
	        .ip_id(78)
	        .frag_offset(11)
	        .l4_proto(tcp)
	        .payload(40);
	out.push_back(seq(
	        "ipv4_fragments_3tuple_same_backend", w,
	        {to_backend(first, w, mode::ipip, "10.10.0.31", h7, fragment_moved()),
	         to_backend(later, w, mode::ipip, "10.10.0.31", h7, fragment_moved()),
	         to_backend(other, w, mode::ipip, "10.10.0.32",
	                    flow_hash("203.0.113.5", "10.10.1.8", tcp, 0, 0, main_seed), fragment_moved())}));
	// IPv6: the fragment header is walked; the outer flow label is the 3-tuple's.
	uint32_t h6 = flow_hash(client6, "fd00:1::8", udp, 0, 0, main_seed);
	packet_builder first6 = udp_in(client6, "fd00:1::8", 43111).ipv6_frag(0, true, 99);
	packet_builder later6;
	later6.eth_src(client_mac)
	        .eth_dst(port_mac)
	        .ipv6(client6, "fd00:1::8")
	        .ipv6_frag(9, false, 99)
	        .l4_proto(udp)
	        .payload(40);
	out.push_back(seq("ipv6_fragments_3tuple_same_backend", w,
	                  {to_backend(first6, w, mode::ipip, "fd00::31", h6, fragment_moved()),
	                   to_backend(later6, w, mode::ipip, "fd00::31", h6, fragment_moved())}));
	// A UDP fragment to an address whose VIPs are TCP only is nobody's.
	packet_builder udp_frag = udp_in(client4, "10.10.1.8", 43112).mf();
	out.push_back(one("fragment_of_other_protocol_to_vip_address_to_kernel", w, pass(udp_frag.build())));
	return out;
}

}  // namespace

std::vector<fixture> backend_fixtures()
{
	std::vector<fixture> out = unusable();
	std::vector<fixture> more = fragments();
	out.insert(out.end(), more.begin(), more.end());
	return out;
}

}  // namespace weir::test::fx
