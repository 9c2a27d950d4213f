// fixtures_detail.h — what the fixture files share: the worlds, the addresses
// in them, and the builders of expected frames and steps. The expected frames are
// assembled here from the test's own knowledge (packet_builder for every header,
// weir_flow_hash on a key built from the test's addresses), never by calling the
// pipeline's writers, so a wrong writer cannot agree with itself. Test code only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fixtures.h"

namespace weir::test::fx {

// The node every world runs on.
inline constexpr const char *node4 = "10.10.0.2";
inline constexpr const char *node6 = "fd00::2";
inline constexpr uint16_t gue_port = 6080;
inline constexpr const char *port_mac = "02:00:00:00:00:aa";
inline constexpr const char *client_mac = "02:00:00:00:00:c1";
inline constexpr const char *router_mac = "02:00:00:00:01:01";  // also the IPv4 gateway's
inline constexpr const char *client4 = "198.51.100.7";
inline constexpr const char *client4b = "198.51.100.8";
inline constexpr const char *client6 = "2001:db8::7";
inline constexpr const char *router4 = "192.0.2.1";
inline constexpr const char *router6 = "2001:db8:ff::1";

// Seeds of the worlds (node.hash_seed): expected hashes are computed with them.
inline constexpr uint32_t main_seed = 0x5eed5eed;
inline constexpr uint32_t sched_seed = 0x0badcafe;

// main: one VIP per forwarding mode and family, plus the special VIPs (port 0,
// UDP, 3tuple fragments, no backends, unresolved, off-link, all drained).
world main_world();
// MTU 576 without IPv6, VIP 10.10.1.1:80 ipip -> 10.10.0.21 (ICMP quote limits).
world small_mtu_world();
// MTU 1320, VIP fd00:1::1:80 ipip -> fd00::21: the least an IPv6 VIP with ipip may have, 1280 inside.
world min_mtu6_world();
// main with an ICMP budget of one error per second.
world rate_limited_world();
// sched: one VIP per scheduler (10.10.2.1 maglev, .2 maglev_src, .3 wrr 1:2:3,
// .4 least_conn 1:2), IPv4 backends 10.10.0.21-23.
world sched_world();
// state: VIP "svc" 10.10.3.1:80/tcp and "dns" 10.10.3.2:53/udp over backends that
// change between versions: "one" (.21), "added" (.21 .22 .23), "drained" (.21
// weight 0, .22), "removed" (.22 only).
world state_world(const std::string &version);

// The resolved MAC of `addr` in `w` (throws if unresolved: a fixture bug).
mac_addr neighbour(const world &w, const std::string &addr);

// weir_flow_hash of the flow, on a key built from these values.
uint32_t flow_hash(const std::string &src, const std::string &dst, uint8_t proto, uint16_t sport,
                   uint16_t dport, uint32_t seed);

enum class mode { ipip, gue, l2dsr };

// The frame weir sends for `in` towards `backend` through next hop `mac`:
// in's L2 header (VLAN tags kept, EtherType 0x86dd for 4in6) with new MACs, the
// outer headers of `m`, then in's IP packet unchanged; `hash` is the flow hash
// (GUE source port, IPv6 flow label). l2dsr: in with new MACs, nothing else.
frame forwarded(const packet_builder &in, const world &w, mode m, const std::string &backend,
                const mac_addr &mac, uint32_t hash);

// The ICMP "fragmentation needed" (IPv4) / "packet too big" (IPv6) weir answers
// `in` with: from `vip` to `client`, back to in's source MAC, quoting as much of
// in's IP packet as fits in 576 / 1280 bytes but never more than in was long.
frame too_big_reply(const packet_builder &in, const world &w, const std::string &vip,
                    const std::string &client, uint32_t mtu);

// A client's packet to a VIP (IPv4 or IPv6 by the addresses) as weir receives
// it: from client_mac to port_mac, DF set (IPv4), 64 bytes of payload.
packet_builder tcp_in(const std::string &client, const std::string &vip, uint16_t sport, uint16_t dport = 80,
                      uint8_t flags = tcp_syn);
packet_builder udp_in(const std::string &client, const std::string &vip, uint16_t sport, uint16_t dport = 53);

// Steps. Each lists the counters it moves besides its verdict's own.
step pass(const frame &in);
step drop(const frame &in, weir_drop_reason reason, std::vector<counter_delta> moved = {});
step tx(const frame &in, frame out, std::vector<counter_delta> moved = {});
step icmp_reply(const frame &in, frame out, std::vector<counter_delta> moved = {});
// `in` forwarded to `backend` (its MAC from w's neighbours) with mode m.
step to_backend(const packet_builder &in, const world &w, mode m, const std::string &backend, uint32_t hash,
                std::vector<counter_delta> moved = {});
inline counter_delta inserted(int64_t n = 1)
{
	return {counter_id::flows_inserted, n};
}

// A fixture of one step.
fixture one(std::string name, world w, step s);
// A fixture of several steps in one world without changes.
fixture seq(std::string name, world w, std::vector<step> steps, bool burst = true);

// The fixtures by theme (fixtures_*.cpp).
std::vector<fixture> forwarding_fixtures();
std::vector<fixture> passing_fixtures();
std::vector<fixture> malformed_fixtures();
std::vector<fixture> icmp_fixtures();
std::vector<fixture> mtu_fixtures();
std::vector<fixture> backend_fixtures();
std::vector<fixture> scheduler_fixtures();
std::vector<fixture> state_fixtures();

}  // namespace weir::test::fx
