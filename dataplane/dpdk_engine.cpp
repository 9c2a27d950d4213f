// dpdk_engine.cpp — EAL, port, TAP and mempool set-up, worker launch, snapshot
// publication (control thread). The burst loop is in dpdk_worker.cpp.
#include "dpdk_engine.h"

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>

#include "dpdk_worker.h"

namespace weir::dp {

namespace {

constexpr uint16_t ring_size = 1024;

std::string rte_error(const char *what, int rc)
{
	return std::string(what) + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

// DPDK's own log lines go to dpdk_options::log_line (weir's log at debug level):
// start-up failures are then one weir line naming the cause, which quotes DPDK's
// first error line.
std::mutex dpdk_log_lock;  // DPDK logs from any of its threads; guards the three below
std::string dpdk_log_partial, dpdk_first_error;
std::function<void(const std::string &)> dpdk_log_sink;

ssize_t dpdk_log_write(void *, const char *buf, size_t size)
{
	std::lock_guard<std::mutex> guard(dpdk_log_lock);
	dpdk_log_partial.append(buf, size);
	for (size_t nl; (nl = dpdk_log_partial.find('\n')) != std::string::npos;) {
		std::string line = dpdk_log_partial.substr(0, nl);
		dpdk_log_partial.erase(0, nl + 1);
		if (line.empty())
			continue;
		if (rte_log_cur_msg_loglevel() <= int(RTE_LOG_ERR) && dpdk_first_error.empty())
			dpdk_first_error = line;  // the first error is the cause; the rest follow from it
		if (dpdk_log_sink)
			dpdk_log_sink(line);
	}
	return ssize_t(size);
}

void capture_dpdk_log(const std::function<void(const std::string &)> &sink)
{
	{
		std::lock_guard<std::mutex> guard(dpdk_log_lock);
		dpdk_log_sink = sink;
	}
	static FILE *stream = [] {
		cookie_io_functions_t io{nullptr, dpdk_log_write, nullptr, nullptr};
		FILE *f = fopencookie(nullptr, "w", io);
		if (f)
			setvbuf(f, nullptr, _IOLBF, 0);
		return f;
	}();
	if (stream)
		rte_openlog_stream(stream);
}

// An error message with DPDK's first error line, when it said something.
std::string with_dpdk_cause(std::string message)
{
	std::lock_guard<std::mutex> guard(dpdk_log_lock);
	if (!dpdk_first_error.empty())
		message += " (DPDK: " + dpdk_first_error + ")";
	return message;
}

status init_eal(const dpdk_options &opt)
{
	capture_dpdk_log(opt.log_line);
	std::vector<std::string> args{"weir"};
	args.insert(args.end(), opt.eal_args.begin(), opt.eal_args.end());
	std::vector<char *> argv;
	for (std::string &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	// The EAL also writes its fatal errors straight to stderr; they reach weir's
	// log through the log stream already, so stderr is closed to it meanwhile
	// and a failure stays one line.
	std::fflush(stderr);
	int saved = ::dup(STDERR_FILENO);
	int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (saved >= 0 && null_fd >= 0)
		::dup2(null_fd, STDERR_FILENO);
	int rc = rte_eal_init(int(args.size()), argv.data());
	if (saved >= 0) {
		::dup2(saved, STDERR_FILENO);
		::close(saved);
	}
	if (null_fd >= 0)
		::close(null_fd);
	if (rc < 0) {
		std::string hint = "check dataplane.dpdk.eal_args";
		{
			std::lock_guard<std::mutex> guard(dpdk_log_lock);
			if (dpdk_first_error.find("hugepage") != std::string::npos)
				hint = "no hugepages? set vm.nr_hugepages and mount hugetlbfs, or add "
				       "--no-huge to "
				       "dataplane.dpdk.eal_args";
		}
		// rte_errno says little here (EACCES for missing hugepages); DPDK's
		// own first error line, appended by the caller, says what happened.
		return error{"DPDK EAL initialisation failed (" + hint + ")"};
	}
	return ok();
}

std::string port_names()
{
	std::string names;
	uint16_t id;
	RTE_ETH_FOREACH_DEV(id)
	{
		char name[RTE_ETH_NAME_MAX_LEN];
		if (rte_eth_dev_get_name_by_port(id, name) == 0)
			names += (names.empty() ? "" : ", ") + std::string(name);
	}
	return names.empty() ? "none" : names;
}

}  // namespace

result<std::unique_ptr<dpdk_engine>> dpdk_engine::create(const dpdk_options &opt)
{
	if (!opt.eal_ready)
		if (status st = init_eal(opt); !st)
			return error{with_dpdk_cause(st.error_message())};
	if (rte_lcore_count() < opt.workers + 1)
		return error{"dataplane.workers = " + std::to_string(opt.workers) + " needs " +
		             std::to_string(opt.workers + 1) +
		             " lcores (workers + the control thread); eal_args give " +
		             std::to_string(rte_lcore_count())};
	std::unique_ptr<dpdk_engine> e(new dpdk_engine());
	e->_workers.reserve(opt.workers);
	unsigned lcore = 0;
	uint32_t index = 0;
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		if (index == opt.workers)
			break;
		auto fl = flow_table::create(opt.flow_table_size);
		if (!fl)
			return error{fl.error_message()};
		e->_workers.push_back(std::make_unique<worker>(*e, index++, lcore, std::move(fl).value()));
	}
	std::vector<const flow_table *> peers;
	for (auto &w : e->_workers)
		peers.push_back(w->flows.get());
	for (auto &w : e->_workers)
		w->pipe.set_peers(peers);

	size_t qsbr_size = rte_rcu_qsbr_get_memsize(opt.workers);
	e->_qsbr = static_cast<rte_rcu_qsbr *>(rte_zmalloc("weir_qsbr", qsbr_size, RTE_CACHE_LINE_SIZE));
	if (!e->_qsbr || rte_rcu_qsbr_init(e->_qsbr, opt.workers) != 0)
		return error{"cannot allocate the RCU state (out of hugepage memory?)"};
	for (auto &w : e->_workers)
		rte_rcu_qsbr_thread_register(e->_qsbr, w->index);

	// Per worker: RX ring + TX ring + a burst in flight, for the port and the TAP.
	unsigned mbufs = opt.workers * (4 * ring_size + 4 * pipeline::max_burst) + 1024;
	e->_pool = rte_pktmbuf_pool_create("weir_mbufs", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
	                                   int(rte_socket_id()));
	if (!e->_pool)
		return error{rte_error("cannot create the mbuf pool (out of hugepage memory?)", rte_errno)};
	if (status st = e->setup_port(opt); !st)
		return error{with_dpdk_cause(st.error_message())};
	if (opt.exception_path)
		if (status st = e->setup_tap(opt); !st)
			return error{with_dpdk_cause(st.error_message())};
	return e;
}

status dpdk_engine::setup_port(const dpdk_options &opt)
{
	if (rte_eth_dev_get_port_by_name(opt.port.c_str(), &_port) != 0)
		return error{"dataplane.dpdk.port: port " + opt.port +
		             " not found (DPDK ports: " + port_names() + ")"};
	rte_eth_dev_info info;
	if (int rc = rte_eth_dev_info_get(_port, &info); rc != 0)
		return error{rte_error(("port " + opt.port).c_str(), rc)};
	uint16_t queues = uint16_t(_workers.size());
	if (info.max_rx_queues < queues || info.max_tx_queues < queues)
		return error{"port " + opt.port + " has " + std::to_string(info.max_rx_queues) +
		             " RX queues; dataplane.workers = " + std::to_string(queues) +
		             " needs one per worker"};
	rte_eth_conf conf{};
	// RSS over the 5-tuple keeps each flow on one worker. Devices without RSS
	// (af_packet, tap) spread flows by their own hash (af_packet: the kernel's
	// PACKET_FANOUT_HASH over its queue pairs) or must run one worker.
	uint64_t rss = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
	if (queues > 1 && rss) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = rss;
	}
	if (int rc = rte_eth_dev_configure(_port, queues, queues, &conf); rc != 0)
		return error{rte_error(("cannot configure port " + opt.port).c_str(), rc)};
	for (uint16_t q = 0; q < queues; q++) {
		int socket = int(rte_eth_dev_socket_id(_port));
		if (int rc = rte_eth_rx_queue_setup(_port, q, ring_size, socket, nullptr, _pool); rc != 0)
			return error{rte_error(("port " + opt.port + " RX queue").c_str(), rc)};
		if (int rc = rte_eth_tx_queue_setup(_port, q, ring_size, socket, nullptr); rc != 0)
			return error{rte_error(("port " + opt.port + " TX queue").c_str(), rc)};
	}
	rte_ether_addr mac;
	if (int rc = rte_eth_macaddr_get(_port, &mac); rc != 0)
		return error{rte_error(("port " + opt.port + " MAC").c_str(), rc)};
	std::memcpy(_mac.data(), mac.addr_bytes, 6);
	if (int rc = rte_eth_dev_start(_port); rc != 0)
		return error{rte_error(("cannot start port " + opt.port).c_str(), rc)};
	_port_started = true;
	return ok();
}

status dpdk_engine::setup_tap(const dpdk_options &opt)
{
	char mac[32];
	std::snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", _mac[0], _mac[1], _mac[2], _mac[3],
	              _mac[4], _mac[5]);
	std::string name = "net_tap_weir";
	std::string args = "iface=" + opt.tap_name + ",mac=" + mac;
	if (int rc = rte_vdev_init(name.c_str(), args.c_str()); rc != 0)
		return error{rte_error(("cannot create the exception TAP " + opt.tap_name).c_str(), rc)};
	if (rte_eth_dev_get_port_by_name(name.c_str(), &_tap) != 0)
		return error{"the exception TAP " + opt.tap_name + " has no DPDK port"};
	uint16_t queues = uint16_t(_workers.size());
	rte_eth_conf conf{};
	if (int rc = rte_eth_dev_configure(_tap, queues, queues, &conf); rc != 0)
		return error{rte_error("cannot configure the exception TAP", rc)};
	for (uint16_t q = 0; q < queues; q++) {
		if (int rc = rte_eth_rx_queue_setup(_tap, q, ring_size, int(rte_socket_id()), nullptr, _pool);
		    rc != 0)
			return error{rte_error("exception TAP RX queue", rc)};
		if (int rc = rte_eth_tx_queue_setup(_tap, q, ring_size, int(rte_socket_id()), nullptr);
		    rc != 0)
			return error{rte_error("exception TAP TX queue", rc)};
	}
	if (int rc = rte_eth_dev_start(_tap); rc != 0)
		return error{rte_error("cannot start the exception TAP", rc)};
	_tap_name = opt.tap_name;
	return ok();
}

status dpdk_engine::start(std::shared_ptr<const snapshot> first)
{
	_current = std::move(first);
	_published.store(_current.get(), std::memory_order_release);
	// Set first: if a later launch fails, stop() must still wait for the
	// workers already running before anything they use is freed.
	_started = true;
	for (auto &w : _workers) {
		w->port = _port;
		w->tap = _tap;
		if (int rc = rte_eal_remote_launch(&dpdk_engine::worker_main, w.get(), w->lcore); rc != 0)
			return error{rte_error("cannot launch a worker", rc)};
	}
	return ok();
}

int dpdk_engine::worker_main(void *arg)
{
	worker &w = *static_cast<worker *>(arg);
	run_worker(w, w.engine._published, w.engine._stop, w.engine._qsbr);
	return 0;
}

status dpdk_engine::publish(std::shared_ptr<const snapshot> s)
{
	std::shared_ptr<const snapshot> old = std::move(_current);
	_current = std::move(s);
	// Release: the snapshot's contents are visible to a worker that loads the
	// pointer with acquire.
	_published.store(_current.get(), std::memory_order_release);
	if (_started && !_stopped)
		rte_rcu_qsbr_synchronize(_qsbr, RTE_QSBR_THRID_INVALID);
	// Every worker has passed a quiescent point since the store: none can still
	// hold `old`, which is freed here with the last reference.
	return ok();
}

std::vector<worker_view> dpdk_engine::workers() const
{
	std::vector<worker_view> v;
	for (const auto &w : _workers)
		v.push_back(worker_view{w->lcore, &w->counters, w->flows.get(), rte_get_timer_hz()});
	return v;
}

std::optional<tracked_flow> dpdk_engine::find_flow(uint32_t hash, uint32_t sig) const
{
	// The workers' clock (dpdk_worker.cpp): timer cycles in seconds.
	uint32_t now = uint32_t(rte_get_timer_cycles() / rte_get_timer_hz());
	for (size_t i = 0; i < _workers.size(); i++)
		if (auto e = _workers[i]->flows->peek(hash, sig, now))
			return tracked_flow::of(*e, now, unsigned(i));
	return std::nullopt;
}

void dpdk_engine::stop()
{
	if (_stopped)
		return;
	_stopped = true;
	_stop.store(true, std::memory_order_relaxed);
	if (_started)
		rte_eal_mp_wait_lcore();
	if (_port_started) {
		rte_eth_dev_stop(_port);
		rte_eth_dev_close(_port);  // before the pool its queues use is freed
	}
	if (_tap != UINT16_MAX) {
		rte_eth_dev_stop(_tap);
		rte_eth_dev_close(_tap);
		rte_vdev_uninit("net_tap_weir");
		_tap = UINT16_MAX;
	}
}

dpdk_engine::~dpdk_engine()
{
	stop();
	_workers.clear();
	rte_free(_qsbr);
	rte_mempool_free(_pool);
}

}  // namespace weir::dp
