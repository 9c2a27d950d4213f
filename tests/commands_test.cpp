// commands_test.cpp — the control socket's commands (control/commands.h) served
// by a real control_socket over a host built from the real parts the daemon
// uses: the configuration loader, the snapshot builder and backend registry, and
// a C++ pipeline with its flow table standing in for the DPDK workers. Edits,
// drains, reload, save and explain are checked through their replies and the
// resulting state; a million malformed requests leave memory and descriptors flat.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include "commands.h"
#include "config_save.h"
#include "packet_builder.h"
#include "pipeline.h"
#include "pipeline_host.h"
#include "process_usage.h"
#include "snapshot_builder.h"
#include "unix_client.h"

namespace weir::ctl {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
constexpr uint32_t now = 1000;

// A fresh directory under /tmp, removed with everything in it.
struct temp_dir {
	std::string path;
	temp_dir()
	{
		char tmpl[] = "/tmp/weirt-cmd-XXXXXX";
		if (!::mkdtemp(tmpl))
			throw std::runtime_error("mkdtemp failed");
		path = tmpl;
	}
	~temp_dir() { std::filesystem::remove_all(path); }
};

void write_text(const std::string &path, const std::string &text)
{
	std::ofstream(path) << text;
}

const std::string base_file =
        "[node]\nipv4 = \"10.10.0.2/24\"\n[dataplane]\nengine = \"dpdk\"\n"
        "[dataplane.dpdk]\nport = \"net_ring0\"\n"
        "[[vip]]\nname = \"web\"\naddress = \"10.10.1.1\"\nport = 80\ntable_size = 1009\n"
        "  [[vip.backend]]\n  address = \"10.10.0.21\"\n"
        "  [[vip.backend]]\n  address = \"10.10.0.22\"\n"
        "[[vip]]\nname = \"dns\"\naddress = \"10.10.1.2\"\nport = 53\nprotocol = \"udp\"\n"
        "table_size = 1009\n  [vip.health]\n  kind = \"none\"\n"
        "  [[vip.backend]]\n  address = \"10.10.0.31\"\n";

// The daemon's state and its apply(), with one pipeline as the only worker.
class test_host : public test::pipeline_host {
public:
	explicit test_host(const std::string &file)
	    : pipeline_host(file, 1 << 12, now), _pipe(*_flows, _counters)
	{}

	// The backend's last address byte the pipeline sends a frame to; -1 if none.
	int send(const test::frame &in)
	{
		std::vector<uint8_t> buf(256 + in.size());
		std::copy(in.begin(), in.end(), buf.begin() + 256);
		dp::frame f{buf.data() + 256, uint32_t(in.size()), 256};
		uint8_t verdict;
		_pipe.process(*_snap, &f, &verdict, 1, now);
		return verdict == WEIR_VERDICT_TX ? f.data[14 + 19] : -1;
	}

private:
	dp::pipeline _pipe;
};

test::frame web_flow(int f)
{
	return test::packet_builder()
	        .ipv4("198.18.0." + std::to_string(1 + f % 250), "10.10.1.1")
	        .tcp(uint16_t(20000 + f), 80)
	        .build();
}

class commands_test : public ::testing::Test {
protected:
	commands_test()
	{
		write_text(file, base_file);
		host = std::make_unique<test_host>(file);
		control_config c;
		c.socket = dir.path + "/weir.sock";
		sock = std::move(control_socket::open(c).value());
		register_commands(*sock, *host);
	}
	json call(const json &req) { return sock->dispatch(req.dump()); }
	// The backend_list entry of `addr` in `vip`, or null.
	json backend(const std::string &vip, const std::string &addr)
	{
		json list = call({{"cmd", "backend_list"}, {"vip", vip}});
		for (const json &b : list["backends"])
			if (b["address"] == addr)
				return b;
		return nullptr;
	}

	temp_dir dir;
	std::string file = dir.path + "/weir.toml";
	std::unique_ptr<test_host> host;
	std::unique_ptr<control_socket> sock;
};

TEST_F(commands_test, vip_and_backend_lists)
{
	json vips = call({{"cmd", "vip_list"}});
	ASSERT_TRUE(vips["ok"].get<bool>()) << vips;
	ASSERT_EQ(vips["vips"].size(), 2u);
	EXPECT_EQ(vips["vips"][0]["name"], "web");
	EXPECT_EQ(vips["vips"][0]["endpoint"], "10.10.1.1:80/tcp");
	EXPECT_EQ(vips["vips"][0]["table_size"], 1009);
	EXPECT_EQ(vips["vips"][1]["health"], "none");
	EXPECT_EQ(vips["vips"][0]["fingerprint"].get<std::string>().size(), 16u);
	json web = call({{"cmd", "backend_list"}, {"vip", "web"}});
	ASSERT_EQ(web["backends"].size(), 2u) << web;
	EXPECT_EQ(web["backends"][0]["health"], "unknown");
	EXPECT_EQ(call({{"cmd", "backend_list"}, {"vip", "dns"}})["backends"][0]["health"], "none");
	json missing = call({{"cmd", "backend_list"}, {"vip", "nope"}});
	EXPECT_FALSE(missing["ok"].get<bool>());
	EXPECT_EQ(missing["error"], "no VIP named \"nope\"");
	json no_field = call({{"cmd", "backend_list"}});
	EXPECT_FALSE(no_field["ok"].get<bool>());
	EXPECT_NE(no_field["error"].get<std::string>().find("\"vip\""), std::string::npos);
}

TEST_F(commands_test, edits_publish_and_invalid_edits_change_nothing)
{
	uint64_t gen = host->snapshot().generation;
	json r = call({{"cmd", "backend_add"}, {"vip", "web"}, {"address", "10.10.0.23"}, {"weight", 2}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	EXPECT_EQ(r["changed"]["vips_changed"], json::array({"web"}));
	EXPECT_GT(host->snapshot().generation, gen);
	json b = backend("web", "10.10.0.23");
	ASSERT_TRUE(b.is_object());
	EXPECT_EQ(b["weight"], 2);

	std::string before = config_toml(host->live());
	gen = host->snapshot().generation;
	for (const json &bad :
	     {json{{"cmd", "backend_add"}, {"vip", "web"}, {"address", "10.10.0.23"}},
	      json{{"cmd", "backend_weight"}, {"vip", "web"}, {"address", "10.10.0.23"}, {"weight", 65536}},
	      json{{"cmd", "backend_add"}, {"vip", "web"}, {"address", "10.10.0.2"}},
	      json{{"cmd", "vip_add"}, {"name", "x"}, {"endpoint", "10.10.1.1:80/tcp"}},
	      json{{"cmd", "vip_add"},
	           {"name", "x"},
	           {"endpoint", "10.10.1.9:80/tcp"},
	           {"forwarding", "nat"}},
	      json{{"cmd", "vip_del"}, {"name", "nope"}},
	      json{{"cmd", "backend_del"}, {"vip", "dns"}, {"address", "10.10.0.21"}},
	      json{{"cmd", "backend_weight"}, {"vip", "web"}, {"address", "10.10.0.23"}, {"weight", "3"}}}) {
		json e = call(bad);
		EXPECT_FALSE(e["ok"].get<bool>()) << bad << " -> " << e;
		EXPECT_TRUE(e["error"].is_string() && !e["error"].get<std::string>().empty());
	}
	EXPECT_EQ(config_toml(host->live()), before) << "an invalid edit changed the configuration";
	EXPECT_EQ(host->snapshot().generation, gen) << "an invalid edit published a snapshot";

	r = call({{"cmd", "vip_add"},
	          {"name", "web6"},
	          {"endpoint", "[fd00:1::1]:443/tcp"},
	          {"scheduler", "wrr"},
	          {"forwarding", "l2dsr"}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	EXPECT_EQ(r["changed"]["vips_added"], json::array({"web6"}));
	EXPECT_EQ(r["warnings"].size(), 1u) << "no backends yet: " << r;
	// A VIP of every port needs the port its health check probes.
	r = call({{"cmd", "vip_add"}, {"name", "all"}, {"endpoint", "10.10.1.7:0/tcp"}});
	EXPECT_FALSE(r["ok"].get<bool>());
	EXPECT_NE(r["error"].get<std::string>().find("health.port"), std::string::npos) << r;
	r = call({{"cmd", "vip_add"},
	          {"name", "all"},
	          {"endpoint", "10.10.1.7:0/tcp"},
	          {"health", "http"},
	          {"health_port", 8080}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	ASSERT_EQ(host->live().vips.back().name, "all");
	EXPECT_EQ(host->live().vips.back().health.port, 8080);
	EXPECT_EQ(config_toml(host->live()).find("port = 8080") != std::string::npos, true);
	r = call({{"cmd", "vip_del"}, {"name", "all"}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	json vips = call({{"cmd", "vip_list"}})["vips"];
	ASSERT_EQ(vips.size(), 3u);
	EXPECT_EQ(vips[2]["endpoint"], "[fd00:1::1]:443/tcp");
	EXPECT_EQ(vips[2]["scheduler"], "wrr");
	r = call({{"cmd", "vip_del"}, {"name", "dns"}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	EXPECT_EQ(host->live().vips.size(), 2u);
	r = call({{"cmd", "backend_del"}, {"vip", "web"}, {"address", "10.10.0.21"}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	EXPECT_TRUE(backend("web", "10.10.0.21").is_null());
}

// Drain: weight 0, the flows already there stay; new flows go elsewhere.
TEST_F(commands_test, drain_keeps_flows_and_counts_them)
{
	std::map<int, int> first;
	int on_21 = 0;
	for (int f = 0; f < 200; f++) {
		first[f] = host->send(web_flow(f));
		on_21 += first[f] == 21;
	}
	ASSERT_GT(on_21, 30);
	std::string fp = call({{"cmd", "vip_list"}})["vips"][0]["fingerprint"];
	json r = call({{"cmd", "backend_drain"}, {"vip", "web"}, {"address", "10.10.0.21"}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	EXPECT_NE(call({{"cmd", "vip_list"}})["vips"][0]["fingerprint"], fp) << "the table must change";
	json b = backend("web", "10.10.0.21");
	ASSERT_TRUE(b.is_object());
	EXPECT_EQ(b["weight"], 0);
	EXPECT_EQ(b["flows_active"], on_21);
	EXPECT_EQ(b["packets"], on_21);
	for (int f = 0; f < 200; f++)
		EXPECT_EQ(host->send(web_flow(f)), first[f]) << "flow " << f << " moved after the drain";
	for (int f = 200; f < 400; f++)
		EXPECT_EQ(host->send(web_flow(f)), 22) << "a new flow went to the drained backend";
	b = backend("web", "10.10.0.21");
	EXPECT_EQ(b["packets"], 2 * on_21);
}

TEST_F(commands_test, reload_is_all_or_nothing_and_keeps_unchanged_tables)
{
	for (int f = 0; f < 100; f++)
		host->send(web_flow(f));
	const dp::vip_table *web_table = host->snapshot().tables[0].get();
	uint64_t gen = host->snapshot().generation;
	std::string before = config_toml(host->live());

	write_text(file,
	           base_file +
	                   "[[vip]]\nname = \"bad\"\naddress = \"10.10.1.3\"\nport = 80\nschedler = \"x\"\n"
	                   "table_size = 1000\n");
	json r = call({{"cmd", "reload"}});
	EXPECT_FALSE(r["ok"].get<bool>());
	EXPECT_NE(r["error"].get<std::string>().find("nothing changed"), std::string::npos) << r;
	ASSERT_EQ(r["problems"].size(), 2u) << r;
	EXPECT_NE(r["problems"][0].get<std::string>().find(file + ":"), std::string::npos) << "FILE:LINE";
	EXPECT_EQ(config_toml(host->live()), before);
	EXPECT_EQ(host->snapshot().generation, gen);

	// dns changes and api is added; web is untouched, so its table and flows stay.
	std::string next = base_file;
	next.replace(next.find("10.10.0.31"), 10, "10.10.0.32");
	write_text(file, next + "[[vip]]\nname = \"api\"\naddress = \"10.10.1.3\"\nport = 443\n"
	                        "  [[vip.backend]]\n  address = \"10.10.0.41\"\n[dataplane]\n");
	r = call({{"cmd", "reload"}});
	EXPECT_FALSE(r["ok"].get<bool>()) << "a table twice is a TOML error: " << r;
	write_text(file, next + "[[vip]]\nname = \"api\"\naddress = \"10.10.1.3\"\nport = 443\n"
	                        "  [[vip.backend]]\n  address = \"10.10.0.41\"\n");
	r = call({{"cmd", "reload"}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	EXPECT_EQ(r["changed"]["vips_added"], json::array({"api"}));
	EXPECT_EQ(r["changed"]["vips_changed"], json::array({"dns"}));
	EXPECT_EQ(r["changed"]["vips_removed"], json::array());
	EXPECT_EQ(host->snapshot().tables[0].get(), web_table) << "web's table was rebuilt";
	EXPECT_EQ(host->send(web_flow(1)), host->send(web_flow(1)));
	json e = call({{"cmd", "explain"},
	               {"src", "198.18.0.2:20001"},
	               {"dst", "10.10.1.1:80"},
	               {"protocol", "tcp"}});
	EXPECT_TRUE(e["tracked"].get<bool>()) << "web's flows survive the reload: " << e;

	// The engine's shape keeps its running value and is reported.
	next.replace(next.find("engine = \"dpdk\""), 15, "engine = \"dpdk\"\nworkers = 4");
	write_text(file, next);
	r = call({{"cmd", "reload"}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	EXPECT_EQ(r["restart_required"], json::array({"dataplane.workers"}));
	EXPECT_EQ(host->live().dataplane.workers, 1u);
}

TEST_F(commands_test, save_writes_the_live_state)
{
	ASSERT_TRUE(call({{"cmd", "backend_weight"},
	                  {"vip", "web"},
	                  {"address", "10.10.0.22"},
	                  {"weight", 7}})["ok"]
	                    .get<bool>());
	std::string saved = dir.path + "/saved.toml";
	json r = call({{"cmd", "save"}, {"path", saved}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	EXPECT_EQ(r["path"], saved);
	config_report back = load_config(saved);
	ASSERT_TRUE(back.valid());
	EXPECT_EQ(config_toml(*back.cfg), config_toml(host->live()));
	EXPECT_EQ(back.cfg->vips[0].backends[1].weight, 7u);
	r = call({{"cmd", "save"}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	EXPECT_EQ(r["path"], file);
	ASSERT_TRUE(call({{"cmd", "reload"}})["ok"].get<bool>());
	EXPECT_EQ(host->live().vips[0].backends[1].weight, 7u) << "save then reload keeps the edit";
	EXPECT_FALSE(call({{"cmd", "save"}, {"path", "relative.toml"}})["ok"].get<bool>());
	EXPECT_FALSE(call({{"cmd", "save"}, {"path", dir.path + "/missing/dir/x.toml"}})["ok"].get<bool>());
}

TEST_F(commands_test, explain_reply)
{
	json r = call({{"cmd", "explain"},
	               {"src", "198.18.0.9:1234"},
	               {"dst", "10.10.1.1:80"},
	               {"protocol", "tcp"}});
	ASSERT_TRUE(r["ok"].get<bool>()) << r;
	EXPECT_EQ(r["vip"], "web");
	EXPECT_FALSE(r["tracked"].get<bool>());
	int predicted = std::stoi(r["backend"].get<std::string>().substr(8));
	test::frame f = test::packet_builder().ipv4("198.18.0.9", "10.10.1.1").tcp(1234, 80).build();
	EXPECT_EQ(host->send(f), predicted);
	r = call({{"cmd", "explain"},
	          {"src", "198.18.0.9:1234"},
	          {"dst", "10.10.1.1:80"},
	          {"protocol", "tcp"}});
	EXPECT_TRUE(r["tracked"].get<bool>()) << r;
	EXPECT_EQ(r["expires_in"], 900);
	r = call({{"cmd", "explain"}, {"src", "198.18.0.9"}, {"dst", "10.10.1.1:80"}, {"protocol", "tcp"}});
	EXPECT_FALSE(r["ok"].get<bool>());
}

// ---- a million malformed requests over a real socket ----

using test::connect_unix;
using test::send_all;

// Reads until `lines` newlines arrived (or EOF / 5 s of silence); returns them.
std::string read_lines(int fd, size_t lines)
{
	std::string buf;
	size_t seen = 0;
	char tmp[1 << 16];
	while (seen < lines) {
		pollfd p{fd, POLLIN, 0};
		if (::poll(&p, 1, 5000) <= 0)
			break;
		ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
		if (n <= 0)
			break;
		seen += size_t(std::count(tmp, tmp + n, '\n'));
		buf.append(tmp, size_t(n));
	}
	return buf;
}

using test::open_fds;
using test::rss;

// The kinds of bad request, in turn: not JSON, not an object, no cmd, an unknown
// cmd, a known cmd with wrong or missing fields.
const char *const malformed[] = {
        "{bad",
        "[1,2,3]",
        "42",
        "\"cmd\"",
        "{}",
        "{\"cmd\":7}",
        "{\"cmd\":\"frobnicate\"}",
        "{\"cmd\":\"backend_add\"}",
        "{\"cmd\":\"backend_weight\",\"vip\":\"web\",\"address\":\"10.10.0.21\",\"weight\":\"x\"}",
        "{\"cmd\":\"explain\",\"src\":\"nope\",\"dst\":\"10.10.1.1:80\",\"protocol\":\"tcp\"}",
        "{\"cmd\":\"vip_add\",\"name\":\"a\",\"endpoint\":\"1.2.3.4/tcp\"}",
        "\xff\xfe\x00garbage",
};

// `count` malformed requests on connection `fd`, pipelined 1000 at a time; every
// reply must be an error. Plus `oversize` connections that each send a line over
// the 64 KiB limit.
void flood(int fd, const std::string &path, size_t count, int oversize)
{
	size_t kinds = std::size(malformed);
	for (size_t done = 0; done < count;) {
		size_t n = std::min<size_t>(1000, count - done);
		std::string batch;
		for (size_t i = 0; i < n; i++)
			batch += std::string(malformed[(done + i) % kinds]) + "\n";
		ASSERT_TRUE(send_all(fd, batch));
		std::string replies = read_lines(fd, n);
		ASSERT_EQ(size_t(std::count(replies.begin(), replies.end(), '\n')), n) << "after " << done;
		ASSERT_EQ(replies.find("\"ok\":true"), std::string::npos);
		done += n;
	}
	std::string big(70 * 1024, 'x');
	for (int i = 0; i < oversize; i++) {
		int c = connect_unix(path);
		ASSERT_GE(c, 0);
		send_all(c, big);  // the server may close before taking all of it
		std::string reply = read_lines(c, 1);
		EXPECT_NE(reply.find("\"ok\":false"), std::string::npos);
		::close(c);
	}
}

TEST_F(commands_test, a_million_malformed_requests_leave_memory_and_descriptors_flat)
{
	std::string path = sock->path();
	std::atomic<bool> stop{false};
	std::thread server([&] {
		while (!stop.load(std::memory_order_acquire)) {
			pollfd p{sock->fd(), POLLIN, 0};
			if (::poll(&p, 1, 20) > 0)
				sock->handle_events();
		}
	});
	int fd = connect_unix(path);
	ASSERT_GE(fd, 0);
	auto start = std::chrono::steady_clock::now();
	flood(fd, path, 20000, 20);  // warm up allocator and buffers
	std::this_thread::sleep_for(200ms);
	size_t fds = open_fds(), mem = rss();
	flood(fd, path, 1000000, 200);
	std::this_thread::sleep_for(200ms);
	double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	size_t fds_after = open_fds(), mem_after = rss();
	// The same connection still answers a valid request.
	ASSERT_TRUE(send_all(fd, "{\"cmd\":\"vip_list\"}\n"));
	std::string reply = read_lines(fd, 1);
	::close(fd);
	stop.store(true, std::memory_order_release);
	server.join();
	EXPECT_EQ(fds_after, fds);
	EXPECT_LT(mem_after, mem + (2u << 20)) << "RSS grew from " << mem << " to " << mem_after;
	json ok = json::parse(reply);
	EXPECT_TRUE(ok["ok"].get<bool>()) << reply;
	EXPECT_EQ(ok["vips"].size(), 2u);
	std::cout << "1020000 malformed requests and 220 oversize lines in " << secs << " s; RSS "
	          << mem / 1024 << " -> " << mem_after / 1024 << " KiB, " << fds << " -> " << fds_after
	          << " descriptors\n";
}

}  // namespace
}  // namespace weir::ctl
