// control_socket.cpp — the control socket server (control_socket.h). Control
// thread only; every descriptor here is non-blocking and owned by this object.
#include "control_socket.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace weir::ctl {

namespace {

using clock = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr uint64_t listen_token = 0;
constexpr uint64_t timer_token = 1;
constexpr size_t read_chunk = 64 * 1024;
constexpr int max_request_depth = 32;  // no command needs more than a few
constexpr int accepts_per_call = 32;  // leaves the rest of the loop its turn under a connect storm

std::string sys_error(const std::string &what, const std::string &path)
{
	return "control socket " + path + ": " + what + ": " + std::strerror(errno);
}

json error_reply(std::string message)
{
	return json{{"ok", false}, {"error", std::move(message)}};
}

// Parents of `path`, created 0755 where missing (as `mkdir -p`).
status make_parents(const std::string &path)
{
	for (size_t slash = path.find('/', 1); slash != std::string::npos;
	     slash = path.find('/', slash + 1)) {
		std::string dir = path.substr(0, slash);
		if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
			return error{sys_error("cannot create directory " + dir, path)};
	}
	return ok();
}

bool fill_address(sockaddr_un &sa, const std::string &path)
{
	sa = {};
	sa.sun_family = AF_UNIX;
	if (path.empty() || path.size() >= sizeof(sa.sun_path))
		return false;
	std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
	return true;
}

// Removes a socket file nobody answers on; refuses a live one or a non-socket.
status clear_stale(const std::string &path, const sockaddr_un &sa)
{
	struct stat st;
	if (::lstat(path.c_str(), &st) != 0)
		return errno == ENOENT ? ok() : status(error{sys_error("cannot stat", path)});
	if (!S_ISSOCK(st.st_mode))
		return error{"control socket " + path +
		             ": the path exists and is not a socket; remove it or "
		             "set control.socket to another path"};
	int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error{sys_error("socket", path)};
	int rc = ::connect(fd, reinterpret_cast<const sockaddr *>(&sa), sizeof(sa));
	int err = errno;
	::close(fd);
	// EAGAIN: a listener whose backlog is full, alive all the same.
	if (rc == 0 || err == EAGAIN)
		return error{"control socket " + path + " is in use by a running process (another weir?)"};
	if (err != ECONNREFUSED) {
		errno = err;
		return error{sys_error("cannot probe the existing socket", path)};
	}
	if (::unlink(path.c_str()) != 0 && errno != ENOENT)
		return error{sys_error("cannot remove the stale socket", path)};
	return ok();
}

}  // namespace

struct control_socket::conn {
	int fd = -1;
	uint64_t id = 0;
	std::string in;  // received; in[in_pos..] not served yet
	size_t in_pos = 0;
	std::string out;  // replies; out[out_pos..] not sent yet
	size_t out_pos = 0;
	uint32_t interest = 0;  // current epoll events
	bool closing = false;  // send what is queued, then close; read nothing more
	bool peer_eof = false;  // the peer will send nothing more
	bool dead = false;  // close at the end of this event
	clock::time_point last_activity;  // last byte received or sent
	clock::time_point last_progress;  // last byte sent, or when output became pending

	size_t unsent() const { return out.size() - out_pos; }
	size_t pending_in() const { return in.size() - in_pos; }
};

control_socket::control_socket(std::string path, const control_limits &limits)
    : _path(std::move(path)), _limits(limits)
{}

result<std::unique_ptr<control_socket>> control_socket::open(const control_config &cfg,
                                                             const control_limits &limits)
{
	std::unique_ptr<control_socket> s(new control_socket(cfg.socket, limits));
	if (status st = s->listen_on(cfg); !st)
		return error{st.error_message()};
	return s;
}

status control_socket::listen_on(const control_config &cfg)
{
	sockaddr_un sa;
	if (!fill_address(sa, _path))
		return error{"control socket \"" + _path + "\": the path must be 1 to " +
		             std::to_string(sizeof(sa.sun_path) - 1) + " bytes"};
	if (status st = make_parents(_path); !st)
		return st;
	if (status st = clear_stale(_path, sa); !st)
		return st;
	_listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (_listen_fd < 0)
		return error{sys_error("socket", _path)};
	if (::bind(_listen_fd, reinterpret_cast<const sockaddr *>(&sa), sizeof(sa)) != 0)
		return error{sys_error("cannot bind", _path)};
	struct stat st;
	// The mode is set before listen(), so nobody connects under the umask's mode.
	if (::chmod(_path.c_str(), cfg.socket_mode) != 0 || ::lstat(_path.c_str(), &st) != 0) {
		status e = error{sys_error("cannot set the mode", _path)};
		::unlink(_path.c_str());
		return e;
	}
	_owner_uid = st.st_uid;
	_dev = st.st_dev;
	_ino = st.st_ino;
	if (::listen(_listen_fd, 64) != 0)
		return error{sys_error("listen", _path)};
	_epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
	_timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (_epoll_fd < 0 || _timer_fd < 0)
		return error{sys_error("epoll/timerfd", _path)};
	epoll_event ev{};
	ev.events = EPOLLIN;
	ev.data.u64 = listen_token;
	if (::epoll_ctl(_epoll_fd, EPOLL_CTL_ADD, _listen_fd, &ev) != 0)
		return error{sys_error("epoll_ctl", _path)};
	ev.data.u64 = timer_token;
	if (::epoll_ctl(_epoll_fd, EPOLL_CTL_ADD, _timer_fd, &ev) != 0)
		return error{sys_error("epoll_ctl", _path)};
	return ok();
}

control_socket::~control_socket()
{
	for (auto &[id, c] : _conns)
		::close(c->fd);
	_conns.clear();
	if (_listen_fd >= 0) {
		// Only our own file: a newer weir may have replaced it meanwhile.
		struct stat st;
		if (::lstat(_path.c_str(), &st) == 0 && st.st_dev == _dev && st.st_ino == _ino)
			::unlink(_path.c_str());
		::close(_listen_fd);
	}
	if (_timer_fd >= 0)
		::close(_timer_fd);
	if (_epoll_fd >= 0)
		::close(_epoll_fd);
}

void control_socket::on(std::string cmd, handler h)
{
	_handlers[std::move(cmd)] = std::move(h);
}

void control_socket::handle_events()
{
	epoll_event events[64];
	int n = ::epoll_wait(_epoll_fd, events, 64, 0);
	for (int i = 0; i < n; i++) {
		uint64_t token = events[i].data.u64;
		if (token == listen_token) {
			accept_clients();
		} else if (token == timer_token) {
			uint64_t ticks;
			while (::read(_timer_fd, &ticks, sizeof(ticks)) > 0) {
			}
			check_timeouts();
		} else {
			// Tokens are never reused, so an event of a connection closed
			// earlier in this batch finds nothing.
			on_conn_event(token, events[i].events);
		}
	}
}

void control_socket::accept_clients()
{
	for (int i = 0; i < accepts_per_call; i++) {
		int fd = ::accept4(_listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;  // EAGAIN, or a connection that died before we took it
		if (_conns.size() >= _limits.max_clients) {
			static const char busy[] =
			        "{\"ok\":false,\"error\":\"too many control connections\"}\n";
			(void)!::send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			::close(fd);
			continue;
		}
		uint64_t id = _next_id++;
		auto c = std::make_unique<conn>();
		c->fd = fd;
		c->id = id;
		c->last_activity = c->last_progress = clock::now();
		epoll_event ev{};
		ev.data.u64 = id;
		if (::epoll_ctl(_epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			::close(fd);
			continue;
		}
		conn &ref = *c;
		_conns.emplace(id, std::move(c));
		arm_timer(true);
		ucred cred{};
		socklen_t len = sizeof(cred);
		bool allowed = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
		               (cred.uid == 0 || cred.uid == _owner_uid);
		if (!allowed) {
			queue_reply(ref, error_reply("permission denied: uid " + std::to_string(cred.uid) +
			                             " is neither root nor the owner of " + _path));
			ref.closing = true;
		}
		on_conn_event(id, 0);
	}
}

void control_socket::on_conn_event(uint64_t id, uint32_t events)
{
	auto it = _conns.find(id);
	if (it == _conns.end())
		return;
	conn &c = *it->second;
	if (events & (EPOLLERR | EPOLLHUP))
		c.dead = true;  // the peer is gone: nobody to reply to
	if (!c.dead && (events & EPOLLIN))
		read_requests(c);
	// Serve every complete request unless the replies back up: a request left
	// in the buffer with nothing to wake us would wait for the next one.
	while (!c.dead) {
		serve_lines(c);
		flush(c);
		if (c.closing || c.unsent() >= _limits.pause_output ||
		    c.in.find('\n', c.in_pos) == std::string::npos)
			break;
	}
	bool done = c.unsent() == 0 &&
	            (c.closing || (c.peer_eof && c.in.find('\n', c.in_pos) == std::string::npos));
	if (c.dead || done) {
		close_conn(id);
		return;
	}
	update_interest(c);
}

void control_socket::read_requests(conn &c)
{
	if (c.closing || c.peer_eof || c.unsent() >= _limits.pause_output)
		return;
	if (c.in_pos > 0) {
		c.in.erase(0, c.in_pos);
		c.in_pos = 0;
	}
	// At most one byte past the longest request: enough to see it is too long,
	// never more of it.
	size_t room = _limits.max_request + 1 - std::min(c.in.size(), _limits.max_request + 1);
	size_t want = std::min(room, read_chunk);
	if (want == 0)
		return;
	size_t old = c.in.size();
	c.in.resize(old + want);
	ssize_t n = ::recv(c.fd, c.in.data() + old, want, MSG_DONTWAIT);
	c.in.resize(old + size_t(std::max<ssize_t>(n, 0)));
	if (n > 0) {
		c.last_activity = clock::now();
	} else if (n == 0) {
		c.peer_eof = true;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		c.dead = true;
	}
}

void control_socket::serve_lines(conn &c)
{
	while (!c.closing && !c.dead && c.unsent() < _limits.pause_output) {
		size_t nl = c.in.find('\n', c.in_pos);
		if (nl == std::string::npos || nl - c.in_pos > _limits.max_request) {
			if (c.pending_in() > _limits.max_request) {
				queue_reply(c, error_reply("request longer than " +
				                           std::to_string(_limits.max_request) +
				                           " bytes; closing the connection"));
				c.closing = true;
			}
			break;
		}
		std::string_view line(c.in.data() + c.in_pos, nl - c.in_pos);
		c.in_pos = nl + 1;
		if (!line.empty() && line.back() == '\r')
			line.remove_suffix(1);
		queue_reply(c, dispatch(line));
	}
	if (c.in_pos == c.in.size()) {
		c.in.clear();
		c.in_pos = 0;
	}
	if (c.in.capacity() > 2 * (_limits.max_request + 1) && c.in.empty())
		c.in.shrink_to_fit();
}

json control_socket::dispatch(std::string_view line) const
{
	json req;
	int depth = 0;
	// Copying and printing a value recurse once per level: a line of nested
	// brackets would otherwise run the control thread out of stack.
	auto deepest = [&depth](int d, json::parse_event_t, json &) {
		depth = std::max(depth, d);
		return true;
	};
	try {
		req = json::parse(line.begin(), line.end(), deepest);
	} catch (const json::parse_error &e) {
		std::string what = e.what();
		// Drop the library's "[json.exception.parse_error.101] " tag.
		if (size_t tag = what.find("] "); tag != std::string::npos)
			what.erase(0, tag + 2);
		return error_reply("malformed request: " + what);
	}
	if (depth > max_request_depth)
		return error_reply("malformed request: nested more than " +
		                   std::to_string(max_request_depth) + " levels deep");
	if (!req.is_object())
		return error_reply("malformed request: not a JSON object");
	auto cmd = req.find("cmd");
	if (cmd == req.end() || !cmd->is_string())
		return error_reply("malformed request: no \"cmd\" string");
	json reply;
	auto h = _handlers.find(cmd->get_ref<const std::string &>());
	if (h == _handlers.end()) {
		std::string known;
		for (const auto &[name, fn] : _handlers)
			known += (known.empty() ? "" : ", ") + name;
		std::string name = cmd->get<std::string>().substr(0, 64);
		reply = error_reply("unknown command \"" + name + "\" (commands: " + known + ")");
	} else {
		try {
			reply = h->second(req);
			if (!reply.is_object())
				reply = json{{"result", std::move(reply)}};
			if (!reply.contains("ok"))
				reply["ok"] = true;
		} catch (const std::exception &e) {
			reply = error_reply(e.what());
		} catch (...) {
			reply = error_reply("internal error");
		}
	}
	// A client that pipelines requests can match replies by its own ids.
	if (auto id = req.find("id"); id != req.end())
		reply["id"] = *id;
	return reply;
}

void control_socket::queue_reply(conn &c, const json &reply)
{
	std::string line = reply.dump(-1, ' ', false, json::error_handler_t::replace);
	line += '\n';
	if (c.unsent() + line.size() > _limits.max_output) {
		c.dead = true;  // it does not read what it asks for
		return;
	}
	if (c.unsent() == 0) {
		c.out.clear();
		c.out_pos = 0;
		c.last_progress = clock::now();
	} else if (c.out_pos > c.out.size() / 2) {
		c.out.erase(0, c.out_pos);
		c.out_pos = 0;
	}
	c.out += line;
}

void control_socket::flush(conn &c)
{
	while (c.unsent() > 0) {
		ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, c.unsent(), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c.out_pos += size_t(n);
			c.last_activity = c.last_progress = clock::now();
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				c.dead = true;
			return;
		}
	}
	c.out.clear();
	c.out_pos = 0;
	// A large reply's buffer is not kept for a connection that may live long.
	if (c.out.capacity() > 4 * _limits.pause_output)
		c.out.shrink_to_fit();
}

void control_socket::update_interest(conn &c)
{
	uint32_t want = 0;
	if (!c.closing && !c.peer_eof && c.unsent() < _limits.pause_output)
		want |= EPOLLIN;
	if (c.unsent() > 0)
		want |= EPOLLOUT;
	if (want == c.interest)
		return;
	epoll_event ev{};
	ev.events = want;
	ev.data.u64 = c.id;
	if (::epoll_ctl(_epoll_fd, EPOLL_CTL_MOD, c.fd, &ev) == 0)
		c.interest = want;
}

void control_socket::close_conn(uint64_t id)
{
	auto it = _conns.find(id);
	if (it == _conns.end())
		return;
	::close(it->second->fd);  // also removes it from the epoll set
	_conns.erase(it);
	if (_conns.empty())
		arm_timer(false);
}

void control_socket::check_timeouts()
{
	auto now = clock::now();
	std::vector<uint64_t> expired;
	for (const auto &[id, c] : _conns) {
		bool stuck = c->unsent() > 0 && now - c->last_progress >= _limits.send_timeout;
		bool idle = c->unsent() == 0 && now - c->last_activity >= _limits.idle_timeout;
		if (stuck || idle)
			expired.push_back(id);
	}
	for (uint64_t id : expired)
		close_conn(id);
}

void control_socket::arm_timer(bool on)
{
	if (on == _timer_armed)
		return;
	using std::chrono::milliseconds;
	// A quarter of the shorter timeout, within [10 ms, 1 s]: timeouts fire at most
	// that late.
	milliseconds tick = std::clamp(std::min(_limits.send_timeout, _limits.idle_timeout) / 4,
	                               milliseconds(10), milliseconds(1000));
	itimerspec its{};
	if (on) {
		its.it_interval.tv_sec = tick.count() / 1000;
		its.it_interval.tv_nsec = (tick.count() % 1000) * 1'000'000;
		its.it_value = its.it_interval;
	}
	if (::timerfd_settime(_timer_fd, 0, &its, nullptr) == 0)
		_timer_armed = on;
}

}  // namespace weir::ctl
