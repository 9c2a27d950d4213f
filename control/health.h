// health.h — backend health checks (SPEC §6): the rise/fall hysteresis as a pure
// function, and the checker that probes every backend from one thread. Owned and
// used by the control thread only: add fd() to the control thread's event loop and
// call handle_events() whenever it is readable. Nothing here blocks and nothing
// here has a thread; every probe is a non-blocking socket in one epoll set, and
// the schedules share one timerfd.
//
// States. A backend starts `unknown` and carries traffic until proven down, so a
// restarted weir does not black-hole a VIP while its first probes run. `rise`
// consecutive passes make it `up`, `fall` consecutive failures make it `down`.
// Keeping a whole VIP forwarding when all its backends are down (fail-open) is
// the snapshot builder's rule, not this file's.
//
// Schedules. A target's first probe is at a uniformly random point within one
// interval (so a reload does not probe every backend at once); each next probe
// starts one interval ± 10 % after the previous one started. A probe that has not
// finished after timeout_ms fails with "timeout" and its socket is closed.
//
// Damping. Transitions of one VIP are handed out at most once per that VIP's
// interval: the first at once, later ones held until one interval after the
// previous batch, then handed out together with their net effect (a backend that
// went down and up again inside the hold produces nothing). Each batch is one
// table rebuild for the caller, so a flapping backend costs at most one rebuild
// per interval. state() answers with the handed-out state, so a rebuild sees
// exactly what the transitions said.
//
// Probes use the kernel's stack (on the DPDK engine, through the exception path):
// `tcp` connects; `http` sends `GET path HTTP/1.0` and reads the status line, 2xx
// and 3xx pass; `udp` sends a small datagram on a connected socket and passes on
// any reply, an ICMP port unreachable (ECONNREFUSED) fails. TCP probes close with
// a reset, so thousands of checks leave no TIME_WAIT sockets behind.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config.h"
#include "ip_addr.h"
#include "result.h"

namespace weir::ctl {

enum class health_state : uint8_t { unknown, up, down };

// "unknown" | "up" | "down"
const char *to_string(health_state);

// Whether a backend in this state takes new flows: unknown and up do.
inline bool carries_traffic(health_state s)
{
	return s != health_state::down;
}

// The hysteresis of one backend: its state and the current run of passes or
// failures (one of the two is always 0 after a step).
struct health_record {
	health_state state = health_state::unknown;
	uint32_t passes = 0;
	uint32_t fails = 0;

	bool operator==(const health_record &) const = default;
};

// The record after one probe result. Pure. `rise` consecutive passes make any
// state up, `fall` consecutive failures make any state down; rise or fall 0 act
// as 1. Runs saturate instead of wrapping.
health_record health_step(health_record r, bool passed, uint32_t rise, uint32_t fall);

// One backend of one VIP to probe, at `address`:`port` (the check's port, or the
// VIP's when the check has none).
struct health_target {
	std::string vip;
	ip_addr address;
	uint16_t port = 0;
	health_config check;
};

// The targets of a configuration: every backend of every VIP, kind "none"
// included (those are never probed and stay unknown).
std::vector<health_target> health_targets(const config &cfg);

// A change of a backend's handed-out state; `reason` is the last probe result.
struct health_transition {
	std::string vip;
	ip_addr address;
	health_state from = health_state::unknown;
	health_state to = health_state::unknown;
	std::string reason;
};

// "health: VIP web backend 10.0.0.21: up -> down (connect: refused)", one log line.
std::string to_string(const health_transition &t);

// What status and metrics show of one target.
struct health_info {
	health_target target;
	health_state state = health_state::unknown;  // as handed out (see Damping)
	std::string last_result;  // "connected", "http 503", "connect: refused", "timeout"...; "" before any
	uint64_t probes = 0;  // started
	uint64_t passes = 0;
	uint64_t failures = 0;
	std::optional<std::chrono::system_clock::time_point>
	        last_change;  // of `state`; none while never changed
};

struct health_limits {
	// Probes in flight at once (one socket each); due probes beyond it wait their
	// turn. 0: half the process's open-file limit, at least 64.
	size_t max_in_flight = 0;
};

class health_checker {
public:
	// `seed` drives the schedule jitter; one seed gives one sequence of draws.
	static result<std::unique_ptr<health_checker>> create(uint32_t seed,
	                                                      const health_limits &limits = {});

	~health_checker();
	health_checker(const health_checker &) = delete;
	health_checker &operator=(const health_checker &) = delete;

	// Replaces the set of targets. A target whose (vip, address, port, check) is
	// unchanged keeps its state, counters and schedule; a new or changed one
	// starts unknown with its first probe within one interval; a removed one is
	// forgotten and its probe, if any, closed. Targets are keyed by (vip,
	// address): of duplicates the first counts. Returns no transitions: the
	// caller changed the targets and rebuilds anyway.
	void set_targets(std::vector<health_target> targets);

	// An epoll descriptor, readable whenever handle_events() has work (probe
	// sockets, due schedules, timeouts, held transitions). Level-triggered.
	int fd() const { return _epoll_fd; }

	// Serves what is ready now without waiting and returns the transitions handed
	// out since the last call (see Damping), ordered by VIP then address.
	std::vector<health_transition> handle_events();

	// The handed-out state; unknown if (vip, address) is not a target.
	health_state state(const std::string &vip, const ip_addr &address) const;

	std::optional<health_info> info(const std::string &vip, const ip_addr &address) const;
	std::vector<health_info> list() const;  // ordered by VIP then address
	size_t in_flight() const { return _in_flight; }

private:
	using clock = std::chrono::steady_clock;
	struct entry;
	struct gate {  // the damping of one VIP
		clock::duration hold{};
		clock::time_point last_release = clock::time_point::min();
		bool pending = false;
	};
	using key = std::pair<std::string, ip_addr>;

	health_checker(uint32_t seed, size_t max_in_flight);
	status open();
	clock::duration jittered(const entry &e, double low, double high);
	void schedule(entry &e, clock::time_point when);
	void unschedule(entry &e);
	void start_probe(entry &e, clock::time_point now);
	void on_probe_event(entry &e, uint32_t events, clock::time_point now);
	void finish(entry &e, bool local_error, bool passed, std::string text, clock::time_point now);
	void close_probe(entry &e);
	bool watch(entry &e);
	void run_due(clock::time_point now);
	void start_waiting(clock::time_point now);
	void release(clock::time_point now, std::vector<health_transition> &out);
	void arm_timer();
	void forget(entry &e);
	void rebuild_gates();

	int _epoll_fd = -1;
	int _timer_fd = -1;
	size_t _max_in_flight;
	size_t _in_flight = 0;
	uint64_t _next_id = 1;  // epoll tokens: 0 the timer, then one per target
	std::mt19937_64 _rng;
	std::map<key, std::unique_ptr<entry>> _targets;
	std::unordered_map<uint64_t, entry *> _by_id;
	std::set<std::pair<clock::time_point, uint64_t>>
	        _timers;  // next probe or probe timeout, by target id
	std::deque<uint64_t> _waiting;  // due, but max_in_flight probes are out
	std::map<std::string, gate> _gates;
	std::optional<clock::time_point> _last_local_log;
};

}  // namespace weir::ctl
