// config_load.cpp — reads a TOML file with toml11 and checks it against the
// schema of SPEC §3: which keys exist at each level and their TOML types. The
// values' meaning is config_validate.cpp's. Every toml11 exception stops here.
// Runs on whichever thread loads a file (the control thread, `weir --check`).
#include <toml.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>

#include "config.h"
#include "config_detail.h"

namespace weir::ctl {
namespace {

using detail::problem_list;
using detail::raw_config;
using detail::raw_table;
using detail::raw_value;

// Larger files are not configurations; reading them would only cost memory.
constexpr size_t max_file_bytes = 4u << 20;

// toml11 parses (and frees) nested arrays, inline tables and dotted keys by
// recursion, so a few thousand levels exhaust the stack. No weir file nests
// deeper than four.
constexpr unsigned max_nesting = 32;

enum class toml_kind { integer, boolean, string, string_array, table, table_array };

struct key_spec {
	const char *name;
	toml_kind kind;
};

// The schema: SPEC §3, level by level.
constexpr key_spec root_keys[] = {{"node", toml_kind::table},
                                  {"dataplane", toml_kind::table},
                                  {"timeouts", toml_kind::table},
                                  {"control", toml_kind::table},
                                  {"vip", toml_kind::table_array}};
constexpr key_spec node_keys[] = {{"ipv4", toml_kind::string},
                                  {"ipv6", toml_kind::string},
                                  {"gateway", toml_kind::string},
                                  {"gateway6", toml_kind::string},
                                  {"hash_seed", toml_kind::string}};
constexpr key_spec dataplane_keys[] = {{"engine", toml_kind::string},
                                       {"workers", toml_kind::integer},
                                       {"flow_table_size", toml_kind::integer},
                                       {"mtu", toml_kind::integer},
                                       {"gue_port", toml_kind::integer},
                                       {"dpdk", toml_kind::table},
                                       {"xdp", toml_kind::table}};
constexpr key_spec dpdk_keys[] = {{"eal_args", toml_kind::string_array},
                                  {"port", toml_kind::string},
                                  {"exception_path", toml_kind::boolean},
                                  {"tap_name", toml_kind::string}};
constexpr key_spec xdp_keys[] = {{"interface", toml_kind::string}, {"mode", toml_kind::string}};
constexpr key_spec timeouts_keys[] = {
        {"tcp", toml_kind::integer}, {"tcp_closing", toml_kind::integer}, {"udp", toml_kind::integer}};
constexpr key_spec control_keys[] = {{"socket", toml_kind::string},
                                     {"socket_mode", toml_kind::string},
                                     {"metrics_listen", toml_kind::string}};
constexpr key_spec vip_keys[] = {{"name", toml_kind::string},        {"address", toml_kind::string},
                                 {"port", toml_kind::integer},       {"protocol", toml_kind::string},
                                 {"scheduler", toml_kind::string},   {"forwarding", toml_kind::string},
                                 {"table_size", toml_kind::integer}, {"fragments", toml_kind::string},
                                 {"health", toml_kind::table},       {"backend", toml_kind::table_array}};
constexpr key_spec health_keys[] = {{"kind", toml_kind::string},        {"port", toml_kind::integer},
                                    {"path", toml_kind::string},        {"interval_ms", toml_kind::integer},
                                    {"timeout_ms", toml_kind::integer}, {"rise", toml_kind::integer},
                                    {"fall", toml_kind::integer}};
constexpr key_spec backend_keys[] = {
        {"address", toml_kind::string}, {"weight", toml_kind::integer}, {"mac", toml_kind::string}};

const char *describe(toml_kind k)
{
	switch (k) {
	case toml_kind::integer:
		return "an integer";
	case toml_kind::boolean:
		return "true or false";
	case toml_kind::string:
		return "a string";
	case toml_kind::string_array:
		return "an array of strings";
	case toml_kind::table:
		return "a table";
	case toml_kind::table_array:
		return "an array of tables";
	}
	return "?";
}

const char *describe(const toml::value &v)
{
	switch (v.type()) {
	case toml::value_t::boolean:
		return "a boolean";
	case toml::value_t::integer:
		return "an integer";
	case toml::value_t::floating:
		return "a float";
	case toml::value_t::string:
		return "a string";
	case toml::value_t::offset_datetime:
	case toml::value_t::local_datetime:
	case toml::value_t::local_date:
	case toml::value_t::local_time:
		return "a date or time";
	case toml::value_t::array:
		return "an array";
	case toml::value_t::table:
		return "a table";
	case toml::value_t::empty:
		break;
	}
	return "nothing";
}

unsigned line_of(const toml::value &v)
{
	return static_cast<unsigned>(v.location().line());
}

// The tree outlives the raw config: both live in load_config_text.
detail::line_fn at(const toml::value &v)
{
	return [p = &v] { return line_of(*p); };
}

bool has_kind(const toml::value &v, toml_kind k)
{
	switch (k) {
	case toml_kind::integer:
		return v.is_integer();
	case toml_kind::boolean:
		return v.is_boolean();
	case toml_kind::string:
		return v.is_string();
	case toml_kind::string_array:
	case toml_kind::table_array:
		return v.is_array();
	case toml_kind::table:
		return v.is_table();
	}
	return false;
}

std::string expected_keys(std::span<const key_spec> spec)
{
	std::string s;
	for (const key_spec &k : spec)
		s += (s.empty() ? "" : ", ") + std::string(k.name);
	return s;
}

// The integer as written; toml11 turns 99999999999999999999 into INT64_MAX.
std::string integer_text(const toml::value &v)
{
	auto loc = v.location();
	const std::string &l = loc.line_str();
	if (loc.column() >= 1 && loc.column() - 1 + loc.region() <= l.size())
		return l.substr(loc.column() - 1, loc.region());
	return std::to_string(v.as_integer());
}

// Turns the file's values into raw tables, reporting unknown keys and wrong
// types and carrying on past them.
class schema_reader {
public:
	explicit schema_reader(problem_list &problems) : _problems(problems) {}

	void read(const toml::value &root, raw_config &raw);

private:
	using children = std::vector<std::pair<std::string, const toml::value *>>;

	children read_table(const toml::value &t, std::span<const key_spec> spec, raw_table &out);
	void read_string_array(const toml::value &v, const std::string &key, raw_table &out,
	                       const std::string &name);
	void read_dataplane(const toml::value &t, raw_config &raw);
	void read_vip(const toml::value &t, size_t index, raw_config &raw);
	std::vector<const toml::value *> tables_of(const toml::value &array, const std::string &key);

	problem_list &_problems;
};

schema_reader::children schema_reader::read_table(const toml::value &t, std::span<const key_spec> spec,
                                                  raw_table &out)
{
	children sub;
	out.exists = true;
	out.where = at(t);
	for (const auto &[name, v] : t.as_table()) {
		std::string key = out.key(name);
		const key_spec *ks = nullptr;
		for (const key_spec &k : spec)
			if (name == k.name)
				ks = &k;
		if (!ks) {
			_problems.error(at(v), key, "unknown key; expected one of: " + expected_keys(spec));
			continue;
		}
		if (!has_kind(v, ks->kind)) {
			std::string msg =
			        std::string("expected ") + describe(ks->kind) + ", found " + describe(v);
			// `[vip]` for `[[vip]]` is an easy slip; say which header is meant.
			if (ks->kind == toml_kind::table_array && v.is_table())
				msg += std::string("; give each entry its own ") +
				       (out.path.empty() ? "[[vip]]" : "[[vip.backend]]") + " header";
			_problems.error(at(v), key, msg);
			out.rejected.insert(name);
			continue;
		}
		if (ks->kind == toml_kind::table || ks->kind == toml_kind::table_array)
			sub.emplace_back(name, &v);
		else if (ks->kind == toml_kind::string_array)
			read_string_array(v, key, out, name);
		else if (ks->kind == toml_kind::integer)
			out.values[name] =
			        raw_value{v.as_integer(), at(v), [p = &v] { return integer_text(*p); }};
		else if (ks->kind == toml_kind::boolean)
			out.values[name] = raw_value{v.as_boolean(), at(v), {}};
		else
			out.values[name] = raw_value{v.as_string().str, at(v), {}};
	}
	return sub;
}

void schema_reader::read_string_array(const toml::value &v, const std::string &key, raw_table &out,
                                      const std::string &name)
{
	std::vector<std::string> items;
	bool ok = true;
	const auto &array = v.as_array();
	for (size_t i = 0; i < array.size(); i++) {
		if (array[i].is_string()) {
			items.push_back(array[i].as_string().str);
			continue;
		}
		_problems.error(at(array[i]), key + "[" + std::to_string(i) + "]",
		                std::string("expected a string, found ") + describe(array[i]));
		ok = false;
	}
	if (ok)
		out.values[name] = raw_value{std::move(items), at(v), {}};
	else
		out.rejected.insert(name);
}

std::vector<const toml::value *> schema_reader::tables_of(const toml::value &array, const std::string &key)
{
	std::vector<const toml::value *> tables;
	const auto &items = array.as_array();
	for (size_t i = 0; i < items.size(); i++) {
		if (items[i].is_table())
			tables.push_back(&items[i]);
		else
			_problems.error(at(items[i]), key + "[" + std::to_string(i) + "]",
			                std::string("expected a table, found ") + describe(items[i]));
	}
	return tables;
}

void schema_reader::read(const toml::value &root, raw_config &raw)
{
	raw_table top{""};
	for (const auto &[name, v] : read_table(root, root_keys, top)) {
		if (name == "node")
			read_table(*v, node_keys, raw.node);
		else if (name == "dataplane")
			read_dataplane(*v, raw);
		else if (name == "timeouts")
			read_table(*v, timeouts_keys, raw.timeouts);
		else if (name == "control")
			read_table(*v, control_keys, raw.control);
		else if (name == "vip")
			for (const toml::value *t : tables_of(*v, "vip"))
				read_vip(*t, raw.vips.size(), raw);
	}
}

void schema_reader::read_dataplane(const toml::value &t, raw_config &raw)
{
	for (const auto &[name, v] : read_table(t, dataplane_keys, raw.dataplane)) {
		if (name == "dpdk")
			read_table(*v, dpdk_keys, raw.dpdk);
		else
			read_table(*v, xdp_keys, raw.xdp);
	}
}

void schema_reader::read_vip(const toml::value &t, size_t index, raw_config &raw)
{
	detail::raw_vip &vip = raw.vips.emplace_back();
	vip.table.path = "vip[" + std::to_string(index) + "]";
	vip.health.path = vip.table.key("health");
	for (const auto &[name, v] : read_table(t, vip_keys, vip.table)) {
		if (name == "health") {
			read_table(*v, health_keys, vip.health);
			continue;
		}
		for (const toml::value *b : tables_of(*v, vip.table.key("backend"))) {
			raw_table &backend = vip.backends.emplace_back();
			backend.path =
			        vip.table.key("backend[" + std::to_string(vip.backends.size() - 1) + "]");
			read_table(*b, backend_keys, backend);
		}
	}
}

// Skips a string starting at s[i]; returns the index of its last character.
size_t skip_string(std::string_view s, size_t i, unsigned &line)
{
	char q = s[i];
	bool basic = q == '"';
	if (s.substr(i, 3) == std::string(3, q)) {
		for (size_t j = i + 3; j < s.size(); j++) {
			if (s[j] == '\n')
				line++;
			else if (basic && s[j] == '\\')
				j++;
			else if (s.substr(j, 3) == std::string(3, q))
				return j + 2;
		}
		return s.size();
	}
	for (size_t j = i + 1; j < s.size(); j++) {
		if (s[j] == '\n')
			return j - 1;  // unterminated: toml11 reports it
		if (basic && s[j] == '\\')
			j++;
		else if (s[j] == q)
			return j;
	}
	return s.size();
}

// The line where brackets, braces or dotted keys nest deeper than max_nesting.
std::optional<unsigned> too_deep(std::string_view s)
{
	unsigned line = 1, depth = 0, dots = 0;
	for (size_t i = 0; i < s.size(); i++) {
		char c = s[i];
		if (c == '\n') {
			line++;
			dots = 0;
		} else if (c == '#') {
			while (i + 1 < s.size() && s[i + 1] != '\n')
				i++;
		} else if (c == '"' || c == '\'') {
			i = skip_string(s, i, line);
		} else if (c == '[' || c == '{') {
			dots = 0;
			if (++depth > max_nesting)
				return line;
		} else if (c == ']' || c == '}') {
			dots = 0;
			depth -= depth > 0;
		} else if (c == '.') {
			if (++dots > max_nesting)
				return line;
		} else if (c == '=' || c == ',') {
			dots = 0;
		}
	}
	return std::nullopt;
}

// The line of the first byte that is not well-formed UTF-8 (RFC 3629: no
// overlong forms, surrogates or code points past U+10FFFF). TOML files are UTF-8,
// and toml11 reports a bad sequence inside a string by reading outside the string.
std::optional<unsigned> bad_utf8(std::string_view s)
{
	unsigned line = 1;
	for (size_t i = 0; i < s.size();) {
		auto b = static_cast<unsigned char>(s[i]);
		line += b == '\n';
		size_t n;  // continuation bytes
		if (b < 0x80)
			n = 0;
		else if (b >= 0xc2 && b <= 0xdf)
			n = 1;
		else if (b >= 0xe0 && b <= 0xef)
			n = 2;
		else if (b >= 0xf0 && b <= 0xf4)
			n = 3;
		else
			return line;
		if (n > s.size() - i - 1)
			return line;
		// The second byte's range excludes overlong forms, surrogates and > U+10FFFF.
		unsigned char lo = b == 0xe0 ? 0xa0 : b == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = b == 0xed ? 0x9f : b == 0xf4 ? 0x8f : 0xbf;
		for (size_t k = 1; k <= n; k++) {
			auto c = static_cast<unsigned char>(s[i + k]);
			if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xbf))
				return line;
		}
		i += n + 1;
	}
	return std::nullopt;
}

// toml11's message is several lines of context; keep its first line and the
// note under the caret, which together say what is wrong.
std::string syntax_message(const std::string &what)
{
	std::string first = what.substr(0, what.find('\n'));
	if (first.rfind("[error] ", 0) == 0)
		first.erase(0, 8);
	size_t colon = first.find(": ");
	if (colon != std::string::npos && first.find_first_not_of("abcdefghijklmnopqrstuvwxyz_:") >= colon)
		first.erase(0, colon + 2);  // toml11's function name, e.g. "toml::parse_key: "
	while (!first.empty() && (first.back() == ' ' || first.back() == '.'))
		first.pop_back();
	std::string note;
	size_t caret = what.rfind("^--- ");
	if (caret != std::string::npos) {
		note = what.substr(caret + 5, what.find('\n', caret) - caret - 5);
		while (!note.empty() && (note.back() == ' ' || note.back() == '.'))
			note.pop_back();
	}
	if (first.empty())
		return note.empty() ? "invalid TOML" : note;
	if (note.empty() || note == "here")
		return first;
	return first + " (" + note + ")";
}

config_report finish(problem_list &problems, std::optional<config> cfg)
{
	config_report report;
	if (!problems.has_errors())
		report.cfg = std::move(cfg);
	report.problems = problems.take_sorted();
	return report;
}

}  // namespace

config_report load_config_text(const std::string &text, const std::string &name, const load_options &opts)
{
	problem_list problems(name);
	if (text.size() > max_file_bytes) {
		problems.error(0, "", "larger than " + std::to_string(max_file_bytes >> 20) + " MiB");
		return finish(problems, std::nullopt);
	}
	if (auto line = too_deep(text)) {
		problems.error(*line, "syntax",
		               "nested more than " + std::to_string(max_nesting) + " levels deep");
		return finish(problems, std::nullopt);
	}
	if (auto line = bad_utf8(text)) {
		problems.error(*line, "syntax", "not valid UTF-8");
		return finish(problems, std::nullopt);
	}
	config cfg;
	cfg.file = name;
	try {
		std::istringstream in(text);
		const toml::value root = toml::parse(in, name);
		raw_config raw;
		schema_reader(problems).read(root, raw);
		detail::validate_config(raw, opts, cfg, problems);
	} catch (const toml::exception &e) {
		problems.error(static_cast<unsigned>(e.location().line()), "syntax",
		               syntax_message(e.what()));
	} catch (const std::exception &e) {
		problems.error(0, "", std::string("cannot read: ") + e.what());
	}
	return finish(problems, std::move(cfg));
}

config_report load_config(const std::string &path, const load_options &opts)
{
	std::error_code ec;
	if (std::filesystem::is_directory(path, ec)) {
		problem_list problems(path);
		problems.error(0, "", "cannot read: is a directory");
		return finish(problems, std::nullopt);
	}
	std::ifstream in(path, std::ios::binary);
	if (!in) {
		problem_list problems(path);
		problems.error(0, "", std::string("cannot open: ") + std::strerror(errno));
		return finish(problems, std::nullopt);
	}
	auto size = std::filesystem::file_size(path, ec);
	if (!ec && size > max_file_bytes) {
		problem_list problems(path);
		problems.error(0, "", "larger than " + std::to_string(max_file_bytes >> 20) + " MiB");
		return finish(problems, std::nullopt);
	}
	std::ostringstream text;
	text << in.rdbuf();
	return load_config_text(text.str(), path, opts);
}

}  // namespace weir::ctl
