// daemon.h — the running weir: the control thread's event loop. It owns the
// configuration, the backend registry and the current snapshot, starts the engine,
// serves the control socket, re-resolves next hops, reloads on SIGHUP and stops
// on SIGTERM/SIGINT. Control thread only.
#pragma once

#include <string>

#include "config.h"

namespace weir::ctl {

// Runs weir until SIGTERM/SIGINT. Returns the process exit status: 0 after a clean
// stop, 1 when start-up fails (one log line names the cause).
int run_daemon(config cfg);

}  // namespace weir::ctl
