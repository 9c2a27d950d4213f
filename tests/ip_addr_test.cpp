// ip_addr_test.cpp — address and prefix parsing, printing, ordering, containment.
#include "ip_addr.h"

#include <gtest/gtest.h>

using weir::ctl::ip_addr;
using weir::ctl::ip_prefix;

TEST(ip_addr, parses_v4_and_v6)
{
	auto a = ip_addr::parse("10.10.1.1");
	ASSERT_TRUE(a);
	EXPECT_TRUE(a->is_v4());
	EXPECT_EQ(a->bytes[0], 10);
	EXPECT_EQ(a->bytes[3], 1);
	for (int i = 4; i < 16; i++)
		EXPECT_EQ(a->bytes[i], 0) << "IPv4 must leave bytes 4..15 zero";
	EXPECT_EQ(a->to_string(), "10.10.1.1");

	auto b = ip_addr::parse("fd00::2");
	ASSERT_TRUE(b);
	EXPECT_TRUE(b->is_v6());
	EXPECT_EQ(b->bytes[0], 0xfd);
	EXPECT_EQ(b->bytes[15], 2);
	EXPECT_EQ(b->to_string(), "fd00::2");
}

TEST(ip_addr, rejects_garbage)
{
	for (const char *bad :
	     {"", "10.0.0", "10.0.0.256", "1.2.3.4.5", "fd00:::1", "10.0.0.1 ", "x", "10.0.0.1/24"})
		EXPECT_FALSE(ip_addr::parse(bad)) << bad;
}

TEST(ip_addr, orders_v4_before_v6_then_by_bytes)
{
	auto a = *ip_addr::parse("10.0.0.2"), b = *ip_addr::parse("10.0.0.10"), c = *ip_addr::parse("::1");
	EXPECT_LT(a, b);
	EXPECT_LT(b, c);
	EXPECT_EQ(a, *ip_addr::parse("10.0.0.2"));
}

TEST(ip_prefix, parses_and_contains)
{
	auto p = ip_prefix::parse("10.10.0.2/24");
	ASSERT_TRUE(p);
	EXPECT_EQ(p->length, 24);
	EXPECT_EQ(p->to_string(), "10.10.0.2/24");
	EXPECT_TRUE(p->contains(*ip_addr::parse("10.10.0.200")));
	EXPECT_FALSE(p->contains(*ip_addr::parse("10.10.1.1")));
	EXPECT_FALSE(p->contains(*ip_addr::parse("fd00::1")));

	auto q = ip_prefix::parse("fd00::2/61");
	ASSERT_TRUE(q);
	EXPECT_TRUE(q->contains(*ip_addr::parse("fd00:0:0:7::1")));
	EXPECT_FALSE(q->contains(*ip_addr::parse("fd00:0:0:8::1")));

	EXPECT_TRUE(ip_prefix::parse("0.0.0.0/0")->contains(*ip_addr::parse("192.0.2.1")));
}

TEST(ip_prefix, rejects_bad_lengths)
{
	for (const char *bad :
	     {"10.0.0.1", "10.0.0.1/", "10.0.0.1/33", "fd00::1/129", "10.0.0.1/2x", "/24", "10.0.0.1/-1"})
		EXPECT_FALSE(ip_prefix::parse(bad)) << bad;
}
