// health_test.cpp — the pure parts of health checks (control/health.h): the
// rise/fall hysteresis (tables and a randomised property), names, targets from a
// configuration, and the HTTP status-line verdict. The checker against real
// servers is in health_checker_test.cpp.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "health.h"
#include "health_probe.h"

namespace weir::ctl {
namespace {

struct step_case {
	uint32_t rise, fall;
	const char *results;  // P pass, F fail
	const char *states;  // after each result: u unknown, U up, D down
};

char letter(health_state s)
{
	return s == health_state::up ? 'U' : s == health_state::down ? 'D' : 'u';
}

TEST(health_step, follows_the_table)
{
	const step_case cases[] = {
	        {2, 3, "PP", "uU"},  // unknown -> up after rise passes
	        {2, 3, "FFF", "uuD"},  // unknown -> down after fall failures
	        {1, 1, "PFPF", "UDUD"},  // rise = fall = 1 follows every result
	        {1, 1, "FP", "DU"},
	        {2, 2, "PFPFPFPF", "uuuuuuuu"},  // alternation never completes a run of 2
	        {2, 3, "PPFFPFFF", "uUUUUUUD"},  // a pass breaks a run of failures
	        {3, 2, "FFPPFPPP", "uDDDDDDU"},  // a failure breaks a run of passes
	        {1, 5, "FFFFP", "uuuuU"},
	        {5, 1, "PPPPF", "uuuuD"},
	        {0, 0, "PF", "UD"},  // 0 acts as 1
	        {2, 2, "PPPPFFFF", "uUUUUDDD"},  // up stays up until a full run of failures
	};
	for (const step_case &c : cases) {
		health_record r;
		std::string got;
		for (const char *p = c.results; *p; p++) {
			r = health_step(r, *p == 'P', c.rise, c.fall);
			got += letter(r.state);
			EXPECT_TRUE(r.passes == 0 || r.fails == 0);
		}
		EXPECT_EQ(got, c.states)
		        << "rise " << c.rise << " fall " << c.fall << " results " << c.results;
	}
}

TEST(health_step, runs_saturate)
{
	health_record r{health_state::up, UINT32_MAX, 0};
	r = health_step(r, true, 2, 2);
	EXPECT_EQ(r, (health_record{health_state::up, UINT32_MAX, 0}));
	r = {health_state::down, 0, UINT32_MAX};
	r = health_step(r, false, 2, 2);
	EXPECT_EQ(r, (health_record{health_state::down, 0, UINT32_MAX}));
}

// Over random result sequences: a state changes only when the last `rise`
// results were passes (to up) or the last `fall` were failures (to down), and
// such a run always leaves the state there.
TEST(health_step, changes_exactly_at_complete_runs)
{
	std::mt19937 rng(7);
	for (uint32_t rise = 1; rise <= 4; rise++) {
		for (uint32_t fall = 1; fall <= 4; fall++) {
			health_record r;
			std::vector<bool> seen;
			for (int i = 0; i < 2000; i++) {
				bool passed = (rng() % 3) != 0;  // runs of both kinds occur
				health_state before = r.state;
				r = health_step(r, passed, rise, fall);
				seen.push_back(passed);
				auto run_of = [&](bool v, uint32_t n) {
					if (seen.size() < n)
						return false;
					for (uint32_t k = 0; k < n; k++)
						if (seen[seen.size() - 1 - k] != v)
							return false;
					return true;
				};
				if (run_of(true, rise))
					ASSERT_EQ(r.state, health_state::up);
				else if (run_of(false, fall))
					ASSERT_EQ(r.state, health_state::down);
				else
					ASSERT_EQ(r.state, before)
					        << "changed without a complete run at " << i;
			}
		}
	}
}

TEST(health_state, names)
{
	EXPECT_STREQ(to_string(health_state::unknown), "unknown");
	EXPECT_STREQ(to_string(health_state::up), "up");
	EXPECT_STREQ(to_string(health_state::down), "down");
	health_transition t{"web", *ip_addr::parse("fd00::21"), health_state::up, health_state::down,
	                    "http 503"};
	EXPECT_EQ(to_string(t), "health: VIP web backend fd00::21: up -> down (http 503)");
	EXPECT_TRUE(carries_traffic(health_state::unknown));
	EXPECT_FALSE(carries_traffic(health_state::down));
}

// Every backend of every VIP is a target, on the check's port or else the VIP's.
TEST(health_targets, come_from_the_configuration)
{
	config_report r = load_config_text("[node]\nipv4 = \"10.10.0.2/24\"\n"
	                                   "[dataplane.xdp]\ninterface = \"eth1\"\n"
	                                   "[[vip]]\nname = \"web\"\naddress = \"10.10.1.1\"\nport = 80\n"
	                                   "  [vip.health]\n  kind = \"http\"\n  path = \"/ok\"\n"
	                                   "  [[vip.backend]]\n  address = \"10.10.0.21\"\n"
	                                   "  [[vip.backend]]\n  address = \"10.10.0.22\"\n"
	                                   "[[vip]]\nname = \"all\"\naddress = \"10.10.1.2\"\nport = 0\n"
	                                   "  [vip.health]\n  port = 8080\n"
	                                   "  [[vip.backend]]\n  address = \"10.10.0.23\"\n",
	                                   "t.toml");
	ASSERT_TRUE(r.valid());
	auto t = health_targets(*r.cfg);
	ASSERT_EQ(t.size(), 3u);
	EXPECT_EQ(t[0].vip, "web");
	EXPECT_EQ(t[1].address, *ip_addr::parse("10.10.0.22"));
	EXPECT_EQ(t[1].port, 80);
	EXPECT_EQ(t[1].check.kind, health_kind::http);
	EXPECT_EQ(t[1].check.path, "/ok");
	EXPECT_EQ(t[2].vip, "all");
	EXPECT_EQ(t[2].port, 8080);
	EXPECT_EQ(t[2].check.kind, health_kind::tcp);
}

TEST(http_verdict, judges_the_status_line)
{
	struct row {
		const char *reply;
		bool closed;
		probe_verdict verdict;
		const char *text;
	};
	const row rows[] = {
	        {"HTTP/1.1 200 OK\r\n", false, probe_verdict::pass, "http 200"},
	        {"HTTP/1.0 301 Moved Permanently\r\nLocation: /x\r\n", false, probe_verdict::pass,
	         "http 301"},
	        {"HTTP/1.1 204\r\n", false, probe_verdict::pass, "http 204"},
	        {"HTTP/1.1 404 Not Found\r\n", false, probe_verdict::fail, "http 404"},
	        {"HTTP/1.1 503 Service Unavailable\n", false, probe_verdict::fail, "http 503"},
	        {"HTTP/1.1 199 Early\r\n", false, probe_verdict::fail, "http 199"},
	        {"HTTP/1.1 20", false, probe_verdict::pending, ""},
	        {"HTTP/1.1 20", true, probe_verdict::fail, "http: bad status line"},
	        {"HTTP/1.1 2000 OK\r\n", false, probe_verdict::fail, "http: bad status line"},
	        {"SSH-2.0-OpenSSH\r\n", false, probe_verdict::fail, "http: bad status line"},
	        {"", true, probe_verdict::fail, "http: closed before the status line"},
	        {"HTTP/1.1 200 OK", true, probe_verdict::pass, "http 200"},
	};
	for (const row &r : rows) {
		probe_outcome o = http_verdict(r.reply, r.closed);
		EXPECT_EQ(o.verdict, r.verdict) << r.reply;
		EXPECT_EQ(o.text, r.text) << r.reply;
	}
	// A line with no end is judged once the bound is reached, not read forever.
	std::string endless = "HTTP/1.1 200 " + std::string(4096, 'x');
	EXPECT_EQ(http_verdict(endless, false).verdict, probe_verdict::pass);
	EXPECT_EQ(http_verdict(std::string(4096, 'x'), false).verdict, probe_verdict::fail);
}

}  // namespace
}  // namespace weir::ctl
