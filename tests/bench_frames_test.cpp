// bench_frames_test.cpp — weir_pktgen's frames and reply checks
// (bench/pktgen/frames.h): every frame it sends is a valid TCP/UDP packet to the
// VIP (checksums verified independently by the test support's verifiers), each
// flow is recovered from its headers, and the checks accept exactly the replies
// weir and the macswap forwarder should send.
#include <gtest/gtest.h>

#include <cstring>

#include "../bench/pktgen/frames.h"
#include "packet_builder.h"

namespace weir::bench {
namespace {

constexpr uint32_t vip = 0x0a0a0101, node = 0x0a0a0002;

frame_spec spec_of(traffic t, uint16_t size, uint32_t flows)
{
	frame_spec s;
	s.src_mac = {2, 0, 0, 0, 0, 0x10};
	s.dst_mac = {2, 0, 0, 0, 0, 0x02};
	s.vip = vip;
	s.kind = t;
	s.size = size;
	s.flows = flows;
	return s;
}

reply_check ipip_check()
{
	reply_check rc;
	rc.node = node;
	for (uint8_t i = 1; i <= 3; i++)
		rc.backends.push_back(backend{0x0a0a0014u + i, {2, 0, 0, 0, 0, uint8_t(0x20 + i)}, i});
	return rc;
}

// What weir sends for `inner` to backend b: IPIP from the node, the backend's MAC.
test::frame ipip_reply(const test::frame &inner, const backend &b)
{
	test::frame out(14 + 20 + inner.size() - 14);
	std::memcpy(out.data(), b.hw.data(), 6);
	std::memcpy(out.data() + 6, inner.data(), 6);
	out[12] = 0x08;
	uint8_t *ip = out.data() + 14;
	ip[0] = 0x45;
	uint16_t total = uint16_t(20 + inner.size() - 14);
	ip[2] = uint8_t(total >> 8);
	ip[3] = uint8_t(total);
	ip[8] = 64;
	ip[9] = 4;
	for (int i = 0; i < 4; i++) {
		ip[12 + i] = uint8_t(node >> (24 - 8 * i));
		ip[16 + i] = uint8_t(b.addr >> (24 - 8 * i));
	}
	uint16_t c = test::inet_checksum(ip, 20);
	ip[10] = uint8_t(c >> 8);
	ip[11] = uint8_t(c);
	std::memcpy(ip + 20, inner.data() + 14, inner.size() - 14);
	return out;
}

TEST(bench_frames, frames_are_valid_packets_to_the_vip)
{
	for (traffic t : {traffic::syn, traffic::established, traffic::udp})
		for (uint16_t size : {60, 200, 1514}) {
			auto plan = frame_plan::create(spec_of(t, size, 1'000'000));
			ASSERT_TRUE(plan) << plan.error_message();
			for (uint32_t flow : {0u, 1u, 49'999u, 50'000u, 999'999u})
				for (uint32_t pass : {0u, 7u}) {
					test::frame f(size);
					plan->build(f.data(), flow, 0x123456789abcull, pass);
					EXPECT_TRUE(test::ipv4_header_checksum_ok(f, 14));
					EXPECT_TRUE(test::l4_checksum_ok(f, 14)) << int(t) << " " << size;
					uint32_t got_pass = 99;
					EXPECT_EQ(plan->flow_of(f.data() + 14, size - 14, got_pass), flow);
					EXPECT_EQ(got_pass, pass);
					EXPECT_EQ(f[14 + 9], t == traffic::udp ? 17 : 6);
				}
		}
}

TEST(bench_frames, tcp_flags_follow_the_traffic)
{
	auto syn = frame_plan::create(spec_of(traffic::syn, 60, 10));
	auto est = frame_plan::create(spec_of(traffic::established, 60, 10));
	test::frame a(60), b(60);
	syn->build(a.data(), 3, 1);
	est->build(b.data(), 3, 1);
	EXPECT_EQ(a[14 + 20 + 13], 0x02);
	EXPECT_EQ(b[14 + 20 + 13], 0x10);
}

TEST(bench_frames, rejects_sizes_and_flow_counts_out_of_range)
{
	EXPECT_FALSE(frame_plan::create(spec_of(traffic::established, 59, 10)));
	EXPECT_FALSE(frame_plan::create(spec_of(traffic::established, 1515, 10)));
	EXPECT_FALSE(frame_plan::create(spec_of(traffic::established, 60, 0)));
	EXPECT_FALSE(frame_plan::create(spec_of(traffic::established, 60, max_flows + 1)));
	EXPECT_TRUE(frame_plan::create(spec_of(traffic::udp, 48, 10)));
}

TEST(bench_frames, accepts_weirs_ipip_reply_and_names_the_backend)
{
	auto plan = frame_plan::create(spec_of(traffic::established, 60, 100'000));
	reply_check rc = ipip_check();
	test::frame sent(60);
	plan->build(sent.data(), 4242, 0xabcdef);
	for (size_t b = 0; b < 3; b++) {
		test::frame reply = ipip_reply(sent, rc.backends[b]);
		checked c = check_reply(*plan, rc, reply.data(), reply.size());
		EXPECT_EQ(c.v, verdict::ok);
		EXPECT_EQ(c.backend, int(b));
		EXPECT_EQ(c.flow, 4242u);
		EXPECT_EQ(c.stamp, 0xabcdefu);
	}
}

TEST(bench_frames, flags_every_wrong_ipip_reply)
{
	auto plan = frame_plan::create(spec_of(traffic::established, 60, 100'000));
	reply_check rc = ipip_check();
	test::frame sent(60);
	plan->build(sent.data(), 17, 99);
	test::frame good = ipip_reply(sent, rc.backends[0]);

	test::frame mac = good;
	mac[5] = 0x22;  // backend 2's MAC, backend 1's address
	EXPECT_EQ(check_reply(*plan, rc, mac.data(), mac.size()).v, verdict::bad_backend);
	backend stranger{0x0a0a0063, rc.backends[0].hw, 1};
	test::frame other = ipip_reply(sent, stranger);
	EXPECT_EQ(check_reply(*plan, rc, other.data(), other.size()).v, verdict::bad_backend);
	test::frame csum = good;
	csum[14 + 8] = 63;  // TTL changed, checksum not
	EXPECT_EQ(check_reply(*plan, rc, csum.data(), csum.size()).v, verdict::bad_outer);
	test::frame inner = good;
	inner[14 + 20 + 8] = 63;  // the client's TTL changed on the way
	EXPECT_EQ(check_reply(*plan, rc, inner.data(), inner.size()).v, verdict::bad_inner);
	test::frame bare = sent;  // forwarded without encapsulation
	EXPECT_EQ(check_reply(*plan, rc, bare.data(), bare.size()).v, verdict::bad_outer);
	test::frame arp(60, 0);
	arp[12] = 0x08;
	arp[13] = 0x06;
	EXPECT_EQ(check_reply(*plan, rc, arp.data(), arp.size()).v, verdict::not_ours);
}

TEST(bench_frames, macswap_reply_must_swap_and_keep_the_rest)
{
	auto plan = frame_plan::create(spec_of(traffic::udp, 60, 1000));
	reply_check rc;
	rc.kind = reply_kind::macswap;
	test::frame sent(60);
	plan->build(sent.data(), 999, 5);
	EXPECT_EQ(check_reply(*plan, rc, sent.data(), sent.size()).v, verdict::bad_mac);
	test::frame swapped = sent;
	std::memcpy(swapped.data(), sent.data() + 6, 6);
	std::memcpy(swapped.data() + 6, sent.data(), 6);
	checked c = check_reply(*plan, rc, swapped.data(), swapped.size());
	EXPECT_EQ(c.v, verdict::ok);
	EXPECT_EQ(c.flow, 999u);
	swapped[14 + 20 + 8 + 2] ^= 1;  // the stamp's middle byte
	EXPECT_EQ(check_reply(*plan, rc, swapped.data(), swapped.size()).v, verdict::bad_inner);
}

TEST(bench_frames, parses_addresses)
{
	EXPECT_EQ(*parse_ipv4("10.10.0.21"), 0x0a0a0015u);
	EXPECT_FALSE(parse_ipv4("10.10.0"));
	EXPECT_EQ((*parse_mac("02:00:00:00:00:21"))[5], 0x21);
	EXPECT_FALSE(parse_mac("02:00:00:00:00"));
	EXPECT_FALSE(parse_mac("02:00:00:00:00:2100"));
	EXPECT_EQ(format_ipv4(0x0a0a0015), "10.10.0.21");
}

}  // namespace
}  // namespace weir::bench
