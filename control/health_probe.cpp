// health_probe.cpp — the socket work of one health probe (health_probe.h).
// Control thread only; every socket here is non-blocking and owned by its probe.
#include "health_probe.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace weir::ctl {

namespace {

// Enough for any status line worth reading; a server sending more without a
// newline is judged on what came.
constexpr size_t max_status_line = 512;
constexpr char udp_payload[] = "weir health probe\n";

// Errors that say this host could not probe, not that the backend failed.
bool is_local(int err)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
	case EADDRNOTAVAIL:  // no ephemeral port left
	case EAGAIN:  // likewise, for connect
		return true;
	default:
		return false;
	}
}

std::string error_text(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return "refused";
	case ECONNRESET:
		return "reset";
	case ETIMEDOUT:
		return "timed out";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return "unreachable";
	default:
		return std::strerror(err);
	}
}

probe_outcome failure(const char *what, int err)
{
	return {is_local(err) ? probe_verdict::local_error : probe_verdict::fail,
	        std::string(what) + ": " + error_text(err)};
}

socklen_t fill_address(sockaddr_storage &ss, const ip_addr &a, uint16_t port)
{
	ss = {};
	if (a.is_v4()) {
		auto *sin = reinterpret_cast<sockaddr_in *>(&ss);
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		std::memcpy(&sin->sin_addr, a.bytes.data(), 4);
		return sizeof(*sin);
	}
	auto *sin6 = reinterpret_cast<sockaddr_in6 *>(&ss);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	std::memcpy(&sin6->sin6_addr, a.bytes.data(), 16);
	return sizeof(*sin6);
}

std::string http_request(const health_target &t)
{
	std::string host = t.address.is_v4() ? t.address.to_string() : "[" + t.address.to_string() + "]";
	if (t.port != 80)
		host += ":" + std::to_string(t.port);
	return "GET " + t.check.path + " HTTP/1.0\r\nHost: " + host +
	       "\r\nUser-Agent: weir-health\r\nAccept: */*\r\nConnection: close\r\n\r\n";
}

bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

}  // namespace

probe_outcome http_verdict(std::string_view reply, bool closed)
{
	size_t newline = reply.find('\n');
	if (newline == std::string_view::npos && !closed && reply.size() < max_status_line)
		return {};
	std::string_view line = reply.substr(0, std::min(newline, max_status_line));
	if (!line.empty() && line.back() == '\r')
		line.remove_suffix(1);
	if (line.empty())
		return {probe_verdict::fail, "http: closed before the status line"};
	// HTTP/1.1 200 OK: a version, one space, three digits, then a space or the end.
	size_t space = line.find(' ');
	bool well_formed = line.starts_with("HTTP/") && space != std::string_view::npos &&
	                   line.size() >= space + 4 && is_digit(line[space + 1]) &&
	                   is_digit(line[space + 2]) && is_digit(line[space + 3]) &&
	                   (line.size() == space + 4 || line[space + 4] == ' ');
	if (!well_formed)
		return {probe_verdict::fail, "http: bad status line"};
	std::string_view code = line.substr(space + 1, 3);
	bool passed = code[0] == '2' || code[0] == '3';
	return {passed ? probe_verdict::pass : probe_verdict::fail, "http " + std::string(code)};
}

health_probe::~health_probe()
{
	if (_fd >= 0)
		::close(_fd);
}

probe_outcome health_probe::start(const health_target &target)
{
	_kind = target.check.kind;
	bool udp = _kind == health_kind::udp;
	int family = target.address.is_v4() ? AF_INET : AF_INET6;
	_fd = ::socket(family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (_fd < 0)
		return done(probe_verdict::local_error, "socket: " + error_text(errno));
	if (!udp) {
		// Close with a reset: no TIME_WAIT left behind per probe.
		linger lg{1, 0};
		::setsockopt(_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (_kind == health_kind::http)
		_out = http_request(target);
	sockaddr_storage ss;
	socklen_t len = fill_address(ss, target.address, target.port);
	if (::connect(_fd, reinterpret_cast<sockaddr *>(&ss), len) == 0)
		return connected();
	if (errno != EINPROGRESS) {
		auto r = failure("connect", errno);
		return done(r.verdict, r.text);
	}
	_phase = phase::connecting;
	return {};
}

probe_outcome health_probe::on_event(uint32_t events)
{
	switch (_phase) {
	case phase::connecting: {
		int err = 0;
		socklen_t len = sizeof(err);
		if (::getsockopt(_fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			auto r = failure("connect", err);
			return done(r.verdict, r.text);
		}
		if (events & (EPOLLERR | EPOLLHUP))
			return done(probe_verdict::fail, "connect: closed");
		return (events & EPOLLOUT) ? connected() : probe_outcome{};
	}
	case phase::sending:
		return send_request();
	case phase::receiving:
		return read_reply();
	default:
		return {};
	}
}

uint32_t health_probe::events() const
{
	switch (_phase) {
	case phase::connecting:
	case phase::sending:
		return EPOLLOUT;
	case phase::receiving:
		return EPOLLIN;
	default:
		return 0;
	}
}

const char *health_probe::timeout_text() const
{
	if (_phase == phase::receiving)
		return _kind == health_kind::udp ? "timeout: no reply" : "timeout: no status line";
	if (_phase == phase::sending)
		return "timeout: sending the request";
	return "timeout";
}

probe_outcome health_probe::connected()
{
	switch (_kind) {
	case health_kind::http:
		return send_request();
	case health_kind::udp:
		if (::send(_fd, udp_payload, sizeof(udp_payload) - 1, MSG_NOSIGNAL) < 0) {
			auto r = failure("udp", errno);
			return done(r.verdict, r.text);
		}
		_phase = phase::receiving;
		return {};
	default:
		return done(probe_verdict::pass, "connected");
	}
}

probe_outcome health_probe::send_request()
{
	while (!_out.empty()) {
		ssize_t n = ::send(_fd, _out.data(), _out.size(), MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			_phase = phase::sending;
			return {};
		}
		if (n < 0) {
			auto r = failure("http: send", errno);
			return done(r.verdict, r.text);
		}
		_out.erase(0, static_cast<size_t>(n));
	}
	_phase = phase::receiving;
	return {};
}

probe_outcome health_probe::read_reply()
{
	char buf[max_status_line];
	for (;;) {
		size_t room = _kind == health_kind::udp ? sizeof(buf) : max_status_line - _in.size();
		ssize_t n = ::recv(_fd, buf, room, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return {};
		if (n < 0) {
			auto r = failure(_kind == health_kind::udp ? "udp" : "http", errno);
			return done(r.verdict, r.text);
		}
		if (_kind == health_kind::udp)
			return done(probe_verdict::pass, "udp reply");
		_in.append(buf, static_cast<size_t>(n));
		probe_outcome r = http_verdict(_in, n == 0);
		if (r.verdict != probe_verdict::pending)
			return done(r.verdict, std::move(r.text));
	}
}

probe_outcome health_probe::done(probe_verdict v, std::string text)
{
	_phase = phase::done;
	if (_fd >= 0)
		::close(_fd);
	_fd = -1;
	return {v, std::move(text)};
}

}  // namespace weir::ctl
