// packet_builder.cpp — frame assembly (transport first, so its length and
// checksum are known when the IP header is written), checksum verification and
// frame diffs for tests. Test code only.
#include "packet_builder.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "ip_addr.h"
#include "weir_hash.h"

namespace weir::test {
namespace {

constexpr uint8_t proto_icmp = 1;
constexpr uint8_t proto_tcp = 6;
constexpr uint8_t proto_udp = 17;
constexpr uint8_t proto_fragment = 44;
constexpr uint8_t proto_icmpv6 = 58;

void put16(frame &f, uint16_t v)
{
	f.push_back(static_cast<uint8_t>(v >> 8));
	f.push_back(static_cast<uint8_t>(v));
}

void put32(frame &f, uint32_t v)
{
	put16(f, static_cast<uint16_t>(v >> 16));
	put16(f, static_cast<uint16_t>(v));
}

void set16(frame &f, size_t off, uint16_t v)
{
	f[off] = static_cast<uint8_t>(v >> 8);
	f[off + 1] = static_cast<uint8_t>(v);
}

uint16_t get16(const frame &f, size_t off)
{
	return static_cast<uint16_t>(f[off] << 8 | f[off + 1]);
}

uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i = 0;
	for (; i + 1 < n; i += 2)
		sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
	if (i < n)
		sum += static_cast<uint32_t>(p[i] << 8);
	return sum;
}

// Pseudo-header sum: addresses of `addr_len` bytes, protocol, upper-layer length.
uint32_t pseudo_sum(const uint8_t *src, const uint8_t *dst, size_t addr_len, uint8_t proto, size_t len)
{
	uint32_t sum = csum_add(0, src, addr_len);
	sum = csum_add(sum, dst, addr_len);
	return sum + proto + static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xffff);
}

// A checksum that is certainly wrong, also for UDP where 0 means "none".
uint16_t spoil(uint16_t good)
{
	uint16_t bad = static_cast<uint16_t>(good + 1);
	return bad == 0 || bad == 0xffff ? 2 : bad;
}

std::array<uint8_t, 16> parse_addr(std::string_view text, uint8_t family)
{
	auto a = ctl::ip_addr::parse(text);
	if (!a || a->family != family)
		throw std::invalid_argument("packet_builder: not an IPv" + std::to_string(family) +
		                            " address: " + std::string(text));
	return a->bytes;
}

std::string hex_byte(uint8_t b)
{
	char buf[8];
	std::snprintf(buf, sizeof buf, "0x%02x", b);
	return buf;
}

}  // namespace

mac_addr parse_mac(std::string_view text)
{
	mac_addr m{};
	unsigned v[6];
	char tail;
	std::string s(text);
	if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
	                &tail) != 6)
		throw std::invalid_argument("packet_builder: not a MAC address: " + s);
	for (size_t i = 0; i < 6; i++)
		m[i] = static_cast<uint8_t>(v[i]);
	return m;
}

packet_builder &packet_builder::eth_src(std::string_view mac)
{
	_src_mac = parse_mac(mac);
	return *this;
}

packet_builder &packet_builder::eth_dst(std::string_view mac)
{
	_dst_mac = parse_mac(mac);
	return *this;
}

packet_builder &packet_builder::ethertype(uint16_t type)
{
	_ethertype = type;
	return *this;
}

packet_builder &packet_builder::vlan(uint16_t vid, uint16_t tpid, uint8_t pcp)
{
	_vlans.push_back({tpid, static_cast<uint16_t>((pcp & 7) << 13 | (vid & 0x0fff))});
	return *this;
}

packet_builder &packet_builder::ipv4(std::string_view src, std::string_view dst)
{
	_ip_family = WEIR_AF_INET;
	_src = parse_addr(src, WEIR_AF_INET);
	_dst = parse_addr(dst, WEIR_AF_INET);
	return *this;
}

packet_builder &packet_builder::ipv6(std::string_view src, std::string_view dst)
{
	_ip_family = WEIR_AF_INET6;
	_src = parse_addr(src, WEIR_AF_INET6);
	_dst = parse_addr(dst, WEIR_AF_INET6);
	return *this;
}

packet_builder &packet_builder::ttl(uint8_t ttl)
{
	_ttl = ttl;
	return *this;
}

packet_builder &packet_builder::tos(uint8_t tos)
{
	_tos = tos;
	return *this;
}

packet_builder &packet_builder::ip_id(uint16_t id)
{
	_ip_id = id;
	return *this;
}

packet_builder &packet_builder::df(bool on)
{
	_df = on;
	return *this;
}

packet_builder &packet_builder::mf(bool on)
{
	_mf = on;
	return *this;
}

packet_builder &packet_builder::frag_offset(uint16_t units)
{
	_frag_offset = units;
	return *this;
}

packet_builder &packet_builder::ip_options(std::vector<uint8_t> bytes)
{
	while (bytes.size() % 4)
		bytes.push_back(0);
	_ip_options = std::move(bytes);
	return *this;
}

packet_builder &packet_builder::flow_label(uint32_t label)
{
	_flow_label = label & 0xfffff;
	return *this;
}

packet_builder &packet_builder::ipv6_ext(uint8_t kind, size_t len)
{
	if (len < 8 || len % 8 || len > 2048)
		throw std::invalid_argument(
		        "packet_builder: IPv6 extension length must be 8..2048, a multiple of 8");
	_ext.push_back({kind, len, 0, false, 0});
	return *this;
}

packet_builder &packet_builder::ipv6_frag(uint16_t offset_units, bool more, uint32_t id)
{
	_ext.push_back({proto_fragment, 8, offset_units, more, id});
	return *this;
}

packet_builder &packet_builder::ip_version(uint8_t version)
{
	_version = version;
	return *this;
}

packet_builder &packet_builder::ipv4_ihl(uint8_t words)
{
	_ihl = words;
	return *this;
}

packet_builder &packet_builder::ip_length(uint16_t length)
{
	_ip_length = length;
	return *this;
}

packet_builder &packet_builder::tcp(uint16_t sport, uint16_t dport, uint8_t flags)
{
	_l4 = l4_kind::tcp;
	_sport = sport;
	_dport = dport;
	_tcp_flags = flags;
	return *this;
}

packet_builder &packet_builder::tcp_seq(uint32_t seq, uint32_t ack)
{
	_seq = seq;
	_ack = ack;
	return *this;
}

packet_builder &packet_builder::tcp_options(std::vector<uint8_t> bytes)
{
	while (bytes.size() % 4)
		bytes.push_back(0);
	_tcp_options = std::move(bytes);
	return *this;
}

packet_builder &packet_builder::tcp_data_offset(uint8_t words)
{
	_tcp_doff = words;
	return *this;
}

packet_builder &packet_builder::udp(uint16_t sport, uint16_t dport)
{
	_l4 = l4_kind::udp;
	_sport = sport;
	_dport = dport;
	return *this;
}

packet_builder &packet_builder::icmp(uint8_t type, uint8_t code, uint32_t rest)
{
	_l4 = l4_kind::icmp;
	_icmp_type = type;
	_icmp_code = code;
	_icmp_rest = rest;
	return *this;
}

packet_builder &packet_builder::quote(std::vector<uint8_t> l3_bytes)
{
	_quote = std::move(l3_bytes);
	return *this;
}

packet_builder &packet_builder::l4_proto(uint8_t proto)
{
	_l4 = l4_kind::none;
	_raw_proto = proto;
	return *this;
}

packet_builder &packet_builder::payload(size_t size)
{
	_payload.resize(size);
	for (size_t i = 0; i < size; i++)
		_payload[i] = static_cast<uint8_t>(i);
	return *this;
}

packet_builder &packet_builder::payload(std::vector<uint8_t> bytes)
{
	_payload = std::move(bytes);
	return *this;
}

packet_builder &packet_builder::bad_checksums(bool on)
{
	_bad_checksums = on;
	return *this;
}

packet_builder &packet_builder::eth_padding(size_t size)
{
	_padding = size;
	return *this;
}

packet_builder &packet_builder::truncate(size_t size)
{
	_truncate = size;
	return *this;
}

uint8_t packet_builder::ip_proto() const
{
	switch (_l4) {
	case l4_kind::tcp:
		return proto_tcp;
	case l4_kind::udp:
		return proto_udp;
	case l4_kind::icmp:
		return _ip_family == WEIR_AF_INET6 ? proto_icmpv6 : proto_icmp;
	case l4_kind::none:
		break;
	}
	return _raw_proto;
}

size_t packet_builder::ip_header_len() const
{
	if (_ip_family == WEIR_AF_INET)
		return 20 + _ip_options.size();
	if (_ip_family == WEIR_AF_INET6) {
		size_t len = 40;
		for (const auto &e : _ext)
			len += e.len;
		return len;
	}
	return 0;
}

size_t packet_builder::l3_offset() const
{
	return 14 + 4 * _vlans.size();
}

size_t packet_builder::l4_offset() const
{
	return l3_offset() + ip_header_len();
}

// The transport header, quote and payload, with the checksum filled in.
frame packet_builder::build_l4() const
{
	frame f;
	size_t csum_off = 0;
	switch (_l4) {
	case l4_kind::tcp:
		put16(f, _sport);
		put16(f, _dport);
		put32(f, _seq);
		put32(f, _ack);
		f.push_back(static_cast<uint8_t>(_tcp_doff.value_or((20 + _tcp_options.size()) / 4) << 4));
		f.push_back(_tcp_flags);
		put16(f, 65535);  // window
		csum_off = f.size();
		put16(f, 0);
		put16(f, 0);  // urgent pointer
		f.insert(f.end(), _tcp_options.begin(), _tcp_options.end());
		break;
	case l4_kind::udp:
		put16(f, _sport);
		put16(f, _dport);
		put16(f, static_cast<uint16_t>(8 + _payload.size()));
		csum_off = f.size();
		put16(f, 0);
		break;
	case l4_kind::icmp:
		f.push_back(_icmp_type);
		f.push_back(_icmp_code);
		csum_off = f.size();
		put16(f, 0);
		put32(f, _icmp_rest);
		f.insert(f.end(), _quote.begin(), _quote.end());
		break;
	case l4_kind::none:
		break;
	}
	f.insert(f.end(), _payload.begin(), _payload.end());
	if (_l4 == l4_kind::none)
		return f;

	uint32_t sum = 0;
	size_t addr_len = _ip_family == WEIR_AF_INET6 ? 16 : 4;
	if (!(_l4 == l4_kind::icmp && _ip_family == WEIR_AF_INET))
		sum = pseudo_sum(_src.data(), _dst.data(), addr_len, ip_proto(), f.size());
	uint16_t c = inet_checksum(f.data(), f.size(), sum);
	if (_l4 == l4_kind::udp && c == 0)
		c = 0xffff;  // 0 would mean "no checksum"
	set16(f, csum_off, _bad_checksums ? spoil(c) : c);
	return f;
}

frame packet_builder::build_ipv4(const frame &l4) const
{
	frame f;
	uint8_t ihl = _ihl.value_or(static_cast<uint8_t>(ip_header_len() / 4));
	f.push_back(static_cast<uint8_t>(_version.value_or(4) << 4 | (ihl & 0x0f)));
	f.push_back(_tos);
	put16(f, _ip_length.value_or(static_cast<uint16_t>(ip_header_len() + l4.size())));
	put16(f, _ip_id);
	put16(f, static_cast<uint16_t>((_df ? 0x4000 : 0) | (_mf ? 0x2000 : 0) | (_frag_offset & 0x1fff)));
	f.push_back(_ttl);
	f.push_back(ip_proto());
	put16(f, 0);
	f.insert(f.end(), _src.begin(), _src.begin() + 4);
	f.insert(f.end(), _dst.begin(), _dst.begin() + 4);
	f.insert(f.end(), _ip_options.begin(), _ip_options.end());
	uint16_t c = inet_checksum(f.data(), f.size());
	set16(f, 10, _bad_checksums ? spoil(c) : c);
	f.insert(f.end(), l4.begin(), l4.end());
	return f;
}

frame packet_builder::build_ipv6(const frame &l4) const
{
	frame f;
	uint32_t first = static_cast<uint32_t>(_version.value_or(6)) << 28 |
	                 static_cast<uint32_t>(_tos) << 20 | _flow_label;
	put32(f, first);
	put16(f, _ip_length.value_or(static_cast<uint16_t>(ip_header_len() - 40 + l4.size())));
	f.push_back(_ext.empty() ? ip_proto() : _ext.front().kind);
	f.push_back(_ttl);
	f.insert(f.end(), _src.begin(), _src.end());
	f.insert(f.end(), _dst.begin(), _dst.end());
	for (size_t i = 0; i < _ext.size(); i++) {
		const ext_header &e = _ext[i];
		f.push_back(i + 1 < _ext.size() ? _ext[i + 1].kind : ip_proto());
		if (e.kind == proto_fragment) {
			f.push_back(0);
			put16(f, static_cast<uint16_t>(e.frag_offset << 3 | (e.more ? 1 : 0)));
			put32(f, e.id);
			continue;
		}
		f.push_back(static_cast<uint8_t>(e.len / 8 - 1));
		size_t body = e.len - 2;
		if (e.kind == ext_routing) {
			// Routing type 0 with 0 segments left: every node ignores it.
			f.insert(f.end(), body, 0);
			continue;
		}
		// Options: one PadN covering the rest (RFC 8200 section 4.2).
		f.push_back(1);
		f.push_back(static_cast<uint8_t>(body - 2));
		f.insert(f.end(), body - 2, 0);
	}
	f.insert(f.end(), l4.begin(), l4.end());
	return f;
}

frame packet_builder::build_ip(const frame &l4) const
{
	return _ip_family == WEIR_AF_INET ? build_ipv4(l4) : build_ipv6(l4);
}

frame packet_builder::l3() const
{
	if (!_ip_family)
		throw std::invalid_argument("packet_builder: l3() of a frame without IP");
	return build_ip(build_l4());
}

frame packet_builder::build() const
{
	frame f(_dst_mac.begin(), _dst_mac.end());
	f.insert(f.end(), _src_mac.begin(), _src_mac.end());
	for (const auto &t : _vlans) {
		put16(f, t.tpid);
		put16(f, t.tci);
	}
	uint16_t type = _ip_family == WEIR_AF_INET6 ? 0x86dd : 0x0800;
	put16(f, _ethertype.value_or(type));
	frame l4 = build_l4();
	frame body = _ip_family ? build_ip(l4) : l4;
	f.insert(f.end(), body.begin(), body.end());
	f.insert(f.end(), _padding, 0);
	if (_truncate && *_truncate < f.size())
		f.resize(*_truncate);
	return f;
}

uint16_t inet_checksum(const uint8_t *p, size_t n, uint32_t sum)
{
	sum = csum_add(sum, p, n);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return static_cast<uint16_t>(~sum);
}

bool ipv4_header_checksum_ok(const frame &f, size_t l3_off)
{
	if (l3_off + 20 > f.size() || f[l3_off] >> 4 != 4)
		return false;
	size_t ihl = (f[l3_off] & 0x0f) * 4u;
	if (ihl < 20 || l3_off + ihl > f.size())
		return false;
	return inet_checksum(&f[l3_off], ihl) == 0;
}

bool l4_checksum_ok(const frame &f, size_t l3_off)
{
	if (l3_off + 1 > f.size())
		return false;
	const uint8_t *ip = &f[l3_off];
	size_t off, end;
	uint8_t proto;
	uint32_t sum;
	if (ip[0] >> 4 == 4) {
		if (l3_off + 20 > f.size())
			return false;
		off = l3_off + (ip[0] & 0x0f) * 4u;
		end = l3_off + get16(f, l3_off + 2);
		proto = ip[9];
		if (off > end || end > f.size())
			return false;
		sum = proto == proto_icmp ? 0 : pseudo_sum(ip + 12, ip + 16, 4, proto, end - off);
	} else if (ip[0] >> 4 == 6) {
		if (l3_off + 40 > f.size())
			return false;
		off = l3_off + 40;
		end = off + get16(f, l3_off + 4);
		proto = ip[6];
		if (end > f.size())
			return false;
		while (proto == 0 || proto == 43 || proto == 60 || proto == proto_fragment) {
			if (off + 8 > end)
				return false;
			size_t len = proto == proto_fragment ? 8 : (f[off + 1] + 1u) * 8;
			proto = f[off];
			off += len;
		}
		if (off > end)
			return false;
		sum = pseudo_sum(ip + 8, ip + 24, 16, proto, end - off);
	} else {
		return false;
	}
	size_t csum_at;
	if (proto == proto_tcp)
		csum_at = 16;
	else if (proto == proto_udp)
		csum_at = 6;
	else if (proto == proto_icmp || proto == proto_icmpv6)
		csum_at = 2;
	else
		return false;
	if (off + csum_at + 2 > end)
		return false;
	if (proto == proto_udp && ip[0] >> 4 == 4 && get16(f, off + 6) == 0)
		return true;
	return inet_checksum(&f[off], end - off, sum) == 0;
}

std::string hexdump(const frame &f)
{
	std::string out;
	char buf[32];
	for (size_t i = 0; i < f.size(); i += 16) {
		std::snprintf(buf, sizeof buf, "%04zx ", i);
		out += buf;
		for (size_t j = i; j < std::min(i + 16, f.size()); j++) {
			std::snprintf(buf, sizeof buf, " %02x", f[j]);
			out += buf;
		}
		out += '\n';
	}
	return out;
}

std::string frame_diff(const frame &expected, const frame &got, size_t max_lines)
{
	if (expected == got)
		return "";
	std::string out;
	if (expected.size() != got.size())
		out += "length: expected " + std::to_string(expected.size()) + ", got " +
		       std::to_string(got.size()) + "\n";
	size_t shown = 0, differing = 0;
	for (size_t i = 0; i < std::min(expected.size(), got.size()); i++) {
		if (expected[i] == got[i])
			continue;
		differing++;
		if (shown++ < max_lines)
			out += "offset " + std::to_string(i) + ": expected " + hex_byte(expected[i]) +
			       ", got " + hex_byte(got[i]) + "\n";
	}
	if (differing > max_lines)
		out += "... " + std::to_string(differing - max_lines) + " more differing bytes\n";
	out += "expected:\n" + hexdump(expected) + "got:\n" + hexdump(got);
	return out;
}

}  // namespace weir::test
