// fuzz_control.cpp — libFuzzer target over the control protocol: request lines
// through control_socket::dispatch to every command of register_commands()
// (control/commands.h), over test::pipeline_host (tests/pipeline_host.h): the
// configuration loader, snapshot builder and backend registry the daemon uses,
// and a flow table. Built with clang (ASan + UBSan) by tests/fuzz/meson.build; one process,
// one thread.
//
// Input: up to max_lines request lines, served in order by a host freshly loaded
// from the same file, so an input replays the same way on its own. Edits, reload
// and save change that host and its file as they would weir's. Beyond the
// sanitizers (and leaks), it traps on a reply that is not an object with a
// boolean "ok", a failure without an "error" message, and a reply the server
// could not send. `save` paths are moved into the fuzzer's own directory.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "commands.h"
#include "control_socket.h"
#include "pipeline_host.h"

namespace {

using namespace weir;
using namespace weir::ctl;
using json = nlohmann::json;

constexpr size_t max_lines = 8;
constexpr uint32_t now = 1000;

const char *const base_file =
        "[node]\nipv4 = \"10.10.0.2/24\"\nipv6 = \"fd00:10::2/64\"\n"
        "[dataplane]\nengine = \"dpdk\"\n[dataplane.dpdk]\nport = \"net_ring0\"\n"
        "[[vip]]\nname = \"web\"\naddress = \"10.10.1.1\"\nport = 80\ntable_size = 1009\n"
        "  [[vip.backend]]\n  address = \"10.10.0.21\"\n"
        "  [[vip.backend]]\n  address = \"10.10.0.22\"\n  weight = 3\n"
        "[[vip]]\nname = \"dns\"\naddress = \"10.10.1.2\"\nport = 53\nprotocol = \"udp\"\n"
        "scheduler = \"maglev_src\"\nforwarding = \"gue\"\ntable_size = 1009\n"
        "  [vip.health]\n  kind = \"none\"\n"
        "  [[vip.backend]]\n  address = \"10.10.0.31\"\n"
        "[[vip]]\nname = \"web6\"\naddress = \"fd00:1::1\"\nport = 443\nscheduler = \"wrr\"\n"
        "forwarding = \"l2dsr\"\ntable_size = 1009\n"
        "  [[vip.backend]]\n  address = \"fd00:10::21\"\n  mac = \"02:00:00:00:00:21\"\n";

// A directory of our own (under TMPDIR) for the socket, the configuration file
// and saves; removed when the fuzzer exits normally.
struct workspace {
	std::string dir;
	std::string file;
	std::unique_ptr<control_socket> sock;

	workspace()
	{
		std::string tmpl = std::filesystem::temp_directory_path() / "weir-fuzz-ctl-XXXXXX";
		if (!::mkdtemp(tmpl.data()))
			std::abort();
		dir = tmpl;
		file = dir + "/weir.toml";
		control_config c;
		c.socket = dir + "/weir.sock";
		auto s = control_socket::open(c);
		if (!s)
			std::abort();
		sock = std::move(*s);
	}
	~workspace()
	{
		sock.reset();
		std::filesystem::remove_all(dir);
	}
};

workspace &space()
{
	static workspace w;
	return w;
}

// The line with an absolute `save` path replaced by one in our directory (a
// writable file or one under a missing directory), so that no input writes
// outside it. Other lines are served as they are.
std::string confine(std::string_view line, const std::string &dir)
{
	json req = json::parse(line.begin(), line.end(), nullptr, false);
	if (!req.is_object() || req.value("cmd", json()) != "save")
		return std::string(line);
	auto path = req.find("path");
	if (path == req.end() || !path->is_string())
		return std::string(line);
	const std::string &p = path->get_ref<const std::string &>();
	if (p.empty() || p.front() != '/')
		return std::string(line);
	*path = dir + (p.size() % 2 ? "/saved.toml" : "/missing/saved.toml");
	return req.dump();
}

void check_reply(const json &reply)
{
	if (!reply.is_object())
		__builtin_trap();
	auto ok = reply.find("ok");
	if (ok == reply.end() || !ok->is_boolean())
		__builtin_trap();
	if (!ok->get<bool>()) {
		auto e = reply.find("error");
		if (e == reply.end() || !e->is_string() || e->get_ref<const std::string &>().empty())
			__builtin_trap();
	}
	// As the server sends it (control_socket.cpp): must not throw.
	std::string sent = reply.dump(-1, ' ', false, json::error_handler_t::replace);
	if (sent.empty() || sent.find('\n') != std::string::npos)
		__builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	workspace &w = space();
	std::ofstream(w.file, std::ios::trunc) << base_file;
	// The running state of weir as the commands see it, without an engine.
	test::pipeline_host host(w.file, 1 << 10, now);
	register_commands(*w.sock, host);
	std::string_view in(reinterpret_cast<const char *>(data), size);
	for (size_t n = 0; n < max_lines && !in.empty(); ++n) {
		size_t end = in.find('\n');
		std::string_view line = in.substr(0, end);
		in = end == std::string_view::npos ? std::string_view() : in.substr(end + 1);
		if (line.size() > control_limits{}.max_request)
			continue;  // the server answers those without dispatching them
		check_reply(w.sock->dispatch(confine(line, w.dir)));
	}
	return 0;
}
