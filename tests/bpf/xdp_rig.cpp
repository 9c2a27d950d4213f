// xdp_rig.cpp — snapshots of fixture worlds, the C++ reference pipeline and
// program runs for the XDP engine's tests (xdp_rig.h). One thread.
#include "xdp_rig.h"

#include <linux/bpf.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "bpf_test_env.h"
#include "config.h"
#include "weir_verdict.h"

namespace weir::test {

result<std::shared_ptr<const dp::snapshot>> world_snapshot(const world &w, ctl::backend_registry &registry,
                                                           const dp::snapshot *previous)
{
	ctl::config_report report = ctl::load_config_text(w.config, w.name);
	if (!report.valid()) {
		std::string out = "world " + w.name + " is not a valid configuration:";
		for (const ctl::config_problem &p : report.problems)
			out += " " + p.to_string();
		return error{out};
	}
	ctl::host_facts host;
	host.port_mac = w.port_mac;
	host.icmp_rate = w.icmp_rate;
	host.resolve = [n = w.neighbours](const ctl::ip_addr &a) -> std::optional<ctl::mac_addr> {
		for (const auto &[addr, mac] : n)
			if (ctl::ip_addr::parse(addr) == a)
				return mac;
		return std::nullopt;
	};
	return ctl::build_snapshot(*report.cfg, host, registry, previous);
}

uint8_t verdict_of_xdp(uint32_t action)
{
	switch (action) {
	case XDP_TX:
		return WEIR_VERDICT_TX;
	case XDP_PASS:
		return WEIR_VERDICT_PASS;
	case XDP_DROP:
		return WEIR_VERDICT_DROP;
	default:
		return 0xff;
	}
}

cpp_engine::cpp_engine()
{
	auto t = dp::flow_table::create(1u << 16);
	if (!t)
		throw std::runtime_error(t.error_message());
	_flows = std::move(*t);
	_pipe = std::make_unique<dp::pipeline>(*_flows, _ctr);
}

outcome cpp_engine::run(const dp::snapshot &s, const frame &in, uint32_t headroom, uint32_t now)
{
	std::vector<uint8_t> buf(headroom + in.size());
	std::copy(in.begin(), in.end(), buf.begin() + headroom);
	dp::frame f{buf.data() + headroom, uint32_t(in.size()), headroom};
	uint8_t verdict = 0xff;
	_pipe->process(s, &f, &verdict, 1, now);
	return {verdict, frame(f.data, f.data + f.len)};
}

outcome run_program(const xdp::program &p, const frame &in)
{
	xdp_run r = run_xdp(p.prog_fd(), in);
	if (r.err != 0)
		return {0xff, {}};
	return {verdict_of_xdp(r.verdict), std::move(r.out)};
}

uint64_t xdp_counter(const xdp::program &p, uint32_t index)
{
	uint64_t sum = 0;
	for (uint64_t v : p.counter(index))
		sum += v;
	return sum;
}

std::string pin_to_cpu(unsigned cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return std::string("sched_setaffinity: ") + std::strerror(errno);
	return "";
}

}  // namespace weir::test
