// weirctl_main.cpp — `weirctl`, the operator's client for the control socket
// (SPEC §6): the command line, turned into one request; the reply printed as
// aligned tables (weirctl_print.cpp) or, with --json, as the raw reply.
// Single-threaded.
//
// Exit status: 0 the reply says ok; 1 an error reply, or no reply (cannot
// connect, timeout, connection closed); 2 bad usage.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "weirctl.h"

namespace {

using weir::weirctl::json;

constexpr int exit_error = 1;
constexpr int exit_usage = 2;

// The request a parsed subcommand sends, filled in after parsing.
struct command {
	CLI::App *app;
	std::function<json()> request;
};

// Every option may also follow the command (`weirctl vip list --json`).
CLI::App *sub(CLI::App &parent, const std::string &name, const std::string &help)
{
	CLI::App *s = parent.add_subcommand(name, help);
	s->fallthrough();
	return s;
}

struct cli_values {
	std::string name, endpoint, vip, address, src, dst, proto, path;
	std::optional<std::string> scheduler, forwarding, health;
	std::optional<int64_t> weight, health_port;
	int64_t new_weight = 0;
};

void add_vip_commands(CLI::App &app, cli_values &v, std::vector<command> &out)
{
	CLI::App *vip = sub(app, "vip", "list, add and delete VIPs");
	vip->require_subcommand(1);
	out.push_back({sub(*vip, "list", "VIPs with scheduler, forwarding, backends and fingerprint"), [] {
		               return json{{"cmd", "vip_list"}};
	               }});
	CLI::App *add = sub(*vip, "add", "add a VIP (live; `weirctl save` keeps it)");
	add->add_option("NAME", v.name, "the VIP's name")->required();
	add->add_option("ENDPOINT", v.endpoint,
	                "ADDR:PORT/PROTO, e.g. 10.10.1.1:80/tcp or [fd00:1::1]:443/udp")
	        ->required();
	add->add_option("--scheduler", v.scheduler, "maglev | maglev_src | wrr | least_conn");
	add->add_option("--forwarding", v.forwarding, "ipip | gue | l2dsr");
	add->add_option("--health", v.health, "tcp | http | udp | none: the health check's kind");
	add->add_option("--health-port", v.health_port,
	                "the port to probe (required for a VIP of every port, :0)");
	out.push_back({add, [&v] {
		               json r{{"cmd", "vip_add"}, {"name", v.name}, {"endpoint", v.endpoint}};
		               if (v.scheduler)
			               r["scheduler"] = *v.scheduler;
		               if (v.forwarding)
			               r["forwarding"] = *v.forwarding;
		               if (v.health)
			               r["health"] = *v.health;
		               if (v.health_port)
			               r["health_port"] = *v.health_port;
		               return r;
	               }});
	CLI::App *del = sub(*vip, "del", "delete a VIP and its backends");
	del->add_option("NAME", v.name, "the VIP's name")->required();
	out.push_back({del, [&v] { return json{{"cmd", "vip_del"}, {"name", v.name}}; }});
}

// backend VIP ADDR commands share their two positionals.
CLI::App *backend_sub(CLI::App &parent, const std::string &name, const std::string &help, cli_values &v)
{
	CLI::App *s = sub(parent, name, help);
	s->add_option("VIP", v.vip, "the VIP's name")->required();
	s->add_option("ADDR", v.address, "the backend's IPv4 or IPv6 address")->required();
	return s;
}

void add_backend_commands(CLI::App &app, cli_values &v, std::vector<command> &out)
{
	CLI::App *backend = sub(app, "backend", "list, add, delete, weigh and drain backends");
	backend->require_subcommand(1);
	CLI::App *list = sub(*backend, "list", "a VIP's backends: weight, health, flows, packets, bytes");
	list->add_option("VIP", v.vip, "the VIP's name")->required();
	out.push_back({list, [&v] { return json{{"cmd", "backend_list"}, {"vip", v.vip}}; }});
	CLI::App *add = backend_sub(*backend, "add", "add a backend to a VIP", v);
	add->add_option("--weight", v.weight, "relative share of new flows (default 1; 0 = drained)");
	out.push_back({add, [&v] {
		               json r{{"cmd", "backend_add"}, {"vip", v.vip}, {"address", v.address}};
		               if (v.weight)
			               r["weight"] = *v.weight;
		               return r;
	               }});
	out.push_back({backend_sub(*backend, "del", "remove a backend; its flows choose again", v), [&v] {
		               return json{{"cmd", "backend_del"}, {"vip", v.vip}, {"address", v.address}};
	               }});
	CLI::App *weight = backend_sub(*backend, "weight", "set a backend's weight", v);
	weight->add_option("N", v.new_weight, "the new weight, 0..65535")->required();
	out.push_back({weight, [&v] {
		               return json{{"cmd", "backend_weight"},
		                           {"vip", v.vip},
		                           {"address", v.address},
		                           {"weight", v.new_weight}};
	               }});
	out.push_back(
	        {backend_sub(*backend, "drain", "weight 0: no new flows, existing flows stay", v), [&v] {
		         return json{{"cmd", "backend_drain"}, {"vip", v.vip}, {"address", v.address}};
	         }});
}

void add_other_commands(CLI::App &app, cli_values &v, std::vector<command> &out)
{
	out.push_back({sub(app, "status", "engine, workers, uptime, config file, VIP fingerprints"), [] {
		               return json{{"cmd", "status"}};
	               }});
	out.push_back({sub(app, "stats", "totals, per VIP, backend and worker, drops by reason"), [] {
		               return json{{"cmd", "stats"}};
	               }});
	CLI::App *explain = sub(app, "explain", "which backend a flow goes to, and why");
	explain->add_option("SRC", v.src, "client ADDR:PORT ([IPV6]:PORT)")->required();
	explain->add_option("DST", v.dst, "destination ADDR:PORT (the VIP's)")->required();
	explain->add_option("PROTO", v.proto, "tcp | udp")->required()->check(CLI::IsMember({"tcp", "udp"}));
	out.push_back({explain, [&v] {
		               return json{{"cmd", "explain"},
		                           {"src", v.src},
		                           {"dst", v.dst},
		                           {"protocol", v.proto}};
	               }});
	out.push_back({sub(app, "reload", "re-read the configuration file; all or nothing"), [] {
		               return json{{"cmd", "reload"}};
	               }});
	CLI::App *save = sub(app, "save", "write the running configuration as TOML, atomically");
	save->add_option("PATH", v.path, "where (default: the file weir was started with)");
	out.push_back({save, [&v] {
		               json r{{"cmd", "save"}};
		               // weir resolves nothing against its own working directory.
		               if (!v.path.empty())
			               r["path"] =
			                       std::filesystem::absolute(v.path).lexically_normal().string();
		               return r;
	               }});
}

int run(const std::string &socket_path, bool raw, const json &req)
{
	std::string cmd = req["cmd"].get<std::string>();
	weir::weirctl::reply_or_error got = weir::weirctl::request(socket_path, req);
	if (!got.reply) {
		std::cerr << "weirctl: " << got.error << '\n';
		return exit_error;
	}
	const json &reply = *got.reply;
	bool ok = reply.contains("ok") && reply["ok"].is_boolean() && reply["ok"].get<bool>();
	try {
		if (raw)
			std::cout << reply.dump(2) << '\n';
		else if (ok)
			weir::weirctl::print_reply(cmd, reply);
	} catch (const json::exception &e) {
		std::cerr << "weirctl: " << cmd << ": unexpected reply from weir: " << e.what() << '\n';
		return exit_error;
	}
	if (ok)
		return 0;
	std::cerr << "weirctl: "
	          << weir::weirctl::text_of(reply.value("error", json("error without a message"))) << '\n';
	if (!raw)
		for (const json &p : reply.value("problems", json::array()))
			std::cerr << "  " << weir::weirctl::text_of(p) << '\n';
	return exit_error;
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
	cli_values values;
	std::vector<command> commands;
	add_other_commands(app, values, commands);
	add_vip_commands(app, values, commands);
	add_backend_commands(app, values, commands);
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		int rc = app.exit(e);
		return rc == 0 ? 0 : exit_usage;
	}
	for (const command &c : commands)
		if (c.app->parsed())
			return run(socket_path, raw, c.request());
	return exit_usage;
}
