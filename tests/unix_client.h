// unix_client.h — the client side of a Unix stream socket for tests of the
// control socket: connect, and send everything. Any thread.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace weir::test {

// A connected descriptor, or -1.
inline int connect_unix(const std::string &path)
{
	sockaddr_un sa{};
	sa.sun_family = AF_UNIX;
	std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
	int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) != 0) {
		if (fd >= 0)
			::close(fd);
		return -1;
	}
	return fd;
}

// False when the peer stops taking data (closed, reset).
inline bool send_all(int fd, std::string_view data)
{
	while (!data.empty()) {
		ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data.remove_prefix(size_t(n));
	}
	return true;
}

}  // namespace weir::test
