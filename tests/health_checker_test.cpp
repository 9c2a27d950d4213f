// health_checker_test.cpp — the health checker (control/health.h) against real
// servers on 127.0.0.1 and ::1 run by a thread of this test (a TCP listener,
// closed ports, an HTTP server, a server that accepts and never answers, a UDP
// echo): states, reasons, detection time, probe timeouts, damping of a flapping
// backend, target replacement, the in-flight limit and a thousand targets on one
// thread.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstring>
#include <dirent.h>
#include <functional>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "health.h"

namespace weir::ctl {
namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

// Scheduling slack on a loaded machine: generous, yet far below what a broken
// schedule (a missed probe, a hung socket) would cost.
constexpr ms slack = 250ms;

// A server on one address, served by its own thread: `hold` accepts and keeps
// each connection until the peer closes it (recording how long it lived),
// `http` answers each request with status(n) for the n-th request, `udp_echo`
// returns every datagram.
class test_server {
public:
	enum class mode { hold, http, udp_echo };

	test_server(mode m, const char *address, std::function<int(int)> status = {})
	    : _mode(m), _status(std::move(status))
	{
		auto a = ip_addr::parse(address);
		_address = *a;
		_fd = bound_socket(*a, m == mode::udp_echo ? SOCK_DGRAM : SOCK_STREAM, _port);
		if (m != mode::udp_echo)
			::listen(_fd, 4096);
		if (::pipe(_stop) != 0)
			throw std::runtime_error("pipe");
		_thread = std::thread([this] { run(); });
	}
	~test_server()
	{
		[[maybe_unused]] ssize_t n = ::write(_stop[1], "x", 1);
		_thread.join();
		::close(_fd);
		::close(_stop[0]);
		::close(_stop[1]);
	}

	// A socket bound to an ephemeral port of `a`.
	static int bound_socket(const ip_addr &a, int type, uint16_t &port)
	{
		int fd = ::socket(a.is_v4() ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, 0);
		sockaddr_storage ss{};
		socklen_t len;
		if (a.is_v4()) {
			auto *s = reinterpret_cast<sockaddr_in *>(&ss);
			s->sin_family = AF_INET;
			std::memcpy(&s->sin_addr, a.bytes.data(), 4);
			len = sizeof(*s);
		} else {
			auto *s = reinterpret_cast<sockaddr_in6 *>(&ss);
			s->sin6_family = AF_INET6;
			std::memcpy(&s->sin6_addr, a.bytes.data(), 16);
			len = sizeof(*s);
		}
		if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0)
			throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
		::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len);
		port = ntohs(a.is_v4() ? reinterpret_cast<sockaddr_in *>(&ss)->sin_port
		                       : reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port);
		return fd;
	}

	const ip_addr &address() const { return _address; }
	uint16_t port() const { return _port; }
	int requests_seen() const { return _requests.load(); }
	size_t most_open() const { return _most_open.load(); }
	std::string first_request() const
	{
		std::lock_guard g(_lock);
		return _first_request;
	}
	std::vector<ms> lifetimes() const
	{
		std::lock_guard g(_lock);
		return _lifetimes;
	}

private:
	struct client {
		int fd;
		clk::time_point accepted;
		std::string in;
	};

	void run()
	{
		std::vector<client> clients;
		for (;;) {
			std::vector<pollfd> p{{_stop[0], POLLIN, 0}, {_fd, POLLIN, 0}};
			for (const client &c : clients)
				p.push_back({c.fd, POLLIN, 0});
			if (::poll(p.data(), p.size(), -1) < 0)
				continue;
			if (p[0].revents)
				break;
			if (p[1].revents)
				on_listener(clients);
			for (size_t i = p.size(); i-- > 2;)
				if (p[i].revents && !on_client(clients[i - 2]))
					clients.erase(clients.begin() + static_cast<long>(i - 2));
			_most_open = std::max(_most_open.load(), clients.size());
		}
		for (const client &c : clients)
			::close(c.fd);
	}

	void on_listener(std::vector<client> &clients)
	{
		if (_mode == mode::udp_echo) {
			char buf[512];
			sockaddr_storage from{};
			socklen_t len = sizeof(from);
			ssize_t n = ::recvfrom(_fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr *>(&from),
			                       &len);
			if (n >= 0) {
				_requests++;
				::sendto(_fd, buf, static_cast<size_t>(n), 0,
				         reinterpret_cast<sockaddr *>(&from), len);
			}
			return;
		}
		int fd = ::accept4(_fd, nullptr, nullptr, SOCK_CLOEXEC);
		if (fd >= 0)
			clients.push_back({fd, clk::now(), {}});
	}

	// False once the client is closed.
	bool on_client(client &c)
	{
		char buf[1024];
		ssize_t n = ::read(c.fd, buf, sizeof(buf));
		if (n <= 0) {
			std::lock_guard g(_lock);
			_lifetimes.push_back(std::chrono::duration_cast<ms>(clk::now() - c.accepted));
			::close(c.fd);
			return false;
		}
		if (_mode != mode::http)
			return true;
		c.in.append(buf, static_cast<size_t>(n));
		if (c.in.find("\r\n\r\n") == std::string::npos)
			return true;
		int code = _status(_requests++);
		if (_requests == 1) {
			std::lock_guard g(_lock);
			_first_request = c.in;
		}
		std::string reply = "HTTP/1.0 " + std::to_string(code) + " X\r\nContent-Length: 0\r\n\r\n";
		[[maybe_unused]] ssize_t w = ::write(c.fd, reply.data(), reply.size());
		::close(c.fd);
		return false;
	}

	mode _mode;
	std::function<int(int)> _status;
	ip_addr _address;
	uint16_t _port = 0;
	int _fd = -1;
	int _stop[2] = {-1, -1};
	std::thread _thread;
	std::atomic<int> _requests{0};
	std::atomic<size_t> _most_open{0};
	mutable std::mutex _lock;
	std::string _first_request;
	std::vector<ms> _lifetimes;
};

health_config check(health_kind kind, uint32_t interval_ms, uint32_t timeout_ms, uint32_t rise, uint32_t fall)
{
	health_config c;
	c.kind = kind;
	c.interval_ms = interval_ms;
	c.timeout_ms = timeout_ms;
	c.rise = rise;
	c.fall = fall;
	return c;
}

struct seen {
	clk::time_point at;
	health_transition t;
};

// Serves the checker as the daemon's loop would, until `done` holds or `limit`
// passes; returns the transitions with the time each batch was handed out.
std::vector<seen> drive(health_checker &c, ms limit,
                        const std::function<bool(const std::vector<seen> &)> &done,
                        const std::function<void()> &each = {})
{
	std::vector<seen> out;
	auto end = clk::now() + limit;
	while (clk::now() < end && !done(out)) {
		pollfd p{c.fd(), POLLIN, 0};
		auto left = std::chrono::duration_cast<ms>(end - clk::now()).count();
		::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left)));
		auto batch = c.handle_events();
		auto now = clk::now();
		for (auto &t : batch)
			out.push_back({now, std::move(t)});
		if (each)
			each();
	}
	return out;
}

auto reaches(const std::string &vip, health_state s)
{
	return [vip, s](const std::vector<seen> &v) {
		for (const seen &x : v)
			if (x.t.vip == vip && x.t.to == s)
				return true;
		return false;
	};
}

auto never(const std::vector<seen> &)
{
	return false;
}

std::unique_ptr<health_checker> make_checker(const health_limits &limits = {})
{
	auto c = health_checker::create(42, limits);
	if (!c)
		throw std::runtime_error(c.error_message());
	return std::move(c.value());
}

// Upper bound for reaching a state after `runs` results from the start: the first
// probe within one interval, each next within 1.1 intervals, the last one taking
// up to `timeout`.
ms bound(const health_config &c, uint32_t runs, bool timeouts)
{
	return ms(c.interval_ms + (runs - 1) * c.interval_ms * 11 / 10 + (timeouts ? c.timeout_ms : 0)) +
	       slack;
}

class probes : public ::testing::TestWithParam<const char *> {};

INSTANTIATE_TEST_SUITE_P(family, probes, ::testing::Values("127.0.0.1", "::1"),
                         [](const auto &info) { return std::string(info.index == 0 ? "ipv4" : "ipv6"); });

TEST_P(probes, tcp_listener_is_up)
{
	test_server s(test_server::mode::hold, GetParam());
	auto c = make_checker();
	health_config hc = check(health_kind::tcp, 40, 200, 2, 2);
	c->set_targets({{"web", s.address(), s.port(), hc}});
	EXPECT_EQ(c->state("web", s.address()), health_state::unknown);
	auto start = clk::now();
	auto v = drive(*c, 3s, reaches("web", health_state::up));
	ASSERT_EQ(v.size(), 1u);
	EXPECT_EQ(v[0].t.from, health_state::unknown);
	EXPECT_EQ(v[0].t.reason, "connected");
	EXPECT_LE(v[0].at - start, bound(hc, 2, false));
	EXPECT_EQ(c->state("web", s.address()), health_state::up);
	EXPECT_GE(c->info("web", s.address())->passes, 2u);
}

TEST_P(probes, closed_tcp_port_is_down_refused)
{
	uint16_t port;
	ip_addr a = *ip_addr::parse(GetParam());
	int reserved = test_server::bound_socket(a, SOCK_STREAM, port);  // bound, not listening: refused
	auto c = make_checker();
	health_config hc = check(health_kind::tcp, 40, 200, 2, 3);
	c->set_targets({{"web", a, port, hc}});
	auto start = clk::now();
	auto v = drive(*c, 3s, reaches("web", health_state::down));
	::close(reserved);
	ASSERT_EQ(v.size(), 1u);
	EXPECT_EQ(v[0].t.reason, "connect: refused");
	EXPECT_LE(v[0].at - start, bound(hc, 3, false));
	EXPECT_EQ(c->state("web", a), health_state::down);
	EXPECT_EQ(c->in_flight(), 0u);
}

// Up on 200, then down within fall intervals (+ timeout) of the server turning 503.
TEST_P(probes, http_200_then_503)
{
	std::atomic<int> code{200};
	test_server s(test_server::mode::http, GetParam(), [&](int) { return code.load(); });
	auto c = make_checker();
	health_config hc = check(health_kind::http, 40, 200, 2, 3);
	hc.path = "/ready?x=1";
	c->set_targets({{"web", s.address(), s.port(), hc}});
	ASSERT_EQ(drive(*c, 3s, reaches("web", health_state::up)).size(), 1u);
	std::string host = s.address().is_v4() ? "127.0.0.1" : "[::1]";
	std::string req = s.first_request();
	EXPECT_TRUE(req.starts_with("GET /ready?x=1 HTTP/1.0\r\n")) << req;
	EXPECT_NE(req.find("\r\nHost: " + host + ":" + std::to_string(s.port()) + "\r\n"), std::string::npos)
	        << req;

	code = 503;
	auto start = clk::now();
	auto v = drive(*c, 3s, reaches("web", health_state::down));
	ASSERT_EQ(v.size(), 1u);
	EXPECT_EQ(v[0].t.from, health_state::up);
	EXPECT_EQ(v[0].t.reason, "http 503");
	// The probe in flight at the switch may still see 200: one more interval.
	EXPECT_LE(v[0].at - start, ms(hc.interval_ms * 11 / 10) + bound(hc, 3, true));
}

// A server that accepts and never answers: each probe is closed by its timeout,
// and the backend goes down within fall intervals plus one timeout.
TEST_P(probes, silent_http_server_times_out)
{
	test_server s(test_server::mode::hold, GetParam());
	auto c = make_checker();
	health_config hc = check(health_kind::http, 150, 80, 1, 2);
	c->set_targets({{"web", s.address(), s.port(), hc}});
	auto start = clk::now();
	auto v = drive(*c, 3s, reaches("web", health_state::down));
	ASSERT_EQ(v.size(), 1u);
	EXPECT_EQ(v[0].t.reason, "timeout: no status line");
	EXPECT_LE(v[0].at - start, bound(hc, 2, true));
	// No probe is in flight now (the next is an interval away): every
	// connection the server saw was ended by a timeout.
	std::this_thread::sleep_for(50ms);
	auto lives = s.lifetimes();
	ASSERT_GE(lives.size(), 2u);
	for (ms life : lives) {
		EXPECT_GE(life, ms(hc.timeout_ms / 2));
		EXPECT_LE(life, ms(hc.timeout_ms) + 100ms);
	}
}

TEST_P(probes, udp_echo_is_up)
{
	test_server s(test_server::mode::udp_echo, GetParam());
	auto c = make_checker();
	health_config hc = check(health_kind::udp, 40, 200, 2, 2);
	c->set_targets({{"dns", s.address(), s.port(), hc}});
	auto v = drive(*c, 3s, reaches("dns", health_state::up));
	ASSERT_EQ(v.size(), 1u);
	EXPECT_EQ(v[0].t.reason, "udp reply");
	EXPECT_GE(s.requests_seen(), 2);
}

TEST_P(probes, closed_udp_port_is_down_refused)
{
	uint16_t port;
	ip_addr a = *ip_addr::parse(GetParam());
	::close(test_server::bound_socket(a, SOCK_DGRAM,
	                                  port));  // free again: the kernel answers port unreachable
	auto c = make_checker();
	health_config hc = check(health_kind::udp, 40, 200, 2, 2);
	c->set_targets({{"dns", a, port, hc}});
	auto start = clk::now();
	auto v = drive(*c, 3s, reaches("dns", health_state::down));
	ASSERT_EQ(v.size(), 1u);
	EXPECT_EQ(v[0].t.reason, "udp: refused");
	EXPECT_LE(v[0].at - start, bound(hc, 2, false));
}

// Three backends of one VIP whose answers alternate 200/503: with rise = fall = 1
// each probe changes its state, yet the VIP's batches (one table rebuild each)
// come at most once per interval, and each batch carries the net change.
TEST(health_checker, flapping_backends_change_at_most_once_per_interval)
{
	const char *addrs[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
	std::vector<std::unique_ptr<test_server>> servers;
	std::vector<health_target> targets;
	health_config hc = check(health_kind::http, 40, 200, 1, 1);
	for (const char *a : addrs) {
		servers.push_back(std::make_unique<test_server>(test_server::mode::http, a,
		                                                [](int n) { return n % 2 ? 503 : 200; }));
		targets.push_back({"flap", servers.back()->address(), servers.back()->port(), hc});
	}
	auto c = make_checker();
	c->set_targets(targets);
	auto v = drive(*c, 1200ms, never);
	std::vector<clk::time_point> batches;
	std::map<ip_addr, health_state> last;
	for (const seen &s : v) {
		if (batches.empty() || batches.back() != s.at)
			batches.push_back(s.at);
		auto [it, fresh] = last.try_emplace(s.t.address, health_state::unknown);
		EXPECT_EQ(s.t.from, it->second);  // transitions chain: nothing lost, nothing repeated
		EXPECT_NE(s.t.from, s.t.to);
		it->second = s.t.to;
	}
	EXPECT_GE(batches.size(), 8u) << "the backends did not flap";
	EXPECT_LE(batches.size(), 1200u / hc.interval_ms + 1);
	for (size_t i = 1; i < batches.size(); i++)
		EXPECT_GE(batches[i] - batches[i - 1], ms(hc.interval_ms) - 2ms) << "batch " << i;
	for (const auto &[a, s] : last)
		EXPECT_EQ(c->state("flap", a), s);
}

// With rise = fall = 2, alternating answers never complete a run: no transition.
TEST(health_checker, alternating_results_never_complete_a_run)
{
	test_server s(test_server::mode::http, "127.0.0.1", [](int n) { return n % 2 ? 503 : 200; });
	auto c = make_checker();
	health_config hc = check(health_kind::http, 30, 200, 2, 2);
	c->set_targets({{"web", s.address(), s.port(), hc}});
	auto v = drive(*c, 500ms, never);
	EXPECT_TRUE(v.empty());
	EXPECT_GE(c->info("web", s.address())->probes, 8u);
	EXPECT_EQ(c->state("web", s.address()), health_state::unknown);
}

// Unchanged targets keep state and counters, changed ones restart unknown,
// removed ones are forgotten with their sockets.
TEST(health_checker, set_targets_keeps_unchanged_targets)
{
	test_server s1(test_server::mode::hold, "127.0.0.1");
	test_server s2(test_server::mode::hold, "127.0.0.2");
	auto c = make_checker();
	health_config hc = check(health_kind::tcp, 30, 200, 1, 1);
	std::vector<health_target> t{{"a", s1.address(), s1.port(), hc}, {"a", s2.address(), s2.port(), hc}};
	c->set_targets(t);
	drive(*c, 2s, [&](const auto &) {
		return c->state("a", s1.address()) == health_state::up &&
		       c->state("a", s2.address()) == health_state::up;
	});
	ASSERT_EQ(c->state("a", s2.address()), health_state::up);
	uint64_t probes = c->info("a", s2.address())->probes;

	c->set_targets(t);
	EXPECT_EQ(c->state("a", s1.address()), health_state::up);
	EXPECT_EQ(c->info("a", s2.address())->probes, probes);

	t[0].check.rise = 3;
	t.pop_back();
	c->set_targets(t);
	EXPECT_EQ(c->state("a", s1.address()), health_state::unknown);
	EXPECT_EQ(c->info("a", s1.address())->probes, 0u);
	EXPECT_EQ(c->state("a", s2.address()), health_state::unknown);
	EXPECT_FALSE(c->info("a", s2.address()));
	EXPECT_EQ(c->list().size(), 1u);

	c->set_targets({});
	EXPECT_EQ(c->in_flight(), 0u);
	EXPECT_TRUE(c->list().empty());
}

TEST(health_checker, kind_none_never_probes)
{
	test_server s(test_server::mode::hold, "127.0.0.1");
	auto c = make_checker();
	health_config hc = check(health_kind::none, 20, 100, 1, 1);
	c->set_targets({{"quiet", s.address(), s.port(), hc}});
	auto v = drive(*c, 200ms, never);
	EXPECT_TRUE(v.empty());
	EXPECT_EQ(c->info("quiet", s.address())->probes, 0u);
	EXPECT_EQ(c->state("quiet", s.address()), health_state::unknown);
	std::this_thread::sleep_for(20ms);
	EXPECT_EQ(s.lifetimes().size(), 0u);
	EXPECT_EQ(s.most_open(), 0u);
}

// Due probes beyond max_in_flight wait for a free slot; all still run.
TEST(health_checker, in_flight_probes_are_bounded)
{
	test_server s(test_server::mode::hold,
	              "127.0.0.1");  // never answers http: every probe lasts its timeout
	health_limits limits;
	limits.max_in_flight = 4;
	auto c = make_checker(limits);
	health_config hc = check(health_kind::http, 60, 60, 1, 1);
	std::vector<health_target> t;
	for (int i = 0; i < 20; i++)
		t.push_back({"v" + std::to_string(i), s.address(), s.port(), hc});
	c->set_targets(t);
	size_t most = 0;
	auto v = drive(
	        *c, 3s, [](const auto &v) { return v.size() == 20; },
	        [&] { most = std::max(most, c->in_flight()); });
	EXPECT_EQ(v.size(), 20u);  // every target was probed and went down
	EXPECT_LE(most, 4u);
	EXPECT_GE(most, 1u);
	EXPECT_LE(s.most_open(), 4u);
}

size_t open_descriptors()
{
	size_t n = 0;
	if (DIR *d = ::opendir("/proc/self/fd")) {
		while (::readdir(d))
			n++;
		::closedir(d);
	}
	return n;
}

// A thousand targets on one thread: first probes spread over the interval, all
// up within one interval, about one probe per interval each, no socket left.
TEST(health_checker, a_thousand_targets)
{
	rlimit rl{};
	::getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = std::max<rlim_t>(rl.rlim_cur, std::min<rlim_t>(rl.rlim_max, 8192));
	::setrlimit(RLIMIT_NOFILE, &rl);

	test_server s(test_server::mode::hold, "127.0.0.1");
	size_t fds_before = open_descriptors();
	auto c = make_checker();
	const uint32_t interval = 300;
	health_config hc = check(health_kind::tcp, interval, 1000, 1, 1);
	std::vector<health_target> t;
	for (int i = 0; i < 1000; i++)
		t.push_back({"v" + std::to_string(i), s.address(), s.port(), hc});
	c->set_targets(t);

	auto start = clk::now();
	auto v = drive(*c, ms(interval / 2), never);
	size_t probed = 0;
	for (const health_info &i : c->list())
		probed += i.probes > 0;
	EXPECT_GE(probed, 200u) << "first probes not spread over the interval";
	EXPECT_LE(probed, 800u) << "first probes not spread over the interval";

	size_t early = v.size();
	v = drive(*c, ms(interval) + slack * 4, [&](const auto &v) { return early + v.size() >= 1000; });
	EXPECT_EQ(early + v.size(), 1000u);
	EXPECT_LT(clk::now() - start, ms(interval) + slack * 4);
	drive(*c, 1500ms - std::chrono::duration_cast<ms>(clk::now() - start), never);
	uint64_t fewest = UINT64_MAX, most = 0;
	for (const health_info &i : c->list()) {
		EXPECT_EQ(i.state, health_state::up);
		fewest = std::min(fewest, i.probes);
		most = std::max(most, i.probes);
	}
	// 1.5 s at 300 ms ± 10 %: 4 to 7 probes each; a busy machine may lose one.
	EXPECT_GE(fewest, 3u);
	EXPECT_LE(most, 7u);
	c->set_targets({});
	EXPECT_EQ(c->in_flight(), 0u);
	std::this_thread::sleep_for(100ms);  // the server thread closes its side on the resets
	EXPECT_LE(open_descriptors(), fds_before + 2);  // the checker's epoll and timer
}

}  // namespace
}  // namespace weir::ctl
