// control_socket_test.cpp — the control socket server (control/control_socket.h)
// as clients meet it: a real server on a temporary path, served by its own
// thread (or, where the test forks, by the test's thread), and real client
// sockets. Covers the protocol (replies, malformed and unknown requests, the
// request size limit), isolation between clients (stalled writers, clients that
// never read, idle ones), SO_PEERCRED refusal, resource use under a flood of bad
// requests, and the socket file's life (mode, parent directory, stale and live
// sockets, removal).
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <memory>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "control_socket.h"
#include "process_usage.h"
#include "unix_client.h"

namespace weir::ctl {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

bool require_all()
{
	const char *v = std::getenv("WEIR_REQUIRE_ALL");
	return v && std::string(v) == "1";
}

// A fresh directory under /tmp, removed with everything in it.
class temp_dir {
public:
	temp_dir()
	{
		char tmpl[] = "/tmp/weirt-ctl-XXXXXX";
		if (!::mkdtemp(tmpl))
			throw std::runtime_error("mkdtemp failed");
		_path = tmpl;
	}
	~temp_dir() { std::filesystem::remove_all(_path); }
	const std::string &path() const { return _path; }

private:
	std::string _path;
};

using test::connect_unix;

// A blocking client connection with deadlines on every read.
class client {
public:
	explicit client(const std::string &path) : _fd(connect_unix(path)) {}
	~client()
	{
		if (_fd >= 0)
			::close(_fd);
	}
	bool connected() const { return _fd >= 0; }
	int fd() const { return _fd; }

	bool send_all(std::string_view data) { return test::send_all(_fd, data); }

	// The next line, or nullopt on EOF, error or timeout.
	std::optional<std::string> read_line(std::chrono::milliseconds timeout = 5s)
	{
		auto deadline = std::chrono::steady_clock::now() + timeout;
		for (;;) {
			if (size_t nl = _buf.find('\n'); nl != std::string::npos) {
				std::string line = _buf.substr(0, nl);
				_buf.erase(0, nl + 1);
				return line;
			}
			if (!fill(deadline))
				return std::nullopt;
		}
	}

	std::optional<json> call(const json &req)
	{
		if (!send_all(req.dump() + "\n"))
			return std::nullopt;
		auto line = read_line();
		if (!line)
			return std::nullopt;
		return json::parse(*line);
	}

	// True when the server closes the connection within `timeout` (data before
	// the end is read and dropped); `received` counts every byte read.
	bool closed_by_server(std::chrono::milliseconds timeout, size_t *received = nullptr)
	{
		auto deadline = std::chrono::steady_clock::now() + timeout;
		size_t total = _buf.size();
		_buf.clear();
		for (;;) {
			int wait = int(std::chrono::duration_cast<std::chrono::milliseconds>(
			                       deadline - std::chrono::steady_clock::now())
			                       .count());
			pollfd p{_fd, POLLIN, 0};
			if (wait <= 0 || ::poll(&p, 1, wait) <= 0)
				break;
			char tmp[65536];
			ssize_t n = ::recv(_fd, tmp, sizeof(tmp), 0);
			if (n <= 0) {
				if (received)
					*received = total;
				return true;  // EOF or ECONNRESET
			}
			total += size_t(n);
		}
		if (received)
			*received = total;
		return false;
	}

private:
	bool fill(std::chrono::steady_clock::time_point deadline)
	{
		int wait = int(std::chrono::duration_cast<std::chrono::milliseconds>(
		                       deadline - std::chrono::steady_clock::now())
		                       .count());
		pollfd p{_fd, POLLIN, 0};
		if (wait <= 0 || ::poll(&p, 1, wait) <= 0)
			return false;
		char tmp[65536];
		ssize_t n = ::recv(_fd, tmp, sizeof(tmp), 0);
		if (n <= 0)
			return false;
		_buf.append(tmp, size_t(n));
		return true;
	}

	int _fd;
	std::string _buf;
};

// Serves a control_socket from its own thread, as the daemon's loop would: wait
// for fd() to be readable, then handle_events().
class server_thread {
public:
	explicit server_thread(std::unique_ptr<control_socket> s) : _s(std::move(s))
	{
		_t = std::thread([this] {
			while (!_stop.load(std::memory_order_acquire)) {
				pollfd p{_s->fd(), POLLIN, 0};
				if (::poll(&p, 1, 20) > 0)
					_s->handle_events();
			}
		});
	}
	~server_thread()
	{
		_stop.store(true, std::memory_order_release);
		_t.join();
	}

private:
	std::unique_ptr<control_socket> _s;
	std::atomic<bool> _stop{false};
	std::thread _t;
};

control_config config_at(const std::string &path, uint32_t mode = 0660)
{
	control_config c;
	c.socket = path;
	c.socket_mode = mode;
	c.metrics_listen = "";
	return c;
}

// The handlers every test server has.
void add_handlers(control_socket &s)
{
	s.on("echo", [](const json &req) { return json{{"echo", req.value("x", json())}}; });
	s.on("fail", [](const json &) -> json { throw std::runtime_error("the handler failed"); });
	s.on("number", [](const json &) { return json(42); });
	s.on("blob", [](const json &req) {
		return json{{"blob", std::string(req.value("size", size_t(256 * 1024)), 'b')}};
	});
}

std::unique_ptr<control_socket> open_server(const std::string &path, const control_limits &limits = {},
                                            uint32_t mode = 0660)
{
	auto s = control_socket::open(config_at(path, mode), limits);
	if (!s)
		throw std::runtime_error(s.error_message());
	add_handlers(**s);
	return std::move(*s);
}

class control_socket_test : public ::testing::Test {
protected:
	temp_dir dir;
	std::string path = dir.path() + "/weir.sock";
};

TEST_F(control_socket_test, request_and_reply)
{
	server_thread srv(open_server(path));
	client c(path);
	ASSERT_TRUE(c.connected());
	auto r = c.call({{"cmd", "echo"}, {"x", "hello"}, {"id", 7}});
	ASSERT_TRUE(r);
	EXPECT_EQ((*r)["ok"], true);
	EXPECT_EQ((*r)["echo"], "hello");
	EXPECT_EQ((*r)["id"], 7);
	// A non-object result is wrapped, and several requests in one write each get a reply.
	ASSERT_TRUE(c.send_all("{\"cmd\":\"number\"}\n{\"cmd\":\"echo\",\"x\":1}\r\n"));
	auto a = c.read_line(), b = c.read_line();
	ASSERT_TRUE(a && b);
	EXPECT_EQ(json::parse(*a), json({{"ok", true}, {"result", 42}}));
	EXPECT_EQ(json::parse(*b), json({{"ok", true}, {"echo", 1}}));
}

TEST_F(control_socket_test, malformed_requests_get_errors_and_the_connection_stays_usable)
{
	server_thread srv(open_server(path));
	client c(path);
	for (std::string bad :
	     {"not json", "{\"cmd\": \"echo\"", "[1, 2]", "{\"x\": 1}", "{\"cmd\": 5}", "", "\"echo\""}) {
		ASSERT_TRUE(c.send_all(bad + "\n")) << bad;
		auto line = c.read_line();
		ASSERT_TRUE(line) << "no reply to: " << bad;
		json r = json::parse(*line);
		EXPECT_EQ(r["ok"], false) << bad;
		EXPECT_TRUE(r["error"].is_string() && !r["error"].get<std::string>().empty()) << bad;
		auto ok = c.call({{"cmd", "echo"}, {"x", bad}});
		ASSERT_TRUE(ok) << "connection unusable after: " << bad;
		EXPECT_EQ((*ok)["echo"], bad);
	}
}

TEST_F(control_socket_test, unknown_command_and_throwing_handler)
{
	server_thread srv(open_server(path));
	client c(path);
	auto r = c.call({{"cmd", "frobnicate"}});
	ASSERT_TRUE(r);
	EXPECT_EQ((*r)["ok"], false);
	EXPECT_NE((*r)["error"].get<std::string>().find("unknown command \"frobnicate\""), std::string::npos);
	EXPECT_NE((*r)["error"].get<std::string>().find("echo"), std::string::npos) << "lists the commands";
	r = c.call({{"cmd", "fail"}});
	ASSERT_TRUE(r);
	EXPECT_EQ(*r, json({{"ok", false}, {"error", "the handler failed"}}));
	r = c.call({{"cmd", "echo"}, {"x", 3}});
	ASSERT_TRUE(r);
	EXPECT_EQ((*r)["echo"], 3);
}

TEST_F(control_socket_test, request_size_limit)
{
	server_thread srv(open_server(path));
	const size_t limit = control_limits{}.max_request;
	// Exactly the limit: served.
	std::string at_limit = "{\"cmd\":\"echo\",\"x\":\"";
	at_limit += std::string(limit - at_limit.size() - 2, 'a') + "\"}";
	ASSERT_EQ(at_limit.size(), limit);
	client c(path);
	ASSERT_TRUE(c.send_all(at_limit + "\n"));
	auto line = c.read_line();
	ASSERT_TRUE(line);
	EXPECT_EQ(json::parse(*line)["ok"], true);
	// One byte more: an error, then the connection is closed, although the
	// client keeps writing (the server stops reading: the writer blocks or fails).
	std::string over = at_limit + " ";
	std::atomic<bool> writer_done{false};
	std::thread writer([&] {
		c.send_all(over);
		std::string more(1 << 20, 'z');
		for (int i = 0; i < 16 && c.send_all(more); i++) {
		}
		writer_done = true;
	});
	line = c.read_line();
	ASSERT_TRUE(line);
	json r = json::parse(*line);
	EXPECT_EQ(r["ok"], false);
	EXPECT_NE(r["error"].get<std::string>().find("longer than"), std::string::npos) << r.dump();
	EXPECT_TRUE(c.closed_by_server(5s));
	writer.join();
	EXPECT_TRUE(writer_done);
	// Others are unaffected.
	client d(path);
	EXPECT_TRUE(d.call({{"cmd", "echo"}}));
}

TEST_F(control_socket_test, a_stalled_partial_line_blocks_nobody)
{
	server_thread srv(open_server(path));
	client slow(path), fast(path);
	ASSERT_TRUE(slow.send_all("{\"cmd\":\"echo\",\"x\":\"sl"));
	for (int i = 0; i < 50; i++) {
		auto r = fast.call({{"cmd", "echo"}, {"x", i}});
		ASSERT_TRUE(r) << "request " << i;
		EXPECT_EQ((*r)["echo"], i);
	}
	ASSERT_TRUE(slow.send_all("ow\"}\n"));
	auto line = slow.read_line();
	ASSERT_TRUE(line);
	EXPECT_EQ(json::parse(*line)["echo"], "slow");
}

TEST_F(control_socket_test, a_client_that_never_reads_is_cut_off_while_others_are_served)
{
	control_limits limits;
	limits.send_timeout = 300ms;
	server_thread srv(open_server(path, limits));
	client hog(path), other(path);
	// Requests for 256 KiB replies, never reading: the server stops reading
	// the hog once its replies back up, so the writes stop being accepted.
	ASSERT_EQ(::fcntl(hog.fd(), F_SETFL, O_NONBLOCK), 0);
	std::string req = json({{"cmd", "blob"}}).dump() + "\n";
	size_t sent = 0;
	for (int i = 0; i < 2000; i++) {
		ssize_t n = ::send(hog.fd(), req.data(), req.size(), MSG_NOSIGNAL);
		if (n != ssize_t(req.size()))
			break;
		sent++;
	}
	auto start = std::chrono::steady_clock::now();
	for (int i = 0; i < 20; i++) {
		auto r = other.call({{"cmd", "echo"}, {"x", i}});
		ASSERT_TRUE(r) << "a client was blocked by one that does not read";
	}
	EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
	// Now read: what arrives is a bounded part of what was asked for, then the end.
	std::this_thread::sleep_for(600ms);
	size_t received = 0;
	ASSERT_EQ(::fcntl(hog.fd(), F_SETFL, 0), 0);
	EXPECT_TRUE(hog.closed_by_server(5s, &received));
	EXPECT_GT(sent, 1u);
	EXPECT_LT(received, sent * (256 * 1024));
	EXPECT_LT(received, size_t(4) << 20) << "unsent output was not bounded";
	EXPECT_TRUE(other.call({{"cmd", "echo"}}));
}

TEST_F(control_socket_test, a_reply_beyond_the_output_bound_closes_the_connection)
{
	control_limits limits;
	limits.max_output = 512 * 1024;
	server_thread srv(open_server(path, limits));
	client c(path);
	auto r = c.call({{"cmd", "blob"}, {"size", 100 * 1024}});
	ASSERT_TRUE(r);
	EXPECT_EQ((*r)["blob"].get<std::string>().size(), 100u * 1024);
	ASSERT_TRUE(c.send_all(json({{"cmd", "blob"}, {"size", 1 << 20}}).dump() + "\n"));
	size_t received = 0;
	EXPECT_TRUE(c.closed_by_server(5s, &received));
	EXPECT_EQ(received, 0u);
}

TEST_F(control_socket_test, reading_pipelining_client_gets_every_reply)
{
	// Many pipelined requests whose replies are much larger than the requests:
	// the server paces itself to the reader instead of cutting it off.
	server_thread srv(open_server(path));
	client c(path);
	const int n = 3000;
	std::thread writer([&] {
		std::string req = json({{"cmd", "blob"}, {"size", 2048}}).dump() + "\n";
		for (int i = 0; i < n; i++)
			c.send_all(req);
	});
	int got = 0;
	while (got < n) {
		auto line = c.read_line();
		if (!line)
			break;
		got++;
	}
	writer.join();
	EXPECT_EQ(got, n);
}

TEST_F(control_socket_test, idle_clients_are_closed_and_client_count_is_bounded)
{
	control_limits limits;
	limits.idle_timeout = 200ms;
	limits.max_clients = 2;
	server_thread srv(open_server(path, limits));
	client a(path), b(path);
	ASSERT_TRUE(a.call({{"cmd", "echo"}}));
	ASSERT_TRUE(b.call({{"cmd", "echo"}}));
	client third(path);
	auto line = third.read_line();
	ASSERT_TRUE(line);
	EXPECT_EQ(json::parse(*line)["ok"], false);
	EXPECT_TRUE(third.closed_by_server(2s));
	EXPECT_TRUE(a.closed_by_server(3s));
	EXPECT_TRUE(b.closed_by_server(3s));
	client again(path);
	EXPECT_TRUE(again.call({{"cmd", "echo"}}));
}

// Connects as uid 65534 from a forked child and reports what it got: 0 refused
// with one error reply and closed; 1-9 something else. Async-signal-safe only.
int refused_child(const char *path)
{
	if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
		return 2;
	int fd = connect_unix(path);
	if (fd < 0)
		return 3;
	const char req[] = "{\"cmd\":\"echo\",\"x\":1}\n";
	if (::send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != ssize_t(sizeof(req) - 1)) {
		// The server may have closed already; the reply is still readable.
	}
	char buf[4096];
	size_t len = 0;
	for (;;) {
		ssize_t n = ::recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += size_t(n);
	}
	buf[len] = 0;
	if (!std::strstr(buf, "\"ok\":false") || !std::strstr(buf, "permission denied"))
		return 4;
	if (std::strchr(buf, '\n') != buf + len - 1)
		return 5;  // exactly one line
	return 0;
}

TEST_F(control_socket_test, peers_neither_root_nor_owner_are_refused)
{
	if (::geteuid() != 0) {
		if (require_all())
			FAIL() << "WEIR_REQUIRE_ALL=1 and not root: cannot run a client as another uid";
		GTEST_SKIP() << "needs root to run a client as uid 65534";
	}
	ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
	// Mode 0666: the file lets the client connect, so SO_PEERCRED is what refuses it.
	auto s = open_server(path, {}, 0666);
	ASSERT_EQ(s->owner_uid(), 0u);
	pid_t pid = ::fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		::_exit(refused_child(path.c_str()));
	// Serve from this thread (the child must not inherit a running server thread).
	int status = 0;
	auto deadline = std::chrono::steady_clock::now() + 10s;
	while (::waitpid(pid, &status, WNOHANG) == 0) {
		ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the refused client hangs";
		pollfd p{s->fd(), POLLIN, 0};
		if (::poll(&p, 1, 10) > 0)
			s->handle_events();
	}
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0) << "see refused_child for the meaning";
	EXPECT_EQ(s->clients(), 0u);
	// Root still gets in.
	server_thread srv(std::move(s));
	client c(path);
	EXPECT_TRUE(c.call({{"cmd", "echo"}}));
}

using test::open_fds;
using test::rss;

// `count` malformed requests on one connection, in batches of 1000, each batch's
// replies read before the next is sent; and `count / 500` short connections.
void flood(const std::string &path, int count)
{
	client c(path);
	for (int done = 0; done < count;) {
		std::string batch;
		int n = std::min(1000, count - done);
		for (int i = 0; i < n; i++)
			batch += "{bad " + std::to_string(done + i) + "\n";
		ASSERT_TRUE(c.send_all(batch));
		for (int i = 0; i < n; i++) {
			auto line = c.read_line();
			ASSERT_TRUE(line) << "reply " << done + i;
			ASSERT_NE(line->find("\"ok\":false"), std::string::npos);
		}
		done += n;
	}
	for (int i = 0; i < count / 500; i++) {
		client d(path);
		ASSERT_TRUE(d.send_all("nonsense\n"));
		ASSERT_TRUE(d.read_line());
	}
}

TEST_F(control_socket_test, a_flood_of_malformed_requests_leaves_fds_and_memory_flat)
{
	server_thread srv(open_server(path));
	flood(path, 5000);  // warm up allocator and buffers
	std::this_thread::sleep_for(200ms);  // the server notices the last hang-ups
	size_t fds = open_fds(), mem = rss();
	flood(path, 100000);
	std::this_thread::sleep_for(200ms);
	EXPECT_EQ(open_fds(), fds);
	EXPECT_LT(rss(), mem + (2u << 20)) << "RSS grew from " << mem << " to " << rss();
}

TEST_F(control_socket_test, socket_mode_and_parent_directory)
{
	for (uint32_t mode : {0600u, 0640u, 0660u}) {
		std::string nested = dir.path() + "/run/weir-" + std::to_string(mode) + "/ctl.sock";
		auto s = open_server(nested, {}, mode);
		struct stat st;
		ASSERT_EQ(::stat(nested.c_str(), &st), 0);
		EXPECT_TRUE(S_ISSOCK(st.st_mode));
		EXPECT_EQ(st.st_mode & 07777, mode);
		EXPECT_EQ(s->path(), nested);
	}
}

TEST_F(control_socket_test, stale_socket_replaced_live_one_refused_and_removed_on_close)
{
	// A stale socket file: bound, then its owner went away without removing it.
	{
		int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
		sockaddr_un sa{};
		sa.sun_family = AF_UNIX;
		std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
		ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)), 0);
		::close(fd);
	}
	ASSERT_TRUE(std::filesystem::exists(path));
	auto first = control_socket::open(config_at(path));
	ASSERT_TRUE(first) << first.error_message();
	add_handlers(**first);
	// A second server on the same path is refused and leaves the first alone.
	auto second = control_socket::open(config_at(path));
	ASSERT_FALSE(second);
	EXPECT_NE(second.error_message().find("in use"), std::string::npos) << second.error_message();
	EXPECT_NE(second.error_message().find(path), std::string::npos) << second.error_message();
	{
		server_thread srv(std::move(*first));
		client c(path);
		EXPECT_TRUE(c.call({{"cmd", "echo"}})) << "the refused second server broke the first";
	}
	EXPECT_FALSE(std::filesystem::exists(path)) << "the socket file outlived its server";
	// A path that is not a socket is neither used nor removed.
	std::ofstream(path) << "keep me\n";
	auto third = control_socket::open(config_at(path));
	ASSERT_FALSE(third);
	EXPECT_NE(third.error_message().find("not a socket"), std::string::npos) << third.error_message();
	EXPECT_TRUE(std::filesystem::is_regular_file(path));
}

TEST_F(control_socket_test, dispatch_without_a_connection)
{
	auto s = open_server(path);
	s->on("custom", [](const json &) { return json{{"ok", false}, {"error", "said no"}}; });
	EXPECT_EQ(s->dispatch("{\"cmd\":\"custom\"}"), json({{"ok", false}, {"error", "said no"}}));
	EXPECT_EQ(s->dispatch("{\"cmd\":\"echo\",\"x\":2,\"id\":\"a\"}"),
	          json({{"ok", true}, {"echo", 2}, {"id", "a"}}));
	json bad = s->dispatch("{\"cmd\":");
	EXPECT_EQ(bad["ok"], false);
	EXPECT_EQ(bad["error"].get<std::string>().rfind("malformed request: ", 0), 0u) << bad.dump();
}

// Found by fuzz_control: a request within the size limit can nest 32k levels;
// copying or printing such a value recurses once per level and overflowed the
// control thread's stack (the "id" echoed into the reply did). Deep requests are
// refused; ordinary structured ids still come back.
TEST_F(control_socket_test, deeply_nested_requests_are_refused)
{
	auto s = open_server(path);
	size_t depth = control_limits{}.max_request / 2 - 32;
	for (const std::string &line :
	     {"{\"cmd\":\"echo\",\"id\":" + std::string(depth, '[') + std::string(depth, ']') + "}",
	      "{\"cmd\":\"echo\",\"x\":" + std::string(depth, '[') + std::string(depth, ']') + "}",
	      "[" + std::string(depth, '{') + "}"}) {
		json r = s->dispatch(line);
		EXPECT_EQ(r["ok"], false);
		EXPECT_EQ(r["error"].get<std::string>().rfind("malformed request: ", 0), 0u) << r["error"];
		EXPECT_FALSE(r.contains("id"));
	}
	EXPECT_EQ(s->dispatch("{\"cmd\":\"echo\",\"id\":[1,{\"a\":[2]}]}")["id"],
	          json::parse("[1,{\"a\":[2]}]"));
}

}  // namespace
}  // namespace weir::ctl
