// xdp_random_flows_test.cpp — both engines choose alike: 100,000 random client
// flows to a VIP over 100 weighted backends, each first packet through
// weir_lb.bpf.o and through the C++ pipeline, must leave as the same bytes (so to
// the same backend, with the same GUE source port); and the last 1,000 flows'
// entries, looked up as `weirctl explain` does, name that backend. Prints the
// counts compared. Runs as root in a private network namespace; main thread.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "bpf_test_env.h"
#include "weir_parse.h"
#include "xdp_rig.h"

namespace weir::test {
namespace {

constexpr int backends = 100;
constexpr size_t flows = 100000;
constexpr size_t looked_up = 1000;  // the last flows, still in the LRU table
constexpr uint32_t seed = 0x1234abcd;

// The flow's entry, as `weirctl explain` finds it, names the backend the packet
// went to (the outer destination of `out`).
bool entry_names_backend(const xdp::program &p, const dp::snapshot &s, const frame &in, const frame &out)
{
	weir_pkt pkt;
	uint8_t reason = 0;
	if (weir_parse(in.data(), in.data() + in.size(), &pkt, &reason) != WEIR_PARSE_IP)
		return false;
	uint32_t hash, sig;
	weir_flow_hash_sig(&pkt.key, seed, &hash, &sig);
	auto e = p.find_flow(hash, sig);
	const weir_backend *b = e ? s.backend_by_ref(e->backend_ref) : nullptr;
	return b && out.size() > 34 &&
	       std::equal(out.begin() + 30, out.begin() + 34, (const uint8_t *)b->addr);
}

std::string backend_addr(int i)
{
	return "10.10.0." + std::to_string(100 + i);
}

// One IPv4 VIP (gue, maglev) over 100 on-link backends of weights 1..10.
world weighted_world(std::mt19937 &rng)
{
	world w;
	w.name = "random_flows";
	w.port_mac = {0x02, 0, 0, 0, 0, 0xaa};
	w.config = R"([node]
ipv4 = "10.10.0.2/24"
hash_seed = "1234abcd"

[dataplane]
mtu = 1500

[dataplane.xdp]
interface = "eth1"

[[vip]]
name = "many"
address = "10.10.5.1"
port = 80
protocol = "tcp"
forwarding = "gue"
table_size = 65537
)";
	std::uniform_int_distribution<int> weight(1, 10);
	for (int i = 0; i < backends; i++) {
		w.config += "\n  [[vip.backend]]\n  address = \"" + backend_addr(i) +
		            "\"\n  weight = " + std::to_string(weight(rng)) + "\n";
		w.neighbours.push_back({backend_addr(i), {0x02, 0, 0, 0, 0x10, uint8_t(i)}});
	}
	return w;
}

TEST(xdp_random_flows, same_backend_as_the_pipeline)
{
	WEIR_REQUIRE_BPF_PRIVILEGE();
	ASSERT_EQ(enter_private_netns(), "");
	ASSERT_EQ(pin_to_cpu(0), "");
	auto prog = xdp::program::load({});
	ASSERT_TRUE(prog) << prog.error_message();
	std::mt19937 rng(20261204);
	world w = weighted_world(rng);
	ctl::backend_registry registry;
	auto snap = world_snapshot(w, registry, nullptr);
	ASSERT_TRUE(snap) << snap.error_message();
	ASSERT_TRUE((*prog)->publish(**snap));
	ASSERT_TRUE((*prog)->set_clock(1000));
	cpp_engine cpp;

	std::uniform_int_distribution<uint32_t> any;
	size_t compared = 0, differences = 0, forwarded = 0, entries = 0;
	std::map<std::string, size_t> per_backend;
	for (size_t i = 0; i < flows; i++) {
		uint32_t r = any(rng);
		std::string client = "198." + std::to_string(18 + (r >> 31)) + "." +
		                     std::to_string((r >> 8) & 0xff) + "." + std::to_string(r & 0xff);
		packet_builder b;
		b.eth_src("02:00:00:00:00:c1")
		        .eth_dst("02:00:00:00:00:aa")
		        .ipv4(client, "10.10.5.1")
		        .tcp(uint16_t(1024 + (r >> 16) % 64000), 80, tcp_syn);
		frame in = b.build();
		outcome got = run_program(**prog, in);
		outcome ref = cpp.run(**snap, in, 128, 1000);
		compared++;
		if (got.verdict != ref.verdict || got.out != ref.out) {
			if (++differences <= 3)
				ADD_FAILURE() << "flow " << i << " from " << client << ": "
				              << frame_diff(ref.out, got.out);
			continue;
		}
		if (i >= flows - looked_up && entry_names_backend(**prog, **snap, in, got.out))
			entries++;
		if (got.verdict == WEIR_VERDICT_TX && got.out.size() > 34) {
			forwarded++;
			per_backend[std::to_string(got.out[30]) + "." + std::to_string(got.out[31]) + "." +
			            std::to_string(got.out[32]) + "." + std::to_string(got.out[33])]++;
		}
	}
	std::printf("random flows: %zu compared, %zu differences, %zu forwarded to %zu of %d backends; "
	            "%zu of the last %zu found tracked to their backend\n",
	            compared, differences, forwarded, per_backend.size(), backends, entries, looked_up);
	EXPECT_EQ(compared, flows);
	EXPECT_EQ(differences, 0u);
	EXPECT_EQ(forwarded, flows);
	EXPECT_EQ(per_backend.size(), size_t(backends));
	EXPECT_EQ(entries, looked_up);
}

}  // namespace
}  // namespace weir::test
