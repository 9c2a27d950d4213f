// process_usage.h — what this test process holds, for tests that check a flood
// of requests leaves memory and descriptors flat. Any thread.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace weir::test {

// Open file descriptors.
inline size_t open_fds()
{
	size_t n = 0;
	for (const auto &e : std::filesystem::directory_iterator("/proc/self/fd")) {
		(void)e;
		n++;
	}
	return n;
}

// Resident set size in bytes.
inline size_t rss()
{
	std::ifstream f("/proc/self/statm");
	size_t size = 0, resident = 0;
	f >> size >> resident;
	return resident * size_t(::sysconf(_SC_PAGESIZE));
}

}  // namespace weir::test
