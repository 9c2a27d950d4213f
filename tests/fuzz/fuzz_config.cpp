// fuzz_config.cpp — libFuzzer target over the configuration loader
// (control/config.h): TOML parsing, the nesting guard in front of toml11, and
// validation. Built with clang (ASan + UBSan) by tests/fuzz/meson.build; one
// process, one thread.
//
// Input: the text of a file. Beyond the sanitizers (and an escaping exception,
// which libFuzzer reports as a crash), it traps on a report that contradicts
// itself: valid with an error, invalid without one, a problem without a message
// or naming another file. A valid configuration must survive `weirctl save`:
// its TOML loads back valid and writes out the same.
#include <cstdint>
#include <string>

#include "config.h"
#include "config_save.h"

namespace {

using namespace weir::ctl;

const std::string name = "fuzz.toml";

void check_report(const config_report &r)
{
	bool errors = false;
	for (const config_problem &p : r.problems) {
		if (p.file != name || p.message.empty())
			__builtin_trap();
		errors |= !p.warning;
	}
	if (r.valid() == errors)
		__builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	config_report r = load_config_text(std::string(reinterpret_cast<const char *>(data), size), name);
	check_report(r);
	if (!r.valid())
		return 0;
	std::string saved = config_toml(*r.cfg);
	config_report again = load_config_text(saved, name);
	check_report(again);
	if (!again.valid() || config_toml(*again.cfg) != saved)
		__builtin_trap();
	return 0;
}
