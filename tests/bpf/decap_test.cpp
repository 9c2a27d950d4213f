// decap_test.cpp — weir_decap.bpf.o through BPF_PROG_TEST_RUN: every tunnel kind
// weir sends is decapsulated to the exact inner frame, everything else passes
// byte for byte, truncations at every length pass, the local-destination rule
// holds with and without forwarding, and the GUE port comes from read-only data.
// Runs as root in a private network namespace (decap::setup_netns); main thread.
#include <cstdio>
#include <memory>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "bpf_test_env.h"
#include "decap_fixtures.h"
#include "weir_decap.h"
#include "weir_decap.skel.h"

namespace weir::test {
namespace {

struct skel_deleter {
	void operator()(weir_decap *s) const { weir_decap::destroy(s); }
};
using skel_ptr = std::unique_ptr<weir_decap, skel_deleter>;

// Opens the skeleton, sets the GUE port (before load: it is read-only data), loads.
skel_ptr load_decap(uint16_t gue_port, std::string &error)
{
	skel_ptr s(weir_decap::open());
	if (!s) {
		error = "weir_decap::open failed";
		return nullptr;
	}
	s->rodata->weir_gue_port = gue_port;
	if (int err = weir_decap::load(s.get()); err != 0) {
		error = "weir_decap::load: " + std::to_string(err) + " (verifier log above)";
		return nullptr;
	}
	return s;
}

class decap_prog : public ::testing::Test {
protected:
	static void SetUpTestSuite()
	{
		if (!bpf_privilege_problem().empty())
			return;
		_setup_error = decap::setup_netns();
		if (_setup_error.empty())
			_skel = load_decap(WEIR_DECAP_GUE_PORT_DEFAULT, _setup_error).release();
	}
	static void TearDownTestSuite()
	{
		skel_deleter()(_skel);
		_skel = nullptr;
	}
	void SetUp() override
	{
		WEIR_REQUIRE_BPF_PRIVILEGE();
		ASSERT_EQ(_setup_error, "");
		ASSERT_NE(_skel, nullptr);
		ASSERT_EQ(decap::set_forwarding(true), "");
	}

	static int prog_fd() { return bpf_program__fd(_skel->progs.weir_decap); }
	static int counters_fd() { return bpf_map__fd(_skel->maps.weir_decap_counters); }

	// Runs `f` and checks verdict, output frame and that exactly its counter moved.
	static void check(int prog, int counters, const decap::fixture &f)
	{
		SCOPED_TRACE(f.name);
		uint64_t before[WEIR_DECAP_NR_COUNTERS];
		for (uint32_t i = 0; i < WEIR_DECAP_NR_COUNTERS; i++)
			before[i] = percpu_sum(counters, i);
		xdp_run r = run_xdp(prog, f.in);
		ASSERT_EQ(r.err, 0);
		EXPECT_EQ(r.verdict, XDP_PASS);
		EXPECT_EQ(frame_diff(f.expected, r.out), "");
		for (uint32_t i = 0; i < WEIR_DECAP_NR_COUNTERS; i++)
			EXPECT_EQ(percpu_sum(counters, i) - before[i], i == f.counter ? 1u : 0u)
			        << "counter " << i;
	}

	static inline weir_decap *_skel = nullptr;
	static inline std::string _setup_error;
};

TEST_F(decap_prog, fixtures)
{
	const auto table = decap::fixtures();
	size_t ran = 0, decapsulated = 0;
	for (const auto &f : table) {
		check(prog_fd(), counters_fd(), f);
		ran++;
		decapsulated += f.in != f.expected;
	}
	std::printf("decap fixtures run: %zu (%zu decapsulated, %zu untouched)\n", ran, decapsulated,
	            ran - decapsulated);
	EXPECT_EQ(ran, table.size());
	// 8 tunnel kinds x (untagged, 802.1Q, QinQ), 8 with UDP inside, options, padding.
	EXPECT_EQ(decapsulated, 8u * 3 + 8 + 2);
	EXPECT_GE(ran - decapsulated, 30u);
}

// The decapsulated frame is the inner packet as the client sent it: its own
// checksums verify and its TTL is the client's.
TEST_F(decap_prog, inner_packet_keeps_its_checksums_and_ttl)
{
	for (int family : {4, 6}) {
		packet_builder inner = decap::client_packet(family);
		frame in = decap::encapsulate(inner, family, decap::outer_ip::v6, decap::tunnel::gue, 1);
		xdp_run r = run_xdp(prog_fd(), in);
		ASSERT_EQ(r.err, 0);
		const size_t l3 = 14 + 4;
		ASSERT_GT(r.out.size(), l3 + 40);
		EXPECT_TRUE(l4_checksum_ok(r.out, l3)) << hexdump(r.out);
		if (family == 4) {
			EXPECT_TRUE(ipv4_header_checksum_ok(r.out, l3));
			EXPECT_EQ(r.out[l3 + 8], 57);
		} else {
			EXPECT_EQ(r.out[l3 + 7], 51);
		}
	}
}

// A frame cut anywhere is malformed: it goes to the kernel exactly as it came.
TEST_F(decap_prog, truncated_tunnels_pass_untouched_at_every_length)
{
	size_t runs = 0;
	for (const auto &f : decap::decapsulated_fixtures()) {
		for (size_t len = 14; len < f.in.size();
		     len++) {  // BPF_PROG_TEST_RUN needs an Ethernet header
			decap::fixture cut{f.name + " cut to " + std::to_string(len),
			                   frame(f.in.begin(), f.in.begin() + static_cast<long>(len)),
			                   {},
			                   WEIR_DECAP_PASSED};
			cut.expected = cut.in;
			check(prog_fd(), counters_fd(), cut);
			runs++;
			if (HasFailure())
				return;
		}
	}
	std::printf("truncations run: %zu\n", runs);
	EXPECT_GT(runs, 1000u);
}

// A host that does not route gets no answer from the FIB: every tunnel packet
// that reaches it is taken as its own (docs/decap.md). With forwarding on, the same
// frames are another host's and pass untouched (the fixtures test).
TEST_F(decap_prog, host_that_does_not_route_decapsulates_for_any_destination)
{
	ASSERT_EQ(decap::set_forwarding(false), "");
	packet_builder in4 = decap::client_packet(4);
	packet_builder in6 = decap::client_packet(6);
	const decap::fixture cases[] = {
	        {"4in4 to a neighbour",
	         decap::encapsulate(in4, 4, decap::outer_ip::v4, decap::tunnel::ipip, 0, decap::neighbour4),
	         decap::decapsulated(in4, 0), WEIR_DECAP_4IN4},
	        {"gue6 to a blackholed address",
	         decap::encapsulate(in6, 6, decap::outer_ip::v6, decap::tunnel::gue, 0, decap::blackholed6),
	         decap::decapsulated(in6, 0), WEIR_DECAP_GUE6},
	};
	for (const auto &f : cases)
		check(prog_fd(), counters_fd(), f);
}

TEST_F(decap_prog, gue_port_is_set_before_load)
{
	std::string error;
	skel_ptr other = load_decap(7000, error);
	ASSERT_NE(other, nullptr) << error;
	skel_ptr off = load_decap(0, error);
	ASSERT_NE(off, nullptr) << error;
	const int prog = bpf_program__fd(other->progs.weir_decap);
	const int counters = bpf_map__fd(other->maps.weir_decap_counters);
	packet_builder in4 = decap::client_packet(4);
	frame to_7000 = decap::encapsulate(in4, 4, decap::outer_ip::v4, decap::tunnel::gue, 0, nullptr, 7000);
	frame to_6080 = decap::encapsulate(in4, 4, decap::outer_ip::v4, decap::tunnel::gue, 0, nullptr, 6080);
	check(prog, counters, {"gue to 7000", to_7000, decap::decapsulated(in4, 0), WEIR_DECAP_GUE4});
	check(prog, counters, {"gue to 6080", to_6080, to_6080, WEIR_DECAP_PASSED});
	// Port 0 turns GUE off; IPIP still works.
	const int off_prog = bpf_program__fd(off->progs.weir_decap);
	const int off_counters = bpf_map__fd(off->maps.weir_decap_counters);
	check(off_prog, off_counters, {"gue with port 0", to_6080, to_6080, WEIR_DECAP_PASSED});
	check(off_prog, off_counters,
	      {"4in4 with port 0", decap::encapsulate(in4, 4, decap::outer_ip::v4, decap::tunnel::ipip, 0),
	       decap::decapsulated(in4, 0), WEIR_DECAP_4IN4});
}

// The file operators load (not only the skeleton's copy) holds the program and
// its map, and loads.
TEST_F(decap_prog, object_file_loads)
{
	const std::string path = std::string(WEIR_BUILD_ROOT) + "/bpf/weir_decap.bpf.o";
	bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
	ASSERT_NE(obj, nullptr) << path;
	std::unique_ptr<bpf_object, void (*)(bpf_object *)> guard(obj, bpf_object__close);
	bpf_program *prog = bpf_object__find_program_by_name(obj, "weir_decap");
	ASSERT_NE(prog, nullptr);
	EXPECT_STREQ(bpf_program__section_name(prog), "xdp");
	EXPECT_EQ(bpf_program__type(prog), BPF_PROG_TYPE_XDP);
	bpf_map *map = bpf_object__find_map_by_name(obj, "weir_decap_counters");
	ASSERT_NE(map, nullptr);
	EXPECT_EQ(bpf_map__type(map), BPF_MAP_TYPE_PERCPU_ARRAY);
	EXPECT_EQ(bpf_map__max_entries(map), static_cast<uint32_t>(WEIR_DECAP_NR_COUNTERS));
	ASSERT_EQ(bpf_object__load(obj), 0);
	packet_builder in6 = decap::client_packet(6);
	xdp_run r = run_xdp(bpf_program__fd(prog),
	                    decap::encapsulate(in6, 6, decap::outer_ip::v6, decap::tunnel::ipip, 2));
	ASSERT_EQ(r.err, 0);
	EXPECT_EQ(frame_diff(decap::decapsulated(in6, 2), r.out), "");
}

}  // namespace
}  // namespace weir::test
