// log.h — weir's log: one line per event on stderr, with time and level; never
// per packet. Any thread (each line is one write).
#pragma once

#include <string>

namespace weir {

enum class log_level { debug, info, warning, error };

void set_log_level(log_level level);
// "debug" | "info" | "warning" | "error"; false if unknown.
bool parse_log_level(const std::string &name, log_level &out);
void log(log_level level, const std::string &message);

inline void log_info(const std::string &m)
{
	log(log_level::info, m);
}
inline void log_warning(const std::string &m)
{
	log(log_level::warning, m);
}
inline void log_error(const std::string &m)
{
	log(log_level::error, m);
}

}  // namespace weir
