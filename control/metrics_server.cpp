// metrics_server.cpp — the HTTP endpoint of metrics.h on cpp-httplib. Threads:
// one accepting (httplib's listen loop), `limits.threads` serving connections,
// and the control thread, which only calls fd(), handle_events() and the
// destructor. The serving threads and the control thread meet in `state`, under
// its mutex: a scrape queues a `scrape` and waits on the condition variable; the
// control thread fills every queued scrape with one rendering.
//
// Each connection carries one request (the reply closes it) and is read through
// a bounded stream: at most `max_request` bytes, all within
// `connection_timeout`, and cut short at once when the server stops. That bounds
// what any client can make weir buffer or wait for, which httplib alone does not.
#include "metrics.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <httplib.h>

namespace weir::ctl {

namespace {

using clock = std::chrono::steady_clock;

const char *const exposition_type = "text/plain; version=0.0.4; charset=utf-8";

// httplib's task queue, bounded: a few threads, and at most `max_pending`
// accepted connections waiting for one (beyond that the accepting thread waits,
// and further clients wait in the kernel's listen backlog).
class bounded_pool : public httplib::TaskQueue {
public:
	bounded_pool(unsigned threads, size_t max_pending) : _max_pending(std::max<size_t>(max_pending, 1))
	{
		for (unsigned i = 0; i < std::max(threads, 1u); i++)
			_threads.emplace_back([this] { run(); });
	}

	void enqueue(std::function<void()> fn) override
	{
		std::unique_lock lock(_mu);
		_room.wait(lock, [&] { return _jobs.size() < _max_pending; });
		_jobs.push_back(std::move(fn));
		_ready.notify_one();
	}

	void shutdown() override
	{
		{
			std::lock_guard lock(_mu);
			_shutdown = true;
		}
		_ready.notify_all();
		for (std::thread &t : _threads)
			t.join();
	}

private:
	void run()
	{
		for (;;) {
			std::function<void()> fn;
			{
				std::unique_lock lock(_mu);
				_ready.wait(lock, [&] { return !_jobs.empty() || _shutdown; });
				if (_jobs.empty())
					return;  // shut down, and every accepted connection served
				fn = std::move(_jobs.front());
				_jobs.pop_front();
			}
			_room.notify_one();
			fn();
		}
	}

	size_t _max_pending;
	std::mutex _mu;
	std::condition_variable _ready;  // a job or shutdown
	std::condition_variable _room;  // a job left the queue
	std::deque<std::function<void()>> _jobs;
	bool _shutdown = false;
	std::vector<std::thread> _threads;
};

// A connection as httplib reads and writes it, within a byte budget and a
// deadline, and failing at once when `stop_fd` (an eventfd) becomes readable.
class bounded_stream : public httplib::Stream {
public:
	bounded_stream(int sock, int stop_fd, clock::time_point deadline, size_t budget)
	    : _sock(sock), _stop_fd(stop_fd), _deadline(deadline), _budget(budget)
	{}

	bool is_readable() const override { return _off < _len || wait(POLLIN); }
	bool is_writable() const override { return wait(POLLOUT); }

	ssize_t read(char *ptr, size_t size) override
	{
		if (_off == _len) {
			// httplib reads request lines a byte at a time: refill a buffer.
			if (_budget == 0 || !wait(POLLIN))
				return -1;
			ssize_t n = ::recv(_sock, _buf, std::min(sizeof(_buf), _budget), MSG_DONTWAIT);
			if (n <= 0)
				return n == 0 ? 0 : -1;
			_budget -= size_t(n);
			_off = 0;
			_len = size_t(n);
		}
		size_t n = std::min(size, _len - _off);
		std::memcpy(ptr, _buf + _off, n);
		_off += n;
		return ssize_t(n);
	}

	ssize_t write(const char *ptr, size_t size) override
	{
		if (!wait(POLLOUT))
			return -1;
		return ::send(_sock, ptr, size, MSG_DONTWAIT | MSG_NOSIGNAL);
	}

	void get_remote_ip_and_port(std::string &ip, int &port) const override
	{
		name_of(::getpeername, ip, port);
	}
	void get_local_ip_and_port(std::string &ip, int &port) const override
	{
		name_of(::getsockname, ip, port);
	}
	socket_t socket() const override { return _sock; }

private:
	// Until `events` on the socket, the deadline, or the stop signal.
	bool wait(short events) const
	{
		for (;;) {
			auto left = std::chrono::ceil<std::chrono::milliseconds>(_deadline - clock::now());
			if (left.count() <= 0)
				return false;
			pollfd p[2] = {{_sock, events, 0}, {_stop_fd, POLLIN, 0}};
			int n = ::poll(p, 2, int(left.count()));
			if (n < 0 && errno == EINTR)
				continue;
			return n > 0 && !p[1].revents && (p[0].revents & events);
		}
	}

	void name_of(int (*get)(int, sockaddr *, socklen_t *), std::string &ip, int &port) const
	{
		sockaddr_storage a{};
		socklen_t len = sizeof(a);
		char host[NI_MAXHOST], serv[NI_MAXSERV];
		if (get(_sock, reinterpret_cast<sockaddr *>(&a), &len) == 0 &&
		    ::getnameinfo(reinterpret_cast<sockaddr *>(&a), len, host, sizeof(host), serv,
		                  sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
			ip = host;
			port = std::atoi(serv);
		}
	}

	int _sock;
	int _stop_fd;
	clock::time_point _deadline;
	size_t _budget;
	char _buf[4096];
	size_t _off = 0;
	size_t _len = 0;
};

}  // namespace

// Named rather than anonymous: metrics_server::state, declared in the header, holds them.
namespace metrics_http {

// One scrape waiting for the control thread.
struct scrape {
	bool done = false;
	int status = 0;
	std::shared_ptr<const std::string> body;
};

class http_server;

}  // namespace metrics_http

using metrics_http::http_server;
using metrics_http::scrape;

struct metrics_server::state {
	std::string listen;
	render_fn render;
	metrics_limits limits;
	int event_fd = -1;  // readable while scrapes wait: the control thread's wake-up
	int stop_fd = -1;  // readable once stopping: ends every connection's waits
	uint16_t port = 0;

	std::mutex mu;
	std::condition_variable answered;  // scrapes done, or stopping
	std::vector<std::shared_ptr<scrape>> waiting;
	bool stopping = false;

	std::unique_ptr<http_server> http;
	std::thread listener;
	// False once the listen loop has returned. Orders nothing else: the
	// destructor only polls it to know that stop() has taken effect.
	std::atomic<bool> listening{true};

	~state();
	void serve_metrics(httplib::Response &res);
};

namespace metrics_http {

class http_server : public httplib::Server {
public:
	explicit http_server(metrics_server::state &s) : _s(s)
	{
		new_task_queue = [this] {
			return new bounded_pool(_s.limits.threads, _s.limits.max_pending);
		};
		// SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a
		// second weir would share the port instead of being told it is in use.
		set_socket_options([](socket_t sock) {
			int yes = 1;
			::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
		});
		set_pre_routing_handler([](const httplib::Request &req, httplib::Response &res) {
			if (req.path != "/metrics") {
				res.status = 404;
				res.set_content("weir serves /metrics only\n", "text/plain");
			} else if (req.method != "GET") {
				res.status = 405;
				res.set_header("Allow", "GET");
				res.set_content("/metrics takes GET only\n", "text/plain");
			} else {
				return HandlerResponse::Unhandled;
			}
			return HandlerResponse::Handled;
		});
		Get("/metrics",
		    [this](const httplib::Request &, httplib::Response &res) { _s.serve_metrics(res); });
	}

private:
	bool process_and_close_socket(socket_t sock) override
	{
		bool ok = false;
		bool stopping;
		{
			std::lock_guard lock(_s.mu);
			stopping = _s.stopping;
		}
		if (!stopping) {
			bounded_stream strm(sock, _s.stop_fd, clock::now() + _s.limits.connection_timeout,
			                    _s.limits.max_request);
			bool closed = false;
			ok = process_request(strm, true, closed, [](httplib::Request &) {});
		}
		::shutdown(sock, SHUT_WR);
		::close(sock);
		return ok;
	}

	metrics_server::state &_s;
};

}  // namespace metrics_http

namespace {

// "HOST:PORT" or "[V6]:PORT" split; false when malformed.
bool split_listen(const std::string &listen, std::string &host, int &port)
{
	size_t colon = listen.rfind(':');
	if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size() ||
	    colon + 6 < listen.size())
		return false;
	std::string p = listen.substr(colon + 1);
	if (!std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }))
		return false;
	port = std::stoi(p);
	host = listen.substr(0, colon);
	if (host.front() == '[') {
		if (host.size() < 3 || host.back() != ']')
			return false;
		host = host.substr(1, host.size() - 2);
	} else if (host.find(':') != std::string::npos) {
		return false;  // an IPv6 address needs brackets
	}
	return port <= 65535;
}

}  // namespace

void metrics_server::state::serve_metrics(httplib::Response &res)
{
	auto s = std::make_shared<scrape>();
	std::unique_lock lock(mu);
	if (stopping) {
		res.status = 503;
		res.set_content("weir is stopping\n", "text/plain");
		return;
	}
	waiting.push_back(s);
	uint64_t one = 1;
	if (::write(event_fd, &one, sizeof(one)) < 0) {
		// Only EAGAIN (counter at its maximum): the control thread is woken anyway.
	}
	answered.wait_until(lock, clock::now() + limits.render_timeout, [&] { return s->done || stopping; });
	if (!s->done) {
		waiting.erase(std::remove(waiting.begin(), waiting.end(), s), waiting.end());
		res.status = 503;
		res.set_content("weir's control thread did not answer within " +
		                        std::to_string(limits.render_timeout.count()) + " ms\n",
		                "text/plain");
		return;
	}
	res.status = s->status;
	res.set_content(*s->body, s->status == 200 ? exposition_type : "text/plain");
}

metrics_server::state::~state()
{
	{
		std::lock_guard lock(mu);
		stopping = true;
	}
	answered.notify_all();
	uint64_t one = 1;
	if (stop_fd >= 0 && ::write(stop_fd, &one, sizeof(one)) < 0) {
		// Cannot fail on a fresh eventfd; the deadlines end every wait regardless.
	}
	if (listener.joinable()) {
		// stop() does nothing until the listen loop has started: repeat until it returned.
		while (listening.load()) {
			http->stop();
			std::this_thread::sleep_for(std::chrono::milliseconds(2));
		}
		listener.join();
	}
	http.reset();
	for (int fd : {event_fd, stop_fd})
		if (fd >= 0)
			::close(fd);
}

result<std::unique_ptr<metrics_server>> metrics_server::create(const std::string &listen, render_fn render,
                                                               const metrics_limits &limits)
{
	std::string host;
	int port = 0;
	if (!split_listen(listen, host, port))
		return error{"metrics_listen \"" + listen + "\": not HOST:PORT or [IPV6]:PORT"};
	auto s = std::make_unique<state>();
	s->listen = listen;
	s->render = std::move(render);
	s->limits = limits;
	s->event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->stop_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->event_fd < 0 || s->stop_fd < 0)
		return error{std::string("metrics_listen \"") + listen +
		             "\": eventfd: " + std::strerror(errno)};
	addrinfo hints{}, *found = nullptr;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0)
		return error{"metrics_listen \"" + listen + "\": " + host + ": " + ::gai_strerror(rc)};
	::freeaddrinfo(found);
	s->http = std::make_unique<http_server>(*s);
	errno = 0;
	int bound = port ? (s->http->bind_to_port(host, port) ? port : -1) : s->http->bind_to_any_port(host);
	if (bound <= 0)
		return error{"metrics_listen \"" + listen +
		             "\": cannot listen: " + (errno ? std::strerror(errno) : "bind failed")};
	s->port = uint16_t(bound);
	state *raw = s.get();
	s->listener = std::thread([raw] {
		raw->http->listen_after_bind();
		raw->listening = false;
	});
	return std::unique_ptr<metrics_server>(new metrics_server(std::move(s)));
}

metrics_server::metrics_server(std::unique_ptr<state> s) : _s(std::move(s)) {}

metrics_server::~metrics_server() = default;

int metrics_server::fd() const
{
	return _s->event_fd;
}

void metrics_server::handle_events()
{
	uint64_t n;
	if (::read(_s->event_fd, &n, sizeof(n)) < 0) {
		// EAGAIN: nothing posted since the last call; the queue says the same.
	}
	std::vector<std::shared_ptr<scrape>> batch;
	{
		std::lock_guard lock(_s->mu);
		batch.swap(_s->waiting);
	}
	if (batch.empty())
		return;
	int status = 200;
	std::shared_ptr<const std::string> body;
	try {
		body = std::make_shared<const std::string>(_s->render());
	} catch (const std::exception &e) {
		status = 500;
		body = std::make_shared<const std::string>(std::string("rendering the metrics failed: ") +
		                                           e.what() + "\n");
	}
	{
		std::lock_guard lock(_s->mu);
		for (const auto &s : batch) {
			s->status = status;
			s->body = body;
			s->done = true;
		}
	}
	_s->answered.notify_all();
}

uint16_t metrics_server::port() const
{
	return _s->port;
}

const std::string &metrics_server::listen() const
{
	return _s->listen;
}

}  // namespace weir::ctl
