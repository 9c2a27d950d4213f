// metrics_server_test.cpp — the metrics endpoint (control/metrics.h
// metrics_server) over real sockets: scraped with cpp-httplib's client and curl
// while a test thread plays the control thread (polls fd(), calls
// handle_events()); wrong paths and methods, a control thread that does not
// answer, oversized and stuck clients, listen errors, and a stop that is prompt
// with scrapes and clients in flight.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <httplib.h>

#include "metrics.h"

namespace weir::test {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// The control thread's part: wait on fd() and serve, as the daemon's loop does.
class control_loop {
public:
	explicit control_loop(ctl::metrics_server &s)
	    : _thread([this, &s] {
		      while (!_stop) {
			      pollfd p{s.fd(), POLLIN, 0};
			      if (::poll(&p, 1, 10) > 0)
				      s.handle_events();
		      }
	      })
	{}
	~control_loop()
	{
		_stop = true;
		_thread.join();
	}
	std::thread::id id() const { return _thread.get_id(); }

private:
	std::atomic<bool> _stop{false};
	std::thread _thread;
};

// What the render callback saw: how often, and on which thread.
struct render_log {
	std::atomic<int> calls{0};
	std::atomic<bool> off_thread{false};
	std::thread::id control;
};

ctl::metrics_server::render_fn counting_render(render_log &log)
{
	return [&log] {
		int n = ++log.calls;
		if (std::this_thread::get_id() != log.control)
			log.off_thread = true;
		return "# HELP weir_scrapes_total Scrapes.\n# TYPE weir_scrapes_total "
		       "counter\nweir_scrapes_total " +
		       std::to_string(n) + "\n";
	};
}

std::unique_ptr<ctl::metrics_server> start(const std::string &listen, ctl::metrics_server::render_fn render,
                                           const ctl::metrics_limits &limits = {})
{
	auto s = ctl::metrics_server::create(listen, std::move(render), limits);
	if (!s)
		throw std::runtime_error(s.error_message());
	return std::move(*s);
}

httplib::Client client(uint16_t port)
{
	httplib::Client c("127.0.0.1", port);
	c.set_connection_timeout(2, 0);
	c.set_read_timeout(5, 0);
	return c;
}

// The status of GET /metrics, -1 when there is no reply.
int scrape_status(uint16_t port)
{
	auto res = client(port).Get("/metrics");
	return res ? res->status : -1;
}

// A raw TCP connection to 127.0.0.1:port.
int dial(uint16_t port)
{
	int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0) {
		::close(fd);
		return -1;
	}
	return fd;
}

// Everything the peer sends until it closes (or 3 s pass).
std::string read_all(int fd)
{
	std::string got;
	char buf[4096];
	for (;;) {
		pollfd p{fd, POLLIN, 0};
		if (::poll(&p, 1, 3000) <= 0)
			break;
		ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		got.append(buf, size_t(n));
	}
	return got;
}

std::string run(const std::string &cmd)
{
	std::string out;
	FILE *p = ::popen((cmd + " 2>&1").c_str(), "r");
	char buf[4096];
	for (size_t n; p && (n = std::fread(buf, 1, sizeof(buf), p)) > 0;)
		out.append(buf, n);
	if (p)
		::pclose(p);
	return out;
}

TEST(metrics_server, serves_what_the_control_thread_renders)
{
	render_log log;
	auto server = start("127.0.0.1:0", counting_render(log));
	ASSERT_NE(server->port(), 0);
	EXPECT_EQ(server->listen(), "127.0.0.1:0");
	control_loop loop(*server);
	log.control = loop.id();
	httplib::Client c = client(server->port());
	for (int i = 1; i <= 3; i++) {
		auto res = c.Get("/metrics");
		ASSERT_TRUE(res) << httplib::to_string(res.error());
		EXPECT_EQ(res->status, 200);
		EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
		EXPECT_EQ(res->body, "# HELP weir_scrapes_total Scrapes.\n# TYPE weir_scrapes_total counter\n"
		                     "weir_scrapes_total " +
		                             std::to_string(i) + "\n");
	}
	EXPECT_EQ(log.calls, 3);
	EXPECT_FALSE(log.off_thread) << "rendering ran outside the control thread";
	// A query string is the same resource.
	auto q = c.Get("/metrics?x=1");
	ASSERT_TRUE(q);
	EXPECT_EQ(q->status, 200);
}

TEST(metrics_server, concurrent_scrapes_share_renderings)
{
	render_log log;
	log.control = std::this_thread::get_id();  // this thread plays the control thread
	ctl::metrics_limits limits;
	limits.threads = 4;
	limits.render_timeout = 10s;
	auto server = start("127.0.0.1:0", counting_render(log), limits);
	std::vector<std::future<int>> scrapes;
	for (int i = 0; i < 4; i++)
		scrapes.push_back(std::async(std::launch::async, scrape_status, server->port()));
	// Each waiting scrape adds one to the eventfd: wait until all four wait.
	uint64_t posted = 0;
	for (auto until = clock::now() + 5s; posted < 4 && clock::now() < until;) {
		pollfd p{server->fd(), POLLIN, 0};
		uint64_t n = 0;
		if (::poll(&p, 1, 100) > 0 && ::read(server->fd(), &n, sizeof(n)) == sizeof(n))
			posted += n;
	}
	ASSERT_EQ(posted, 4u);
	server->handle_events();
	for (auto &f : scrapes)
		EXPECT_EQ(f.get(), 200);
	EXPECT_EQ(log.calls, 1) << "waiting scrapes are answered by one rendering";
	EXPECT_FALSE(log.off_thread);
}

TEST(metrics_server, other_paths_and_methods)
{
	render_log log;
	auto server = start("127.0.0.1:0", counting_render(log));
	control_loop loop(*server);
	log.control = loop.id();
	httplib::Client c = client(server->port());
	auto root = c.Get("/");
	ASSERT_TRUE(root);
	EXPECT_EQ(root->status, 404);
	auto other = c.Get("/metrics/x");
	ASSERT_TRUE(other);
	EXPECT_EQ(other->status, 404);
	auto post = c.Post("/metrics", "x=1", "application/x-www-form-urlencoded");
	ASSERT_TRUE(post);
	EXPECT_EQ(post->status, 405);
	EXPECT_EQ(post->get_header_value("Allow"), "GET");
	auto head = c.Head("/metrics");
	ASSERT_TRUE(head);
	EXPECT_EQ(head->status, 405);
	auto del = c.Delete("/metrics");
	ASSERT_TRUE(del);
	EXPECT_EQ(del->status, 405);
	EXPECT_EQ(log.calls, 0) << "only GET /metrics renders";
}

TEST(metrics_server, unanswered_scrapes_get_503)
{
	render_log log;
	ctl::metrics_limits limits;
	limits.render_timeout = 300ms;
	auto server = start("127.0.0.1:0", counting_render(log), limits);
	auto t0 = clock::now();
	auto res = client(server->port()).Get("/metrics");  // nobody plays the control thread
	auto took = clock::now() - t0;
	ASSERT_TRUE(res);
	EXPECT_EQ(res->status, 503);
	EXPECT_GE(took, 300ms);
	EXPECT_LT(took, 2s);
	// The control thread comes back: the abandoned scrape is not rendered for, the next one is.
	control_loop loop(*server);
	log.control = loop.id();
	std::this_thread::sleep_for(50ms);
	EXPECT_EQ(log.calls, 0);
	auto again = client(server->port()).Get("/metrics");
	ASSERT_TRUE(again);
	EXPECT_EQ(again->status, 200);
	EXPECT_EQ(log.calls, 1);
}

TEST(metrics_server, a_failing_render_is_500)
{
	auto server = start("127.0.0.1:0", []() -> std::string { throw std::runtime_error("no snapshot"); });
	control_loop loop(*server);
	auto res = client(server->port()).Get("/metrics");
	ASSERT_TRUE(res);
	EXPECT_EQ(res->status, 500);
	EXPECT_NE(res->body.find("no snapshot"), std::string::npos);
}

TEST(metrics_server, requests_are_bounded)
{
	render_log log;
	ctl::metrics_limits limits;
	limits.max_request = 4096;
	auto server = start("127.0.0.1:0", counting_render(log), limits);
	control_loop loop(*server);
	log.control = loop.id();
	// Headers past the budget: the connection ends without a rendering.
	int fd = dial(server->port());
	ASSERT_GE(fd, 0);
	std::string big = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
	for (int i = 0; i < 100; i++)
		big += "X-Filler-" + std::to_string(i) + ": " + std::string(100, 'a') + "\r\n";
	big += "\r\n";
	(void)::send(fd, big.data(), big.size(), MSG_NOSIGNAL);
	std::string reply = read_all(fd);
	::close(fd);
	EXPECT_EQ(reply.find("200 OK"), std::string::npos) << reply.substr(0, 200);
	// A large body is refused before it is read.
	fd = dial(server->port());
	ASSERT_GE(fd, 0);
	std::string post = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
	(void)::send(fd, post.data(), post.size(), MSG_NOSIGNAL);
	reply = read_all(fd);
	::close(fd);
	EXPECT_EQ(reply.rfind("HTTP/1.1 405", 0), 0u) << reply.substr(0, 200);
	EXPECT_EQ(log.calls, 0);
	// Still serving.
	EXPECT_EQ(scrape_status(server->port()), 200);
}

TEST(metrics_server, silent_clients_are_closed_at_their_deadline)
{
	render_log log;
	ctl::metrics_limits limits;
	limits.connection_timeout = 500ms;
	auto server = start("127.0.0.1:0", counting_render(log), limits);
	control_loop loop(*server);
	log.control = loop.id();
	// Two silent connections hold both serving threads until their deadline.
	auto t0 = clock::now();
	int a = dial(server->port()), b = dial(server->port());
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	EXPECT_EQ(read_all(a), "");
	EXPECT_EQ(read_all(b), "");
	auto took = clock::now() - t0;
	EXPECT_GE(took, 450ms);
	EXPECT_LT(took, 2s);
	::close(a);
	::close(b);
	EXPECT_EQ(scrape_status(server->port()), 200);
}

TEST(metrics_server, stop_waits_for_nobody)
{
	render_log log;
	ctl::metrics_limits limits;
	limits.connection_timeout = 20s;
	limits.render_timeout = 20s;
	auto server = start("127.0.0.1:0", counting_render(log), limits);
	// A silent client, and a scrape waiting for a control thread that never comes.
	int c = dial(server->port());
	ASSERT_GE(c, 0);
	auto waiting = std::async(std::launch::async, scrape_status, server->port());
	pollfd p{server->fd(), POLLIN, 0};
	ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the scrape never reached the server";
	auto t0 = clock::now();
	server.reset();
	auto stop_took = clock::now() - t0;
	EXPECT_LT(stop_took, 2s);
	int status = waiting.get();
	EXPECT_TRUE(status == 503 || status == -1) << status;
	EXPECT_LT(clock::now() - t0, 2s);
	EXPECT_EQ(read_all(c), "");
	::close(c);
	EXPECT_EQ(log.calls, 0);
}

TEST(metrics_server, ipv6_and_curl)
{
	render_log log;
	auto server = start("[::1]:0", counting_render(log));
	control_loop loop(*server);
	log.control = loop.id();
	std::string url = "http://[::1]:" + std::to_string(server->port()) + "/metrics";
	if (std::system("command -v curl >/dev/null 2>&1") != 0)
		GTEST_SKIP() << "curl not installed";
	std::string out = run("curl -gsS --max-time 5 -w ' %{http_code}' " + url);
	EXPECT_EQ(out, "# HELP weir_scrapes_total Scrapes.\n# TYPE weir_scrapes_total counter\n"
	               "weir_scrapes_total 1\n 200");
	EXPECT_EQ(run("curl -gsS --max-time 5 -o /dev/null -w '%{http_code}' " + url + "x"), "404");
}

TEST(metrics_server, listen_errors_name_the_address)
{
	auto render = [] { return std::string(); };
	auto first = ctl::metrics_server::create("127.0.0.1:0", render);
	ASSERT_TRUE(first) << first.error_message();
	std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
	auto second = ctl::metrics_server::create(taken, render);
	ASSERT_FALSE(second);
	EXPECT_NE(second.error_message().find(taken), std::string::npos) << second.error_message();
	EXPECT_NE(second.error_message().find("in use"), std::string::npos) << second.error_message();
	for (const char *bad : {"", "9310", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "::1:9310",
	                        "[::1:9310", "127.0.0.1:x80", "no-such-host.invalid:9310"}) {
		auto r = ctl::metrics_server::create(bad, render);
		ASSERT_FALSE(r) << bad;
		EXPECT_NE(r.error_message().find("\"" + std::string(bad) + "\""), std::string::npos)
		        << r.error_message();
	}
	// An address this host does not have.
	auto foreign = ctl::metrics_server::create("192.0.2.1:9310", render);
	ASSERT_FALSE(foreign);
	EXPECT_NE(foreign.error_message().find("192.0.2.1:9310"), std::string::npos)
	        << foreign.error_message();
}

}  // namespace
}  // namespace weir::test
