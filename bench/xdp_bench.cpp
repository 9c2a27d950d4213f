// xdp_bench.cpp — ns per packet of the XDP engine's program (weir_lb.bpf.o)
// through BPF_PROG_TEST_RUN, next to an XDP_PASS-only program (weir_pass.bpf.o)
// in the same run: the kernel times the program runs only (not the syscall), and
// reports the mean per run. Cases:
//   pass            weir_pass, one run per call (the floor of what is measured)
//   established     weir_lb, IPIP to one of 3 backends, 1,000 tracked flows
//   new flows       weir_lb, IPIP, every packet a SYN of a flow never seen
//   pass / l2dsr x N  the same program run N times in one call on one frame (l2dsr
//                   only rewrites MACs, so every run sees the same packet)
// Needs root. Usage: weir_xdp_bench [PACKETS] (default 200000).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "config.h"
#include "packet_builder.h"
#include "snapshot_builder.h"
#include "xdp_program.h"

namespace {

using namespace weir;

const char *world_toml = R"(
[node]
ipv4 = "10.10.0.2/24"
[dataplane.xdp]
interface = "eth1"
[[vip]]
name = "web"
address = "10.10.1.1"
port = 80
forwarding = "ipip"
  [[vip.backend]]
  address = "10.10.0.21"
  [[vip.backend]]
  address = "10.10.0.22"
  [[vip.backend]]
  address = "10.10.0.23"
[[vip]]
name = "dsr"
address = "10.10.1.2"
port = 80
forwarding = "l2dsr"
  [[vip.backend]]
  address = "10.10.0.21"
)";

std::shared_ptr<const dp::snapshot> snapshot_or_die(ctl::backend_registry &registry)
{
	ctl::config_report r = ctl::load_config_text(world_toml, "xdp_bench");
	if (!r.valid()) {
		std::fprintf(stderr, "xdp_bench: bad world\n");
		std::exit(1);
	}
	ctl::host_facts host;
	host.port_mac = {0x02, 0, 0, 0, 0, 0xaa};
	host.resolve = [](const ctl::ip_addr &a) -> std::optional<ctl::mac_addr> {
		return ctl::mac_addr{0x02, 0, 0, 0, 0x10, a.bytes[3]};
	};
	auto s = ctl::build_snapshot(*r.cfg, host, registry, nullptr);
	if (!s) {
		std::fprintf(stderr, "xdp_bench: %s\n", s.error_message().c_str());
		std::exit(1);
	}
	return *s;
}

test::frame syn(const char *vip, uint32_t flow)
{
	test::packet_builder b;
	std::string src = "198.18." + std::to_string((flow >> 8) & 0xff) + "." + std::to_string(flow & 0xff);
	b.eth_src("02:00:00:00:00:c1")
	        .eth_dst("02:00:00:00:00:aa")
	        .ipv4(src, vip)
	        .tcp(uint16_t(1024 + (flow >> 16)), 80, test::tcp_syn);
	return b.build();
}

// One BPF_PROG_TEST_RUN: the kernel's mean ns per run, or -1.
double run(int fd, const test::frame &in, uint32_t repeat, uint32_t *retval = nullptr)
{
	std::vector<uint8_t> out(in.size() + 256);
	bpf_test_run_opts o{};
	o.sz = sizeof(o);
	o.data_in = in.data();
	o.data_size_in = uint32_t(in.size());
	o.data_out = out.data();
	o.data_size_out = uint32_t(out.size());
	o.repeat = repeat;
	if (bpf_prog_test_run_opts(fd, &o) != 0)
		return -1;
	if (retval)
		*retval = o.retval;
	return double(o.duration);
}

// Mean ns per packet over `frames`, one call each, `total` calls in all.
double per_call(int fd, const std::vector<test::frame> &frames, size_t total, uint32_t want)
{
	double sum = 0;
	for (size_t i = 0; i < total; i++) {
		uint32_t rv = 0;
		double ns = run(fd, frames[i % frames.size()], 1, &rv);
		if (ns < 0 || rv != want) {
			std::fprintf(stderr, "xdp_bench: unexpected result %u (want %u)\n", rv, want);
			std::exit(1);
		}
		sum += ns;
	}
	return sum / double(total);
}

int load_pass()
{
	const std::string path = std::string(WEIR_BUILD_ROOT) + "/bpf/weir_pass.bpf.o";
	bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
	if (!obj || bpf_object__load(obj) != 0) {
		std::fprintf(stderr, "xdp_bench: cannot load %s\n", path.c_str());
		std::exit(1);
	}
	return bpf_program__fd(bpf_object__find_program_by_name(obj, "weir_pass"));
}

}  // namespace

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		std::fprintf(stderr, "xdp_bench: needs root (BPF_PROG_TEST_RUN)\n");
		return 1;
	}
	size_t packets = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200000;
	xdp::program_options po;
	po.flow_table_size = uint32_t(packets + 4096);
	auto prog = xdp::program::load(po);
	if (!prog) {
		std::fprintf(stderr, "xdp_bench: %s\n", prog.error_message().c_str());
		return 1;
	}
	ctl::backend_registry registry;
	auto snap = snapshot_or_die(registry);
	if (!(*prog)->publish(*snap) || !(*prog)->set_clock(1000))
		return 1;
	int lb = (*prog)->prog_fd(), pass = load_pass();

	std::vector<test::frame> established, fresh;
	for (uint32_t f = 0; f < 1000; f++)
		established.push_back(syn("10.10.1.1", f));
	for (uint32_t f = 0; f < packets; f++)
		fresh.push_back(syn("10.10.1.1", 0x10000 + f));
	per_call(lb, established, established.size(), XDP_TX);  // tracks them

	double ns_pass = per_call(pass, established, packets, XDP_PASS);
	double ns_est = per_call(lb, established, packets, XDP_TX);
	double ns_new = per_call(lb, fresh, packets, XDP_TX);
	uint64_t inserted = 0;
	for (uint64_t v : (*prog)->counter(WEIR_XDP_FLOWS_INSERTED))
		inserted += v;
	const uint32_t repeat = 1000000;
	test::frame dsr = syn("10.10.1.2", 7);
	double ns_pass_rep = run(pass, dsr, repeat);
	double ns_dsr_rep = run(lb, dsr, repeat);

	std::printf("weir_lb through BPF_PROG_TEST_RUN, ns per packet (kernel-timed mean)\n");
	std::printf("  %-44s %8.1f ns  (%zu calls)\n", "XDP_PASS program (weir_pass)", ns_pass, packets);
	std::printf("  %-44s %8.1f ns  (%zu calls, 1000 flows)\n", "weir_lb established flow, IPIP", ns_est,
	            packets);
	std::printf("  %-44s %8.1f ns  (%zu calls, %llu flows inserted)\n", "weir_lb new flow (SYN), IPIP",
	            ns_new, packets, (unsigned long long)inserted);
	std::printf("  %-44s %8.1f ns  (repeat %u)\n", "XDP_PASS program, one frame repeated", ns_pass_rep,
	            repeat);
	std::printf("  %-44s %8.1f ns  (repeat %u)\n", "weir_lb established flow, l2dsr, repeated",
	            ns_dsr_rep, repeat);
	return 0;
}
