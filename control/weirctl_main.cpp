// weirctl_main.cpp — `weirctl`, the operator's client for the control socket
// (SPEC §6): one request, one reply, printed as aligned tables or, with --json,
// as the raw reply. Single-threaded.
//
// Exit status: 0 the reply says ok; 1 an error reply, or no reply (cannot
// connect, timeout, connection closed); 2 bad usage.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.h"
#include "stats.h"

namespace {

using json = nlohmann::json;

constexpr int exit_error = 1;
constexpr int exit_usage = 2;
constexpr int reply_timeout_ms = 30'000;

// ---- talking to weir ----

struct reply_or_error {
	std::optional<json> reply;
	std::string error;
};

int connect_to(const std::string &path, std::string &error)
{
	sockaddr_un sa{};
	sa.sun_family = AF_UNIX;
	if (path.empty() || path.size() >= sizeof(sa.sun_path)) {
		error = "cannot connect to " + path + ": socket path too long or empty";
		return -1;
	}
	std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
	int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) == 0)
		return fd;
	error = "cannot connect to " + path + ": " + std::strerror(errno) + " \u2014 is weir running?";
	if (fd >= 0)
		::close(fd);
	return -1;
}

// Reads one line (the reply), waiting at most reply_timeout_ms for each piece.
bool read_line(int fd, std::string &line, std::string &error)
{
	char buf[65536];
	for (;;) {
		if (size_t nl = line.find('\n'); nl != std::string::npos) {
			line.resize(nl);
			return true;
		}
		pollfd p{fd, POLLIN, 0};
		int r = ::poll(&p, 1, reply_timeout_ms);
		if (r == 0) {
			error = "no reply from weir within " + std::to_string(reply_timeout_ms / 1000) + " s";
			return false;
		}
		ssize_t n = r < 0 ? -1 : ::read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			error = n == 0 ? "weir closed the connection without a reply"
			               : std::string("reading the reply: ") + std::strerror(errno);
			return false;
		}
		line.append(buf, size_t(n));
	}
}

reply_or_error request(const std::string &path, const json &req)
{
	reply_or_error out;
	int fd = connect_to(path, out.error);
	if (fd < 0)
		return out;
	std::string line = req.dump() + "\n";
	for (size_t off = 0; off < line.size();) {
		ssize_t n = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			out.error = std::string("sending the request: ") + std::strerror(errno);
			::close(fd);
			return out;
		}
		off += size_t(n);
	}
	std::string text;
	bool got = read_line(fd, text, out.error);
	::close(fd);
	if (!got)
		return out;
	json reply = json::parse(text, nullptr, false);
	if (reply.is_discarded() || !reply.is_object())
		out.error = "weir sent a reply that is not a JSON object";
	else
		out.reply = std::move(reply);
	return out;
}

// ---- formatting ----

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

std::string text_of(const json &v)
{
	if (v.is_string())
		return v.get<std::string>();
	if (v.is_null())
		return "-";
	return v.dump();
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

void print_status(const json &r)
{
	std::cout << "weir " << text_of(r.value("version", json())) << ", engine "
	          << text_of(r.value("engine", json())) << ", " << text_of(r.value("workers", json()))
	          << " workers, up " << duration(r.value("uptime_seconds", uint64_t(0))) << "\n"
	          << "config " << text_of(r.value("config_file", json())) << ", snapshot generation "
	          << text_of(r.value("generation", json())) << "\n\n";
	table t({"VIP", "ENDPOINT", "SCHEDULER", "FORWARDING", "BACKENDS", "FINGERPRINT"}, "....r.");
	for (const json &v : r.value("vips", json::array())) {
		std::string backends = text_of(v.value("usable_backends", json())) + "/" +
		                       text_of(v.value("backends", json()));
		if (v.value("fail_open", false))
			backends += " fail-open";
		t.add({text_of(v.value("name", json())), text_of(v.value("endpoint", json())),
		       text_of(v.value("scheduler", json())), text_of(v.value("forwarding", json())),
		       backends, text_of(v.value("fingerprint", json()))});
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
	               "UNTRACKED", "INSERTED", "EXPIRED"},
	              "rrrrrrrrrrr");
	for (const json &w : r.value("workers", json::array())) {
		const json &occ = w.value("occupancy_pct", json());
		char pct[32] = "-";
		if (occ.is_number())
			std::snprintf(pct, sizeof(pct), "%.2f%%", occ.get<double>());
		workers.add({text_of(w.value("lcore", json())), human_count(w.value("rx_packets", json())),
		             human_count(w.value("tx_packets", json())),
		             human_count(w.value("passed", json())), human_count(w.value("dropped", json())),
		             human_count(w.value("flows_active", json())),
		             human_count(w.value("flow_capacity", json())), pct,
		             human_count(w.value("untracked", json())),
		             human_count(w.value("inserted", json())),
		             human_count(w.value("expired", json()))});
	}
	std::cout << "\nWorkers\n";
	workers.print(std::cout, "  ");

	// In the .def's order; reasons that never happened are left out.
	const json &drops = r.value("drops", json::object());
	table by_reason({"REASON", "PACKETS"}, ".r");
	for (uint32_t i = 0; i < WEIR_DROP__COUNT; i++) {
		const json &n = drops.value(weir::ctl::drop_reason_name(i), json());
		if (!n.is_number() || n.get<uint64_t>() > 0)
			by_reason.add({weir::ctl::drop_reason_name(i), human_count(n)});
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

}  // namespace

int main(int argc, char **argv)
{
	CLI::App app{"weirctl: query and control a running weir through its control socket"};
	std::string socket_path = weir::ctl::control_config{}.socket;
	bool raw = false;
	app.add_option("--socket", socket_path, "control socket of the weir to talk to")
	        ->capture_default_str();
	app.add_flag("--json", raw, "print the raw JSON reply");
	app.require_subcommand(1);
	CLI::App *status =
	        app.add_subcommand("status", "engine, workers, uptime, config file, VIP fingerprints");
	CLI::App *stats = app.add_subcommand("stats", "totals, per VIP, backend and worker, drops by reason");
	// Options may also follow the command: `weirctl stats --json`.
	for (CLI::App *sub : {status, stats})
		sub->fallthrough();
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		int rc = app.exit(e);
		return rc == 0 ? 0 : exit_usage;
	}

	std::string cmd = status->parsed() ? "status" : "stats";
	reply_or_error got = request(socket_path, json{{"cmd", cmd}});
	if (!got.reply) {
		std::cerr << "weirctl: " << got.error << '\n';
		return exit_error;
	}
	const json &reply = *got.reply;
	bool ok = reply.contains("ok") && reply["ok"].is_boolean() && reply["ok"].get<bool>();
	try {
		if (raw) {
			std::cout << reply.dump(2) << '\n';
		} else if (ok && cmd == "status") {
			print_status(reply);
		} else if (ok) {
			print_stats_top(reply);
			print_stats_bottom(reply);
		}
	} catch (const json::exception &e) {
		std::cerr << "weirctl: " << cmd << ": unexpected reply from weir: " << e.what() << '\n';
		return exit_error;
	}
	if (!ok) {
		std::cerr << "weirctl: " << cmd << ": "
		          << text_of(reply.value("error", json("error without a message"))) << '\n';
		return exit_error;
	}
	return 0;
}
