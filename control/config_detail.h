// config_detail.h — what config_load.cpp hands to config_validate.cpp: the file's
// values as TOML typed them, each with its place in the file, before any meaning
// is given to them. Internal to the configuration loader; whichever thread loads a file.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config.h"

namespace weir::ctl::detail {

// Where something is in the file, asked only when a problem is reported: toml11
// finds a line by counting newlines from the top of the file each time, which for
// every value of a large file would take seconds.
using line_fn = std::function<unsigned()>;

// One key's value. The loader has already checked its TOML type against the
// schema, so a reader finds the alternative it expects.
struct raw_value {
	std::variant<int64_t, bool, std::string, std::vector<std::string>> value;
	line_fn line;
	std::function<std::string()> text;  // an integer as written: toml11 saturates overflows silently
};

struct raw_table {
	raw_table() = default;
	explicit raw_table(std::string p) : path(std::move(p)) {}

	std::string path;  // dotted, e.g. "vip[0].health"
	bool exists = false;  // in the file
	line_fn where;  // of the table itself; unset when it is not in the file
	std::map<std::string, raw_value> values;
	std::set<std::string> rejected;  // present but of the wrong type: already reported

	const raw_value *find(const std::string &key) const
	{
		auto it = values.find(key);
		return it == values.end() ? nullptr : &it->second;
	}
	bool present(const std::string &key) const { return values.count(key) || rejected.count(key); }
	std::string key(const std::string &name) const { return path.empty() ? name : path + "." + name; }
	unsigned line() const { return where ? where() : 0; }
	// Where a key is, or its table when the key is absent.
	line_fn where_of(const std::string &key) const
	{
		const raw_value *v = find(key);
		return v ? v->line : where;
	}
};

struct raw_vip {
	raw_table table;
	raw_table health;
	std::vector<raw_table> backends;
};

struct raw_config {
	raw_table node{"node"};
	raw_table dataplane{"dataplane"};
	raw_table dpdk{"dataplane.dpdk"};
	raw_table xdp{"dataplane.xdp"};
	raw_table timeouts{"timeouts"};
	raw_table control{"control"};
	std::vector<raw_vip> vips;
};

// Problems of one file, collected in any order and handed out sorted by line.
// A file with hundreds of problems is not a configuration with typos; past a
// limit only the count grows.
class problem_list {
public:
	static constexpr size_t max_shown = 200;

	explicit problem_list(std::string file) : _file(std::move(file)) {}

	void error(const line_fn &where, std::string key, std::string message)
	{
		add(false, where, std::move(key), std::move(message));
	}
	void error(unsigned line, std::string key, std::string message)
	{
		add(
		        false, [line] { return line; }, std::move(key), std::move(message));
	}
	void warning(const line_fn &where, std::string key, std::string message)
	{
		add(true, where, std::move(key), std::move(message));
	}
	void warning(unsigned line, std::string key, std::string message)
	{
		add(
		        true, [line] { return line; }, std::move(key), std::move(message));
	}
	bool has_errors() const { return _errors > 0; }
	std::vector<config_problem> take_sorted();

private:
	void add(bool warning, const line_fn &where, std::string key, std::string message)
	{
		_errors += !warning;
		if (_problems.size() >= max_shown) {
			_hidden++;
			return;
		}
		_problems.push_back(
		        {_file, where ? where() : 0, std::move(key), std::move(message), warning});
	}

	std::string _file;
	std::vector<config_problem> _problems;
	size_t _errors = 0;
	size_t _hidden = 0;
};

// Every value of each enum, in the order messages list them.
inline constexpr engine_kind all_engines[] = {engine_kind::dpdk, engine_kind::xdp, engine_kind::automatic};
inline constexpr xdp_mode all_xdp_modes[] = {xdp_mode::native, xdp_mode::generic};
inline constexpr protocol all_protocols[] = {protocol::tcp, protocol::udp};
inline constexpr scheduler_kind all_schedulers[] = {scheduler_kind::maglev, scheduler_kind::maglev_src,
                                                    scheduler_kind::wrr, scheduler_kind::least_conn};
inline constexpr forwarding_kind all_forwardings[] = {forwarding_kind::ipip, forwarding_kind::gue,
                                                      forwarding_kind::l2dsr};
inline constexpr fragment_policy all_fragment_policies[] = {fragment_policy::drop,
                                                            fragment_policy::three_tuple};
inline constexpr health_kind all_health_kinds[] = {health_kind::tcp, health_kind::http, health_kind::udp,
                                                   health_kind::none};

// The enumerator whose to_string() is `name`, searching `all`.
template <typename E, typename List>
std::optional<E> parse_enum(std::string_view name, const List &all)
{
	for (E e : all)
		if (name == to_string(e))
			return e;
	return std::nullopt;
}

inline std::string quote(const std::string &s)
{
	return "\"" + s + "\"";
}

// Reads typed values out of raw tables, reporting each bad one at its key's line
// (or its table's, when the key is missing). Absent or bad values read as nullopt.
class value_reader {
public:
	explicit value_reader(problem_list &p) : _p(p) {}

	void error(const raw_table &t, const std::string &key, const std::string &msg)
	{
		_p.error(t.where_of(key), t.key(key), msg);
	}
	void warning(const raw_table &t, const std::string &key, const std::string &msg)
	{
		_p.warning(t.where_of(key), t.key(key), msg);
	}
	problem_list &problems() { return _p; }

	std::optional<int64_t> read_int(const raw_table &t, const char *key, int64_t lo, int64_t hi,
	                                const char *unit = "");
	std::optional<std::string> read_string(const raw_table &t, const char *key);
	std::optional<bool> read_bool(const raw_table &t, const char *key);
	// `family` is WEIR_AF_INET, WEIR_AF_INET6 or 0 for either; `what` completes "... is not ".
	std::optional<ip_addr> read_addr(const raw_table &t, const char *key, uint8_t family,
	                                 const char *what);
	std::optional<ip_prefix> read_prefix(const raw_table &t, const char *key, uint8_t family,
	                                     const char *what);
	// False, with an error, when a required key is absent.
	bool require(const raw_table &t, const char *key, const std::string &what);

	template <typename E, typename List>
	std::optional<E> read_enum(const raw_table &t, const char *key, const char *what, const List &all)
	{
		auto s = read_string(t, key);
		if (!s)
			return std::nullopt;
		auto e = parse_enum<E>(*s, all);
		if (!e) {
			std::string names;
			for (auto v : all)
				names += (names.empty() ? "" : ", ") + std::string(to_string(v));
			error(t, key,
			      std::string("unknown ") + what + " " + quote(*s) +
			              "; expected one of: " + names);
		}
		return e;
	}

private:
	problem_list &_p;
};

// Gives the raw values their meaning (ranges, addresses, names), checks how they
// relate, and writes them over the defaults already in `out`.
void validate_config(const raw_config &raw, const load_options &opts, config &out, problem_list &problems);

// The [[vip]] part of it: each VIP, its health check and its backends, and the
// rules between them and the rest of the file (already in `out`).
void validate_vips(const raw_config &raw, config &out, value_reader &r);

}  // namespace weir::ctl::detail
