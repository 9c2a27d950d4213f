// config_save_test.cpp — `weirctl save` and live edits at the configuration
// level (control/config_save.h, control/config_edit.h): every conf/ example and
// an edited state survive save -> load -> save unchanged and build the same
// snapshot; `weir --check` accepts what save writes; edits are validated as a
// file would be, name what is wrong, and leave the input alone; diffs name what
// changed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "config_edit.h"
#include "config_save.h"
#include "snapshot_builder.h"

namespace weir::ctl {
namespace {

std::string source(const std::string &rel)
{
	return std::string(WEIR_SOURCE_ROOT) + "/" + rel;
}

config load_ok(const std::string &text, const std::string &name = "/etc/weir/t.toml")
{
	config_report r = load_config_text(text, name);
	std::string problems;
	for (const config_problem &p : r.problems)
		problems += p.to_string() + "\n";
	EXPECT_TRUE(r.valid()) << problems << "---\n" << text;
	return r.valid() ? *r.cfg : config{};
}

std::shared_ptr<const dp::snapshot> snapshot_of(const config &cfg)
{
	host_facts host;
	host.resolve = [](const ip_addr &a) { return mac_addr{2, 0xbb, 0, 0, a.bytes[2], a.bytes[3]}; };
	backend_registry registry;
	return build_snapshot(cfg, host, registry, nullptr).value();
}

// Same VIPs, backends, tables and node parameters, byte for byte.
void expect_same_snapshot(const config &a, const config &b, const std::string &what)
{
	auto sa = snapshot_of(a), sb = snapshot_of(b);
	ASSERT_EQ(sa->vips.size(), sb->vips.size()) << what;
	EXPECT_EQ(std::memcmp(&sa->node, &sb->node, sizeof(sa->node)), 0) << what;
	EXPECT_EQ(sa->vip_names, sb->vip_names) << what;
	EXPECT_EQ(std::memcmp(sa->vips.data(), sb->vips.data(), sa->vips.size() * sizeof(weir_vip)), 0)
	        << what;
	ASSERT_EQ(sa->backends.size(), sb->backends.size()) << what;
	EXPECT_EQ(std::memcmp(sa->backends.data(), sb->backends.data(),
	                      sa->backends.size() * sizeof(weir_backend)),
	          0)
	        << what;
	for (size_t i = 0; i < sa->tables.size(); i++) {
		EXPECT_EQ(sa->tables[i]->fingerprint, sb->tables[i]->fingerprint) << what << " VIP " << i;
		EXPECT_EQ(sa->tables[i]->slots, sb->tables[i]->slots) << what << " VIP " << i;
	}
}

// save -> load -> save gives the same text, and the same snapshot as the original.
void expect_round_trip(const config &cfg, const std::string &what)
{
	std::string once = config_toml(cfg);
	config again = load_ok(once, cfg.file);
	EXPECT_EQ(config_toml(again), once) << what;
	expect_same_snapshot(cfg, again, what);
}

TEST(config_save, every_conf_example_round_trips)
{
	int files = 0;
	for (const auto &e : std::filesystem::directory_iterator(source("conf"))) {
		if (e.path().extension() != ".toml")
			continue;
		config_report r = load_config(e.path().string());
		ASSERT_TRUE(r.valid()) << e.path();
		expect_round_trip(*r.cfg, e.path().string());
		files++;
	}
	EXPECT_GE(files, 5);
}

// Every key with a default is written, so the file means the same under other defaults.
TEST(config_save, writes_every_defaulted_key)
{
	config cfg = load_ok("[node]\nipv4 = \"10.10.0.2/24\"\n[dataplane.xdp]\ninterface = \"eth1\"\n"
	                     "[[vip]]\nname = \"web\"\naddress = \"10.10.1.1\"\n  [vip.health]\n  port = 80\n"
	                     "  [[vip.backend]]\n  address = \"10.10.0.21\"\n");
	std::string text = config_toml(cfg);
	for (const char *key : {"hash_seed = \"5eed5eed\"",
	                        "engine = \"auto\"",
	                        "workers = 1",
	                        "flow_table_size = 1048576",
	                        "mtu = 1500",
	                        "gue_port = 6080",
	                        "eal_args = []",
	                        "exception_path = true",
	                        "tap_name = \"weir0\"",
	                        "mode = \"native\"",
	                        "tcp = 900",
	                        "tcp_closing = 10",
	                        "udp = 30",
	                        "socket = \"/run/weir/weir.sock\"",
	                        "socket_mode = \"0660\"",
	                        "metrics_listen = \"127.0.0.1:9310\"",
	                        "port = 0",
	                        "protocol = \"tcp\"",
	                        "scheduler = \"maglev\"",
	                        "forwarding = \"ipip\"",
	                        "table_size = 65537",
	                        "fragments = \"drop\"",
	                        "kind = \"tcp\"",
	                        "port = 80",
	                        "interval_ms = 1000",
	                        "timeout_ms = 500",
	                        "rise = 2",
	                        "fall = 3"})
		EXPECT_NE(text.find(key), std::string::npos) << key << " missing in\n" << text;
	for (const char *absent : {"\nipv6 =", "\ngateway =", "\ngateway6 =", "\nport = \"",
	                           "\n  mac =", "\n  path =", "\n  weight ="})
		EXPECT_EQ(text.find(absent), std::string::npos) << absent << " written unset";
}

TEST(config_save, strings_are_escaped)
{
	config cfg = load_ok("[node]\nipv4 = \"10.10.0.2/24\"\n[dataplane.dpdk]\nport = \"p\"\n"
	                     "eal_args = [\"--vdev=net_tap0,iface=\\\"x\\\\y\\\"\", \"tab\\there\"]\n"
	                     "[[vip]]\nname = \"w\"\naddress = \"10.10.1.1\"\nport = 80\n  [vip.health]\n  "
	                     "kind = \"http\"\n"
	                     "  path = \"/a\\\"b\"\n");
	ASSERT_EQ(cfg.dataplane.dpdk.eal_args.size(), 2u);
	config again = load_ok(config_toml(cfg));
	EXPECT_EQ(again.dataplane.dpdk.eal_args, cfg.dataplane.dpdk.eal_args);
	EXPECT_EQ(again.vips[0].health.path, "/a\"b");
}

const char *base = "[node]\nipv4 = \"10.10.0.2/24\"\nipv6 = \"fd00::2/64\"\n[dataplane]\nengine = \"dpdk\"\n"
                   "[dataplane.dpdk]\nport = \"net_ring0\"\n"
                   "[[vip]]\nname = \"web\"\naddress = \"10.10.1.1\"\nport = 80\n"
                   "  [[vip.backend]]\n  address = \"10.10.0.21\"\n"
                   "  [[vip.backend]]\n  address = \"10.10.0.22\"\n  weight = 3\n";

TEST(config_edit, edited_state_round_trips_and_weir_check_accepts_it)
{
	config cfg = load_ok(base);
	cfg = add_vip(cfg, {"dns6", "[fd00:1::53]:53/udp", "maglev_src", "gue"}).value().cfg;
	cfg = add_backend(cfg, "dns6", "fd00::31", 4).value().cfg;
	cfg = set_weight(cfg, "web", "10.10.0.21", 0).value().cfg;
	cfg = delete_backend(cfg, "web", "10.10.0.22").value().cfg;
	cfg = add_backend(cfg, "web", "10.10.0.23", std::nullopt).value().cfg;
	expect_round_trip(cfg, "edited");
	const vip_config &dns = cfg.vips[1];
	EXPECT_EQ(dns.scheduler, scheduler_kind::maglev_src);
	EXPECT_EQ(dns.forwarding, forwarding_kind::gue);
	EXPECT_EQ(dns.proto, protocol::udp);
	EXPECT_EQ(dns.port, 53);
	EXPECT_EQ(dns.backends.at(0).weight, 4u);
	EXPECT_EQ(cfg.vips[0].backends.at(0).weight, 0u);
	EXPECT_EQ(cfg.vips[0].backends.at(1).address.to_string(), "10.10.0.23");

	char dir[] = "/tmp/weirt-save-XXXXXX";
	ASSERT_TRUE(::mkdtemp(dir));
	std::string path = std::string(dir) + "/weir.toml";
	ASSERT_TRUE(write_file_atomically(path, config_toml(cfg)));
	struct stat st;
	ASSERT_EQ(::stat(path.c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0644u);
	::chmod(path.c_str(), 0600);
	ASSERT_TRUE(write_file_atomically(path, config_toml(cfg)));  // over an existing file: mode kept
	ASSERT_EQ(::stat(path.c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600u);
	std::string cmd = std::string(WEIR_BUILD_ROOT) + "/control/weir --config " + path + " --check";
	EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
	config_report r = load_config(path);
	ASSERT_TRUE(r.valid());
	EXPECT_EQ(config_toml(*r.cfg), config_toml(cfg));
	size_t entries = 0;
	for (const auto &e : std::filesystem::directory_iterator(dir)) {
		(void)e;
		entries++;
	}
	EXPECT_EQ(entries, 1u) << "a temporary file was left behind";
	std::filesystem::remove_all(dir);
	EXPECT_FALSE(write_file_atomically(std::string(dir) + "/weir.toml", "x"))
	        << "writing into a missing directory must fail";
}

std::string edit_error(const result<validated> &r)
{
	EXPECT_FALSE(r.ok());
	return r.ok() ? "" : r.error_message();
}

TEST(config_edit, invalid_edits_name_the_problem_and_leave_the_input_alone)
{
	const config cfg = load_ok(base);
	const std::string before = config_toml(cfg);
	struct {
		result<validated> r;
		std::vector<std::string> says;
	} cases[] = {
	        {add_vip(cfg, {"api", "10.10.1.3:443/tcp", "fast", std::nullopt}),
	         {"vip \"api\": scheduler", "\"fast\"", "maglev_src"}},
	        {add_vip(cfg, {"api", "10.10.1.3:443/sctp", std::nullopt, std::nullopt}),
	         {"vip \"api\": protocol"}},
	        {add_vip(cfg, {"web", "10.10.1.3:443/tcp", std::nullopt, std::nullopt}),
	         {"duplicate VIP name \"web\""}},
	        {add_vip(cfg, {"web2", "10.10.1.1:80/tcp", std::nullopt, std::nullopt}),
	         {"duplicate VIP 10.10.1.1"}},
	        {add_vip(cfg, {"api", "10.10.1.3/tcp", std::nullopt, std::nullopt}), {"ADDR:PORT"}},
	        {add_vip(cfg, {"api", "fd00::1:80/tcp", std::nullopt, std::nullopt}), {"brackets"}},
	        {add_vip(cfg, {"api", "10.10.1.3:99999/tcp", std::nullopt, std::nullopt}), {"port"}},
	        {add_vip(cfg, {"a\"b", "10.10.1.3:80/tcp", std::nullopt, std::nullopt}), {"quotes"}},
	        {add_vip(cfg, {"api", "10.10.1.300:80/tcp", std::nullopt, std::nullopt}),
	         {"vip \"api\": address"}},
	        {delete_vip(cfg, "nope"), {"no VIP named \"nope\""}},
	        {add_backend(cfg, "web", "10.10.0.21", std::nullopt), {"already has backend 10.10.0.21"}},
	        {add_backend(cfg, "web", "10.10.1.1", std::nullopt),
	         {"vip \"web\" backend 10.10.1.1: address", "loop"}},
	        {add_backend(cfg, "web", "10.10.0.24", 70000),
	         {"vip \"web\" backend 10.10.0.24: weight", "70000"}},
	        {add_backend(cfg, "web", "10.10.0.24", -1), {"out of range"}},
	        {add_backend(cfg, "nope", "10.10.0.24", std::nullopt), {"no VIP named"}},
	        {add_backend(cfg, "web", "not-an-ip", std::nullopt), {"not an IPv4 or IPv6 address"}},
	        {delete_backend(cfg, "web", "10.10.0.99"), {"has no backend 10.10.0.99"}},
	        {set_weight(cfg, "web", "10.10.0.21", 65536), {"weight", "65536"}},
	};
	for (auto &c : cases) {
		std::string e = edit_error(c.r);
		for (const std::string &s : c.says)
			EXPECT_NE(e.find(s), std::string::npos) << "\"" << e << "\" lacks \"" << s << "\"";
		EXPECT_EQ(e.find(".toml:"), std::string::npos)
		        << "a line of the generated text leaked: " << e;
	}
	EXPECT_EQ(config_toml(cfg), before);
}

TEST(config_edit, warnings_come_back_with_a_valid_edit)
{
	config cfg = load_ok(base);
	auto r = add_vip(cfg, {"empty", "10.10.1.9:80/tcp", std::nullopt, std::nullopt});
	ASSERT_TRUE(r);
	ASSERT_EQ(r->warnings.size(), 1u);
	EXPECT_NE(r->warnings[0].find("vip \"empty\": backend: no backends"), std::string::npos)
	        << r->warnings[0];
}

TEST(config_edit, diff_names_vips_and_settings)
{
	config a = load_ok(base);
	config b = add_vip(a, {"api", "10.10.1.3:443/tcp", std::nullopt, std::nullopt}).value().cfg;
	b = set_weight(b, "web", "10.10.0.22", 5).value().cfg;
	b.timeouts.udp = 60;
	config_diff d = diff_configs(a, b);
	EXPECT_EQ(d.added, std::vector<std::string>{"api"});
	EXPECT_EQ(d.changed, std::vector<std::string>{"web"});
	EXPECT_TRUE(d.removed.empty());
	EXPECT_EQ(d.settings, std::vector<std::string>{"timeouts"});
	EXPECT_EQ(d.to_string(), "VIPs added: api; VIPs changed: web; settings changed: timeouts");
	config_diff back = diff_configs(b, a);
	EXPECT_EQ(back.removed, std::vector<std::string>{"api"});
	EXPECT_TRUE(diff_configs(a, a).empty());
	EXPECT_EQ(diff_configs(a, a).to_string(), "no change");
}

TEST(config_edit, engine_shape_keeps_running_values)
{
	config running = load_ok(base);
	config next = running;
	next.dataplane.workers = 4;
	next.dataplane.dpdk.port = "other";
	next.dataplane.mtu = 9000;
	auto differ = keep_engine_shape(next, running);
	EXPECT_EQ(differ, (std::vector<std::string>{"dataplane.workers", "dataplane.dpdk"}));
	EXPECT_EQ(next.dataplane.workers, running.dataplane.workers);
	EXPECT_EQ(next.dataplane.dpdk.port, "net_ring0");
	EXPECT_EQ(next.dataplane.mtu, 9000u) << "mtu is snapshot data: it takes effect";
}

TEST(config_edit, endpoints)
{
	auto v6 = parse_endpoint("[fd00:1::1]:443/udp");
	ASSERT_TRUE(v6);
	EXPECT_EQ(v6->address, "fd00:1::1");
	EXPECT_EQ(v6->port, 443);
	EXPECT_EQ(v6->protocol, "udp");
	auto v4 = parse_endpoint("10.10.1.1:0/tcp");
	ASSERT_TRUE(v4);
	EXPECT_EQ(v4->port, 0);
	for (const char *bad : {"", "10.10.1.1", "10.10.1.1:80", ":80/tcp", "[fd00::1:80/tcp",
	                        "10.10.1.1:x/tcp", "10.10.1.1:-1/tcp", "10.10.1.1:65536/tcp"})
		EXPECT_FALSE(parse_endpoint(bad)) << bad;
}

}  // namespace
}  // namespace weir::ctl
