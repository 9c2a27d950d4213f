// packet_builder_test.cpp — the test frame builder (tests/packet_builder.h):
// checksums against hand-computed values, checksum verifiers that catch every
// flipped byte, header layout, frame diffs.
#include "packet_builder.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace {

using weir::test::frame;
using weir::test::packet_builder;
namespace wt = weir::test;

constexpr const char *c4 = "198.51.100.7";
constexpr const char *v4 = "203.0.113.10";
constexpr const char *r4 = "192.0.2.1";
constexpr const char *c6 = "2001:db8::7";
constexpr const char *v6 = "2001:db8:1::10";
constexpr const char *r6 = "2001:db8:ff::1";

TEST(packet_builder, known_ipv4_header_checksum)
{
	frame f = {0x45, 0,    0,    0x73, 0, 0, 0x40, 0,    0x40, 0x11,
	           0xb8, 0x61, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0,    0xc7};
	EXPECT_TRUE(wt::ipv4_header_checksum_ok(f, 0));
	f[11] ^= 1;
	EXPECT_FALSE(wt::ipv4_header_checksum_ok(f, 0));
}

TEST(packet_builder, udp_checksum_matches_hand_computed_value)
{
	// Pseudo-header 0a00+0001+0a00+0002+0011+0008, header 0001+0002+0008: 0x1427, complement 0xebd8.
	frame f = packet_builder().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
	ASSERT_EQ(42u, f.size());
	EXPECT_EQ(0xeb, f[40]);
	EXPECT_EQ(0xd8, f[41]);
}

TEST(packet_builder, checksums_verify_and_every_flipped_byte_fails)
{
	const std::vector<packet_builder> builders = {
	        packet_builder().ipv4(c4, v4).tcp(40000, 80).payload(7).vlan(3),
	        packet_builder().ipv4(c4, v4).udp(5353, 53).payload(12),
	        packet_builder()
	                .ipv4(r4, v4)
	                .icmp(3, 4, 1400)
	                .quote(packet_builder().ipv4(v4, c4).tcp(80, 40000).payload(32).l3()),
	        packet_builder()
	                .ipv6(c6, v6)
	                .tcp(40001, 443)
	                .ipv6_ext(wt::ext_hop_by_hop, 8)
	                .ipv6_ext(wt::ext_routing, 24)
	                .payload(5),
	        packet_builder().ipv6(c6, v6).udp(5353, 53).ipv6_frag(0, true).payload(9),
	        packet_builder()
	                .ipv6(r6, v6)
	                .icmp(2, 0, 1280)
	                .quote(packet_builder().ipv6(v6, c6).tcp(443, 40001).payload(32).l3()),
	};
	for (const packet_builder &b : builders) {
		frame f = b.build();
		size_t l3 = b.l3_offset(), l4 = b.l4_offset();
		bool v4 = f[l3] >> 4 == 4;
		SCOPED_TRACE(wt::hexdump(f));
		EXPECT_TRUE(!v4 || wt::ipv4_header_checksum_ok(f, l3));
		EXPECT_TRUE(wt::l4_checksum_ok(f, l3));
		frame bad = packet_builder(b).bad_checksums().build();
		EXPECT_FALSE(wt::l4_checksum_ok(bad, l3));
		EXPECT_TRUE(!v4 || !wt::ipv4_header_checksum_ok(bad, l3));
		size_t addr_from = l3 + (v4 ? 12 : 8);
		for (size_t i = addr_from; i < f.size(); i++) {
			uint8_t proto = f[l3 + (v4 ? 9 : 6)];
			bool udp_csum = proto == 17 && (i == l4 + 6 || i == l4 + 7);
			bool no_pseudo = proto == 1 && i < l4;
			// Options / extension headers are not covered, nor addresses by ICMPv4;
			// a UDP checksum of 0 means "none".
			if ((i >= addr_from + (v4 ? 8 : 32) && i < l4) || udp_csum || no_pseudo)
				continue;
			frame g = f;
			g[i] ^= 0x01;
			EXPECT_FALSE(wt::l4_checksum_ok(g, l3)) << "byte " << i;
		}
	}
}

TEST(packet_builder, layout_and_lengths)
{
	packet_builder b = packet_builder()
	                           .ipv6(c6, v6)
	                           .udp(5353, 53)
	                           .vlan(10, 0x88a8, 5)
	                           .vlan(20)
	                           .ipv6_ext(wt::ext_dest_opts, 16)
	                           .payload(4);
	frame f = b.build();
	EXPECT_EQ(22u, b.l3_offset());
	EXPECT_EQ(22u + 56, b.l4_offset());
	ASSERT_EQ(22u + 40 + 16 + 8 + 4, f.size());
	EXPECT_EQ((frame{0x88, 0xa8, 0xa0, 10, 0x81, 0x00, 0, 20, 0x86, 0xdd}),
	          frame(f.begin() + 12, f.begin() + 22));
	EXPECT_EQ(28, f[22 + 5]) << "payload length: 16 + 8 + 4";
	EXPECT_EQ(60, f[22 + 6]) << "next header: destination options";
	EXPECT_EQ(17, f[62]) << "the extension header names UDP";
	EXPECT_EQ(1, f[62 + 1]) << "16 bytes = (1 + 1) * 8";
	EXPECT_EQ(12, f[22 + 56 + 5]) << "UDP length";
	EXPECT_EQ(f.size() + 6, b.eth_padding(6).build().size());
	EXPECT_EQ(30u, b.truncate(30).build().size());
	frame l3 = b.l3();
	EXPECT_EQ(frame(f.begin() + 22, f.end()), l3) << "l3() ignores padding and truncation";
	EXPECT_THROW(packet_builder().ipv4("fd00::1", "10.0.0.1"), std::invalid_argument);
	EXPECT_THROW(packet_builder().ipv6_ext(wt::ext_routing, 12), std::invalid_argument);
}

TEST(packet_builder, frame_diff_names_differing_offsets)
{
	frame a = {1, 2, 3, 4, 5};
	frame b = {1, 2, 0xff, 4};
	EXPECT_EQ("", wt::frame_diff(a, a));
	std::string d = wt::frame_diff(a, b);
	EXPECT_NE(std::string::npos, d.find("length: expected 5, got 4")) << d;
	EXPECT_NE(std::string::npos, d.find("offset 2: expected 0x03, got 0xff")) << d;
	EXPECT_EQ(std::string::npos, d.find("offset 1:")) << d;
}

}  // namespace
