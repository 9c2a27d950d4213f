// decap_fixtures.h — the frames weir_decap.bpf.o is tested on: what weir sends
// (every tunnel kind, untagged, 802.1Q and QinQ), what it must pass untouched, and
// the network namespace that gives "addressed to this host" a meaning. Test data;
// built and used by the test's main thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "packet_builder.h"

namespace weir::test::decap {

// The backend's addresses (outer destinations of its tunnels), an on-link
// neighbour's, and a blackholed one, as setup_netns() configures them.
inline constexpr const char *host4 = "192.0.2.10";
inline constexpr const char *host6 = "2001:db8::10";
inline constexpr const char *neighbour4 = "192.0.2.99";
inline constexpr const char *neighbour6 = "2001:db8::99";
inline constexpr const char *blackholed4 = "203.0.113.10";
inline constexpr const char *blackholed6 = "2001:db8:dead::10";

// In a private network namespace (enter_private_netns): lo up, a veth with the
// host's addresses, blackhole routes, and forwarding on (the FIB answers for a
// host that routes). "" on success.
std::string setup_netns();
// net.ipv{4,6}.conf.all.forwarding of the current namespace. "" on success.
std::string set_forwarding(bool on);

enum class outer_ip { v4, v6 };
enum class tunnel { ipip, gue };

// An inner packet as a client sends it to a VIP: TCP with data (`family` 4 or 6).
packet_builder client_packet(int family);

// `inner` as weir forwards it to `dst` (default: the host), with `vlans` tags (0, 1
// 802.1Q, 2 QinQ), GUE to `gue_port`.
frame encapsulate(const packet_builder &inner, int inner_family, outer_ip outer, tunnel kind, int vlans,
                  const char *dst = nullptr, uint16_t gue_port = 6080);
// What the backend's stack must receive: `inner` behind the same Ethernet
// addresses and tags.
frame decapsulated(const packet_builder &inner, int vlans);

struct fixture {
	std::string name;
	frame in;
	frame expected;  // the decapsulated frame, or `in` itself when it must pass untouched
	uint32_t counter;  // the weir_decap_counter that counts it
};

// Everything weir sends, each untagged, with one tag and with two (expected:
// decapsulated), and what must pass untouched: other traffic, look-alikes,
// malformed frames, tunnels to other hosts (with forwarding on).
std::vector<fixture> fixtures();

// The tunnel frames of fixtures() that are decapsulated, to be cut at every length.
std::vector<fixture> decapsulated_fixtures();

}  // namespace weir::test::decap
