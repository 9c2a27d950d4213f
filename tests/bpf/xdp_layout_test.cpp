// xdp_layout_test.cpp — every struct the C++ side and weir_lb.bpf.o share has the
// same size and the same member offsets in both: C++'s sizeof/offsetof against
// the BTF that clang wrote into the built object. A member added on one side
// only, or laid out differently by the two compilers, fails here. Needs no
// privilege (the object file is only read); main thread.
#include <gtest/gtest.h>

#include <bpf/btf.h>

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "weir_abi.h"
#include "weir_packet.h"
#include "weir_xdp_abi.h"

namespace weir::test {
namespace {

struct member {
	const char *name;
	size_t offset;
};

struct layout {
	const char *name;
	size_t size;
	std::vector<member> members;
};

#define WEIR_M(type, field)                                                                                  \
	member                                                                                               \
	{                                                                                                    \
#field, offsetof(type, field)                                                                \
	}

std::vector<layout> shared_layouts()
{
	return {
	        {"weir_flow_key",
	         sizeof(weir_flow_key),
	         {WEIR_M(weir_flow_key, saddr), WEIR_M(weir_flow_key, daddr), WEIR_M(weir_flow_key, sport),
	          WEIR_M(weir_flow_key, dport), WEIR_M(weir_flow_key, proto), WEIR_M(weir_flow_key, family),
	          WEIR_M(weir_flow_key, pad)}},
	        {"weir_pkt",
	         sizeof(weir_pkt),
	         {WEIR_M(weir_pkt, key), WEIR_M(weir_pkt, inner), WEIR_M(weir_pkt, l3_off),
	          WEIR_M(weir_pkt, l4_off), WEIR_M(weir_pkt, l3_len), WEIR_M(weir_pkt, proto_off),
	          WEIR_M(weir_pkt, vlans), WEIR_M(weir_pkt, flags), WEIR_M(weir_pkt, ttl),
	          WEIR_M(weir_pkt, vip_drop), WEIR_M(weir_pkt, icmp_type), WEIR_M(weir_pkt, icmp_code),
	          WEIR_M(weir_pkt, pad)}},
	        {"weir_vip_key",
	         sizeof(weir_vip_key),
	         {WEIR_M(weir_vip_key, addr), WEIR_M(weir_vip_key, port), WEIR_M(weir_vip_key, proto),
	          WEIR_M(weir_vip_key, family)}},
	        {"weir_vip",
	         sizeof(weir_vip),
	         {WEIR_M(weir_vip, id), WEIR_M(weir_vip, table_size), WEIR_M(weir_vip, backend_first),
	          WEIR_M(weir_vip, backend_count), WEIR_M(weir_vip, scheduler), WEIR_M(weir_vip, forwarding),
	          WEIR_M(weir_vip, flags), WEIR_M(weir_vip, pad), WEIR_M(weir_vip, counter_id)}},
	        {"weir_backend",
	         sizeof(weir_backend),
	         {WEIR_M(weir_backend, addr), WEIR_M(weir_backend, ref), WEIR_M(weir_backend, weight),
	          WEIR_M(weir_backend, vip_id), WEIR_M(weir_backend, family), WEIR_M(weir_backend, flags),
	          WEIR_M(weir_backend, next_hop_mac)}},
	        {"weir_node",
	         sizeof(weir_node),
	         {WEIR_M(weir_node, ipv4), WEIR_M(weir_node, ipv6), WEIR_M(weir_node, mac),
	          WEIR_M(weir_node, mtu), WEIR_M(weir_node, gue_port), WEIR_M(weir_node, has_ipv6),
	          WEIR_M(weir_node, pad), WEIR_M(weir_node, hash_seed), WEIR_M(weir_node, timeout_tcp),
	          WEIR_M(weir_node, timeout_tcp_closing), WEIR_M(weir_node, timeout_udp),
	          WEIR_M(weir_node, icmp_rate)}},
	        {"weir_xdp_state",
	         sizeof(weir_xdp_state),
	         {WEIR_M(weir_xdp_state, generation), WEIR_M(weir_xdp_state, fixed_now)}},
	        {"weir_xdp_vip_key",
	         sizeof(weir_xdp_vip_key),
	         {WEIR_M(weir_xdp_vip_key, key), WEIR_M(weir_xdp_vip_key, generation)}},
	        {"weir_xdp_flow_key",
	         sizeof(weir_xdp_flow_key),
	         {WEIR_M(weir_xdp_flow_key, hash), WEIR_M(weir_xdp_flow_key, sig)}},
	        {"weir_xdp_flow",
	         sizeof(weir_xdp_flow),
	         {WEIR_M(weir_xdp_flow, backend_ref), WEIR_M(weir_xdp_flow, expires),
	          WEIR_M(weir_xdp_flow, state), WEIR_M(weir_xdp_flow, pad)}},
	        {"weir_xdp_icmp_budget",
	         sizeof(weir_xdp_icmp_budget),
	         {WEIR_M(weir_xdp_icmp_budget, second), WEIR_M(weir_xdp_icmp_budget, budget),
	          WEIR_M(weir_xdp_icmp_budget, primed), WEIR_M(weir_xdp_icmp_budget, pad)}},
	        {"weir_xdp_traffic",
	         sizeof(weir_xdp_traffic),
	         {WEIR_M(weir_xdp_traffic, packets), WEIR_M(weir_xdp_traffic, bytes)}},
	};
}

struct btf_deleter {
	void operator()(btf *b) const { btf__free(b); }
};

TEST(xdp_layout, shared_structs_match_the_objects_btf)
{
	const std::string path = std::string(WEIR_BUILD_ROOT) + "/bpf/weir_lb.bpf.o";
	std::unique_ptr<btf, btf_deleter> b(btf__parse_elf(path.c_str(), nullptr));
	ASSERT_NE(b, nullptr) << "no BTF in " << path << " (built with -g?)";
	size_t checked = 0;
	for (const layout &l : shared_layouts()) {
		SCOPED_TRACE(l.name);
		int id = btf__find_by_name_kind(b.get(), l.name, BTF_KIND_STRUCT);
		ASSERT_GT(id, 0) << "struct " << l.name << " is not in the object's BTF";
		const btf_type *t = btf__type_by_id(b.get(), uint32_t(id));
		EXPECT_EQ(size_t(t->size), l.size) << "sizeof(struct " << l.name << ")";
		EXPECT_EQ(size_t(btf_vlen(t)), l.members.size()) << "members of " << l.name;
		const btf_member *m = btf_members(t);
		for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
			std::string name = btf__name_by_offset(b.get(), m->name_off);
			bool found = false;
			for (const member &cm : l.members) {
				if (name != cm.name)
					continue;
				found = true;
				EXPECT_EQ(size_t(btf_member_bit_offset(t, i)), cm.offset * 8)
				        << l.name << "." << name;
				EXPECT_EQ(btf_member_bitfield_size(t, i), 0u)
				        << l.name << "." << name << " is a bitfield";
			}
			EXPECT_TRUE(found) << l.name << "." << name << " exists in BPF only";
			checked++;
		}
	}
	std::printf("xdp layout: %zu structs, %zu members checked against the BTF of %s\n",
	            shared_layouts().size(), checked, path.c_str());
	EXPECT_GE(checked, 60u);
}

}  // namespace
}  // namespace weir::test
