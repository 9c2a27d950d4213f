// parse_cases.h — the parser's behaviour table (one case per behaviour, with the
// whole expected struct weir_pkt) and the frames the parser tests build from.
// Test code only; values, any thread.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "weir_parse.h"

namespace weir::test {

inline constexpr const char *client4 = "198.51.100.7";
inline constexpr const char *vip4 = "203.0.113.10";
inline constexpr const char *router4 = "192.0.2.1";
inline constexpr const char *client6 = "2001:db8::7";
inline constexpr const char *vip6 = "2001:db8:1::10";
inline constexpr const char *router6 = "2001:db8:ff::1";

// A flow as the test states it; src == nullptr is the all-zero key.
struct flow {
	const char *src = nullptr;
	const char *dst = nullptr;
	uint8_t proto = 0;
	uint16_t sport = 0;
	uint16_t dport = 0;
};

// What a case must produce. For drops only `result` and `reason` are compared.
struct want {
	weir_parse_result result = WEIR_PARSE_IP;
	uint8_t reason = 0;
	flow key{};
	flow inner{};
	uint16_t l3_off = 14;
	uint16_t l4_off = 0;
	uint16_t l3_len = 0;
	uint16_t proto_off = 12;
	uint8_t vlans = 0;
	uint8_t flags = 0;
	uint8_t ttl = 64;
	uint8_t vip_drop = 0;  // a reason + 1
	uint8_t icmp_type = 0;
	uint8_t icmp_code = 0;
};

struct parse_case {
	std::string name;
	frame f;
	want w;
};

inline void PrintTo(const parse_case &c, std::ostream *os)
{
	*os << c.name;
}

// vip_drop of a reason.
constexpr uint8_t vd(weir_drop_reason r)
{
	return static_cast<uint8_t>(r + 1);
}

// Client -> VIP flows: TCP 40000 -> 80 and UDP 5353 -> 53 (IPv4), TCP 40001 -> 443
// and UDP 5353 -> 53 (IPv6).
packet_builder tcp4(uint8_t flags = tcp_ack);
packet_builder udp4();
packet_builder tcp6(uint8_t flags = tcp_ack);
packet_builder udp6();
// The first n bytes of f.
frame cut(frame f, size_t n);
// The VIP -> client TCP packets an ICMP error quotes, and errors from a router.
frame quote4_tcp();
frame quote6_tcp();
packet_builder icmp4(uint8_t type, uint8_t code, frame quote);
packet_builder icmp6(uint8_t type, uint8_t code, frame quote);

std::vector<parse_case> parse_cases();

}  // namespace weir::test
