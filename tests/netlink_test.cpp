// netlink_test.cpp — control/netlink.h against the real kernel. The test binary
// first moves into a network namespace of its own (nothing it does reaches the
// host's links, and nothing needs cleaning up), then builds a veth pair whose far
// end lives in a second private namespace with addresses to resolve.
// Single-threaded but for the interface that wait_for_interface waits for.
#include "netlink.h"

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace weir::ctl;
using namespace std::chrono_literals;

constexpr const char *lb_if = "weirt0";  // our end: plays the exception TAP
constexpr const char *peer_if = "weirt1";  // its peer, alone in the peer namespace
constexpr const char *other_if = "weirt2";  // a second link of ours (peer weirt3)

struct namespaces {
	bool privileged = false;  // false: skipped (or failed under WEIR_REQUIRE_ALL=1)
	std::string problem;  // why the setup is unusable; empty when it is ready
	int lb_ns = -1;
	int peer_ns = -1;
	mac_addr peer_mac{};
};

bool write_file(const std::string &path, const std::string &text)
{
	FILE *f = std::fopen(path.c_str(), "w");
	if (f == nullptr)
		return false;
	const bool ok = std::fputs(text.c_str(), f) >= 0;
	return std::fclose(f) == 0 && ok;
}

bool run(const std::string &command)
{
	return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// What `command` prints (one line), or "" when it fails.
std::string output_of(const std::string &command)
{
	FILE *p = popen(command.c_str(), "r");
	if (p == nullptr)
		return "";
	char line[256] = {};
	const bool got = std::fgets(line, sizeof(line), p) != nullptr;
	const int rc = pclose(p);
	if (!got || rc != 0)
		return "";
	std::string s = line;
	while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
		s.pop_back();
	return s;
}

std::optional<mac_addr> parse_mac(const std::string &text)
{
	mac_addr mac{};
	unsigned b[6];
	if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return std::nullopt;
	for (size_t i = 0; i < 6; ++i)
		mac[i] = static_cast<uint8_t>(b[i]);
	return mac;
}

// Sets up the peer namespace while this thread is in it. Its MAC comes from sysfs
// as seen from that namespace: a fresh sysfs mount in a throw-away mount namespace.
std::string configure_peer(namespaces &ns)
{
	if (!run(std::string("ip link set ") + peer_if + " up") ||
	    !run(std::string("ip addr add 10.99.0.2/24 dev ") + peer_if) ||
	    !run(std::string("ip -6 addr add fd99::2/64 nodad dev ") + peer_if))
		return "cannot configure the peer's link";
	const std::string mac =
	        output_of(std::string("unshare -m sh -c 'mount --make-rprivate / && umount -l /sys && "
	                              "mount -t sysfs sysfs /sys && cat /sys/class/net/") +
	                  peer_if + "/address' 2>/dev/null");
	auto parsed = parse_mac(mac);
	if (!parsed)
		return "cannot read the peer's MAC from sysfs (got \"" + mac + "\")";
	ns.peer_mac = *parsed;
	return "";
}

std::string build_namespaces(namespaces &ns)
{
	if (unshare(CLONE_NEWNET) != 0)
		return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
	ns.lb_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	// No DAD on test links: IPv6 solicitations are sourced from the link-local
	// address, which is unusable while tentative; weir's control thread simply
	// retries then, a test with a deadline would only get slower.
	if (!write_file("/proc/sys/net/ipv6/conf/default/accept_dad", "0"))
		return "cannot turn DAD off in the test namespace";
	if (unshare(CLONE_NEWNET) != 0)
		return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
	ns.peer_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns.lb_ns < 0 || ns.peer_ns < 0 || !write_file("/proc/sys/net/ipv6/conf/default/accept_dad", "0"))
		return "cannot open or prepare the test namespaces";
	if (setns(ns.lb_ns, CLONE_NEWNET) != 0)
		return std::string("setns: ") + std::strerror(errno);
	const std::string peer_path =
	        "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(ns.peer_ns);
	if (!run(std::string("ip link add ") + lb_if + " type veth peer name " + peer_if + " netns " +
	         peer_path) ||
	    !run(std::string("ip link add ") + other_if + " type veth peer name weirt3") ||
	    !run(std::string("ip link set ") + other_if + " up"))
		return "cannot create the test veth pairs";
	if (setns(ns.peer_ns, CLONE_NEWNET) != 0)
		return std::string("setns: ") + std::strerror(errno);
	std::string problem = configure_peer(ns);
	if (setns(ns.lb_ns, CLONE_NEWNET) != 0)
		return std::string("setns: ") + std::strerror(errno);
	return problem;
}

const namespaces &test_namespaces()
{
	static const namespaces ns = [] {
		namespaces n;
		n.privileged = geteuid() == 0;
		if (!n.privileged)
			n.problem = "needs root (network namespaces)";
		else
			n.problem = build_namespaces(n);
		return n;
	}();
	return ns;
}

int index_of(const char *name)
{
	return static_cast<int>(if_nametoindex(name));
}

std::optional<mac_addr> poll_neighbour(int ifindex, const ip_addr &a, std::chrono::milliseconds limit)
{
	const auto deadline = std::chrono::steady_clock::now() + limit;
	do {
		if (auto mac = lookup_neighbour(ifindex, a))
			return mac;
		std::this_thread::sleep_for(20ms);
	} while (std::chrono::steady_clock::now() < deadline);
	return std::nullopt;
}

ip_addr addr(const char *text)
{
	auto a = ip_addr::parse(text);
	EXPECT_TRUE(a.has_value()) << text;
	return a.value_or(ip_addr{});
}

ip_prefix prefix(const char *text)
{
	auto p = ip_prefix::parse(text);
	EXPECT_TRUE(p.has_value()) << text;
	return p.value_or(ip_prefix{});
}

// ioctl view of a link, independent of rtnetlink.
ifreq link_request(const char *name, unsigned long op)
{
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	EXPECT_GE(fd, 0);
	EXPECT_EQ(ioctl(fd, op, &ifr), 0) << name << ": " << std::strerror(errno);
	close(fd);
	return ifr;
}

class netlink_test : public ::testing::Test {
protected:
	void SetUp() override
	{
		const namespaces &ns = test_namespaces();
		if (!ns.privileged) {
			const char *all = std::getenv("WEIR_REQUIRE_ALL");
			if (all != nullptr && std::string(all) == "1")
				FAIL() << ns.problem << ", and WEIR_REQUIRE_ALL=1";
			GTEST_SKIP() << ns.problem;
		}
		ASSERT_EQ(ns.problem, "");
		_lb = index_of(lb_if);
		ASSERT_GT(_lb, 0);
	}

	// Our end as the exception path configures it.
	void configure_lb()
	{
		ASSERT_TRUE(set_link_up(_lb).ok());
		ASSERT_TRUE(add_address(_lb, prefix("10.99.0.1/24")).ok());
		ASSERT_TRUE(add_address(_lb, prefix("fd99::1/64")).ok());
	}

	int _lb = 0;
};

TEST_F(netlink_test, interface_index_names_the_missing_interface)
{
	auto idx = interface_index(lb_if);
	ASSERT_TRUE(idx.ok()) << idx.error_message();
	EXPECT_EQ(*idx, _lb);

	auto missing = interface_index("weirtnone");
	ASSERT_FALSE(missing.ok());
	EXPECT_NE(missing.error_message().find("weirtnone"), std::string::npos) << missing.error_message();

	auto too_long = interface_index("weir-name-too-long-for-linux");
	ASSERT_FALSE(too_long.ok());
	EXPECT_NE(too_long.error_message().find("weir-name-too-long-for-linux"), std::string::npos);
}

TEST_F(netlink_test, wait_for_interface_sees_a_link_that_appears_later)
{
	// Created by another thread, as the tap driver creates the TAP; the thread
	// shares this one's network namespace.
	run("ip link del weirt4");
	ASSERT_EQ(index_of("weirt4"), 0);
	std::thread creator([] {
		std::this_thread::sleep_for(200ms);
		run("ip link add weirt4 type veth peer name weirt5");
	});
	const auto start = std::chrono::steady_clock::now();
	auto st = wait_for_interface("weirt4", 3000);
	const auto waited = std::chrono::steady_clock::now() - start;
	creator.join();
	ASSERT_TRUE(st.ok()) << st.error_message();
	EXPECT_GE(waited, 150ms);
	EXPECT_GT(index_of("weirt4"), 0);

	const auto before_timeout = std::chrono::steady_clock::now();
	auto late = wait_for_interface("weirt9", 100);
	ASSERT_FALSE(late.ok());
	EXPECT_GE(std::chrono::steady_clock::now() - before_timeout, 100ms);
	EXPECT_NE(late.error_message().find("weirt9"), std::string::npos) << late.error_message();
	EXPECT_NE(late.error_message().find("100 ms"), std::string::npos) << late.error_message();
}

TEST_F(netlink_test, link_up_mtu_and_mac_reach_the_kernel)
{
	const int other = index_of(other_if);
	ASSERT_TRUE(run(std::string("ip link set ") + other_if + " down"));
	EXPECT_EQ(link_request(other_if, SIOCGIFFLAGS).ifr_flags & IFF_UP, 0);
	auto up = set_link_up(other);
	ASSERT_TRUE(up.ok()) << up.error_message();
	EXPECT_NE(link_request(other_if, SIOCGIFFLAGS).ifr_flags & IFF_UP, 0);

	auto mtu = set_mtu(other, 1400);
	ASSERT_TRUE(mtu.ok()) << mtu.error_message();
	EXPECT_EQ(link_request(other_if, SIOCGIFMTU).ifr_mtu, 1400);

	const mac_addr mac{0x02, 0x00, 0x5e, 0x99, 0x00, 0x02};
	auto set = set_mac_address(other, mac);
	ASSERT_TRUE(set.ok()) << set.error_message();
	const ifreq hw = link_request(other_if, SIOCGIFHWADDR);
	EXPECT_EQ(std::memcmp(hw.ifr_hwaddr.sa_data, mac.data(), 6), 0);

	// The kernel's refusal comes back with the link's name and the reason.
	auto too_big = set_mtu(other, 1u << 20);
	ASSERT_FALSE(too_big.ok());
	EXPECT_NE(too_big.error_message().find(other_if), std::string::npos) << too_big.error_message();
	EXPECT_NE(too_big.error_message().find("Invalid argument"), std::string::npos)
	        << too_big.error_message();
}

// How many times `a` is configured on `name`, and with which prefix length.
struct address_count {
	int count = 0;
	int prefix_length = -1;
};

address_count count_address(const char *name, const ip_addr &a)
{
	address_count result;
	ifaddrs *list = nullptr;
	EXPECT_EQ(getifaddrs(&list), 0);
	for (ifaddrs *i = list; i != nullptr; i = i->ifa_next) {
		if (i->ifa_addr == nullptr || std::strcmp(i->ifa_name, name) != 0)
			continue;
		const uint8_t *bytes = nullptr;
		const uint8_t *mask = nullptr;
		size_t len = 0;
		if (a.is_v4() && i->ifa_addr->sa_family == AF_INET) {
			bytes = reinterpret_cast<const uint8_t *>(
			        &reinterpret_cast<sockaddr_in *>(i->ifa_addr)->sin_addr);
			mask = reinterpret_cast<const uint8_t *>(
			        &reinterpret_cast<sockaddr_in *>(i->ifa_netmask)->sin_addr);
			len = 4;
		} else if (a.is_v6() && i->ifa_addr->sa_family == AF_INET6) {
			bytes = reinterpret_cast<const uint8_t *>(
			        &reinterpret_cast<sockaddr_in6 *>(i->ifa_addr)->sin6_addr);
			mask = reinterpret_cast<const uint8_t *>(
			        &reinterpret_cast<sockaddr_in6 *>(i->ifa_netmask)->sin6_addr);
			len = 16;
		}
		if (bytes == nullptr || std::memcmp(bytes, a.bytes.data(), len) != 0)
			continue;
		++result.count;
		result.prefix_length = 0;
		for (size_t b = 0; b < len; ++b)
			result.prefix_length += __builtin_popcount(mask[b]);
	}
	freeifaddrs(list);
	return result;
}

TEST_F(netlink_test, addresses_are_added_once_however_often_they_are_added)
{
	for (int round = 0; round < 2; ++round) {
		auto up = set_link_up(_lb);
		ASSERT_TRUE(up.ok()) << up.error_message();
		auto v4 = add_address(_lb, prefix("10.99.0.1/24"));
		ASSERT_TRUE(v4.ok()) << v4.error_message();
		auto v6 = add_address(_lb, prefix("fd99::1/64"));
		ASSERT_TRUE(v6.ok()) << v6.error_message();
	}
	const address_count v4 = count_address(lb_if, addr("10.99.0.1"));
	EXPECT_EQ(v4.count, 1);
	EXPECT_EQ(v4.prefix_length, 24);
	const address_count v6 = count_address(lb_if, addr("fd99::1"));
	EXPECT_EQ(v6.count, 1);
	EXPECT_EQ(v6.prefix_length, 64);
	EXPECT_NE(link_request(lb_if, SIOCGIFFLAGS).ifr_flags & IFF_UP, 0);
}

TEST_F(netlink_test, requested_resolution_learns_the_peers_mac)
{
	configure_lb();
	for (const char *peer : {"10.99.0.2", "fd99::2"}) {
		SCOPED_TRACE(peer);
		const ip_addr a = addr(peer);
		// Nothing else talks to the peer: once forgotten, the kernel does not know it.
		run(std::string("ip neigh del ") + peer + " dev " + lb_if);
		ASSERT_EQ(lookup_neighbour(_lb, a), std::nullopt);
		auto st = request_resolution(_lb, a);
		ASSERT_TRUE(st.ok()) << st.error_message();
		auto mac = poll_neighbour(_lb, a, 3s);
		ASSERT_TRUE(mac.has_value()) << "not resolved within 3 s";
		EXPECT_EQ(*mac, test_namespaces().peer_mac);

		// A second request for a resolved neighbour changes nothing.
		EXPECT_TRUE(request_resolution(_lb, a).ok());
		auto table = neighbour_table::dump(_lb);
		ASSERT_TRUE(table.ok()) << table.error_message();
		EXPECT_EQ(table->find(a), test_namespaces().peer_mac);
	}
}

TEST_F(netlink_test, an_address_nobody_has_stays_unresolved)
{
	configure_lb();
	const ip_addr nobody = addr("10.99.0.77");
	auto st = request_resolution(_lb, nobody);
	ASSERT_TRUE(st.ok()) << st.error_message();
	// The kernel probes (INCOMPLETE) and gives up (FAILED): neither is usable.
	EXPECT_EQ(poll_neighbour(_lb, nobody, 1500ms), std::nullopt);
	EXPECT_EQ(lookup_neighbour(_lb, addr("fd99::77")), std::nullopt);
}

TEST_F(netlink_test, lookups_keep_to_their_interface_and_usable_states)
{
	configure_lb();
	const int other = index_of(other_if);
	ASSERT_TRUE(
	        run(std::string("ip neigh replace 10.99.0.50 lladdr 02:00:5e:99:00:50 nud permanent dev ") +
	            lb_if));
	ASSERT_TRUE(run(std::string("ip neigh replace 10.99.0.51 lladdr 02:00:5e:99:00:51 nud stale dev ") +
	                lb_if));
	ASSERT_TRUE(run(std::string("ip neigh replace fd99::50 lladdr 02:00:5e:99:00:52 nud permanent dev ") +
	                lb_if));
	ASSERT_TRUE(
	        run(std::string("ip neigh replace 10.99.0.60 lladdr 02:00:5e:99:00:60 nud permanent dev ") +
	            other_if));

	auto table = neighbour_table::dump(_lb);
	ASSERT_TRUE(table.ok()) << table.error_message();
	EXPECT_EQ(table->find(addr("10.99.0.50")), (mac_addr{0x02, 0x00, 0x5e, 0x99, 0x00, 0x50}));
	EXPECT_EQ(table->find(addr("10.99.0.51")), (mac_addr{0x02, 0x00, 0x5e, 0x99, 0x00, 0x51}));
	EXPECT_EQ(table->find(addr("fd99::50")), (mac_addr{0x02, 0x00, 0x5e, 0x99, 0x00, 0x52}));
	// Same bytes, other family: a different neighbour.
	ip_addr v6_lookalike = addr("10.99.0.50");
	v6_lookalike.family = WEIR_AF_INET6;
	EXPECT_EQ(table->find(v6_lookalike), std::nullopt);
	// Another link's entry is not this link's.
	EXPECT_EQ(table->find(addr("10.99.0.60")), std::nullopt);
	EXPECT_EQ(lookup_neighbour(other, addr("10.99.0.60")),
	          (mac_addr{0x02, 0x00, 0x5e, 0x99, 0x00, 0x60}));
	EXPECT_EQ(lookup_neighbour(other, addr("10.99.0.50")), std::nullopt);

	// A failed entry keeps its old MAC in the kernel but is not usable.
	ASSERT_TRUE(run(std::string("ip neigh replace 10.99.0.50 lladdr 02:00:5e:99:00:50 nud failed dev ") +
	                lb_if));
	EXPECT_EQ(lookup_neighbour(_lb, addr("10.99.0.50")), std::nullopt);
}

// The message add_address gives an unprivileged caller (run in a child that drops
// root, so this process keeps it).
std::string add_address_unprivileged(int ifindex, const ip_prefix &p)
{
	int fds[2];
	if (pipe(fds) != 0)
		return "pipe failed";
	const pid_t child = fork();
	if (child == 0) {
		close(fds[0]);
		std::string message = "still privileged";
		if (setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0) {
			auto st = add_address(ifindex, p);
			message = st.ok() ? "accepted" : st.error_message();
		}
		_exit(write(fds[1], message.data(), message.size()) < 0 ? 1 : 0);
	}
	close(fds[1]);
	std::string message;
	char buf[512];
	for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;)
		message.append(buf, static_cast<size_t>(n));
	close(fds[0]);
	waitpid(child, nullptr, 0);
	return message;
}

TEST_F(netlink_test, errors_name_what_failed_and_never_throw)
{
	constexpr int bad = 999999;
	auto up = set_link_up(bad);
	ASSERT_FALSE(up.ok());
	EXPECT_NE(up.error_message().find("999999"), std::string::npos) << up.error_message();
	EXPECT_NE(up.error_message().find("No such device"), std::string::npos) << up.error_message();

	auto add = add_address(bad, prefix("10.99.0.1/24"));
	ASSERT_FALSE(add.ok());
	EXPECT_NE(add.error_message().find("cannot add 10.99.0.1/24 to interface #999999"), std::string::npos)
	        << add.error_message();

	auto resolve = request_resolution(bad, addr("10.99.0.2"));
	EXPECT_FALSE(resolve.ok());
	EXPECT_NE(resolve.error_message().find("10.99.0.2"), std::string::npos) << resolve.error_message();
	EXPECT_EQ(lookup_neighbour(bad, addr("10.99.0.2")), std::nullopt);

	EXPECT_EQ(add_address_unprivileged(_lb, prefix("10.99.0.3/24")),
	          "cannot add 10.99.0.3/24 to weirt0: Operation not permitted");
	EXPECT_EQ(count_address(lb_if, addr("10.99.0.3")).count, 0);

	// A prefix no kernel accepts: the message carries the address, the link and the reason.
	ip_prefix wrong = prefix("10.99.0.9/24");
	wrong.length = 40;
	auto rejected = add_address(_lb, wrong);
	ASSERT_FALSE(rejected.ok());
	const std::string &why = rejected.error_message();
	EXPECT_NE(why.find("cannot add 10.99.0.9/40 to weirt0: Invalid argument"), std::string::npos) << why;
	// The kernel's extended ack says which part was wrong.
	EXPECT_NE(why.find("prefix length"), std::string::npos) << why;
}

}  // namespace
