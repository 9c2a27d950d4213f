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
#include <random>

#include "commands.h"
#include "control_socket.h"
#include "dpdk_engine.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
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

class daemon : public command_host {
public:
	explicit daemon(config cfg) : _cfg(std::move(cfg)) {}
	~daemon() override;
	status start();
	void run();

	// command_host
	const config &live() const override { return _cfg; }
	const dp::snapshot &snapshot() const override { return *_snap; }
	std::vector<dp::worker_view> workers() const override { return _engine->workers(); }
	std::optional<dp::tracked_flow> find_flow(uint32_t hash, uint32_t sig) const override
	{
		return _engine->find_flow(hash, sig);
	}
	status apply(config next, const std::string &why) override;
	std::string backend_health(const vip_config &vip, const ip_addr &a) const override;

private:
	status start_engine();
	status start_dpdk();
	status start_xdp();
	status setup_tap();
	status rebuild(const char *why);
	void resolve_next_hops();
	void check_health();
	status start_metrics();
	status_info info() const;
	void reload();
	void register_commands();
	std::optional<mac_addr> resolve(const ip_addr &a);

	config _cfg;
	std::chrono::steady_clock::time_point _started = std::chrono::steady_clock::now();
	std::unique_ptr<dp::engine> _engine;
	dp::dpdk_engine *_dpdk = nullptr;  // _engine when it is DPDK's: its start, TAP and EAL
	std::unique_ptr<control_socket> _socket;
	std::unique_ptr<health_checker> _health;
	std::unique_ptr<metrics_server> _metrics;
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
	if (_engine)
		if (status st = _engine->publish(*s); !st)
			return error{"snapshot " + std::to_string((*s)->generation) +
			             " not published, the previous one stays: " + st.error_message()};
	_snap = *s;
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

// Serves the health checker; a batch of transitions is one new snapshot.
void daemon::check_health()
{
	std::vector<health_transition> changes = _health->handle_events();
	if (changes.empty())
		return;
	for (const health_transition &t : changes)
		log_info(to_string(t));
	if (status st = rebuild("health"); !st)
		log_error("cannot rebuild the snapshot: " + st.error_message());
}

status_info daemon::info() const
{
	auto uptime = std::chrono::steady_clock::now() - _started;
	return status_info{_engine->name(), _engine->workers().size(),
	                   uint64_t(std::chrono::duration_cast<std::chrono::seconds>(uptime).count()),
	                   _cfg.file};
}

// "none" for VIPs without checks, else the checker's state.
std::string daemon::backend_health(const vip_config &vip, const ip_addr &a) const
{
	if (vip.health.kind == health_kind::none)
		return "none";
	return to_string(_health->state(vip.name, a));
}

// The Prometheus endpoint (control.metrics_listen; "" disables it). Scrapes are
// rendered here, on the control thread, when the server's fd is readable.
status daemon::start_metrics()
{
	const std::string &listen = _cfg.control.metrics_listen;
	if (listen.empty())
		return ok();
	auto m = metrics_server::create(listen, [this] {
		auto views = _engine->workers();
		return render_metrics(info(), _cfg, *_snap, views, engine_drop_counts(*_engine),
		                      [this](const std::string &vip, const ip_addr &a) {
			                      for (const vip_config &v : _cfg.vips)
				                      if (v.name == vip)
					                      return backend_health(v, a);
			                      return std::string("unknown");
		                      });
	});
	if (!m)
		return error{m.error_message()};
	_metrics = std::move(m).value();
	log_info("metrics on http://" + listen + "/metrics");
	return ok();
}

status daemon::apply(config next, const std::string &why)
{
	config old = std::move(_cfg);
	_cfg = std::move(next);
	_health->set_targets(health_targets(_cfg));
	if (status st = rebuild(why.c_str()); !st) {
		_cfg = std::move(old);
		_health->set_targets(health_targets(_cfg));
		return st;
	}
	resolve_next_hops();
	return ok();
}

void daemon::reload()
{
	nlohmann::json r = reload_config(*this);
	for (const auto &w : r.value("warnings", nlohmann::json::array()))
		log_warning(w.get<std::string>());
	for (const auto &p : r.value("problems", nlohmann::json::array()))
		log_error(p.get<std::string>());
	if (!r.value("ok", false)) {
		log_error(r.value("error", std::string("reload failed")));
		return;
	}
	if (!r["restart_required"].empty())
		log_warning("reload: " + r["restart_required"].dump() +
		            " take effect only at restart; the running values stay");
	log_info(r.value("summary", std::string("reloaded")));
}

void daemon::register_commands()
{
	_socket->on("status", [this](const nlohmann::json &) { return status_json(info(), _cfg, *_snap); });
	_socket->on("stats", [this](const nlohmann::json &) {
		auto workers = _engine->workers();
		return stats_json(_cfg, *_snap, workers, engine_drop_counts(*_engine));
	});
	ctl::register_commands(*_socket, *this);
}

status daemon::start()
{
	if (status st = start_engine(); !st)
		return st;
	_host.port_mac = _engine->port_mac();
	_host.resolve = [this](const ip_addr &a) { return resolve(a); };
	// A seed of this host's own, so that weir hosts do not probe in step.
	auto checker = health_checker::create(std::random_device{}());
	if (!checker)
		return error{checker.error_message()};
	_health = std::move(checker).value();
	_health->set_targets(health_targets(_cfg));
	_host.is_down = [this](const std::string &vip, const ip_addr &a) {
		return _health->state(vip, a) == health_state::down;
	};
	auto first = build_snapshot(_cfg, _host, _registry, nullptr);
	if (!first)
		return error{first.error_message()};
	_snap = *first;
	if (_dpdk) {
		if (status st = _dpdk->start(_snap); !st)
			return st;
		if (status st = setup_tap(); !st)
			return st;
	} else if (status st = _engine->publish(_snap); !st) {
		return st;
	}
	auto sock = control_socket::open(_cfg.control);
	if (!sock)
		return error{sock.error_message()};
	_socket = std::move(sock).value();
	register_commands();
	if (status st = start_metrics(); !st)
		return st;
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
	for (int fd :
	     {_signals.fd, _timer.fd, _socket->fd(), _health->fd(), _metrics ? _metrics->fd() : -1}) {
		if (fd < 0)
			continue;
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
			} else if (fd == _health->fd()) {
				check_health();
			} else if (_metrics && fd == _metrics->fd()) {
				_metrics->handle_events();
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
