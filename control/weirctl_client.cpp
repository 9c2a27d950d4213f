// weirctl_client.cpp — one request to weir and its reply (weirctl.h): connect to
// the control socket, send one JSON line, read one line back, with a deadline.
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "weirctl.h"

namespace weir::weirctl {

namespace {

constexpr int reply_timeout_ms = 30'000;

int connect_to(const std::string &path, std::string &error)
{
	sockaddr_un sa{};
	sa.sun_family = AF_UNIX;
	if (path.empty() || path.size() >= sizeof(sa.sun_path)) {
		error = "cannot connect to " + path + ": socket path too long or empty";
		return -1;
	}
	std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
	int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) == 0)
		return fd;
	error = "cannot connect to " + path + ": " + std::strerror(errno) + " \u2014 is weir running?";
	if (fd >= 0)
		::close(fd);
	return -1;
}

// Reads one line (the reply), waiting at most reply_timeout_ms for each piece.
bool read_line(int fd, std::string &line, std::string &error)
{
	char buf[65536];
	for (;;) {
		if (size_t nl = line.find('\n'); nl != std::string::npos) {
			line.resize(nl);
			return true;
		}
		pollfd p{fd, POLLIN, 0};
		int r = ::poll(&p, 1, reply_timeout_ms);
		if (r == 0) {
			error = "no reply from weir within " + std::to_string(reply_timeout_ms / 1000) + " s";
			return false;
		}
		ssize_t n = r < 0 ? -1 : ::read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			error = n == 0 ? "weir closed the connection without a reply"
			               : std::string("reading the reply: ") + std::strerror(errno);
			return false;
		}
		line.append(buf, size_t(n));
	}
}

}  // namespace

reply_or_error request(const std::string &path, const json &req)
{
	reply_or_error out;
	int fd = connect_to(path, out.error);
	if (fd < 0)
		return out;
	std::string line = req.dump() + "\n";
	size_t off = 0;
	while (off < line.size()) {
		ssize_t n = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;  // weir may have refused us with a reply before closing: read it
		off += size_t(n);
	}
	std::string send_error =
	        off < line.size() ? std::string("sending the request: ") + std::strerror(errno) : "";
	std::string text;
	bool got = read_line(fd, text, out.error);
	if (!got && !send_error.empty())
		out.error = send_error;
	::close(fd);
	if (!got)
		return out;
	json reply = json::parse(text, nullptr, false);
	if (reply.is_discarded() || !reply.is_object())
		out.error = "weir sent a reply that is not a JSON object";
	else
		out.reply = std::move(reply);
	return out;
}

}  // namespace weir::weirctl
