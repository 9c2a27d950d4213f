// daemon.cpp — start-up, the event loop, reload and shutdown (control thread).
#include "daemon.h"

#include <rte_eal.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>

#include "control_socket.h"
#include "dpdk_engine.h"
#include "log.h"
#include "netlink.h"
#include "snapshot_builder.h"
#include "stats.h"
#include "xdp_engine.h"

namespace weir::ctl {

namespace {

// Owns a file descriptor.
struct fd_guard {
	int fd = -1;
	~fd_guard()
	{
		if (fd >= 0)
			::close(fd);
	}
};

// SIGTERM, SIGINT and SIGHUP are read from a signalfd by the control thread. They
// are blocked before any other thread exists (the EAL starts several), so every
// thread inherits the mask and none of them takes the default action.
sigset_t handled_signals()
{
	sigset_t set;
	sigemptyset(&set);
	for (int sig : {SIGTERM, SIGINT, SIGHUP})
		sigaddset(&set, sig);
	return set;
}

class daemon {
public:
	explicit daemon(config cfg) : _cfg(std::move(cfg)) {}
	~daemon();
	status start();
	void run();

private:
	status start_engine();
	status start_dpdk();
	status start_xdp();
	status setup_tap();
	status rebuild(const char *why);
	void resolve_next_hops();
	void reload();
	void register_commands();
	std::optional<mac_addr> resolve(const ip_addr &a);

	config _cfg;
	std::chrono::steady_clock::time_point _started = std::chrono::steady_clock::now();
	std::unique_ptr<dp::engine> _engine;
	dp::dpdk_engine *_dpdk = nullptr;  // _engine when it is DPDK's: its start, TAP and EAL
	std::unique_ptr<control_socket> _socket;
	backend_registry _registry;
	host_facts _host;
	std::shared_ptr<const dp::snapshot> _snap;
	int _tap_index = -1;
	std::map<ip_addr, mac_addr> _resolved;  // next hops as last seen in the neighbour table
	fd_guard _signals, _timer, _epoll;
};

daemon::~daemon()
{
	_socket.reset();  // removes the socket file
	if (_engine) {
		_engine->stop();
		_engine.reset();
		if (_dpdk)
			rte_eal_cleanup();
	}
}

status daemon::start_engine()
{
	if (_cfg.dataplane.engine == engine_kind::dpdk)
		return start_dpdk();
	if (_cfg.dataplane.engine == engine_kind::xdp)
		return start_xdp();
	status dpdk = start_dpdk();
	if (dpdk)
		return dpdk;
	if (_cfg.dataplane.xdp.interface.empty())
		return error{"dataplane.engine = \"auto\": DPDK cannot start (" + dpdk.error_message() +
		             ") and there is no dataplane.xdp.interface for XDP"};
	// Start-up failure stays one line: the fallback is logged once XDP runs.
	if (status xdp = start_xdp(); !xdp)
		return error{"dataplane.engine = \"auto\": DPDK cannot start (" + dpdk.error_message() +
		             "), nor XDP (" + xdp.error_message() + ")"};
	log_warning("DPDK cannot start (" + dpdk.error_message() + "): running the XDP engine on " +
	            _cfg.dataplane.xdp.interface);
	return ok();
}

status daemon::start_dpdk()
{
	const dpdk_config &d = _cfg.dataplane.dpdk;
	if (d.port.empty())
		return error{"no DPDK port (dataplane.dpdk.port)"};
	dp::dpdk_options opt;
	opt.eal_args = d.eal_args;
	opt.port = d.port;
	opt.workers = _cfg.dataplane.workers;
	opt.flow_table_size = _cfg.dataplane.flow_table_size;
	opt.exception_path = d.exception_path;
	opt.tap_name = d.tap_name;
	opt.log_line = [](const std::string &line) { log(log_level::debug, "dpdk: " + line); };
	auto e = dp::dpdk_engine::create(opt);
	if (!e)
		return error{e.error_message()};
	_dpdk = e->get();
	_engine = std::move(e).value();
	log_info("DPDK engine: port " + d.port + ", " + std::to_string(opt.workers) + " workers, " +
	         std::to_string(opt.flow_table_size) + " flow entries per worker");
	return ok();
}

// The XDP program shares the interface with the kernel, which keeps its
// addresses and neighbours: next hops are resolved on the interface itself.
status daemon::start_xdp()
{
	const xdp_config &x = _cfg.dataplane.xdp;
	xdp::xdp_options opt;
	opt.interface = x.interface;
	opt.generic = x.mode == xdp_mode::generic;
	opt.flow_table_size = _cfg.dataplane.flow_table_size;
	auto e = xdp::xdp_engine::create(opt);
	if (!e)
		return error{e.error_message()};
	_tap_index = (*e)->ifindex();
	_engine = std::move(e).value();
	if (opt.generic)
		log_warning("XDP in generic mode on " + x.interface +
		            ": every packet takes the kernel's slow path first; use mode = \"native\" in "
		            "production");
	log_info(std::string("XDP engine: ") + (opt.generic ? "generic" : "native") + " mode on " +
	         x.interface + ", " + std::to_string(opt.flow_table_size) +
	         " flow entries shared by all CPUs");
	return ok();
}

// The TAP carries the host's own traffic: it gets the node's addresses.
status daemon::setup_tap()
{
	const std::string &name = _dpdk->tap_name();
	if (name.empty())
		return ok();
	if (status st = wait_for_interface(name, 3000); !st)
		return st;
	auto index = interface_index(name);
	if (!index)
		return error{index.error_message()};
	_tap_index = *index;
	if (status st = set_link_up(_tap_index); !st)
		return st;
	if (status st = add_address(_tap_index, _cfg.node.ipv4); !st)
		return st;
	if (_cfg.node.ipv6)
		if (status st = add_address(_tap_index, *_cfg.node.ipv6); !st)
			return st;
	log_info("exception path: " + name + " up with " + _cfg.node.ipv4.to_string() +
	         (_cfg.node.ipv6 ? " and " + _cfg.node.ipv6->to_string() : ""));
	return ok();
}

std::optional<mac_addr> daemon::resolve(const ip_addr &a)
{
	auto it = _resolved.find(a);
	if (it != _resolved.end())
		return it->second;
	return std::nullopt;
}

status daemon::rebuild(const char *why)
{
	auto s = build_snapshot(_cfg, _host, _registry, _snap.get());
	if (!s)
		return error{s.error_message()};
	_snap = *s;
	if (_engine)
		_engine->publish(_snap);
	log_info(std::string("snapshot ") + std::to_string(_snap->generation) + " published (" + why + ")");
	return ok();
}

// Asks the kernel for every next hop the snapshot lacks; publishes a new snapshot
// when the neighbour table learned or changed one.
void daemon::resolve_next_hops()
{
	if (_tap_index < 0)
		return;
	auto table = neighbour_table::dump(_tap_index);
	if (!table)
		return;
	std::map<ip_addr, mac_addr> seen;
	for (const vip_config &v : _cfg.vips)
		for (const backend_config &b : v.backends) {
			std::optional<ip_addr> next = next_hop(_cfg, v, b);
			if (!next)
				continue;
			const ip_addr &hop = *next;
			if (auto mac = table->find(hop))
				seen[hop] = *mac;
			else if (status st = request_resolution(_tap_index, hop); !st)
				log(log_level::debug,
				    "cannot ask for " + hop.to_string() + ": " + st.error_message());
		}
	if (seen == _resolved)
		return;
	_resolved = std::move(seen);
	if (status st = rebuild("next hops resolved"); !st)
		log_error("cannot rebuild the snapshot: " + st.error_message());
}

void daemon::reload()
{
	config_report r = load_config(_cfg.file);
	for (const config_problem &p : r.problems)
		(p.warning ? log_warning : log_error)(p.to_string());
	if (!r.valid()) {
		log_error("reload of " + _cfg.file + " failed: the running configuration is unchanged");
		return;
	}
	config old = std::move(_cfg);
	_cfg = std::move(*r.cfg);
	// The engine's own shape is fixed at start; mtu and gue_port are snapshot
	// data and take effect.
	dataplane_config &d = _cfg.dataplane;
	if (d.engine != old.dataplane.engine || d.workers != old.dataplane.workers ||
	    d.flow_table_size != old.dataplane.flow_table_size || d.dpdk.port != old.dataplane.dpdk.port ||
	    d.dpdk.eal_args != old.dataplane.dpdk.eal_args ||
	    d.dpdk.exception_path != old.dataplane.dpdk.exception_path ||
	    d.dpdk.tap_name != old.dataplane.dpdk.tap_name ||
	    d.xdp.interface != old.dataplane.xdp.interface || d.xdp.mode != old.dataplane.xdp.mode)
		log_warning("reload: engine, workers, flow_table_size, [dataplane.dpdk] and [dataplane.xdp] "
		            "take effect "
		            "only at restart; the running values stay");
	d.engine = old.dataplane.engine;
	d.workers = old.dataplane.workers;
	d.flow_table_size = old.dataplane.flow_table_size;
	d.dpdk = old.dataplane.dpdk;
	d.xdp = old.dataplane.xdp;
	if (status st = rebuild("reload"); !st) {
		log_error("reload failed: " + st.error_message());
		_cfg = std::move(old);
		return;
	}
	resolve_next_hops();
}

void daemon::register_commands()
{
	_socket->on("status", [this](const nlohmann::json &) {
		auto uptime = std::chrono::steady_clock::now() - _started;
		status_info info{_engine->name(), _engine->workers().size(),
		                 uint64_t(std::chrono::duration_cast<std::chrono::seconds>(uptime).count()),
		                 _cfg.file};
		return status_json(info, _cfg, *_snap);
	});
	_socket->on("stats", [this](const nlohmann::json &) {
		auto workers = _engine->workers();
		return stats_json(_cfg, *_snap, workers, engine_drop_counts(*_engine));
	});
}

status daemon::start()
{
	if (status st = start_engine(); !st)
		return st;
	_host.port_mac = _engine->port_mac();
	_host.resolve = [this](const ip_addr &a) { return resolve(a); };
	auto first = build_snapshot(_cfg, _host, _registry, nullptr);
	if (!first)
		return error{first.error_message()};
	_snap = *first;
	if (_dpdk) {
		if (status st = _dpdk->start(_snap); !st)
			return st;
		if (status st = setup_tap(); !st)
			return st;
	} else {
		_engine->publish(_snap);
	}
	auto sock = control_socket::open(_cfg.control);
	if (!sock)
		return error{sock.error_message()};
	_socket = std::move(sock).value();
	register_commands();
	resolve_next_hops();
	return ok();
}

void daemon::run()
{
	sigset_t set = handled_signals();
	_signals.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	_timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	itimerspec every_second{{1, 0}, {1, 0}};
	timerfd_settime(_timer.fd, 0, &every_second, nullptr);
	_epoll.fd = epoll_create1(EPOLL_CLOEXEC);
	for (int fd : {_signals.fd, _timer.fd, _socket->fd()}) {
		epoll_event ev{};
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		epoll_ctl(_epoll.fd, EPOLL_CTL_ADD, fd, &ev);
	}
	log_info("weir running: " + std::to_string(_cfg.vips.size()) + " VIPs, control socket " +
	         _socket->path());
	for (;;) {
		epoll_event evs[8];
		int n = epoll_wait(_epoll.fd, evs, 8, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == _socket->fd()) {
				_socket->handle_events();
			} else if (fd == _timer.fd) {
				uint64_t ticks;
				ssize_t rc = ::read(_timer.fd, &ticks, sizeof(ticks));
				(void)rc;
				resolve_next_hops();
			} else if (fd == _signals.fd) {
				signalfd_siginfo si;
				if (::read(_signals.fd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					log_info("SIGHUP: reloading " + _cfg.file);
					reload();
				} else {
					log_info(std::string("signal ") + strsignal(int(si.ssi_signo)) +
					         ": stopping");
					return;
				}
			}
		}
	}
}

}  // namespace

int run_daemon(config cfg)
{
	sigset_t set = handled_signals();
	pthread_sigmask(SIG_BLOCK, &set, nullptr);
	daemon d(std::move(cfg));
	if (status st = d.start(); !st) {
		log_error(st.error_message());
		return 1;
	}
	d.run();
	return 0;
}

}  // namespace weir::ctl
