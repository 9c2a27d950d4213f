// control_socket.h — the control socket server (SPEC §6): a Unix stream socket,
// one JSON object per line each way, commands dispatched to handlers the daemon
// registers. Owned and used by the control thread only: open it, register
// handlers, add fd() to the control thread's event loop, and call
// handle_events() whenever fd() is readable. Nothing here blocks and nothing
// here has a thread; clients are served from one epoll set.
//
// Protocol. A request is one line holding a JSON object {"cmd": NAME, ...}, at
// most `max_request` bytes before its newline. Every reply is one line holding an
// object with "ok". A line that is not JSON, not an object, has no string "cmd",
// nests more than 32 levels, or names no registered command gets {"ok": false,
// "error": ...} and the connection stays usable. A longer line gets an error
// reply and the connection is closed once the reply is sent; the rest of that
// line is never read.
//
// Access. A peer whose uid (SO_PEERCRED) is neither 0 nor the socket file's owner
// gets one error reply and is closed; the file's mode (control.socket_mode) is the
// first gate, this is the second.
//
// Slow and stuck clients. A connection's requests are read only while its unsent
// replies are under `pause_output`: a client that pipelines requests and reads
// its replies is served at its own pace, and one that never reads stops being
// read (its own writes then block, nobody else's). A connection is closed when
// its unsent output would exceed `max_output`, when it has had unsent output and
// accepted none of it for `send_timeout`, or when it has sent nothing and had
// nothing pending for `idle_timeout`. At most `max_clients` connections are
// served; further ones are accepted and closed at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "config.h"
#include "result.h"

namespace weir::ctl {

struct control_limits {
	size_t max_request = 64 * 1024;  // bytes per request line, newline excluded
	size_t pause_output = 64 * 1024;  // stop reading a connection above this much unsent output
	// Unsent output that closes a connection. Larger than any reply (stats of a
	// full configuration included), so only a client that does not read meets it.
	size_t max_output = 32u << 20;
	std::chrono::milliseconds send_timeout{10'000};  // unsent output, none accepted for this long
	std::chrono::milliseconds idle_timeout{60'000};  // nothing received or pending for this long
	size_t max_clients = 64;
};

class control_socket {
public:
	// The request as parsed (an object with a string "cmd"); returns the reply
	// body. "ok": true is added unless the handler set "ok" itself; a non-object
	// result is returned under "result". A std::exception thrown here becomes
	// {"ok": false, "error": what()} and the connection stays usable.
	using handler = std::function<nlohmann::json(const nlohmann::json &request)>;

	// Creates the socket at cfg.socket with mode cfg.socket_mode (and its parent
	// directory, 0755, if missing), after removing a stale socket file there.
	// Errors: another process answers on the path (a running weir), the path
	// exists and is not a socket, or a system call failed; each names the path.
	static result<std::unique_ptr<control_socket>> open(const control_config &cfg,
	                                                    const control_limits &limits = {});

	// Closes every connection and removes the socket file if it is still ours.
	~control_socket();
	control_socket(const control_socket &) = delete;
	control_socket &operator=(const control_socket &) = delete;

	// Registers (or replaces) the handler of `cmd`.
	void on(std::string cmd, handler h);

	// An epoll descriptor, readable whenever handle_events() has work: new
	// connections, requests, writable clients, timeouts. Level-triggered, so the
	// caller may serve it at its own pace.
	int fd() const { return _epoll_fd; }

	// Serves what is ready now (accepts, reads, replies, timeouts) and returns
	// without waiting.
	void handle_events();

	// The reply to one request line (without its newline), as the server sends
	// it. Pure with respect to the connections; exposed for tests and fuzzing.
	nlohmann::json dispatch(std::string_view line) const;

	const std::string &path() const { return _path; }
	size_t clients() const { return _conns.size(); }
	uid_t owner_uid() const { return _owner_uid; }

private:
	struct conn;

	control_socket(std::string path, const control_limits &limits);
	status listen_on(const control_config &cfg);
	void accept_clients();
	void on_conn_event(uint64_t id, uint32_t events);
	void read_requests(conn &c);
	void serve_lines(conn &c);
	void queue_reply(conn &c, const nlohmann::json &reply);
	void flush(conn &c);
	void update_interest(conn &c);
	void close_conn(uint64_t id);
	void check_timeouts();
	void arm_timer(bool on);

	std::string _path;
	control_limits _limits;
	int _listen_fd = -1;
	int _epoll_fd = -1;
	int _timer_fd = -1;  // periodic while clients exist, for the timeouts
	bool _timer_armed = false;
	uid_t _owner_uid = 0;
	dev_t _dev = 0;  // of the socket file we created: removed on close only if unchanged
	ino_t _ino = 0;
	uint64_t _next_id = 2;  // epoll tokens: 0 the listener, 1 the timer, then connections
	std::map<std::string, handler> _handlers;
	std::map<uint64_t, std::unique_ptr<conn>> _conns;
};

}  // namespace weir::ctl
