// xdp_engine.cpp — attaching weir_lb to the data port, publication and counters
// (xdp_engine.h). Control thread only.
#include "xdp_engine.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace weir::xdp {

namespace {

result<std::array<uint8_t, 6>> interface_mac(const std::string &name)
{
	int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error{std::string("socket: ") + std::strerror(errno)};
	ifreq req{};
	std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
	int rc = ::ioctl(fd, SIOCGIFHWADDR, &req);
	int err = errno;
	::close(fd);
	if (rc != 0)
		return error{"cannot read the MAC of " + name + ": " + std::strerror(err)};
	std::array<uint8_t, 6> mac{};
	std::memcpy(mac.data(), req.ifr_hwaddr.sa_data, 6);
	return mac;
}

}  // namespace

result<std::unique_ptr<xdp_engine>> xdp_engine::create(const xdp_options &opt)
{
	std::unique_ptr<xdp_engine> e(new xdp_engine());
	e->_interface = opt.interface;
	e->_ifindex = int(if_nametoindex(opt.interface.c_str()));
	if (e->_ifindex == 0)
		return error{"XDP: interface " + opt.interface + " not found (dataplane.xdp.interface)"};
	auto mac = interface_mac(opt.interface);
	if (!mac)
		return error{"XDP: " + mac.error_message()};
	e->_mac = *mac;
	program_options po;
	po.flow_table_size = opt.flow_table_size;
	auto prog = program::load(po);
	if (!prog)
		return error{prog.error_message()};
	e->_prog = std::move(*prog);
	e->_counters = std::vector<dp::worker_counters>(program::possible_cpus());
	// Never replace a program someone else attached: that is theirs to remove.
	e->_attach_flags =
	        XDP_FLAGS_UPDATE_IF_NOEXIST | (opt.generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
	if (int err = bpf_xdp_attach(e->_ifindex, e->_prog->prog_fd(), e->_attach_flags, nullptr); err != 0) {
		std::string why = err == -EBUSY || err == -EEXIST ? "another XDP program is attached to it"
		                                                  : std::strerror(-err);
		if (!opt.generic && err == -EOPNOTSUPP)
			why += " (the driver has no native XDP: mode = \"generic\" works anywhere, slower)";
		return error{"XDP: cannot attach to " + opt.interface + " in " +
		             (opt.generic ? "generic" : "native") + " mode: " + why};
	}
	e->_attached = true;
	e->_sweeper = std::thread([raw = e.get()] { raw->sweeper(); });
	return e;
}

// Visits the whole flow table in about a minute, a slice each second: expired
// entries that no packet looks up again stop counting for least_conn.
void xdp_engine::sweeper()
{
	const uint32_t budget = _prog->flow_capacity() / 60 + 1024;
	std::unique_lock<std::mutex> lock(_sweep_mutex);
	while (!_sweep_wake.wait_for(lock, std::chrono::seconds(1), [this] { return _stopping; })) {
		lock.unlock();
		_prog->sweep(budget);
		lock.lock();
	}
}

xdp_engine::~xdp_engine()
{
	stop();
}

status xdp_engine::publish(std::shared_ptr<const dp::snapshot> s)
{
	if (status st = _prog->publish(*s); !st)
		return st;
	_current = std::move(s);
	return ok();
}

std::vector<dp::worker_view> xdp_engine::workers() const
{
	_prog->read_counters(_counters);
	std::vector<dp::worker_view> out;
	for (unsigned c = 0; c < _counters.size(); c++)
		out.push_back({c, &_counters[c], nullptr});
	return out;
}

std::optional<dp::tracked_flow> xdp_engine::find_flow(uint32_t hash, uint32_t sig) const
{
	auto f = _prog->find_flow(hash, sig);
	if (!f)
		return std::nullopt;
	return dp::tracked_flow{f->backend_ref, f->expires - _prog->now(), 0,
	                        f->state == WEIR_XDP_FLOW_TCP_CLOSING};
}

void xdp_engine::stop()
{
	if (_sweeper.joinable()) {
		{
			std::lock_guard<std::mutex> guard(_sweep_mutex);
			_stopping = true;
		}
		_sweep_wake.notify_all();
		_sweeper.join();
	}
	if (!_attached)
		return;
	_attached = false;
	// Only our own program comes off: XDP_FLAGS_REPLACE with its fd.
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = _prog->prog_fd());
	uint32_t flags = (_attach_flags & XDP_FLAGS_MODES) | XDP_FLAGS_REPLACE;
	bpf_xdp_attach(_ifindex, -1, flags, &opts);
}

}  // namespace weir::xdp
