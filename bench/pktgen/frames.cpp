// frames.cpp — building the generator's frames and checking the replies
// (frames.h). The per-packet work is a template copy plus incremental checksums:
// the generator must outrun the device it measures.
#include "frames.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

namespace weir::bench {

namespace {

constexpr uint8_t proto_tcp = 6, proto_udp = 17, proto_ipip = 4;
constexpr size_t eth_len = 14, ip_len = 20;

void put16(uint8_t *p, uint16_t v)
{
	p[0] = uint8_t(v >> 8);
	p[1] = uint8_t(v);
}

void put32(uint8_t *p, uint32_t v)
{
	put16(p, uint16_t(v >> 16));
	put16(p + 2, uint16_t(v));
}

uint16_t get16(const uint8_t *p)
{
	return uint16_t(p[0] << 8 | p[1]);
}

uint32_t get32(const uint8_t *p)
{
	return uint32_t(get16(p)) << 16 | get16(p + 2);
}

// One's complement sum of big-endian 16-bit words, unfolded.
uint32_t sum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += uint32_t(p[n - 1]) << 8;
	return s;
}

uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return uint16_t(s);
}

uint8_t proto_of(traffic t)
{
	return t == traffic::udp ? proto_udp : proto_tcp;
}

}  // namespace

result<frame_plan> frame_plan::create(const frame_spec &spec)
{
	frame_plan p;
	p._spec = spec;
	size_t l4_header = spec.kind == traffic::udp ? 8 : 20;
	p._header_len = eth_len + ip_len + l4_header;
	if (spec.size < p._header_len + stamp_len || spec.size > 1514)
		return error{"frame size " + std::to_string(spec.size + 4) + " bytes: expected " +
		             std::to_string(p._header_len + stamp_len + 4) + " to 1518 (with the FCS)"};
	if (spec.flows < 1 || spec.flows > max_flows)
		return error{"flows: expected 1 to " + std::to_string(max_flows)};
	p._pass_span = (spec.flows + ports_per_ip - 1) / ports_per_ip;
	std::vector<uint8_t> &t = p._template;
	t.assign(spec.size, 0);
	std::memcpy(&t[0], spec.dst_mac.data(), 6);
	std::memcpy(&t[6], spec.src_mac.data(), 6);
	put16(&t[12], 0x0800);
	uint8_t *ip = &t[eth_len];
	uint16_t ip_total = uint16_t(spec.size - eth_len);
	ip[0] = 0x45;
	put16(ip + 2, ip_total);
	put16(ip + 6, 0x4000);  // DF, as TCP stacks send
	ip[8] = 64;
	ip[9] = proto_of(spec.kind);
	put32(ip + 16, spec.vip);
	uint8_t *l4 = ip + ip_len;
	uint16_t l4_len = uint16_t(ip_total - ip_len);
	put16(l4 + 2, spec.vport);
	if (spec.kind == traffic::udp) {
		put16(l4 + 4, l4_len);
	} else {
		put32(l4 + 4, 0x01000000);  // sequence number
		bool syn = spec.kind == traffic::syn;
		put32(l4 + 8, syn ? 0 : 1);
		l4[12] = 5 << 4;
		l4[13] = syn ? 0x02 : 0x10;
		put16(l4 + 14, 0xffff);
	}
	// Pseudo header (source added per packet) + the segment with source port,
	// stamp and checksum zero.
	p._l4_sum = (spec.vip >> 16) + (spec.vip & 0xffff) + proto_of(spec.kind) + l4_len + sum16(l4, l4_len);
	return p;
}

void frame_plan::build(uint8_t *buf, uint32_t flow, uint64_t stamp, uint32_t pass) const
{
	std::memcpy(buf, _template.data(), _template.size());
	uint32_t src = _spec.src_base + pass * _pass_span + flow / ports_per_ip;
	uint16_t sport = uint16_t(1024 + flow % ports_per_ip);
	uint8_t *ip = buf + eth_len;
	put32(ip + 12, src);
	put16(ip + 10, uint16_t(~fold(sum16(ip, ip_len))));
	uint8_t *l4 = ip + ip_len;
	put16(l4, sport);
	uint8_t *st = buf + _header_len;
	put16(st, uint16_t(stamp >> 32));
	put32(st + 2, uint32_t(stamp));
	uint32_t s = _l4_sum + (src >> 16) + (src & 0xffff) + sport + uint32_t(stamp >> 32 & 0xffff) +
	             uint32_t(stamp >> 16 & 0xffff) + uint32_t(stamp & 0xffff);
	uint16_t c = uint16_t(~fold(s));
	if (_spec.kind == traffic::udp)
		put16(l4 + 6, c ? c : 0xffff);
	else
		put16(l4 + 16, c);
}

int64_t frame_plan::flow_of(const uint8_t *ip, size_t len, uint32_t &pass) const
{
	if (len < _header_len - eth_len + stamp_len || ip[0] != 0x45 || ip[9] != proto_of(_spec.kind) ||
	    get32(ip + 16) != _spec.vip || get16(ip + ip_len + 2) != _spec.vport)
		return -1;
	uint32_t src = get32(ip + 12), sport = get16(ip + ip_len);
	if (src < _spec.src_base || src - _spec.src_base >= max_sources || sport < 1024 ||
	    sport - 1024 >= ports_per_ip)
		return -1;
	pass = (src - _spec.src_base) / _pass_span;
	uint64_t flow = uint64_t((src - _spec.src_base) % _pass_span) * ports_per_ip + (sport - 1024);
	return flow < _spec.flows ? int64_t(flow) : -1;
}

namespace {

// Compares the headers and stamp of a returned packet (from its IPv4 header on)
// with what the plan sends for that flow and stamp.
bool same_as_sent(const frame_plan &plan, const uint8_t *ip, size_t len, uint32_t flow, uint32_t pass,
                  uint64_t &stamp)
{
	size_t n = plan.header_len() - eth_len + stamp_len;
	const uint8_t *st = ip + n - stamp_len;
	stamp = uint64_t(get16(st)) << 32 | get32(st + 2);
	uint8_t expected[1514];
	plan.build(expected, flow, stamp, pass);
	return len >= size_t(plan.spec().size) - eth_len && get16(ip + 2) == plan.spec().size - eth_len &&
	       std::memcmp(ip, expected + eth_len, n) == 0;
}

checked check_ipip(const frame_plan &plan, const reply_check &rc, const uint8_t *frame, size_t len)
{
	checked c;
	const uint8_t *outer = frame + eth_len;
	size_t ip_bytes = len - eth_len;
	if (outer[9] != proto_ipip) {
		// One of ours, unencapsulated: weir passed it instead of forwarding it.
		c.v = plan.flow_of(outer, ip_bytes, c.pass) >= 0 ? verdict::bad_outer : verdict::not_ours;
		return c;
	}
	if (outer[0] != 0x45 || get32(outer + 12) != rc.node || get16(outer + 2) > ip_bytes ||
	    get16(outer + 2) != plan.spec().size - eth_len + ip_len || fold(sum16(outer, ip_len)) != 0xffff) {
		c.v = verdict::bad_outer;
		return c;
	}
	uint32_t dst = get32(outer + 16);
	for (size_t i = 0; i < rc.backends.size(); i++)
		if (rc.backends[i].addr == dst && std::memcmp(frame, rc.backends[i].hw.data(), 6) == 0)
			c.backend = int(i);
	if (c.backend < 0) {
		c.v = verdict::bad_backend;
		return c;
	}
	const uint8_t *inner = outer + ip_len;
	int64_t flow = plan.flow_of(inner, ip_bytes - ip_len, c.pass);
	if (flow < 0 || !same_as_sent(plan, inner, ip_bytes - ip_len, uint32_t(flow), c.pass, c.stamp)) {
		c.v = verdict::bad_inner;
		return c;
	}
	c.flow = uint32_t(flow);
	c.v = verdict::ok;
	return c;
}

checked check_macswap(const frame_plan &plan, const uint8_t *frame, size_t len)
{
	checked c;
	const uint8_t *ip = frame + eth_len;
	int64_t flow = plan.flow_of(ip, len - eth_len, c.pass);
	if (flow < 0)
		return c;
	const frame_spec &s = plan.spec();
	if (std::memcmp(frame, s.src_mac.data(), 6) != 0 ||
	    std::memcmp(frame + 6, s.dst_mac.data(), 6) != 0) {
		c.v = verdict::bad_mac;
		return c;
	}
	if (!same_as_sent(plan, ip, len - eth_len, uint32_t(flow), c.pass, c.stamp)) {
		c.v = verdict::bad_inner;
		return c;
	}
	c.flow = uint32_t(flow);
	c.v = verdict::ok;
	return c;
}

}  // namespace

checked check_reply(const frame_plan &plan, const reply_check &rc, const uint8_t *frame, size_t len)
{
	if (len < eth_len + ip_len || get16(frame + 12) != 0x0800)
		return checked{};
	if (rc.kind == reply_kind::ipip)
		return check_ipip(plan, rc, frame, len);
	return check_macswap(plan, frame, len);
}

const char *verdict_name(verdict v)
{
	switch (v) {
	case verdict::ok:
		return "ok";
	case verdict::not_ours:
		return "not_ours";
	case verdict::bad_outer:
		return "bad_outer";
	case verdict::bad_backend:
		return "bad_backend";
	case verdict::bad_inner:
		return "bad_inner";
	case verdict::bad_mac:
		return "bad_mac";
	case verdict::count:
		break;
	}
	return "?";
}

result<mac> parse_mac(const std::string &s)
{
	mac m{};
	unsigned b[6];
	char extra;
	if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &extra) !=
	    6)
		return error{"'" + s + "' is not a MAC address (expected 02:00:00:00:00:21)"};
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return error{"'" + s + "' is not a MAC address"};
		m[size_t(i)] = uint8_t(b[i]);
	}
	return m;
}

result<uint32_t> parse_ipv4(const std::string &s)
{
	in_addr a{};
	if (inet_pton(AF_INET, s.c_str(), &a) != 1)
		return error{"'" + s + "' is not an IPv4 address"};
	return uint32_t(ntohl(a.s_addr));
}

std::string format_ipv4(uint32_t addr)
{
	in_addr a{htonl(addr)};
	char buf[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	return buf;
}

}  // namespace weir::bench
