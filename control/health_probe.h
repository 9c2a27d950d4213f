// health_probe.h — one health probe on the wire: its non-blocking socket and the
// steps of a tcp, http or udp check (see health.h for what passes). Used by the
// health checker on the control thread; the checker registers fd() in its epoll
// set and feeds the events back here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "health.h"

namespace weir::ctl {

enum class probe_verdict : uint8_t {
	pending,  // wait for events()
	pass,
	fail,  // the backend failed the check
	local_error,  // this host could not probe (no descriptors, no ports): not the backend's fault
};

struct probe_outcome {
	probe_verdict verdict = probe_verdict::pending;
	std::string text;  // "connected", "http 200", "connect: refused"...
};

class health_probe {
public:
	health_probe() = default;
	~health_probe();
	health_probe(const health_probe &) = delete;
	health_probe &operator=(const health_probe &) = delete;

	// Opens the socket and starts the check; pending unless it finished at once.
	probe_outcome start(const health_target &target);
	// Goes on after epoll reported `events` on fd().
	probe_outcome on_event(uint32_t events);
	// What the probe waits for, as epoll events; 0 before start() or once done.
	uint32_t events() const;
	int fd() const { return _fd; }
	// The result when the probe's time is up, naming what it waited for.
	const char *timeout_text() const;

private:
	enum class phase : uint8_t { idle, connecting, sending, receiving, done };

	probe_outcome connected();
	probe_outcome send_request();
	probe_outcome read_reply();
	probe_outcome done(probe_verdict v, std::string text);

	health_kind _kind = health_kind::tcp;
	phase _phase = phase::idle;
	int _fd = -1;
	std::string _out;  // http request not yet sent
	std::string _in;  // http reply so far, bounded
};

// The verdict on an HTTP reply's first bytes: pending while no status line is
// complete (and fewer than the bound have arrived), else pass for 2xx/3xx.
// `closed`: the server closed after `reply`. Pure; exposed for tests.
probe_outcome http_verdict(std::string_view reply, bool closed);

}  // namespace weir::ctl
