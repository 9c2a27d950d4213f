// frames.h — the frames weir_pktgen sends to a VIP and the checks on what the
// device under test sends back (weir: IPIP toward a backend; the macswap
// forwarder: the frame with its MACs swapped). Pure functions over byte buffers,
// no DPDK, so tests/bench_frames_test.cpp drives them. Threads: the generator's
// lcore only; a frame_plan is immutable once built.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace weir::bench {

using mac = std::array<uint8_t, 6>;

enum class traffic : uint8_t {
	syn,  // TCP SYN: every packet opens a connection
	established,  // TCP ACK of flows the device has already seen
	udp,  // UDP datagrams
};

enum class reply_kind : uint8_t {
	ipip,  // weir: IPv4-in-IPv4 from the node address to a backend, backend's MAC
	macswap,  // the ceiling forwarder: the same frame, Ethernet addresses swapped
};

// Flow i has source address src_base + i / ports_per_ip and source port
// 1024 + i % ports_per_ip: 1 to 10M flows from a /10, each decodable from its
// headers alone. SYN-only runs open new connections on every pass over the flows:
// pass p shifts the source addresses by p times the addresses one pass uses, so a
// 5-tuple is never repeated (for 4M / (flows / 50000) passes).
constexpr uint32_t ports_per_ip = 50000;
constexpr uint32_t max_flows = 10'000'000;
constexpr size_t stamp_len = 6;
constexpr uint32_t max_sources = 1u << 22;  // a /10 of source addresses
// Passes with distinct 5-tuples that `flows` flows have room for.
constexpr uint32_t max_passes(uint32_t flows)
{
	return max_sources / ((flows + ports_per_ip - 1) / ports_per_ip);
}  // 48-bit TSC right after the L4 header

struct frame_spec {
	mac src_mac{}, dst_mac{};
	uint32_t src_base = 0x0a400000;  // 10.64.0.0, host order
	uint32_t vip = 0;  // host order
	uint16_t vport = 80;
	traffic kind = traffic::established;
	uint16_t size = 60;  // frame length without the FCS (64-byte frame on the wire)
	uint32_t flows = 1;
};

// Builds frames quickly: a template with the L4 checksum of its fixed part
// precomputed, patched per packet with the flow's fields and the stamp.
class frame_plan {
public:
	static result<frame_plan> create(const frame_spec &spec);

	const frame_spec &spec() const { return _spec; }
	// Writes flow `flow`'s frame (spec().size bytes) of pass `pass`, stamped
	// with `stamp`.
	void build(uint8_t *buf, uint32_t flow, uint64_t stamp, uint32_t pass = 0) const;
	// The flow whose frame starts with this IPv4 header (and its L4 header
	// after it), or -1 when the headers are not one of this plan's; its pass in
	// `pass`.
	int64_t flow_of(const uint8_t *ip, size_t len, uint32_t &pass) const;

	size_t l4_offset() const { return 14 + 20; }
	size_t header_len() const { return _header_len; }  // Ethernet + IPv4 + L4

private:
	frame_spec _spec;
	std::vector<uint8_t> _template;
	size_t _header_len = 0;
	uint32_t _l4_sum = 0;
	uint32_t _pass_span = 1;  // source addresses of one pass over the flows  // unfolded L4 checksum of
	                          // the template, flow fields zero
};

enum class verdict : uint8_t {
	ok,
	not_ours,  // not IPv4, or no plan's frame inside: the exception path, ARP...
	bad_outer,  // ipip: wrong protocol, source, length or checksum
	bad_backend,  // ipip: outer destination is no backend, or the MAC is not its MAC
	bad_inner,  // the packet we sent came back altered
	bad_mac,  // macswap: Ethernet addresses not swapped
	count,
};
const char *verdict_name(verdict v);

struct backend {
	uint32_t addr = 0;  // host order
	mac hw{};
	uint32_t weight = 1;
};

struct reply_check {
	reply_kind kind = reply_kind::ipip;
	uint32_t node = 0;  // weir's node address, the outer source (host order)
	std::vector<backend> backends;
};

struct checked {
	verdict v = verdict::not_ours;
	int backend = -1;  // index in reply_check::backends (ipip)
	uint32_t flow = 0;
	uint32_t pass = 0;
	uint64_t stamp = 0;
};

checked check_reply(const frame_plan &plan, const reply_check &rc, const uint8_t *frame, size_t len);

// Parsing helpers for the command line: "02:00:00:00:00:21", "10.10.0.21".
result<mac> parse_mac(const std::string &s);
result<uint32_t> parse_ipv4(const std::string &s);
std::string format_ipv4(uint32_t addr);

}  // namespace weir::bench
