// weir_main.cpp — the `weir` binary: command line, then `--check` (load and
// validate the configuration, print every problem) or the daemon (daemon.h).
// Main thread, which becomes the control thread.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "config.h"
#include "daemon.h"
#include "log.h"

namespace {

constexpr int exit_invalid = 2;  // SPEC §2: bad file or bad usage
constexpr int exit_startup = 1;  // SPEC §2: start-up failed

std::string plural(size_t n, const char *word)
{
	return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

int check(const std::string &file, const weir::ctl::load_options &opts)
{
	weir::ctl::config_report report = weir::ctl::load_config(file, opts);
	size_t warnings = 0;
	for (const auto &p : report.problems) {
		std::cerr << p.to_string() << '\n';
		warnings += p.warning;
	}
	if (!report.valid())
		return exit_invalid;
	size_t backends = 0;
	for (const auto &v : report.cfg->vips)
		backends += v.backends.size();
	std::cout << file << ": valid: " << plural(report.cfg->vips.size(), "VIP") << ", "
	          << plural(backends, "backend");
	if (warnings > 0)
		std::cout << " (" << plural(warnings, "warning") << ")";
	std::cout << '\n';
	return 0;
}

}  // namespace

int main(int argc, char **argv)
{
	CLI::App app{"weir: kernel-bypass L4 TCP/UDP load balancer"};
	std::string file, engine, log_level = "info";
	bool check_only = false;
	// Checked after parsing, so that an unknown option is the error a typo reports.
	app.add_option("--config", file, "configuration file (TOML), required");
	app.add_option("--engine", engine, "packet engine, overriding dataplane.engine")
	        ->check(CLI::IsMember({"dpdk", "xdp", "auto"}));
	app.add_option("--log-level", log_level, "least severe level logged")
	        ->capture_default_str()
	        ->check(CLI::IsMember({"error", "warning", "info", "debug"}));
	app.add_flag("--check", check_only, "validate the configuration, print every problem and exit");
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		int rc = app.exit(e);
		return rc == 0 ? 0 : exit_invalid;
	}
	if (file.empty()) {
		app.exit(CLI::RequiredError("--config"));
		return exit_invalid;
	}

	weir::ctl::load_options opts;
	if (!engine.empty())
		opts.engine = weir::ctl::parse_engine(engine);
	if (check_only)
		return check(file, opts);

	weir::log_level level;
	if (!weir::parse_log_level(log_level, level)) {
		std::cerr << "weir: --log-level " << log_level
		          << ": expected debug, info, warning or error\n";
		return exit_invalid;
	}
	weir::set_log_level(level);
	weir::ctl::config_report report = weir::ctl::load_config(file, opts);
	for (const auto &p : report.problems)
		weir::log(p.warning ? weir::log_level::warning : weir::log_level::error, p.to_string());
	if (!report.valid())
		return exit_invalid;
	return weir::ctl::run_daemon(std::move(*report.cfg));
}
