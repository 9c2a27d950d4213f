// log.cpp — stderr log lines: "2026-12-04T20:14:57Z info: message".
#include "log.h"

#include <unistd.h>

#include <atomic>
#include <ctime>

namespace weir {

namespace {
std::atomic<log_level> min_level{log_level::info};  // relaxed: a setting, orders nothing
const char *names[] = {"debug", "info", "warning", "error"};
}  // namespace

void set_log_level(log_level level)
{
	min_level.store(level, std::memory_order_relaxed);
}

bool parse_log_level(const std::string &name, log_level &out)
{
	for (int i = 0; i < 4; i++)
		if (name == names[i]) {
			out = log_level(i);
			return true;
		}
	return false;
}

void log(log_level level, const std::string &message)
{
	if (level < min_level.load(std::memory_order_relaxed))
		return;
	char stamp[32];
	std::time_t t = std::time(nullptr);
	std::tm tm{};
	gmtime_r(&t, &tm);
	std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	std::string line = std::string(stamp) + " " + names[int(level)] + ": " + message + "\n";
	ssize_t rc = ::write(STDERR_FILENO, line.data(), line.size());
	(void)rc;  // nowhere to report a failed log write
}

}  // namespace weir
