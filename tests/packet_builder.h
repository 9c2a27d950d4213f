// packet_builder.h — frames for tests, fixtures and benchmarks: a fluent builder of
// Ethernet / VLAN / IPv4 / IPv6 (with extension headers) / TCP / UDP / ICMP(v6)
// frames with correct (or deliberately wrong) checksums, checksum verifiers for
// frames weir produces, and a byte diff for fixture mismatches. Test code only;
// a builder is a value used by one thread.
//
// Invalid arguments (an address that does not parse, an extension length that is
// not a multiple of 8) throw std::invalid_argument: a test that builds a wrong
// frame should fail at once, not compare against garbage.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weir::test {

using frame = std::vector<uint8_t>;
using mac_addr = std::array<uint8_t, 6>;

// "02:00:00:00:00:01".
mac_addr parse_mac(std::string_view text);

inline constexpr uint8_t tcp_fin = 0x01;
inline constexpr uint8_t tcp_syn = 0x02;
inline constexpr uint8_t tcp_rst = 0x04;
inline constexpr uint8_t tcp_psh = 0x08;
inline constexpr uint8_t tcp_ack = 0x10;

inline constexpr uint8_t ext_hop_by_hop = 0;
inline constexpr uint8_t ext_routing = 43;
inline constexpr uint8_t ext_dest_opts = 60;

class packet_builder {
public:
	// Ethernet. Defaults: src 02:00:00:00:00:01, dst 02:00:00:00:00:02, the
	// EtherType of the IP version (or ethertype() for anything else).
	packet_builder &eth_src(std::string_view mac);
	packet_builder &eth_dst(std::string_view mac);
	packet_builder &ethertype(uint16_t type);
	// One VLAN tag per call, outermost first: vlan(10, 0x88a8).vlan(20) is QinQ.
	packet_builder &vlan(uint16_t vid, uint16_t tpid = 0x8100, uint8_t pcp = 0);

	// IP. ttl() and tos() apply to both versions (hop limit, traffic class).
	packet_builder &ipv4(std::string_view src, std::string_view dst);
	packet_builder &ipv6(std::string_view src, std::string_view dst);
	packet_builder &ttl(uint8_t ttl);
	packet_builder &tos(uint8_t tos);
	packet_builder &ip_id(uint16_t id);
	packet_builder &df(bool on = true);
	packet_builder &mf(bool on = true);
	// IPv4 fragment offset in 8-byte units.
	packet_builder &frag_offset(uint16_t units);
	// IPv4 options, padded with end-of-list bytes to a multiple of 4.
	packet_builder &ip_options(std::vector<uint8_t> bytes);
	packet_builder &flow_label(uint32_t label);
	// IPv6 extension header of `kind` (ext_*) and `len` bytes (a multiple of 8),
	// in the order added, filled with padding options.
	packet_builder &ipv6_ext(uint8_t kind, size_t len);
	packet_builder &ipv6_frag(uint16_t offset_units, bool more, uint32_t id = 0x12345678);

	// Header fields forced to a value for negative tests; otherwise computed.
	packet_builder &ip_version(uint8_t version);
	packet_builder &ipv4_ihl(uint8_t words);
	// IPv4 total length / IPv6 payload length.
	packet_builder &ip_length(uint16_t length);

	// Transport. Ports in host order. icmp() builds ICMP for IPv4, ICMPv6 for IPv6.
	packet_builder &tcp(uint16_t sport, uint16_t dport, uint8_t flags = tcp_ack);
	packet_builder &tcp_seq(uint32_t seq, uint32_t ack = 0);
	packet_builder &tcp_options(std::vector<uint8_t> bytes);
	packet_builder &tcp_data_offset(uint8_t words);
	packet_builder &udp(uint16_t sport, uint16_t dport);
	packet_builder &icmp(uint8_t type, uint8_t code, uint32_t rest = 0);
	// The quoted packet of an ICMP error: another builder's l3() bytes (cut as
	// wanted), placed after the ICMP header and before any payload.
	packet_builder &quote(std::vector<uint8_t> l3_bytes);
	// No transport header: the IP protocol / last next header is `proto` and the
	// payload follows the IP header (later fragments, ESP, ...).
	packet_builder &l4_proto(uint8_t proto);

	// Payload after the transport header: `size` bytes of a counting pattern, or bytes.
	packet_builder &payload(size_t size);
	packet_builder &payload(std::vector<uint8_t> bytes);

	// Leave the IPv4 header and transport checksums wrong.
	packet_builder &bad_checksums(bool on = true);
	// Zero bytes after the IP packet (Ethernet padding), not counted in IP lengths.
	packet_builder &eth_padding(size_t size);
	// Cut the finished frame to `size` bytes (if longer).
	packet_builder &truncate(size_t size);

	frame build() const;
	// The IP packet alone (no Ethernet, padding or truncation): for quote().
	frame l3() const;
	size_t l3_offset() const;
	// Offset of the transport header (after IPv4 options / IPv6 extension headers).
	size_t l4_offset() const;

private:
	enum class l4_kind { none, tcp, udp, icmp };
	struct ext_header {
		uint8_t kind;
		size_t len;
		uint16_t frag_offset;
		bool more;
		uint32_t id;
	};
	struct vlan_tag {
		uint16_t tpid;
		uint16_t tci;
	};

	frame build_l4() const;
	frame build_ip(const frame &l4) const;
	frame build_ipv4(const frame &l4) const;
	frame build_ipv6(const frame &l4) const;
	uint8_t ip_proto() const;
	size_t ip_header_len() const;

	mac_addr _src_mac{0x02, 0, 0, 0, 0, 0x01};
	mac_addr _dst_mac{0x02, 0, 0, 0, 0, 0x02};
	std::optional<uint16_t> _ethertype;
	std::vector<vlan_tag> _vlans;

	int _ip_family = 0;  // 0: no IP header; else WEIR_AF_INET / WEIR_AF_INET6
	std::array<uint8_t, 16> _src{};
	std::array<uint8_t, 16> _dst{};
	uint8_t _ttl = 64;
	uint8_t _tos = 0;
	uint16_t _ip_id = 0;
	bool _df = false;
	bool _mf = false;
	uint16_t _frag_offset = 0;
	std::vector<uint8_t> _ip_options;
	uint32_t _flow_label = 0;
	std::vector<ext_header> _ext;
	std::optional<uint8_t> _version;
	std::optional<uint8_t> _ihl;
	std::optional<uint16_t> _ip_length;

	l4_kind _l4 = l4_kind::none;
	uint8_t _raw_proto = 253;  // RFC 3692 experimental: "no transport weir knows"
	uint16_t _sport = 0;
	uint16_t _dport = 0;
	uint8_t _tcp_flags = 0;
	uint32_t _seq = 0;
	uint32_t _ack = 0;
	std::vector<uint8_t> _tcp_options;
	std::optional<uint8_t> _tcp_doff;
	uint8_t _icmp_type = 0;
	uint8_t _icmp_code = 0;
	uint32_t _icmp_rest = 0;
	std::vector<uint8_t> _quote;
	std::vector<uint8_t> _payload;

	bool _bad_checksums = false;
	size_t _padding = 0;
	std::optional<size_t> _truncate;
};

// RFC 1071 sum of [p, p + n) added to `sum`, folded and complemented.
uint16_t inet_checksum(const uint8_t *p, size_t n, uint32_t sum = 0);

// The IPv4 header checksum of the packet at `l3_off` is right.
bool ipv4_header_checksum_ok(const frame &f, size_t l3_off);
// The TCP/UDP/ICMP/ICMPv6 checksum of the (unfragmented) IP packet at `l3_off`
// is right; the transport header is found after IPv4 options or IPv6 extension
// headers. False for other protocols and for packets cut short. A UDP/IPv4
// checksum of 0 (none) counts as right.
bool l4_checksum_ok(const frame &f, size_t l3_off);

// 16 bytes per line with offsets.
std::string hexdump(const frame &f);
// "" when equal; otherwise the lengths if they differ and the first `max_lines`
// differing offsets with both values, then a hexdump of each frame.
std::string frame_diff(const frame &expected, const frame &got, size_t max_lines = 16);

}  // namespace weir::test
