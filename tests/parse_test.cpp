// parse_test.cpp — the shared packet parser (dataplane/weir_parse.h): the case
// table (parse_cases.cpp) with the whole struct weir_pkt compared, every cut
// length of every case, cuts with consistent IP lengths (L4 / extension / quote
// truncation), and random frames. Frames are parsed from exactly-sized heap
// copies so that ASan reports any read past the end; the output struct is
// pre-filled with junk so that every comparison also proves it was zeroed.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ip_addr.h"
#include "packet_builder.h"
#include "parse_cases.h"
#include "weir_parse.h"

namespace {

using weir::ctl::ip_addr;
using namespace weir::test;

struct parsed {
	weir_parse_result result;
	uint8_t reason;
	weir_pkt pkt;
};

parsed run(const frame &f)
{
	auto buf = std::make_unique<uint8_t[]>(f.size());
	if (!f.empty())
		std::memcpy(buf.get(), f.data(), f.size());
	parsed p;
	std::memset(&p.pkt, 0xa5, sizeof p.pkt);
	p.reason = 0xee;
	p.result = weir_parse(buf.get(), buf.get() + f.size(), &p.pkt, &p.reason);
	return p;
}

weir_flow_key make_key(const flow &f)
{
	weir_flow_key k{};
	if (!f.src)
		return k;
	auto s = ip_addr::parse(f.src), d = ip_addr::parse(f.dst);
	std::memcpy(k.saddr, s->bytes.data(), 16);
	std::memcpy(k.daddr, d->bytes.data(), 16);
	k.sport = WEIR_HTONS(f.sport);
	k.dport = WEIR_HTONS(f.dport);
	k.proto = f.proto;
	k.family = s->family;
	return k;
}

std::string key_str(const weir_flow_key &k)
{
	ip_addr s{k.family == WEIR_AF_INET6 ? uint8_t(WEIR_AF_INET6) : uint8_t(WEIR_AF_INET), {}};
	ip_addr d = s;
	std::memcpy(s.bytes.data(), k.saddr, 16);
	std::memcpy(d.bytes.data(), k.daddr, 16);
	return "{" + s.to_string() + ":" + std::to_string(WEIR_NTOHS(k.sport)) + " -> " + d.to_string() +
	       ":" + std::to_string(WEIR_NTOHS(k.dport)) + " proto " + std::to_string(k.proto) + " family " +
	       std::to_string(k.family) + "}";
}

weir_pkt make_pkt(const want &w)
{
	weir_pkt p{};
	p.key = make_key(w.key);
	p.inner = make_key(w.inner);
	p.l3_off = w.l3_off;
	p.l4_off = w.l4_off;
	p.l3_len = w.l3_len;
	p.proto_off = w.proto_off;
	p.vlans = w.vlans;
	p.flags = w.flags;
	p.ttl = w.ttl;
	p.vip_drop = w.vip_drop;
	p.icmp_type = w.icmp_type;
	p.icmp_code = w.icmp_code;
	return p;
}

void expect_pkt(const weir_pkt &want_pkt, const weir_pkt &got)
{
	EXPECT_EQ(key_str(want_pkt.key), key_str(got.key));
	EXPECT_EQ(key_str(want_pkt.inner), key_str(got.inner)) << "inner";
	EXPECT_EQ(want_pkt.l3_off, got.l3_off);
	EXPECT_EQ(want_pkt.l4_off, got.l4_off);
	EXPECT_EQ(want_pkt.l3_len, got.l3_len);
	EXPECT_EQ(want_pkt.proto_off, got.proto_off);
	EXPECT_EQ(want_pkt.vlans, got.vlans);
	EXPECT_EQ(want_pkt.flags, got.flags);
	EXPECT_EQ(want_pkt.ttl, got.ttl);
	EXPECT_EQ(want_pkt.vip_drop, got.vip_drop);
	EXPECT_EQ(want_pkt.icmp_type, got.icmp_type);
	EXPECT_EQ(want_pkt.icmp_code, got.icmp_code);
	// Also the bytes no field names (padding, address words 1..3 of IPv4).
	EXPECT_EQ(0, std::memcmp(&want_pkt, &got, sizeof got));
}

class parse : public testing::TestWithParam<parse_case> {};

TEST_P(parse, matches_expected)
{
	const parse_case &c = GetParam();
	parsed p = run(c.f);
	ASSERT_EQ(c.w.result, p.result);
	if (p.result == WEIR_PARSE_DROP) {
		EXPECT_EQ(c.w.reason, p.reason);
		return;
	}
	EXPECT_EQ(0xee, p.reason) << "drop_reason is written only for drops";
	expect_pkt(make_pkt(c.w), p.pkt);
}

// Every prefix of a frame: L2 cuts are truncated_l2, cuts in the fixed IP header
// truncated_l3, cuts inside the IP packet bad_ip_header (its length says more),
// cuts in the trailing padding change nothing.
TEST_P(parse, every_cut_length)
{
	const parse_case &c = GetParam();
	parsed full = run(c.f);
	if (c.w.result == WEIR_PARSE_DROP) {
		// No prefix of a dropped frame becomes parseable.
		for (size_t n = 0; n < c.f.size(); n++) {
			parsed p = run(cut(c.f, n));
			ASSERT_EQ(WEIR_PARSE_DROP, p.result) << "cut at " << n;
			ASSERT_TRUE(p.reason == full.reason || p.reason == WEIR_DROP_truncated_l2 ||
			            p.reason == WEIR_DROP_truncated_l3)
			        << "cut at " << n << ": reason " << int(p.reason);
		}
		return;
	}
	size_t ip_min = c.f.size() > c.w.l3_off && c.f[c.w.l3_off] >> 4 == 6 ? 40 : 20;
	for (size_t n = 0; n < c.f.size(); n++) {
		SCOPED_TRACE("cut at " + std::to_string(n));
		parsed p = run(cut(c.f, n));
		if (n < c.w.l3_off) {
			ASSERT_EQ(WEIR_PARSE_DROP, p.result);
			ASSERT_EQ(WEIR_DROP_truncated_l2, p.reason);
		} else if (c.w.result == WEIR_PARSE_PASS) {
			ASSERT_EQ(WEIR_PARSE_PASS, p.result);
		} else if (n < c.w.l3_off + ip_min) {
			ASSERT_EQ(WEIR_PARSE_DROP, p.result);
			ASSERT_EQ(WEIR_DROP_truncated_l3, p.reason);
		} else if (n < size_t(c.w.l3_off) + c.w.l3_len) {
			ASSERT_EQ(WEIR_PARSE_DROP, p.result);
			ASSERT_EQ(WEIR_DROP_bad_ip_header, p.reason);
		} else {
			ASSERT_EQ(WEIR_PARSE_IP, p.result);
			ASSERT_EQ(0, std::memcmp(&full.pkt, &p.pkt, sizeof p.pkt));
		}
	}
}

INSTANTIATE_TEST_SUITE_P(cases, parse, testing::ValuesIn(parse_cases()),
                         [](const testing::TestParamInfo<parse_case> &i) { return i.param.name; });

// Cuts of a frame with its IP length field following the cut: the L3 header is
// sound, so the parser answers IP and names what is missing in vip_drop.
struct cut_case {
	std::string name;
	frame f;
	// (first cut length, vip_drop) in increasing order: a cut at n has the
	// vip_drop of the last region starting at or before n.
	std::vector<std::pair<size_t, uint8_t>> regions;
};

TEST(parse_cut, consistent_lengths_name_the_missing_part)
{
	const uint8_t l4 = vd(WEIR_DROP_truncated_l4), icmp = vd(WEIR_DROP_bad_icmp_error),
	              ext = vd(WEIR_DROP_ipv6_ext_unsupported);
	const frame quote6_ext =
	        packet_builder().ipv6(vip6, client6).ipv6_ext(ext_dest_opts, 8).udp(53, 5353).l3();
	const std::vector<cut_case> cases = {
	        {"tcp4", tcp4().build(), {{34, l4}, {54, 0}}},
	        {"udp4", udp4().build(), {{34, l4}, {42, 0}}},
	        {"icmp4_error", icmp4(3, 4, cut(quote4_tcp(), 28)).build(), {{34, l4}, {42, icmp}, {70, 0}}},
	        {"tcp6_ext",
	         tcp6().ipv6_ext(ext_hop_by_hop, 8).ipv6_ext(ext_dest_opts, 16).build(),
	         {{54, ext}, {78, l4}, {98, 0}}},
	        {"udp6", udp6().build(), {{54, l4}, {62, 0}}},
	        {"icmp6_error", icmp6(2, 0, cut(quote6_tcp(), 48)).build(), {{54, l4}, {62, icmp}, {110, 0}}},
	        {"icmp6_error_quote_ext", icmp6(1, 0, quote6_ext).build(), {{54, l4}, {62, icmp}, {118, 0}}},
	};
	for (const cut_case &c : cases) {
		ASSERT_EQ(c.regions.back().first, c.f.size()) << c.name;
		bool v6 = c.f[14] >> 4 == 6;
		for (size_t n = c.regions.front().first; n <= c.f.size(); n++) {
			SCOPED_TRACE(c.name + " cut at " + std::to_string(n));
			frame g = cut(c.f, n);
			size_t len = n - 14 - (v6 ? 40 : 0);
			g[14 + (v6 ? 4 : 2)] = static_cast<uint8_t>(len >> 8);
			g[14 + (v6 ? 5 : 3)] = static_cast<uint8_t>(len);
			parsed p = run(g);
			ASSERT_EQ(WEIR_PARSE_IP, p.result);
			ASSERT_EQ(n - 14, p.pkt.l3_len);
			uint8_t expected = 0;
			for (const auto &[start, reason] : c.regions)
				if (start <= n)
					expected = reason;
			ASSERT_EQ(expected, p.pkt.vip_drop);
			if (p.pkt.l4_off) {
				ASSERT_LE(p.pkt.l4_off + 8u, n);
			}
		}
	}
}

testing::AssertionResult fail(const char *what)
{
	return testing::AssertionFailure() << what;
}

bool is_zero(const weir_flow_key &k)
{
	static const weir_flow_key zero{};
	return std::memcmp(&k, &zero, sizeof k) == 0;
}

// What must hold for any frame, whatever the parser decides.
testing::AssertionResult consistent_ip(const frame &f, const weir_pkt &k)
{
	size_t l3 = k.l3_off, ip_end = l3 + k.l3_len;
	if (ip_end > f.size())
		return fail("IP packet past the frame");
	size_t addr_off = k.key.family == WEIR_AF_INET ? 12 : 8,
	       addr_len = k.key.family == WEIR_AF_INET ? 4 : 16;
	if (k.key.family == WEIR_AF_INET) {
		if (k.l3_len < 20 || f[l3] >> 4 != 4 || k.ttl != f[l3 + 8] || k.key.proto != f[l3 + 9])
			return fail("IPv4 fields differ from the header");
		if (k.key.saddr[1] || k.key.saddr[2] || k.key.saddr[3] || k.key.daddr[1] || k.key.daddr[3])
			return fail("IPv4 address words 1..3 not zero");
	} else if (k.key.family == WEIR_AF_INET6) {
		if (k.l3_len < 40 || f[l3] >> 4 != 6 || k.ttl != f[l3 + 7] || !(k.flags & WEIR_PKT_F_DF))
			return fail("IPv6 fields differ from the header");
	} else {
		return fail("family neither IPv4 nor IPv6");
	}
	if (std::memcmp(k.key.saddr, &f[l3 + addr_off], addr_len) ||
	    std::memcmp(k.key.daddr, &f[l3 + addr_off + addr_len], addr_len))
		return fail("addresses differ from the header");
	if (k.key.pad[0] || k.key.pad[1] || k.inner.pad[0] || k.inner.pad[1] || k.pad[0] || k.pad[1])
		return fail("padding not zero");
	bool tcp = k.key.proto == WEIR_IPPROTO_TCP, udp = k.key.proto == WEIR_IPPROTO_UDP;
	if (k.l4_off && (k.l4_off < l3 + 20 || k.l4_off + (tcp ? 20u : 8u) > ip_end))
		return fail("l4_off outside the IP packet");
	if (k.l4_off && (tcp || udp) && std::memcmp(&k.key.sport, &f[k.l4_off], 4))
		return fail("ports differ from the L4 header");
	if (!tcp && !udp && (k.key.sport || k.key.dport))
		return fail("ports on a protocol without ports");
	if ((k.flags & WEIR_PKT_F_LATER_FRAGMENT) &&
	    (!(k.flags & WEIR_PKT_F_FRAGMENT) || k.l4_off || k.key.sport || k.key.dport))
		return fail("later fragment with an L4 header");
	if ((k.flags & (WEIR_PKT_F_TCP_SYN | WEIR_PKT_F_TCP_CLOSING)) && (!tcp || !k.l4_off))
		return fail("TCP flags without a TCP header");
	if (k.vip_drop > WEIR_DROP__COUNT)
		return fail("vip_drop out of range");
	// An unparsable quote leaves `inner` zero and a vip_drop (bad_icmp_error,
	// unless an earlier reason was already set).
	if (!(k.flags & WEIR_PKT_F_ICMP_ERROR)) {
		if (!is_zero(k.inner))
			return fail("inner set without an ICMP error");
	} else if (is_zero(k.inner) ? !k.vip_drop : k.inner.family != k.key.family || !k.l4_off) {
		return fail("ICMP error without a quote of its family, or without an ICMP header");
	}
	return testing::AssertionSuccess();
}

testing::AssertionResult consistent(const frame &f, const parsed &p)
{
	if (p.result == WEIR_PARSE_DROP)
		return p.reason <= WEIR_DROP_bad_ip_header ? testing::AssertionSuccess()
		                                           : fail("drop reason beyond L2/L3");
	if (p.result != WEIR_PARSE_PASS && p.result != WEIR_PARSE_IP)
		return fail("unknown result");
	if (p.reason != 0xee)
		return fail("drop_reason written without a drop");
	const weir_pkt &k = p.pkt;
	if (k.vlans > WEIR_MAX_VLANS || k.l3_off != 14 + 4 * k.vlans || k.proto_off + 2 != k.l3_off ||
	    k.l3_off > f.size())
		return fail("L2 offsets inconsistent");
	if (p.result == WEIR_PARSE_PASS) {
		weir_pkt z{};
		z.l3_off = k.l3_off;
		z.proto_off = k.proto_off;
		z.vlans = k.vlans;
		return std::memcmp(&z, &k, sizeof k) ? fail("PASS with L3 fields set")
		                                     : testing::AssertionSuccess();
	}
	return consistent_ip(f, k);
}

frame mutate(const std::vector<frame> &seeds, std::mt19937 &rng)
{
	frame f;
	if (rng() % 8 == 0) {
		f.resize(rng() % 160);
		for (auto &b : f)
			b = static_cast<uint8_t>(rng());
		static const uint16_t types[] = {0x0800, 0x86dd, 0x8100, 0x88a8};
		if (f.size() >= 14) {
			uint16_t t = types[rng() % 4];
			f[12] = static_cast<uint8_t>(t >> 8);
			f[13] = static_cast<uint8_t>(t);
		}
		return f;
	}
	f = seeds[rng() % seeds.size()];
	for (unsigned n = 1 + rng() % 4; n && !f.empty(); n--) {
		size_t pos = rng() % 4 ? rng() % std::min<size_t>(f.size(), 80) : rng() % f.size();
		f[pos] = rng() % 2 ? static_cast<uint8_t>(rng())
		                   : f[pos] ^ static_cast<uint8_t>(1u << rng() % 8);
	}
	if (rng() % 4 == 0)
		f.resize(rng() % (f.size() + 1));
	return f;
}

TEST(parse_random, mutated_frames_are_parsed_consistently)
{
	std::vector<frame> seeds;
	for (const parse_case &c : parse_cases())
		seeds.push_back(c.f);
	std::mt19937 rng(20261204);
	size_t outcomes[3] = {};
	for (int i = 0; i < 200000; i++) {
		frame f = mutate(seeds, rng);
		parsed p = run(f);
		ASSERT_TRUE(consistent(f, p)) << "frame " << i << ":\n" << hexdump(f);
		outcomes[p.result]++;
	}
	// Every outcome is reached often, so the run exercised more than one path.
	EXPECT_GT(outcomes[WEIR_PARSE_IP], 40000u);
	EXPECT_GT(outcomes[WEIR_PARSE_DROP], 20000u);
	EXPECT_GT(outcomes[WEIR_PARSE_PASS], 2000u);
}

}  // namespace
