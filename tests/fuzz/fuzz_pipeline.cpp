// fuzz_pipeline.cpp — libFuzzer target over the whole packet pipeline: parser,
// VIP lookup, flow table, schedulers, encapsulation and ICMP generation, against a
// snapshot with a VIP of every kind. Built with clang (ASan + UBSan) by
// tests/fuzz/meson.build; one process, one thread.
//
// Input: byte 0 = headroom before the frame, byte 1 = seconds to advance the
// clock, the rest = the frame. Each input is processed twice (the second time
// meets the flow entry the first created) and then as part of a burst of copies.
// Beyond the sanitizers, it traps on: an unknown verdict, a TX frame outside its
// buffer or longer than the input plus the largest encapsulation, and a PASS
// frame that was modified.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "config.h"
#include "pipeline.h"
#include "snapshot_builder.h"

namespace {

using namespace weir;

ctl::ip_addr addr(const char *s)
{
	return *ctl::ip_addr::parse(s);
}

ctl::vip_config vip(const char *name, const char *address, uint16_t port, ctl::protocol proto,
                    ctl::scheduler_kind sched, ctl::forwarding_kind fwd, std::vector<const char *> backends)
{
	ctl::vip_config v;
	v.name = name;
	v.address = addr(address);
	v.port = port;
	v.proto = proto;
	v.scheduler = sched;
	v.forwarding = fwd;
	v.table_size = 1009;
	uint32_t w = 1;
	for (const char *b : backends)
		v.backends.push_back({addr(b), w++, std::nullopt});
	return v;
}

ctl::config world()
{
	using ctl::forwarding_kind;
	using ctl::protocol;
	using ctl::scheduler_kind;
	ctl::config c;
	c.node.ipv4 = *ctl::ip_prefix::parse("10.10.0.2/24");
	c.node.ipv6 = *ctl::ip_prefix::parse("fd00::2/64");
	c.node.gateway = addr("10.10.0.1");
	c.dataplane.mtu = 1500;
	const char *v4[] = {"10.10.0.21", "10.10.0.22", "10.10.0.23"};
	const char *v6[] = {"fd00::21", "fd00::22"};
	c.vips.push_back(vip("ipip4", "10.10.1.1", 80, protocol::tcp, scheduler_kind::maglev,
	                     forwarding_kind::ipip, {v4[0], v4[1], v4[2]}));
	c.vips.push_back(vip("gue4", "10.10.1.1", 53, protocol::udp, scheduler_kind::maglev_src,
	                     forwarding_kind::gue, {v4[0], "10.20.0.9"}));  // off-link: via the gateway
	c.vips.push_back(vip("l2dsr4", "10.10.1.2", 443, protocol::tcp, scheduler_kind::wrr,
	                     forwarding_kind::l2dsr, {v4[1], v4[2]}));
	c.vips.push_back(vip("any4", "10.10.1.3", 0, protocol::udp, scheduler_kind::least_conn,
	                     forwarding_kind::ipip, {v4[0], v4[2]}));
	c.vips.back().fragments = ctl::fragment_policy::three_tuple;
	c.vips.push_back(vip("v4in6", "10.10.1.4", 80, protocol::tcp, scheduler_kind::maglev,
	                     forwarding_kind::gue, {v6[0], v6[1]}));
	c.vips.push_back(vip("ipip6", "fd00:1::1", 80, protocol::tcp, scheduler_kind::maglev,
	                     forwarding_kind::ipip, {v6[0], v6[1]}));
	c.vips.push_back(vip("gue6", "fd00:1::1", 0, protocol::udp, scheduler_kind::least_conn,
	                     forwarding_kind::gue, {v6[0], v6[1]}));
	c.vips.back().fragments = ctl::fragment_policy::three_tuple;
	c.vips.push_back(vip("l2dsr6", "fd00:1::2", 443, protocol::tcp, scheduler_kind::wrr,
	                     forwarding_kind::l2dsr, {v6[0]}));
	c.vips.push_back(vip("drained", "10.10.1.5", 80, protocol::tcp, scheduler_kind::maglev,
	                     forwarding_kind::ipip, {v4[0]}));
	c.vips.back().backends[0].weight = 0;
	c.vips.push_back(vip("unresolved", "10.10.1.6", 80, protocol::tcp, scheduler_kind::maglev,
	                     forwarding_kind::ipip, {"10.10.0.99"}));
	return c;
}

struct harness {
	std::shared_ptr<const dp::snapshot> snap;
	std::unique_ptr<dp::flow_table> flows;
	dp::worker_counters counters;
	std::unique_ptr<dp::pipeline> pipe;
	uint32_t now = 1000;

	harness()
	{
		ctl::host_facts host;
		host.port_mac = {0x02, 0, 0, 0, 0, 0x02};
		host.resolve = [](const ctl::ip_addr &a) -> std::optional<ctl::mac_addr> {
			if (a == addr("10.10.0.99"))
				return std::nullopt;
			return ctl::mac_addr{0x02, 0xbb, 0, 0, 0, a.bytes[a.is_v4() ? 3 : 15]};
		};
		host.icmp_rate = 1u << 30;
		ctl::backend_registry registry;
		auto s = ctl::build_snapshot(world(), host, registry, nullptr);
		if (!s)
			__builtin_trap();
		snap = *s;
		flows = dp::flow_table::create(1024).value();
		pipe = std::make_unique<dp::pipeline>(*flows, counters);
	}
};

constexpr uint32_t buffer_size = 512 + 9216;
constexpr uint32_t max_overhead = 48;  // IPv6 + UDP

void check(uint8_t verdict, const dp::frame &f, const uint8_t *buf, const uint8_t *in, uint32_t in_len)
{
	if (verdict > WEIR_VERDICT_DROP)
		__builtin_trap();
	if (verdict == WEIR_VERDICT_TX &&
	    (f.data < buf || f.data + f.len > buf + buffer_size || f.len > in_len + max_overhead))
		__builtin_trap();
	if (verdict == WEIR_VERDICT_PASS && (f.len != in_len || std::memcmp(f.data, in, in_len) != 0))
		__builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static harness h;
	if (size < 2 || size - 2 > 9216)
		return 0;
	uint32_t headroom = data[0];
	h.now += data[1];
	const uint8_t *in = data + 2;
	uint32_t len = uint32_t(size - 2);

	static uint8_t bufs[dp::pipeline::max_burst][buffer_size];
	for (int round = 0; round < 2; round++) {
		std::memcpy(bufs[0] + headroom, in, len);
		dp::frame f{bufs[0] + headroom, len, headroom};
		uint8_t verdict;
		h.pipe->process(*h.snap, &f, &verdict, 1, h.now);
		check(verdict, f, bufs[0], in, len);
	}
	constexpr uint32_t burst = 8;
	dp::frame fs[burst];
	uint8_t verdicts[burst];
	for (uint32_t i = 0; i < burst; i++) {
		std::memcpy(bufs[i] + headroom, in, len);
		fs[i] = dp::frame{bufs[i] + headroom, len, headroom};
	}
	h.pipe->process(*h.snap, fs, verdicts, burst, h.now);
	for (uint32_t i = 0; i < burst; i++)
		check(verdicts[i], fs[i], bufs[i], in, len);
	return 0;
}
