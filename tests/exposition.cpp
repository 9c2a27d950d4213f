// exposition.cpp — the Prometheus text format read back, and promtool (exposition.h).
#include "exposition.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace weir::test {

uint64_t exposition::sum(const std::string &name, const std::map<std::string, std::string> &match) const
{
	uint64_t total = 0;
	for (const series &s : samples) {
		bool ok = s.name == name;
		for (const auto &[k, v] : match)
			ok = ok && s.labels.count(k) && s.labels.at(k) == v;
		total += ok ? s.value : 0;
	}
	return total;
}

size_t exposition::count(const std::string &name) const
{
	size_t n = 0;
	for (const series &s : samples)
		n += s.name == name;
	return n;
}

namespace {

// A label block `{a="x",b="y\"z"}` from text[i] (at '{'); advances i past '}'.
bool read_labels(const std::string &line, size_t &i, std::map<std::string, std::string> &labels)
{
	for (i++; i < line.size() && line[i] != '}';) {
		size_t eq = line.find('=', i);
		if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
			return false;
		std::string name = line.substr(i, eq - i), value;
		for (i = eq + 2; i < line.size() && line[i] != '"'; i++) {
			if (line[i] == '\\' && i + 1 < line.size()) {
				char e = line[++i];
				value.push_back(e == 'n' ? '\n' : e);
			} else {
				value.push_back(line[i]);
			}
		}
		if (i >= line.size() || !labels.emplace(name, value).second)
			return false;
		i++;
		if (i < line.size() && line[i] == ',')
			i++;
	}
	return i < line.size() && line[i++] == '}';
}

}  // namespace

exposition parse_exposition(const std::string &text)
{
	exposition e;
	std::istringstream in(text);
	std::string current;  // family of the last TYPE line
	std::set<std::string> closed;  // families whose samples ended
	for (std::string line; std::getline(in, line);) {
		std::istringstream words(line);
		std::string hash, kind, name, type;
		if (line.rfind("# ", 0) == 0) {
			words >> hash >> kind >> name >> type;
			if (kind == "HELP")
				e.helped.insert(name);
			if (kind == "TYPE") {
				if (!current.empty())
					closed.insert(current);
				current = name;
				e.types[name] = type;
				if (closed.count(name) && e.problem.empty())
					e.problem = "family " + name + " split";
			}
			continue;
		}
		series s;
		size_t i = line.find_first_of("{ ");
		s.name = line.substr(0, i);
		if (i != std::string::npos && line[i] == '{' && !read_labels(line, i, s.labels))
			e.problem = "bad labels: " + line;
		s.value = std::stoull(line.substr(line.find(' ', i) + 1));
		if (s.name != current && e.problem.empty())
			e.problem = s.name + " outside its family " + current;
		e.samples.push_back(std::move(s));
	}
	return e;
}

bool require_all()
{
	const char *v = std::getenv("WEIR_REQUIRE_ALL");
	return v && std::string(v) == "1";
}

check_result promtool_check(const std::string &text)
{
	char path[] = "/tmp/weirt-metrics-XXXXXX";
	int fd = ::mkstemp(path);
	if (fd < 0)
		return {};
	bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
	::close(fd);
	check_result r;
	if (!written) {
		::unlink(path);
		return r;
	}
	FILE *p = ::popen(("promtool check metrics < " + std::string(path) + " 2>&1").c_str(), "r");
	char buf[4096];
	for (size_t n; p && (n = std::fread(buf, 1, sizeof(buf), p)) > 0;)
		r.output.append(buf, n);
	int st = p ? ::pclose(p) : -1;
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	::unlink(path);
	return r;
}

bool have_promtool()
{
	return std::system("command -v promtool >/dev/null 2>&1") == 0;
}

}  // namespace weir::test
