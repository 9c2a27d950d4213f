// config.cpp — the names of the configuration's enums as the file spells them,
// and how a problem is printed. Pure functions; any thread.
#include <algorithm>

#include "config.h"
#include "config_detail.h"

namespace weir::ctl {

const char *to_string(engine_kind e)
{
	switch (e) {
	case engine_kind::dpdk:
		return "dpdk";
	case engine_kind::xdp:
		return "xdp";
	case engine_kind::automatic:
		return "auto";
	}
	return "?";
}

const char *to_string(xdp_mode m)
{
	switch (m) {
	case xdp_mode::native:
		return "native";
	case xdp_mode::generic:
		return "generic";
	}
	return "?";
}

const char *to_string(protocol p)
{
	switch (p) {
	case protocol::tcp:
		return "tcp";
	case protocol::udp:
		return "udp";
	}
	return "?";
}

const char *to_string(scheduler_kind s)
{
	switch (s) {
	case scheduler_kind::maglev:
		return "maglev";
	case scheduler_kind::maglev_src:
		return "maglev_src";
	case scheduler_kind::wrr:
		return "wrr";
	case scheduler_kind::least_conn:
		return "least_conn";
	}
	return "?";
}

const char *to_string(forwarding_kind f)
{
	switch (f) {
	case forwarding_kind::ipip:
		return "ipip";
	case forwarding_kind::gue:
		return "gue";
	case forwarding_kind::l2dsr:
		return "l2dsr";
	}
	return "?";
}

const char *to_string(fragment_policy f)
{
	switch (f) {
	case fragment_policy::drop:
		return "drop";
	case fragment_policy::three_tuple:
		return "3tuple";
	}
	return "?";
}

const char *to_string(health_kind h)
{
	switch (h) {
	case health_kind::tcp:
		return "tcp";
	case health_kind::http:
		return "http";
	case health_kind::udp:
		return "udp";
	case health_kind::none:
		return "none";
	}
	return "?";
}

std::optional<engine_kind> parse_engine(std::string_view name)
{
	return detail::parse_enum<engine_kind>(name, detail::all_engines);
}

std::string config_problem::to_string() const
{
	std::string s = file;
	if (line != 0)
		s += ":" + std::to_string(line);
	s += ": ";
	if (!key.empty())
		s += key + ": ";
	if (warning)
		s += "warning: ";
	return s + message;
}

namespace detail {

std::vector<config_problem> problem_list::take_sorted()
{
	// Stable: problems on one line keep the order in which they were found.
	std::stable_sort(_problems.begin(), _problems.end(),
	                 [](const config_problem &a, const config_problem &b) { return a.line < b.line; });
	if (_hidden > 0)
		_problems.push_back(
		        {_file, 0, "", "and " + std::to_string(_hidden) + " more problems not shown", false});
	return std::move(_problems);
}

}  // namespace detail

}  // namespace weir::ctl
