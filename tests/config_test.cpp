// config_test.cpp — the configuration loader: the conf/ examples load and mean
// what they say, defaults, a table of bad files with their exact messages, and
// inputs that must neither throw nor crash.
#include "config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace weir::ctl;

namespace {

std::string dump(const config_report &r)
{
	std::string s;
	for (const auto &p : r.problems)
		s += "  " + p.to_string() + "\n";
	return s.empty() ? "  (no problems)\n" : s;
}

size_t count_errors(const config_report &r)
{
	return std::count_if(r.problems.begin(), r.problems.end(), [](auto &p) { return !p.warning; });
}

bool has_problem(const config_report &r, const std::string &text)
{
	return std::any_of(r.problems.begin(), r.problems.end(),
	                   [&](auto &p) { return p.to_string().find(text) != std::string::npos; });
}

std::filesystem::path source_root()
{
	return WEIR_SOURCE_ROOT;
}

// Four lines that make a file valid but for what a test appends (from line 5).
const std::string base = "[node]\n"
                         "ipv4 = \"10.10.0.2/24\"\n"
                         "[dataplane.xdp]\n"
                         "interface = \"eth1\"\n";

// The head of a VIP (lines 5..8 after `base`); tests append its keys from line 9.
const std::string vip_head = base + "[[vip]]\n"
                                    "name = \"web\"\n"
                                    "address = \"10.10.1.1\"\n"
                                    "port = 80\n";

// One VIP (lines 5..10 after `base`) with a backend; tests append from line 11.
const std::string one_vip = base + "[[vip]]\n"
                                   "name = \"web\"\n"
                                   "address = \"10.10.1.1\"\n"
                                   "port = 80\n"
                                   "  [[vip.backend]]\n"
                                   "  address = \"10.10.0.21\"\n";

config_report load(const std::string &text)
{
	return load_config_text(text, "t.toml");
}

}  // namespace

TEST(config_examples, every_conf_file_is_valid_and_clean)
{
	std::vector<std::filesystem::path> files;
	for (const auto &e : std::filesystem::directory_iterator(source_root() / "conf"))
		if (e.path().extension() == ".toml")
			files.push_back(e.path());
	ASSERT_GE(files.size(), 5u) << "expected weir, minimal, ipv6, schedulers and xdp examples in conf/";
	for (const auto &f : files) {
		config_report r = load_config(f.string());
		EXPECT_TRUE(r.valid()) << f << ":\n" << dump(r);
		EXPECT_TRUE(r.problems.empty()) << f << " should load without warnings:\n" << dump(r);
		if (r.valid()) {
			EXPECT_EQ(r.cfg->file, f.string());
			EXPECT_FALSE(r.cfg->vips.empty()) << f;
		}
	}
}

TEST(config_examples, reference_file_means_what_it_says)
{
	config_report r = load_config((source_root() / "conf/weir.toml").string());
	ASSERT_TRUE(r.valid()) << dump(r);
	const config &c = *r.cfg;
	EXPECT_EQ(c.node.ipv4, *ip_prefix::parse("10.10.0.2/24"));
	ASSERT_TRUE(c.node.ipv6);
	EXPECT_EQ(*c.node.ipv6, *ip_prefix::parse("fd00::2/64"));
	EXPECT_EQ(c.node.gateway, ip_addr::parse("10.10.0.1"));
	EXPECT_EQ(c.node.gateway6, ip_addr::parse("fd00::1"));
	EXPECT_EQ(c.dataplane.workers, 2u);
	EXPECT_EQ(c.dataplane.dpdk.port, "net_af_xdp0");
	EXPECT_EQ(c.dataplane.dpdk.eal_args.size(), 4u);
	EXPECT_EQ(c.dataplane.xdp.interface, "eth1");
	ASSERT_EQ(c.vips.size(), 3u);
	EXPECT_EQ(c.vips[0].name, "web");
	EXPECT_EQ(c.vips[0].health.kind, health_kind::http);
	EXPECT_EQ(c.vips[0].health.port, std::optional<uint16_t>(80));
	ASSERT_EQ(c.vips[0].backends.size(), 3u);
	EXPECT_EQ(c.vips[0].backends[1].weight, 2u);
	EXPECT_EQ(c.vips[0].backends[2].weight, 0u);
	EXPECT_EQ(c.vips[1].proto, protocol::udp);
	EXPECT_EQ(c.vips[1].forwarding, forwarding_kind::gue);
	EXPECT_TRUE(c.vips[1].backends[2].address.is_v6());
	EXPECT_EQ(c.vips[2].forwarding, forwarding_kind::l2dsr);
	std::array<uint8_t, 6> mac{0x02, 0, 0, 0, 0, 0x41};
	EXPECT_EQ(c.vips[2].backends[0].mac, mac);
	EXPECT_FALSE(c.vips[2].backends[1].mac);
}

TEST(config_examples, other_files_mean_what_they_say)
{
	config_report six = load_config((source_root() / "conf/ipv6.toml").string());
	ASSERT_TRUE(six.valid()) << dump(six);
	EXPECT_EQ(six.cfg->dataplane.engine, engine_kind::dpdk);
	const vip_config &v4to6 = six.cfg->vips[1];
	EXPECT_TRUE(v4to6.address.is_v4());
	EXPECT_EQ(v4to6.forwarding, forwarding_kind::ipip);
	for (const auto &b : v4to6.backends)
		EXPECT_TRUE(b.address.is_v6());

	config_report s = load_config((source_root() / "conf/schedulers.toml").string());
	ASSERT_TRUE(s.valid()) << dump(s);
	EXPECT_EQ(s.cfg->node.hash_seed, 0x0badcafeu);
	std::vector<scheduler_kind> got;
	for (const auto &v : s.cfg->vips)
		got.push_back(v.scheduler);
	EXPECT_EQ(got, (std::vector{scheduler_kind::maglev, scheduler_kind::maglev_src, scheduler_kind::wrr,
	                            scheduler_kind::least_conn}));
	EXPECT_EQ(s.cfg->vips[1].table_size, 251u);

	config_report x = load_config((source_root() / "conf/xdp.toml").string());
	ASSERT_TRUE(x.valid()) << dump(x);
	EXPECT_EQ(x.cfg->dataplane.engine, engine_kind::xdp);
	EXPECT_EQ(x.cfg->control.metrics_listen, "");
	EXPECT_EQ(x.cfg->vips[0].port, 0);
	EXPECT_EQ(x.cfg->vips[0].health.port, std::optional<uint16_t>(8080));
	EXPECT_EQ(x.cfg->timeouts.tcp, 300u);
}

TEST(config_defaults, minimal_file_gets_every_documented_default)
{
	config_report r = load_config((source_root() / "conf/minimal.toml").string());
	ASSERT_TRUE(r.valid()) << dump(r);
	const config &c = *r.cfg;
	EXPECT_FALSE(c.node.ipv6);
	EXPECT_FALSE(c.node.gateway);
	EXPECT_EQ(c.node.hash_seed, 0x5eed5eedu);
	EXPECT_EQ(c.dataplane.engine, engine_kind::automatic);
	EXPECT_EQ(c.dataplane.workers, 1u);
	EXPECT_EQ(c.dataplane.flow_table_size, 1048576u);
	EXPECT_EQ(c.dataplane.mtu, 1500u);
	EXPECT_EQ(c.dataplane.gue_port, 6080);
	EXPECT_TRUE(c.dataplane.dpdk.eal_args.empty());
	EXPECT_TRUE(c.dataplane.dpdk.exception_path);
	EXPECT_EQ(c.dataplane.dpdk.tap_name, "weir0");
	EXPECT_EQ(c.dataplane.xdp.mode, xdp_mode::native);
	EXPECT_EQ(c.timeouts.tcp, 900u);
	EXPECT_EQ(c.timeouts.tcp_closing, 10u);
	EXPECT_EQ(c.timeouts.udp, 30u);
	EXPECT_EQ(c.control.socket, "/run/weir/weir.sock");
	EXPECT_EQ(c.control.socket_mode, 0660u);
	EXPECT_EQ(c.control.metrics_listen, "127.0.0.1:9310");
	ASSERT_EQ(c.vips.size(), 1u);
	const vip_config &v = c.vips[0];
	EXPECT_EQ(v.proto, protocol::tcp);
	EXPECT_EQ(v.scheduler, scheduler_kind::maglev);
	EXPECT_EQ(v.forwarding, forwarding_kind::ipip);
	EXPECT_EQ(v.table_size, 65537u);
	EXPECT_EQ(v.fragments, fragment_policy::drop);
	EXPECT_EQ(v.health.kind, health_kind::tcp);
	EXPECT_FALSE(v.health.port);
	EXPECT_EQ(v.health.path, "/healthz");
	EXPECT_EQ(v.health.interval_ms, 1000u);
	EXPECT_EQ(v.health.timeout_ms, 500u);
	EXPECT_EQ(v.health.rise, 2u);
	EXPECT_EQ(v.health.fall, 3u);
	ASSERT_EQ(v.backends.size(), 2u);
	EXPECT_EQ(v.backends[0].weight, 1u);
	EXPECT_FALSE(v.backends[0].mac);
}

TEST(config_values, strings_are_read_as_documented)
{
	config_report r =
	        load(base + "[control]\nsocket_mode = \"0640\"\n"
	                    "[dataplane]\nengine = \"auto\"\n"
	                    "[[vip]]\nname = \"a\"\naddress = \"10.10.1.1\"\nport = 80\n"
	                    "fragments = \"3tuple\"\nforwarding = \"l2dsr\"\n"
	                    "[[vip.backend]]\naddress = \"10.10.0.9\"\nmac = \"02:aB:00:00:00:FF\"\n");
	ASSERT_TRUE(r.valid()) << dump(r);
	EXPECT_EQ(r.cfg->control.socket_mode, 0640u);
	EXPECT_EQ(r.cfg->dataplane.engine, engine_kind::automatic);
	EXPECT_EQ(r.cfg->vips[0].fragments, fragment_policy::three_tuple);
	std::array<uint8_t, 6> mac{0x02, 0xab, 0, 0, 0, 0xff};
	EXPECT_EQ(r.cfg->vips[0].backends[0].mac, mac);
	EXPECT_STREQ(to_string(engine_kind::automatic), "auto");
	EXPECT_STREQ(to_string(fragment_policy::three_tuple), "3tuple");
	EXPECT_EQ(parse_engine("auto"), engine_kind::automatic);
	EXPECT_FALSE(parse_engine("automatic"));
}

struct bad_case {
	const char *what;
	std::string text;
	const char *expect;  // a substring of one problem, as printed
};

// Every class of error, each with the exact place and wording a user sees.
const std::vector<bad_case> bad_cases = {
        {"unknown top-level key", "colour = 1\n" + base,
         "t.toml:1: colour: unknown key; expected one of: node,"},
        {"unknown table", base + "[health]\nkind = \"tcp\"\n", "t.toml:5: health: unknown key"},
        {"unknown nested key", base + "[dataplane.dpdk]\nports = \"x\"\n",
         "t.toml:6: dataplane.dpdk.ports: unknown key; expected one of: eal_args, port, exception_path, "
         "tap_name"},
        {"unknown backend key", one_vip + "  wieght = 2\n",
         "t.toml:11: vip[0].backend[0].wieght: unknown key"},
        {"unknown health key", one_vip + "  [vip.health]\n  retries = 3\n",
         "t.toml:12: vip[0].health.retries: unknown key"},
        {"port as a string", base + "[[vip]]\nname = \"a\"\naddress = \"10.10.1.1\"\nport = \"80\"\n",
         "t.toml:8: vip[0].port: expected an integer, found a string"},
        {"boolean as a string", base + "[dataplane.dpdk]\nexception_path = \"yes\"\n",
         "t.toml:6: dataplane.dpdk.exception_path: expected true or false, found a string"},
        {"table where an array of tables belongs", base + "[vip]\nname = \"a\"\n",
         "t.toml:5: vip: expected an array of tables, found a table; give each entry its own [[vip]] header"},
        {"eal_args element not a string", base + "[dataplane.dpdk]\neal_args = [\"-l\", 3]\n",
         "t.toml:6: dataplane.dpdk.eal_args[1]: expected a string, found an integer"},
        {"port above 65535", base + "[[vip]]\nname = \"a\"\naddress = \"10.10.1.1\"\nport = 70000\n",
         "t.toml:8: vip[0].port: 70000 is out of range: expected 0..65535"},
        {"negative port", base + "[[vip]]\nname = \"a\"\naddress = \"10.10.1.1\"\nport = -1\n",
         "t.toml:8: vip[0].port: -1 is out of range: expected 0..65535"},
        {"huge integer",
         base + "[[vip]]\nname = \"a\"\naddress = \"10.10.1.1\"\nport = 99999999999999999999\n",
         "t.toml:8: vip[0].port: 99999999999999999999 is out of range: expected 0..65535"},
        {"health port 0", one_vip + "  [vip.health]\n  port = 0\n",
         "t.toml:12: vip[0].health.port: 0 is out of range: expected 1..65535"},
        {"gue_port 0", base + "[dataplane]\ngue_port = 0\n",
         "t.toml:6: dataplane.gue_port: 0 is out of range: expected 1..65535"},
        {"VIP address", base + "[[vip]]\nname = \"a\"\naddress = \"10.10.1\"\n",
         "t.toml:7: vip[0].address: \"10.10.1\" is not an IPv4 or IPv6 address"},
        {"backend address", one_vip + "  [[vip.backend]]\n  address = \"10.10.0.300\"\n",
         "t.toml:12: vip[0].backend[1].address: \"10.10.0.300\" is not an IPv4 or IPv6 address"},
        {"node.ipv4 prefix too long", "[node]\nipv4 = \"10.10.0.2/33\"\n",
         "t.toml:2: node.ipv4: \"10.10.0.2/33\" is not an IPv4 address with prefix length"},
        {"node.ipv4 without prefix", "[node]\nipv4 = \"10.10.0.2\"\n",
         "t.toml:2: node.ipv4: \"10.10.0.2\" is not an IPv4 address with prefix length"},
        {"node.ipv4 given IPv6", "[node]\nipv4 = \"fd00::2/64\"\n",
         "t.toml:2: node.ipv4: \"fd00::2/64\" is not an IPv4 address with prefix length"},
        {"table defined twice", base + "[node]\n", "t.toml:5: syntax: table (\"node\") already exists"},
        {"node.ipv6 given IPv4 prefix", "[node]\nipv4 = \"10.10.0.2/24\"\nipv6 = \"10.10.0.3/24\"\n",
         "t.toml:3: node.ipv6: \"10.10.0.3/24\" is not an IPv6 address with prefix length, e.g. "
         "\"fd00::2/64\""},
        {"missing node.ipv4", "[node]\nhash_seed = \"1\"\n",
         "t.toml:1: node.ipv4: required key is missing: this host's address"},
        {"missing [node]", "[dataplane.xdp]\ninterface = \"eth1\"\n",
         "t.toml: node.ipv4: required key is missing"},
        {"gateway not IPv4", "[node]\nipv4 = \"10.10.0.2/24\"\ngateway = \"fd00::1\"\n",
         "t.toml:3: node.gateway: \"fd00::1\" is not an IPv4 address"},
        {"gateway6 not IPv6", "[node]\nipv4 = \"10.10.0.2/24\"\ngateway6 = \"10.10.0.1\"\n",
         "t.toml:3: node.gateway6: \"10.10.0.1\" is not an IPv6 address"},
        {"gateway off the subnet", "[node]\nipv4 = \"10.10.0.2/24\"\ngateway = \"10.10.9.1\"\n",
         "t.toml:3: node.gateway: 10.10.9.1 is not on node.ipv4's subnet 10.10.0.2/24"},
        {"hash_seed too long", "[node]\nipv4 = \"10.10.0.2/24\"\nhash_seed = \"123456789\"\n",
         "t.toml:3: node.hash_seed: \"123456789\" is not a hex number of 1 to 8 digits"},
        {"unknown engine", base + "[dataplane]\nengine = \"fast\"\n",
         "t.toml:6: dataplane.engine: unknown engine \"fast\"; expected one of: dpdk, xdp, auto"},
        {"unknown xdp mode",
         "[node]\nipv4 = \"10.10.0.2/24\"\n[dataplane.xdp]\ninterface = \"eth1\"\nmode = \"skb\"\n",
         "t.toml:5: dataplane.xdp.mode: unknown mode \"skb\"; expected one of: native, generic"},
        {"unknown protocol", vip_head + "protocol = \"sctp\"\n",
         "t.toml:9: vip[0].protocol: unknown protocol"},
        {"unknown scheduler", base + "[[vip]]\nscheduler = \"ring\"\n",
         "t.toml:6: vip[0].scheduler: unknown scheduler \"ring\"; expected one of: maglev, maglev_src, wrr, "
         "least_conn"},
        {"unknown forwarding", base + "[[vip]]\nforwarding = \"nat\"\n",
         "t.toml:6: vip[0].forwarding: unknown forwarding \"nat\"; expected one of: ipip, gue, l2dsr"},
        {"unknown fragments policy", base + "[[vip]]\nfragments = \"reassemble\"\n",
         "t.toml:6: vip[0].fragments: unknown fragments policy \"reassemble\"; expected one of: drop, "
         "3tuple"},
        {"unknown health kind", one_vip + "[vip.health]\nkind = \"icmp\"\n",
         "t.toml:12: vip[0].health.kind: unknown health kind \"icmp\"; expected one of: tcp, http, udp, "
         "none"},
        {"table_size not prime", base + "[[vip]]\ntable_size = 65536\n",
         "t.toml:6: vip[0].table_size: 65536 is not a prime; nearest primes: 65521 and 65537"},
        {"table_size too large", base + "[[vip]]\ntable_size = 1000003\n",
         "t.toml:6: vip[0].table_size: 1000003 is larger than 655373, the largest Maglev table"},
        {"duplicate VIP", one_vip + "[[vip]]\nname = \"web2\"\naddress = \"10.10.1.1\"\nport = 80\n",
         "t.toml:13: vip[1].address: duplicate VIP 10.10.1.1 port 80 tcp: also vip[0] \"web\" (line 5)"},
        {"duplicate VIP name", one_vip + "[[vip]]\nname = \"web\"\naddress = \"10.10.1.2\"\nport = 80\n",
         "t.toml:12: vip[1].name: duplicate VIP name \"web\": also vip[0] (line 5)"},
        {"duplicate backend", one_vip + "  [[vip.backend]]\n  address = \"10.10.0.21\"\n",
         "t.toml:12: vip[0].backend[1].address: duplicate backend 10.10.0.21: also backend[0] (line 9)"},
        {"negative weight", one_vip + "  weight = -1\n",
         "t.toml:11: vip[0].backend[0].weight: -1 is out of range: expected 0..65535"},
        {"weight above the bound", one_vip + "  weight = 65536\n",
         "t.toml:11: vip[0].backend[0].weight: 65536 is out of range: expected 0..65535"},
        {"IPv6 backend behind IPv4 l2dsr VIP",
         vip_head + "forwarding = \"l2dsr\"\n[[vip.backend]]\naddress = \"fd00::5\"\n",
         "t.toml:11: vip[0].backend[0].address: l2dsr cannot send to an IPv6 backend behind an IPv4 VIP"},
        {"IPv4 backend behind IPv6 l2dsr VIP",
         base + "[[vip]]\nname = \"a\"\naddress = \"fd00:1::1\"\nport = 80\nforwarding = \"l2dsr\"\n"
                "[[vip.backend]]\naddress = \"10.10.0.21\"\n",
         "t.toml:11: vip[0].backend[0].address: l2dsr cannot send to an IPv4 backend behind an IPv6 VIP"},
        {"IPv4 backend behind IPv6 ipip VIP",
         "[node]\nipv4 = \"10.10.0.2/24\"\nipv6 = \"fd00::2/64\"\n[dataplane.xdp]\ninterface = \"eth1\"\n"
         "[[vip]]\nname = \"a\"\naddress = \"fd00:1::1\"\nport = 80\n[[vip.backend]]\naddress = "
         "\"10.10.0.21\"\n",
         "t.toml:11: vip[0].backend[0].address: an IPv6 VIP cannot be sent to an IPv4 backend with ipip"},
        {"IPv6 backend without node.ipv6", one_vip + "[[vip.backend]]\naddress = \"fd00::5\"\n",
         "t.toml:12: vip[0].backend[1].address: an IPv6 backend with ipip needs node.ipv6 as the outer "
         "source"},
        {"mtu below 576", base + "[dataplane]\nmtu = 500\n",
         "t.toml:6: dataplane.mtu: 500 is out of range: expected 576..9000 bytes"},
        {"mtu above 9000", base + "[dataplane]\nmtu = 9216\n",
         "t.toml:6: dataplane.mtu: 9216 is out of range: expected 576..9000 bytes"},
        {"unknown sub-table", one_vip + "[node.x]\ny = 1\n", "t.toml:11: node.x: unknown key"},
        {"mtu below IPv6 minimum with an IPv6 VIP",
         base + "[dataplane]\nmtu = 1000\n[[vip]]\nname = \"a\"\naddress = \"fd00:1::1\"\nport = 80\n",
         "t.toml:6: dataplane.mtu: 1000 is below 1280, the minimum MTU of IPv6 links"},
        {"mtu leaving less than 1280 inside ipip for an IPv6 VIP",
         base + "[dataplane]\nmtu = 1300\n[[vip]]\nname = \"a\"\naddress = \"fd00:1::1\"\nport = 80\n",
         "t.toml:6: dataplane.mtu: 1300 leaves less than 1280 bytes inside ipip for IPv6 VIP \"a\"; use at "
         "least "
         "1320"},
        {"no workers", base + "[dataplane]\nworkers = 0\n",
         "t.toml:6: dataplane.workers: 0 is out of range: expected 1..128"},
        {"flow table empty", base + "[dataplane]\nflow_table_size = 0\n",
         "t.toml:6: dataplane.flow_table_size: 0 is out of range: expected 1..134217728 entries"},
        {"flow table too large", base + "[dataplane]\nflow_table_size = 134217729\n",
         "t.toml:6: dataplane.flow_table_size: 134217729 is out of range"},
        {"zero timeout", base + "[timeouts]\nudp = 0\n",
         "t.toml:6: timeouts.udp: 0 is out of range: expected 1..604800 seconds"},
        {"health interval 0", one_vip + "[vip.health]\ninterval_ms = 0\n",
         "t.toml:12: vip[0].health.interval_ms: 0 is out of range: expected 1..3600000"},
        {"health rise 0", one_vip + "[vip.health]\nrise = 0\n",
         "t.toml:12: vip[0].health.rise: 0 is out of range"},
        {"health fall 0", one_vip + "[vip.health]\nfall = 0\n",
         "t.toml:12: vip[0].health.fall: 0 is out of range"},
        {"health timeout longer than interval",
         one_vip + "[vip.health]\ninterval_ms = 100\ntimeout_ms = 200\n",
         "t.toml:13: vip[0].health.timeout_ms: 200 is longer than interval_ms 100"},
        {"health path without slash", one_vip + "[vip.health]\nkind = \"http\"\npath = \"healthz\"\n",
         "t.toml:13: vip[0].health.path: \"healthz\" is not a URL path: it must start with \"/\""},
        {"http check on a udp VIP", vip_head + "protocol = \"udp\"\n[vip.health]\nkind = \"http\"\n",
         "t.toml:11: vip[0].health.kind: \"http\" cannot check a udp VIP"},
        {"udp check on a tcp VIP", one_vip + "[vip.health]\nkind = \"udp\"\n",
         "t.toml:12: vip[0].health.kind: \"udp\" cannot check a tcp VIP"},
        {"every-port VIP without health port", base + "[[vip]]\nname = \"a\"\naddress = \"10.10.1.1\"\n",
         "t.toml:5: vip[0].health.port: required when the VIP takes every port (port = 0)"},
        {"empty VIP name", base + "[[vip]]\nname = \"\"\n",
         "t.toml:6: vip[0].name: \"\" is not a name: use 1 to 64 of A-Z a-z 0-9 _ . -"},
        {"VIP name with a space", base + "[[vip]]\nname = \"my web\"\n",
         "t.toml:6: vip[0].name: \"my web\" is not a name"},
        {"missing VIP name", base + "[[vip]]\naddress = \"10.10.1.1\"\n",
         "t.toml:5: vip[0].name: required key is missing"},
        {"missing backend address", one_vip + "[[vip.backend]]\nweight = 1\n",
         "t.toml:11: vip[0].backend[1].address: required key is missing"},
        {"metrics_listen without port", base + "[control]\nmetrics_listen = \"localhost\"\n",
         "t.toml:6: control.metrics_listen: \"localhost\" is not HOST:PORT or [IPV6]:PORT"},
        {"metrics_listen IPv6 without brackets", base + "[control]\nmetrics_listen = \"::1:9310\"\n",
         "t.toml:6: control.metrics_listen: \"::1:9310\" is not HOST:PORT"},
        {"relative socket path", base + "[control]\nsocket = \"weir.sock\"\n",
         "t.toml:6: control.socket: \"weir.sock\" is not an absolute path"},
        {"socket_mode not octal", base + "[control]\nsocket_mode = \"0999\"\n",
         "t.toml:6: control.socket_mode: \"0999\" is not an octal file mode"},
        {"mac malformed", one_vip + "  mac = \"02:00:00:00:00\"\n",
         "t.toml:11: vip[0].backend[0].mac: \"02:00:00:00:00\" is not a MAC address like "
         "\"02:00:00:00:00:21\""},
        {"tap name too long", base + "[dataplane.dpdk]\ntap_name = \"weir-exception-path\"\n",
         "t.toml:6: dataplane.dpdk.tap_name: \"weir-exception-path\" is not an interface name"},
        {"dpdk engine without port", base + "[dataplane]\nengine = \"dpdk\"\n",
         "t.toml:6: dataplane.dpdk.port: required with engine \"dpdk\""},
        {"xdp engine without interface", "[node]\nipv4 = \"10.10.0.2/24\"\n[dataplane]\nengine = \"xdp\"\n",
         "t.toml:4: dataplane.xdp.interface: required with engine \"xdp\""},
        {"no data port at all", "[node]\nipv4 = \"10.10.0.2/24\"\n",
         "t.toml: dataplane: no data port: set dataplane.dpdk.port (DPDK) or dataplane.xdp.interface (XDP)"},
        {"backend is the VIP", one_vip + "[[vip.backend]]\naddress = \"10.10.1.1\"\n",
         "t.toml:12: vip[0].backend[1].address: 10.10.1.1 is the VIP's own address"},
        {"syntax: missing value", one_vip + "weight =\n", "t.toml:11: syntax: missing value"},
        {"syntax: key defined twice", base + "[dataplane]\nworkers = 1\nworkers = 2\n",
         "t.toml:7: syntax: value (\"workers\") already exists"},
        // Found by fuzz_config: toml11 read outside a string holding a bad sequence.
        {"syntax: not UTF-8 in a literal string", base + "'\xff' = 1\n", "t.toml:5: syntax: not valid UTF-8"},
        {"syntax: overlong UTF-8", base + "# \xc0\xaf\n", "t.toml:5: syntax: not valid UTF-8"},
        {"syntax: UTF-8 surrogate", base + "[dataplane]\nx = \"\xed\xa0\x80\"\n",
         "t.toml:6: syntax: not valid UTF-8"},
        {"syntax: truncated UTF-8", base + "# \xe2\x82", "t.toml:5: syntax: not valid UTF-8"},
};

TEST(config_errors, each_bad_file_is_rejected_with_its_message)
{
	ASSERT_GE(bad_cases.size(), 30u);
	for (const bad_case &c : bad_cases) {
		config_report r = load(c.text);
		EXPECT_FALSE(r.valid()) << c.what;
		EXPECT_GE(count_errors(r), 1u) << c.what;
		EXPECT_TRUE(has_problem(r, c.expect))
		        << c.what << ": expected \"" << c.expect << "\" among:\n"
		        << dump(r);
	}
}

TEST(config_errors, every_problem_of_a_file_in_line_order)
{
	std::string text = "[node]\n"  // 1
	                   "ipv4 = \"10.10.0.2/24\"\n"  // 2
	                   "hash_seed = \"nothex\"\n"  // 3
	                   "[dataplane]\n"  // 4
	                   "workers = 0\n"  // 5
	                   "speed = 10\n"  // 6
	                   "[dataplane.xdp]\n"  // 7
	                   "interface = \"eth1\"\n"  // 8
	                   "[[vip]]\n"  // 9
	                   "name = \"web\"\n"  // 10
	                   "address = \"10.10.1.1\"\n"  // 11
	                   "port = \"80\"\n"  // 12
	                   "  [[vip.backend]]\n"  // 13
	                   "  address = \"10.10.0.21\"\n"  // 14
	                   "  weight = -5\n";  // 15
	config_report r = load(text);
	EXPECT_FALSE(r.valid());
	std::vector<std::pair<unsigned, std::string>> got;
	for (const auto &p : r.problems)
		got.emplace_back(p.line, p.key);
	std::vector<std::pair<unsigned, std::string>> want = {
	        {3, "node.hash_seed"}, {5, "dataplane.workers"},         {6, "dataplane.speed"},
	        {12, "vip[0].port"},   {15, "vip[0].backend[0].weight"},
	};
	EXPECT_EQ(got, want) << dump(r);
}

TEST(config_errors, warnings_do_not_invalidate)
{
	std::string text = vip_head + "table_size = 101\n"  // 9: 101 < 100 x 2 backends
	                              "  [[vip.backend]]\n"  // 10
	                              "  address = \"10.10.0.21\"\n"  // 11
	                              "  [[vip.backend]]\n"  // 12
	                              "  address = \"10.10.0.22\"\n"  // 13
	                              "  mac = \"02:00:00:00:00:22\"\n";  // 14: ignored with ipip
	config_report r = load(text);
	ASSERT_TRUE(r.valid()) << dump(r);
	ASSERT_EQ(r.problems.size(), 2u) << dump(r);
	EXPECT_TRUE(r.problems[0].warning);
	EXPECT_EQ(r.problems[0].to_string(),
	          "t.toml:9: vip[0].table_size: warning: 101 slots for 2 backends: below 100 per backend, "
	          "balance "
	          "degrades (shares differ by up to one slot each); use a prime of at least 200, e.g. 211");
	EXPECT_EQ(r.problems[1].to_string(), "t.toml:14: vip[0].backend[1].mac: warning: only used with "
	                                     "forwarding = \"l2dsr\"; ignored with "
	                                     "\"ipip\"");

	config_report empty = load(base + "[[vip]]\nname = \"a\"\naddress = \"10.10.1.1\"\nport = 80\n");
	ASSERT_TRUE(empty.valid()) << dump(empty);
	EXPECT_TRUE(has_problem(empty, "t.toml:5: vip[0].backend: warning: no backends"));

	config_report none = load(base);
	ASSERT_TRUE(none.valid()) << dump(none);
	EXPECT_TRUE(has_problem(none, "t.toml: vip: warning: no [[vip]] tables"));
}

TEST(config_errors, a_flood_of_problems_is_cut_short_and_counted)
{
	std::string text = base + "[control]\n";
	for (int i = 0; i < 1000; i++)
		text += "k" + std::to_string(i) + " = 1\n";
	config_report r = load(text);
	EXPECT_FALSE(r.valid());
	ASSERT_EQ(r.problems.size(), 201u);
	// 1000 unknown keys and the "no [[vip]]" warning, 200 of them shown.
	EXPECT_EQ(r.problems.back().to_string(), "t.toml: and 801 more problems not shown");
	EXPECT_TRUE(std::is_sorted(r.problems.begin(), r.problems.end() - 1,
	                           [](auto &a, auto &b) { return a.line < b.line; }));
}

TEST(config_values, a_large_file_loads)
{
	std::string text = base;
	for (int v = 0; v < 100; v++) {
		text += "[[vip]]\nname = \"v" + std::to_string(v) + "\"\naddress = \"10.10.200." +
		        std::to_string(v) + "\"\nport = 80\n";
		for (int b = 1; b <= 50; b++)
			text += "[[vip.backend]]\naddress = \"10.10." + std::to_string(100 + v) + "." +
			        std::to_string(b) + "\"\n";
	}
	config_report r = load(text);
	ASSERT_TRUE(r.valid()) << dump(r);
	EXPECT_EQ(r.cfg->vips.size(), 100u);
	EXPECT_EQ(r.cfg->vips[99].backends.size(), 50u);
	EXPECT_EQ(r.cfg->vips[99].backends[49].address, *ip_addr::parse("10.10.199.50"));
}

TEST(config_errors, problem_format)
{
	config_problem p{"f.toml", 7, "vip[0].port", "too big", false};
	EXPECT_EQ(p.to_string(), "f.toml:7: vip[0].port: too big");
	p.warning = true;
	EXPECT_EQ(p.to_string(), "f.toml:7: vip[0].port: warning: too big");
	p.line = 0;
	EXPECT_EQ(p.to_string(), "f.toml: vip[0].port: warning: too big");
}

// The UTF-8 check rejects only malformed text: 2-, 3- and 4-byte characters load.
TEST(config_errors, well_formed_utf8_loads)
{
	config_report r = load(base + "# caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e\n");
	EXPECT_TRUE(r.valid()) << dump(r);
}

TEST(config_errors, syntax_errors_name_file_and_line)
{
	config_report r = load_config_text("[node]\nipv4 = \"10.10.0.2/24\"\n[[vip]\n", "s.toml");
	EXPECT_FALSE(r.valid());
	ASSERT_EQ(r.problems.size(), 1u) << dump(r);
	EXPECT_EQ(r.problems[0].line, 3u);
	EXPECT_EQ(r.problems[0].to_string().rfind("s.toml:3: syntax: ", 0), 0u) << dump(r);
	EXPECT_EQ(r.problems[0].to_string().find('\n'), std::string::npos) << "one line per problem";
}

TEST(config_files, missing_file_and_engine_override)
{
	config_report r = load_config("/nonexistent/weir.toml");
	EXPECT_FALSE(r.valid());
	ASSERT_EQ(r.problems.size(), 1u);
	EXPECT_EQ(r.problems[0].to_string(),
	          "/nonexistent/weir.toml: cannot open: No such file or directory");

	std::string minimal = (source_root() / "conf/minimal.toml").string();
	config_report dpdk = load_config(minimal, load_options{engine_kind::dpdk});
	EXPECT_FALSE(dpdk.valid()) << "minimal.toml has no DPDK port";
	EXPECT_TRUE(has_problem(dpdk, "dataplane.dpdk.port: required with engine \"dpdk\"")) << dump(dpdk);
	config_report xdp = load_config(minimal, load_options{engine_kind::xdp});
	ASSERT_TRUE(xdp.valid()) << dump(xdp);
	EXPECT_EQ(xdp.cfg->dataplane.engine, engine_kind::xdp);
}

// None of these may throw or crash; each is reported as problems.
TEST(config_robustness, hostile_inputs)
{
	std::vector<std::string> inputs = {
	        "",
	        std::string("\0\0\0\xff\xfe", 5),
	        "x = " + std::string(100000, '[') + std::string(100000, ']'),
	        "x = " + std::string(100000, '{'),
	        std::string(100000, 'a') + " = 1",
	        "[" + std::string(200000, '.') + "]",
	        [] {
		        std::string s = "a";
		        for (int i = 0; i < 50000; i++)
			        s += ".a";
		        return s + " = 1";
	        }(),
	        base + "[dataplane]\nworkers = 0x7fffffffffffffffffff\n",
	        base + "[dataplane]\nworkers = -99999999999999999999\n",
	        base + "[dataplane]\nworkers = 1e400\n",
	        base + "[[vip]]\nname = \"\xc3\x28\"\n",
	        "\xef\xbb\xbf" + base,
	        "[node]\nipv4 = \"" + std::string(1 << 20, '1') + "\"\n",
	};
	for (size_t i = 0; i < inputs.size(); i++) {
		config_report r;
		EXPECT_NO_THROW(r = load(inputs[i])) << "input " << i;
		if (i != inputs.size() - 2) {
			EXPECT_FALSE(r.valid()) << "input " << i;
		}
		for (const auto &p : r.problems)
			EXPECT_EQ(p.file, "t.toml");
	}
}

TEST(config_robustness, random_bytes_and_mutations)
{
	std::ifstream in(source_root() / "conf/weir.toml");
	std::stringstream ss;
	ss << in.rdbuf();
	const std::string seed = ss.str();
	ASSERT_FALSE(seed.empty());
	std::mt19937 rng(12345);
	for (int i = 0; i < 300; i++) {
		std::string text;
		if (i % 3 == 0) {
			text.resize(rng() % 512);
			for (char &c : text)
				c = static_cast<char>(rng());
		} else {
			text = seed;
			for (int k = 0; k < 1 + i % 8; k++)
				text[rng() % text.size()] = "[]{}=\"'.#\n,0x-"[rng() % 15];
		}
		config_report r;
		ASSERT_NO_THROW(r = load(text)) << "iteration " << i;
		EXPECT_EQ(r.valid(), count_errors(r) == 0) << "iteration " << i;
		EXPECT_TRUE(std::is_sorted(r.problems.begin(), r.problems.end(),
		                           [](auto &a, auto &b) { return a.line < b.line; }));
	}
}
