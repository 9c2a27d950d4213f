// commands.h — the control socket's commands beyond status and stats (SPEC §6):
// VIP and backend listing and live edits, explain, reload and save. Handlers run
// on the control thread (control_socket.h); they read and change the running
// state only through a command_host, which the daemon implements.
//
// Requests (one JSON object per line) and their fields:
//   vip_list
//   vip_add         name, endpoint "ADDR:PORT/PROTO", [scheduler], [forwarding]
//   vip_del         name
//   backend_list    vip
//   backend_add     vip, address, [weight]
//   backend_del     vip, address
//   backend_weight  vip, address, weight
//   backend_drain   vip, address                (weight 0: tracked flows stay)
//   explain         src "ADDR:PORT", dst "ADDR:PORT", protocol "tcp"|"udp"
//   reload
//   save            [path]                      (default: the configuration file)
// An edit replies {"ok": true, "summary", "changed": {vips_added, vips_removed,
// vips_changed, settings_changed}, "warnings", "generation"}; an invalid one
// {"ok": false, "error"} and nothing changes. docs/control.md shows every reply.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.h"
#include "control_socket.h"
#include "engine.h"
#include "result.h"
#include "snapshot.h"

namespace weir::ctl {

// A backend's health when no checker reports on it: "none" for VIPs with
// health.kind = "none", else "unknown" (a backend receives traffic until proven down).
std::string unchecked_health(const vip_config &vip);

// What the commands need of the running weir.
class command_host {
public:
	virtual ~command_host() = default;

	// The running configuration and the snapshot published from it.
	virtual const config &live() const = 0;
	virtual const dp::snapshot &snapshot() const = 0;
	// The engine's workers (counters, flow tables) and its tracked entry of a flow.
	virtual std::vector<dp::worker_view> workers() const = 0;
	virtual std::optional<dp::tracked_flow> find_flow(uint32_t hash, uint32_t sig) const = 0;
	// Makes `next` (already validated) the running configuration: builds and
	// publishes its snapshot. On error nothing changed.
	virtual status apply(config next, const std::string &why) = 0;
	// "unknown" | "up" | "down" | "none".
	virtual std::string backend_health(const vip_config &vip, const ip_addr &) const
	{
		return unchecked_health(vip);
	}
};

// Registers every command above on `s`; `h` must outlive it.
void register_commands(control_socket &s, command_host &h);

// Re-reads h.live().file: parse, validate, diff, publish. All or nothing: an
// invalid file changes nothing and the reply lists its problems. The engine's
// shape keys keep their running values (keep_engine_shape) and are listed in
// "restart_required". Used by `reload` and SIGHUP.
nlohmann::json reload_config(command_host &h);

}  // namespace weir::ctl
