// health.cpp — the rise/fall hysteresis and the health checker's schedules,
// timeouts and damping (health.h); the socket work is in health_probe.cpp.
// Control thread only.
#include "health.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "health_probe.h"
#include "log.h"

namespace weir::ctl {

namespace {

constexpr uint64_t timer_token = 0;
constexpr int events_per_call = 256;  // the rest stay readable for the next call
constexpr size_t min_in_flight = 64;
// Local errors (no descriptors, no ports) hit every target at once: one log line
// per this much time says so without flooding.
constexpr auto local_error_log_every = std::chrono::seconds(10);

bool same_check(const health_config &a, const health_config &b)
{
	return a.kind == b.kind && a.port == b.port && a.path == b.path && a.interval_ms == b.interval_ms &&
	       a.timeout_ms == b.timeout_ms && a.rise == b.rise && a.fall == b.fall;
}

bool same_target(const health_target &a, const health_target &b)
{
	return a.vip == b.vip && a.address == b.address && a.port == b.port && same_check(a.check, b.check);
}

size_t default_in_flight()
{
	rlimit rl{};
	if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 4096;
	return std::max(min_in_flight, static_cast<size_t>(rl.rlim_cur / 2));
}

}  // namespace

const char *to_string(health_state s)
{
	switch (s) {
	case health_state::up:
		return "up";
	case health_state::down:
		return "down";
	default:
		return "unknown";
	}
}

health_record health_step(health_record r, bool passed, uint32_t rise, uint32_t fall)
{
	constexpr uint32_t most = std::numeric_limits<uint32_t>::max();
	if (passed) {
		r.fails = 0;
		r.passes += r.passes < most;
		if (r.passes >= std::max(rise, 1u))
			r.state = health_state::up;
	} else {
		r.passes = 0;
		r.fails += r.fails < most;
		if (r.fails >= std::max(fall, 1u))
			r.state = health_state::down;
	}
	return r;
}

std::string to_string(const health_transition &t)
{
	return "health: VIP " + t.vip + " backend " + t.address.to_string() + ": " + to_string(t.from) +
	       " -> " + to_string(t.to) + " (" + t.reason + ")";
}

std::vector<health_target> health_targets(const config &cfg)
{
	std::vector<health_target> out;
	for (const vip_config &v : cfg.vips)
		for (const backend_config &b : v.backends)
			out.push_back({v.name, b.address, v.health.port.value_or(v.port), v.health});
	return out;
}

struct health_checker::entry {
	uint64_t id = 0;
	health_target target;
	health_record record;  // as probed
	health_state published = health_state::unknown;  // as handed out
	std::string last_result;
	uint64_t probes = 0, passes = 0, failures = 0;
	std::optional<std::chrono::system_clock::time_point> last_change;
	std::unique_ptr<health_probe> probe;  // in flight
	uint32_t watched = 0;  // epoll events registered for the probe's socket
	clock::time_point probe_started;
	std::optional<clock::time_point> deadline;  // its place in _timers
	bool waiting = false;  // in _waiting
};

result<std::unique_ptr<health_checker>> health_checker::create(uint32_t seed, const health_limits &limits)
{
	size_t most = limits.max_in_flight ? limits.max_in_flight : default_in_flight();
	std::unique_ptr<health_checker> c(new health_checker(seed, most));
	if (auto s = c->open(); !s)
		return error{s.error_message()};
	return c;
}

health_checker::health_checker(uint32_t seed, size_t max_in_flight)
    : _max_in_flight(max_in_flight), _rng(seed)
{}

status health_checker::open()
{
	_epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
	_timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (_epoll_fd < 0 || _timer_fd < 0)
		return error{std::string("health checks: epoll/timerfd: ") + std::strerror(errno)};
	epoll_event ev{};
	ev.events = EPOLLIN;
	ev.data.u64 = timer_token;
	if (::epoll_ctl(_epoll_fd, EPOLL_CTL_ADD, _timer_fd, &ev) != 0)
		return error{std::string("health checks: epoll_ctl: ") + std::strerror(errno)};
	return ok();
}

health_checker::~health_checker()
{
	for (auto &[k, e] : _targets)
		close_probe(*e);
	if (_timer_fd >= 0)
		::close(_timer_fd);
	if (_epoll_fd >= 0)
		::close(_epoll_fd);
}

void health_checker::set_targets(std::vector<health_target> targets)
{
	auto now = clock::now();
	std::map<key, std::unique_ptr<entry>> next;
	for (health_target &t : targets) {
		key k{t.vip, t.address};
		if (next.count(k))
			continue;
		if (auto it = _targets.find(k); it != _targets.end() && same_target(it->second->target, t)) {
			next.emplace(k, std::move(it->second));
			_targets.erase(it);
			continue;
		}
		auto e = std::make_unique<entry>();
		e->id = _next_id++;
		e->target = std::move(t);
		_by_id[e->id] = e.get();
		if (e->target.check.kind != health_kind::none)
			schedule(*e, now + jittered(*e, 0.0, 1.0));
		next.emplace(std::move(k), std::move(e));
	}
	for (auto &[k, e] : _targets)  // removed, or changed and replaced above
		forget(*e);
	_targets = std::move(next);
	rebuild_gates();
	arm_timer();
}

std::vector<health_transition> health_checker::handle_events()
{
	std::vector<health_transition> out;
	epoll_event evs[events_per_call];
	int n = ::epoll_wait(_epoll_fd, evs, events_per_call, 0);
	auto now = clock::now();
	for (int i = 0; i < n; i++) {
		uint64_t token = evs[i].data.u64;
		if (token == timer_token) {
			uint64_t ticks;
			[[maybe_unused]] ssize_t r = ::read(_timer_fd, &ticks, sizeof(ticks));
			continue;
		}
		if (auto it = _by_id.find(token); it != _by_id.end())
			on_probe_event(*it->second, evs[i].events, now);
	}
	run_due(now);
	start_waiting(now);
	release(now, out);
	arm_timer();
	return out;
}

health_state health_checker::state(const std::string &vip, const ip_addr &address) const
{
	auto it = _targets.find(key{vip, address});
	return it == _targets.end() ? health_state::unknown : it->second->published;
}

std::optional<health_info> health_checker::info(const std::string &vip, const ip_addr &address) const
{
	auto it = _targets.find(key{vip, address});
	if (it == _targets.end())
		return std::nullopt;
	const entry &e = *it->second;
	return health_info{e.target, e.published, e.last_result, e.probes,
	                   e.passes, e.failures,  e.last_change};
}

std::vector<health_info> health_checker::list() const
{
	std::vector<health_info> out;
	out.reserve(_targets.size());
	for (const auto &[k, e] : _targets)
		out.push_back(*info(k.first, k.second));
	return out;
}

health_checker::clock::duration health_checker::jittered(const entry &e, double low, double high)
{
	std::uniform_real_distribution<double> d(low, high);
	std::chrono::duration<double, std::milli> ms(e.target.check.interval_ms * d(_rng));
	return std::chrono::duration_cast<clock::duration>(ms);
}

void health_checker::schedule(entry &e, clock::time_point when)
{
	unschedule(e);
	_timers.emplace(when, e.id);
	e.deadline = when;
}

void health_checker::unschedule(entry &e)
{
	if (e.deadline)
		_timers.erase({*e.deadline, e.id});
	e.deadline.reset();
}

void health_checker::start_probe(entry &e, clock::time_point now)
{
	if (_in_flight >= _max_in_flight) {
		e.waiting = true;
		_waiting.push_back(e.id);
		return;
	}
	e.probe = std::make_unique<health_probe>();
	e.probes++;
	e.probe_started = now;
	_in_flight++;
	probe_outcome r = e.probe->start(e.target);
	if (r.verdict == probe_verdict::pending && !watch(e))
		r = {probe_verdict::local_error, std::string("epoll_ctl: ") + std::strerror(errno)};
	if (r.verdict != probe_verdict::pending)
		return finish(e, r.verdict == probe_verdict::local_error, r.verdict == probe_verdict::pass,
		              std::move(r.text), now);
	schedule(e, now + std::chrono::milliseconds(e.target.check.timeout_ms));
}

void health_checker::on_probe_event(entry &e, uint32_t events, clock::time_point now)
{
	if (!e.probe)
		return;
	probe_outcome r = e.probe->on_event(events);
	if (r.verdict == probe_verdict::pending && !watch(e))
		r = {probe_verdict::local_error, std::string("epoll_ctl: ") + std::strerror(errno)};
	if (r.verdict != probe_verdict::pending)
		finish(e, r.verdict == probe_verdict::local_error, r.verdict == probe_verdict::pass,
		       std::move(r.text), now);
}

// A probe's end: its result goes through the hysteresis, and the next probe is
// due one interval (± 10 %) after this one started.
void health_checker::finish(entry &e, bool local_error, bool passed, std::string text, clock::time_point now)
{
	close_probe(e);
	if (local_error) {
		if (!_last_local_log || now - *_last_local_log >= local_error_log_every) {
			log_warning("health checks: cannot probe " + e.target.address.to_string() +
			            " for VIP " + e.target.vip + ": " + text +
			            " (the backend keeps its state)");
			_last_local_log = now;
		}
		e.last_result = "local: " + text;
	} else {
		e.last_result = std::move(text);
		(passed ? e.passes : e.failures)++;
		const health_config &c = e.target.check;
		e.record = health_step(e.record, passed, c.rise, c.fall);
		if (e.record.state != e.published)
			_gates[e.target.vip].pending = true;
	}
	schedule(e, std::max(e.probe_started + jittered(e, 0.9, 1.1), now));
}

void health_checker::close_probe(entry &e)
{
	if (!e.probe)
		return;
	e.probe.reset();  // closing the socket also drops it from the epoll set
	e.watched = 0;
	_in_flight--;
}

bool health_checker::watch(entry &e)
{
	uint32_t want = e.probe->events();
	if (want == e.watched)
		return true;
	epoll_event ev{};
	ev.events = want;
	ev.data.u64 = e.id;
	if (::epoll_ctl(_epoll_fd, e.watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, e.probe->fd(), &ev) != 0)
		return false;
	e.watched = want;
	return true;
}

void health_checker::run_due(clock::time_point now)
{
	while (!_timers.empty() && _timers.begin()->first <= now) {
		entry &e = *_by_id.at(_timers.begin()->second);
		unschedule(e);
		if (e.probe)
			finish(e, false, false, e.probe->timeout_text(), now);
		else
			start_probe(e, now);
	}
}

void health_checker::start_waiting(clock::time_point now)
{
	while (_in_flight < _max_in_flight && !_waiting.empty()) {
		uint64_t id = _waiting.front();
		_waiting.pop_front();
		auto it = _by_id.find(id);
		if (it == _by_id.end() || !it->second->waiting)
			continue;  // forgotten meanwhile
		it->second->waiting = false;
		start_probe(*it->second, now);
	}
}

// Hands out the held changes of every VIP whose hold is over, as one batch each.
void health_checker::release(clock::time_point now, std::vector<health_transition> &out)
{
	for (auto &[vip, g] : _gates) {
		if (!g.pending || now < g.last_release + g.hold)
			continue;
		g.pending = false;
		bool any = false;
		ip_addr lowest;
		lowest.family = 0;
		for (auto it = _targets.lower_bound(key{vip, lowest});
		     it != _targets.end() && it->first.first == vip; ++it) {
			entry &e = *it->second;
			if (e.record.state == e.published)
				continue;
			out.push_back({vip, e.target.address, e.published, e.record.state, e.last_result});
			e.published = e.record.state;
			e.last_change = std::chrono::system_clock::now();
			any = true;
		}
		if (any)
			g.last_release = now;
	}
}

void health_checker::arm_timer()
{
	std::optional<clock::time_point> next;
	if (!_timers.empty())
		next = _timers.begin()->first;
	for (const auto &[vip, g] : _gates)
		if (g.pending && (!next || g.last_release + g.hold < *next))
			next = g.last_release + g.hold;
	itimerspec its{};
	if (next) {
		// steady_clock is CLOCK_MONOTONIC; a time already past fires at once, but
		// zero would disarm.
		auto ns = std::max<int64_t>(
		        1, std::chrono::duration_cast<std::chrono::nanoseconds>(next->time_since_epoch())
		                   .count());
		its.it_value.tv_sec = ns / 1'000'000'000;
		its.it_value.tv_nsec = ns % 1'000'000'000;
	}
	::timerfd_settime(_timer_fd, TFD_TIMER_ABSTIME, &its, nullptr);
}

void health_checker::forget(entry &e)
{
	unschedule(e);
	close_probe(e);
	e.waiting = false;
	_by_id.erase(e.id);
}

// One gate per VIP with probed targets, holding for the VIP's shortest interval;
// a VIP that stays keeps its damping history.
void health_checker::rebuild_gates()
{
	std::map<std::string, gate> next;
	for (const auto &[k, e] : _targets) {
		if (e->target.check.kind == health_kind::none)
			continue;
		auto hold = std::chrono::duration_cast<clock::duration>(
		        std::chrono::milliseconds(e->target.check.interval_ms));
		auto [it, fresh] = next.try_emplace(k.first);
		if (fresh) {
			if (auto old = _gates.find(k.first); old != _gates.end())
				it->second = old->second;
			it->second.hold = hold;
		} else {
			it->second.hold = std::min(it->second.hold, hold);
		}
	}
	_gates = std::move(next);
}

}  // namespace weir::ctl
