// pipeline_host.h — a command_host (control/commands.h) made of the parts the
// daemon uses, without an engine: the configuration loader, the snapshot
// builder and backend registry, and one flow table standing in for the
// workers'. apply() builds and publishes as the daemon does. Header-only, so
// that the fuzz targets (built by clang outside test_support) share it with the
// unit tests. Test code only.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"
#include "flow_table.h"
#include "snapshot_builder.h"

namespace weir::test {

class pipeline_host : public ctl::command_host {
public:
	// Loads `file`; every next hop resolves to 02:bb:00:00:00:<last address byte>.
	pipeline_host(const std::string &file, uint32_t flow_entries, uint32_t now)
	    : _flows(dp::flow_table::create(flow_entries).value()), _now(now)
	{
		_host.resolve = [](const ctl::ip_addr &a) {
			return ctl::mac_addr{2, 0xbb, 0, 0, 0, a.bytes[3]};
		};
		ctl::config_report r = ctl::load_config(file);
		if (!r.valid())
			throw std::runtime_error("pipeline_host: " + file + " does not load");
		_cfg = std::move(*r.cfg);
		_snap = ctl::build_snapshot(_cfg, _host, _registry, nullptr).value();
	}

	const ctl::config &live() const override { return _cfg; }
	const dp::snapshot &snapshot() const override { return *_snap; }
	std::vector<dp::worker_view> workers() const override { return {{0, &_counters, _flows.get()}}; }
	std::optional<dp::tracked_flow> find_flow(uint32_t hash, uint32_t sig) const override
	{
		auto e = _flows->peek(hash, sig, _now);
		if (!e)
			return std::nullopt;
		return dp::tracked_flow::of(*e, _now, 0);
	}
	status apply(ctl::config next, const std::string &) override
	{
		auto s = ctl::build_snapshot(next, _host, _registry, _snap.get());
		if (!s)
			return error{s.error_message()};
		_cfg = std::move(next);
		_snap = *s;
		return ok();
	}

protected:
	ctl::config _cfg;
	ctl::host_facts _host;
	ctl::backend_registry _registry;
	std::shared_ptr<const dp::snapshot> _snap;
	std::unique_ptr<dp::flow_table> _flows;
	dp::worker_counters _counters;
	uint32_t _now;
};

}  // namespace weir::test
