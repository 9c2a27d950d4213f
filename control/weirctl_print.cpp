// weirctl_print.cpp — weir's replies as a person reads them (weirctl.h): aligned
// tables like `ipvsadm -L` or `ip`, counts with units, one line per edit.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "stats.h"
#include "weirctl.h"

namespace weir::weirctl {

std::string text_of(const json &v)
{
	if (v.is_string())
		return v.get<std::string>();
	if (v.is_null())
		return "-";
	return v.dump();
}

namespace {

std::string with_unit(double v, const char *const *units, double step, int first_decimals)
{
	int u = 0;
	while (v >= step && units[u + 1]) {
		v /= step;
		u++;
	}
	char buf[32];
	int decimals = u == 0 ? first_decimals : v < 10 ? 2 : v < 100 ? 1 : 0;
	std::snprintf(buf, sizeof(buf), "%.*f%s", decimals, v, units[u]);
	return buf;
}

// Counts exact below 100000, then 123K, 1.23M, ...
std::string human_count(const json &v)
{
	if (!v.is_number())
		return "-";
	uint64_t n = v.get<uint64_t>();
	if (n < 100000)
		return std::to_string(n);
	static const char *const units[] = {"", "K", "M", "G", "T", "P", nullptr};
	return with_unit(double(n), units, 1000, 0);
}

std::string human_bytes(const json &v)
{
	if (!v.is_number())
		return "-";
	static const char *const units[] = {" B", " KiB", " MiB", " GiB", " TiB", " PiB", nullptr};
	return with_unit(double(v.get<uint64_t>()), units, 1024, 0);
}

std::string duration(uint64_t s)
{
	char buf[64];
	std::snprintf(buf, sizeof(buf), "%llud %02llu:%02llu:%02llu", (unsigned long long)(s / 86400),
	              (unsigned long long)(s / 3600 % 24), (unsigned long long)(s / 60 % 60),
	              (unsigned long long)(s % 60));
	return buf;
}

// Columns separated by two spaces; numbers right-aligned.
class table {
public:
	explicit table(std::vector<std::string> headers, std::string right = "")
	    : _headers(std::move(headers)), _right(std::move(right))
	{}
	void add(std::vector<std::string> row) { _rows.push_back(std::move(row)); }
	void print(std::ostream &os, const std::string &indent = "") const
	{
		std::vector<size_t> width(_headers.size());
		for (size_t i = 0; i < _headers.size(); i++) {
			width[i] = _headers[i].size();
			for (const auto &r : _rows)
				width[i] = std::max(width[i], r[i].size());
		}
		// A table without headings (e.g. explain's name/value pairs) prints none.
		if (std::any_of(_headers.begin(), _headers.end(), [](auto &h) { return !h.empty(); }))
			print_row(os, indent, _headers, width);
		for (const auto &r : _rows)
			print_row(os, indent, r, width);
	}

private:
	void print_row(std::ostream &os, const std::string &indent, const std::vector<std::string> &cells,
	               const std::vector<size_t> &width) const
	{
		std::string line = indent;
		for (size_t i = 0; i < cells.size(); i++) {
			bool right = i < _right.size() && _right[i] == 'r';
			std::string pad(width[i] - cells[i].size(), ' ');
			line += right ? pad + cells[i] : cells[i] + (i + 1 < cells.size() ? pad : "");
			if (i + 1 < cells.size())
				line += "  ";
		}
		os << line << '\n';
	}

	std::vector<std::string> _headers;
	std::string _right;  // 'r' for each right-aligned column
	std::vector<std::vector<std::string>> _rows;
};

// A field of a reply object as a cell.
std::string cell(const json &obj, const char *key)
{
	return text_of(obj.value(key, json()));
}

// "usable/total", and whether the VIP fails open.
std::string backends_cell(const json &vip)
{
	std::string s = cell(vip, "usable_backends") + "/" + cell(vip, "backends");
	return vip.value("fail_open", false) ? s + " fail-open" : s;
}

void print_status(const json &r)
{
	std::cout << "weir " << text_of(r.value("version", json())) << ", engine "
	          << text_of(r.value("engine", json())) << ", " << text_of(r.value("workers", json()))
	          << " workers, up " << duration(r.value("uptime_seconds", uint64_t(0))) << "\n"
	          << "config " << text_of(r.value("config_file", json())) << ", snapshot generation "
	          << text_of(r.value("generation", json())) << "\n\n";
	table t({"VIP", "ENDPOINT", "SCHEDULER", "FORWARDING", "BACKENDS", "FINGERPRINT"}, "....r.");
	for (const json &v : r.value("vips", json::array())) {
		t.add({cell(v, "name"), cell(v, "endpoint"), cell(v, "scheduler"), cell(v, "forwarding"),
		       backends_cell(v), cell(v, "fingerprint")});
	}
	t.print(std::cout);
}

void print_stats_top(const json &r)
{
	const json &tot = r.value("totals", json::object());
	table totals({"RX PKTS", "RX BYTES", "TX PKTS", "TX BYTES", "PASSED", "DROPPED", "FLOWS"}, "rrrrrrr");
	totals.add({human_count(tot.value("rx_packets", json())), human_bytes(tot.value("rx_bytes", json())),
	            human_count(tot.value("tx_packets", json())), human_bytes(tot.value("tx_bytes", json())),
	            human_count(tot.value("passed", json())), human_count(tot.value("dropped", json())),
	            human_count(tot.value("flows_active", json()))});
	std::cout << "Totals\n";
	totals.print(std::cout, "  ");

	table vips({"VIP", "ENDPOINT", "PACKETS", "BYTES", "FLOWS", "FINGERPRINT"}, "..rrr.");
	for (const json &v : r.value("vips", json::array()))
		vips.add({text_of(v.value("name", json())), text_of(v.value("endpoint", json())),
		          human_count(v.value("packets", json())), human_bytes(v.value("bytes", json())),
		          human_count(v.value("flows_active", json())),
		          text_of(v.value("fingerprint", json()))});
	std::cout << "\nVIPs\n";
	vips.print(std::cout, "  ");

	table backends({"VIP", "BACKEND", "WEIGHT", "STATE", "FLOWS", "PACKETS", "BYTES"}, "..r.rrr");
	for (const json &b : r.value("backends", json::array())) {
		std::string state = !b.value("usable", false)   ? "down"
		                    : b.value("weight", 0) == 0 ? "drained"
		                                                : "up";
		backends.add({text_of(b.value("vip", json())), text_of(b.value("address", json())),
		              text_of(b.value("weight", json())), state,
		              human_count(b.value("flows_active", json())),
		              human_count(b.value("packets", json())),
		              human_bytes(b.value("bytes", json()))});
	}
	std::cout << "\nBackends\n";
	backends.print(std::cout, "  ");
}

void print_stats_bottom(const json &r)
{
	table workers({"LCORE", "RX PKTS", "TX PKTS", "PASSED", "DROPPED", "FLOWS", "CAPACITY", "USED",
	               "UNTRACKED", "INSERTED", "EXPIRED", "BUSY"},
	              "rrrrrrrrrrrr");
	for (const json &w : r.value("workers", json::array())) {
		const json &occ = w.value("occupancy_pct", json());
		char pct[32] = "-";
		if (occ.is_number())
			std::snprintf(pct, sizeof(pct), "%.2f%%", occ.get<double>());
		// Seconds spent on polls that found packets (DPDK); "-" without a poll loop.
		const json &busy_s = w.value("busy_seconds", json());
		char busy[32] = "-";
		if (busy_s.is_number())
			std::snprintf(busy, sizeof(busy), "%.1f s", busy_s.get<double>());
		workers.add({text_of(w.value("lcore", json())), human_count(w.value("rx_packets", json())),
		             human_count(w.value("tx_packets", json())),
		             human_count(w.value("passed", json())), human_count(w.value("dropped", json())),
		             human_count(w.value("flows_active", json())),
		             human_count(w.value("flow_capacity", json())), pct,
		             human_count(w.value("untracked", json())),
		             human_count(w.value("inserted", json())),
		             human_count(w.value("expired", json())), busy});
	}
	std::cout << "\nWorkers\n";
	workers.print(std::cout, "  ");

	// In the .def's order; reasons that never happened are left out.
	const json &drops = r.value("drops", json::object());
	table by_reason({"REASON", "PACKETS"}, ".r");
	for (uint32_t i = 0; i < WEIR_DROP__COUNT; i++) {
		const json &n = drops.value(ctl::drop_reason_name(i), json());
		if (!n.is_number() || n.get<uint64_t>() > 0)
			by_reason.add({ctl::drop_reason_name(i), human_count(n)});
	}
	std::cout << "\nDrops\n";
	by_reason.print(std::cout, "  ");

	table other({"COUNTER", "VALUE"}, ".r");
	const json counters = r.value("counters", json::object());
	for (const auto &[name, value] : counters.items())
		other.add({name, human_count(value)});
	std::cout << "\nOther counters\n";
	other.print(std::cout, "  ");
}

void print_vip_list(const json &r)
{
	table t({"VIP", "ENDPOINT", "SCHEDULER", "FORWARDING", "TABLE", "BACKENDS", "HEALTH", "FINGERPRINT"},
	        "....rr..");
	for (const json &v : r.value("vips", json::array())) {
		t.add({cell(v, "name"), cell(v, "endpoint"), cell(v, "scheduler"), cell(v, "forwarding"),
		       cell(v, "table_size"), backends_cell(v), cell(v, "health"), cell(v, "fingerprint")});
	}
	t.print(std::cout);
}

void print_backend_list(const json &r)
{
	table t({"BACKEND", "WEIGHT", "HEALTH", "STATE", "FLOWS", "PACKETS", "BYTES"}, ".r..rrr");
	for (const json &b : r.value("backends", json::array())) {
		std::string state = !b.value("usable", false)   ? "unusable"
		                    : b.value("weight", 0) == 0 ? "drained"
		                                                : "active";
		t.add({text_of(b.value("address", json())), text_of(b.value("weight", json())),
		       text_of(b.value("health", json())), state,
		       human_count(b.value("flows_active", json())), human_count(b.value("packets", json())),
		       human_bytes(b.value("bytes", json()))});
	}
	std::cout << "VIP " << text_of(r.value("vip", json())) << "\n";
	t.print(std::cout, "  ");
}

void print_explain(const json &r)
{
	table t({"", ""});
	auto row = [&t](const char *name, const std::string &value) { t.add({name, value}); };
	row("flow", text_of(r.value("flow", json())));
	row("hash", text_of(r.value("hash", json())));
	const json &vip = r.value("vip", json());
	row("vip",
	    vip.is_null() ? "none" : text_of(vip) + " (" + text_of(r.value("scheduler", json())) + ")");
	std::string verdict = text_of(r.value("verdict", json()));
	if (r.contains("reason"))
		verdict += ": " + text_of(r["reason"]);
	row("verdict", verdict);
	if (!vip.is_null()) {
		row("tracked",
		    r.value("tracked", false)
		            ? "yes, on worker " + text_of(r.value("worker", json())) + ", " +
		                      text_of(r.value("expires_in", json())) + " s left" +
		                      (r.value("closing", false) ? ", closed (FIN or RST seen)" : "")
		            : "no");
		row("choice", text_of(r.value("choice", json())));
		row("backend", text_of(r.value("backend", json())));
	}
	if (const json &m = r.value("maglev", json()); m.is_object())
		row("maglev", "slot " + text_of(m["slot"]) + " of " + text_of(m["table_size"]) + " (hash " +
		                      text_of(m["hash"]) + " of the " + text_of(m["hash_of"]) +
		                      "): " + text_of(m["backend"]));
	t.print(std::cout);
	std::cout << text_of(r.value("summary", json())) << "\n";
}

void print_warnings(const json &r)
{
	for (const json &w : r.value("warnings", json::array()))
		std::cerr << "weirctl: warning: " << text_of(w) << "\n";
}

void print_change(const std::string &cmd, const json &r)
{
	if (cmd == "save") {
		std::cout << "saved " << text_of(r.value("vips", json())) << " VIPs to "
		          << text_of(r.value("path", json())) << " (" << text_of(r.value("bytes", json()))
		          << " bytes)\n";
		return;
	}
	std::cout << text_of(r.value("summary", json())) << ", snapshot generation "
	          << text_of(r.value("generation", json())) << "\n";
	const json &restart = r.value("restart_required", json::array());
	if (!restart.empty()) {
		std::string keys;
		for (const json &k : restart)
			keys += (keys.empty() ? "" : ", ") + text_of(k);
		std::cout << "take effect only at restart (running values kept): " << keys << "\n";
	}
	print_warnings(r);
}

}  // namespace

void print_reply(const std::string &cmd, const json &r)
{
	if (cmd == "status")
		print_status(r);
	else if (cmd == "stats") {
		print_stats_top(r);
		print_stats_bottom(r);
	} else if (cmd == "vip_list")
		print_vip_list(r);
	else if (cmd == "backend_list")
		print_backend_list(r);
	else if (cmd == "explain")
		print_explain(r);
	else
		print_change(cmd, r);
}

}  // namespace weir::weirctl
