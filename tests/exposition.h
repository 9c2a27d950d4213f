// exposition.h — the Prometheus text format read back, and the real
// `promtool check metrics`, for the metrics tests. Test code only; values.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace weir::test {

struct series {
	std::string name;
	std::map<std::string, std::string> labels;  // values unescaped
	uint64_t value = 0;
};

struct exposition {
	std::vector<series> samples;
	std::map<std::string, std::string> types;  // family -> TYPE
	std::set<std::string> helped;  // families with HELP
	std::string problem;  // first format problem found (bad labels, a split family), "" if none

	// Sum of `name` over the samples whose labels include `match`.
	uint64_t sum(const std::string &name, const std::map<std::string, std::string> &match = {}) const;
	size_t count(const std::string &name) const;
};

// Reads exposition text; `problem` says what, if anything, is malformed.
exposition parse_exposition(const std::string &text);

struct check_result {
	int status = -1;  // promtool's exit status (0: valid, no lint problems)
	std::string output;
};

bool have_promtool();
// `promtool check metrics` with `text` on stdin.
check_result promtool_check(const std::string &text);

// WEIR_REQUIRE_ALL=1: a missing tool fails instead of skipping.
bool require_all();

}  // namespace weir::test
