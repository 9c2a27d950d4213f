// metrics.h — weir's Prometheus exposition (SPEC §6 Metrics; every family is
// listed in docs/metrics.md) and the HTTP endpoint that serves it.
//
// render_metrics is a pure function of what the control thread owns (the
// configuration, the published snapshot, health) and of the counters it reads
// (worker views, engine drops): the control thread calls it, with the same
// inputs as stats_json (stats.h), whose sums it shares.
//
// metrics_server runs cpp-httplib on threads of its own (one accepting, a few
// serving), and those threads never touch control-plane state: a scrape posts
// a request and waits; the control thread, which watches fd() in its event
// loop, calls handle_events(), renders once for every scrape waiting and hands
// the text back. A scrape the control thread leaves unanswered for
// `render_timeout` gets 503. The control thread never waits for a scrape.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "config.h"
#include "engine.h"
#include "ip_addr.h"
#include "result.h"
#include "snapshot.h"
#include "stats.h"

namespace weir::ctl {

// A backend's health as the health checker holds it: "unknown" (not proven
// either way yet: takes traffic), "up", "down", or "none" (its VIP's health kind
// is none: never checked, takes traffic). Any other answer shows as "unknown".
using health_lookup = std::function<std::string(const std::string &vip, const ip_addr &backend)>;

// The exposition text (format 0.0.4). `info` gives the engine, worker count and
// uptime; an empty `health` shows every backend as "unknown".
std::string render_metrics(const status_info &info, const config &cfg, const dp::snapshot &snap,
                           std::span<const dp::worker_view> workers, const drop_counts &engine_drops,
                           const health_lookup &health);

// A label value as the text format writes it between quotes: \ " and newline escaped.
std::string escape_label_value(std::string_view v);

struct metrics_limits {
	// How long a scrape waits for the control thread before it gets 503.
	std::chrono::milliseconds render_timeout{2000};
	// A connection's whole life: request, wait for the control thread, reply.
	std::chrono::milliseconds connection_timeout{5000};
	// Bytes a connection may send (request line, headers, body): enough for any
	// scraper, small enough that no client can make weir buffer much.
	size_t max_request = 16 * 1024;
	unsigned threads = 2;  // connections served at once
	size_t max_pending = 16;  // accepted connections waiting for a thread; then accepting waits
};

class metrics_server {
public:
	// Returns the exposition text; runs on the control thread only, inside
	// handle_events(). A std::exception it throws answers the waiting scrapes 500.
	using render_fn = std::function<std::string()>;

	// Listens on `listen` ("HOST:PORT" or "[IPV6]:PORT"; port 0 picks a free
	// one, see port()) and starts serving GET /metrics. Errors (a malformed
	// address, a host that does not resolve, the port in use, no permission)
	// name the address.
	static result<std::unique_ptr<metrics_server>> create(const std::string &listen, render_fn render,
	                                                      const metrics_limits &limits = {});

	// Stops accepting, fails what is in flight at once (waiting scrapes, slow
	// clients), and joins every thread.
	~metrics_server();
	metrics_server(const metrics_server &) = delete;
	metrics_server &operator=(const metrics_server &) = delete;

	// An eventfd, readable while scrapes wait for handle_events(). Control thread.
	int fd() const;
	// Renders once (if any scrape waits) and answers every waiting scrape.
	// Never blocks on the HTTP threads. Control thread.
	void handle_events();

	uint16_t port() const;  // the port listened on
	const std::string &listen() const;

	struct state;  // shared with the HTTP threads (metrics_server.cpp)

private:
	explicit metrics_server(std::unique_ptr<state> s);
	std::unique_ptr<state> _s;
};

}  // namespace weir::ctl
