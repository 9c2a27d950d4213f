// netlink.cpp — rtnetlink requests for the exception TAP and the neighbour table
// (netlink.h). Control thread only; each request owns a short-lived socket.
#include "netlink.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <net/if.h>  // before the linux/ headers, which it conflicts with otherwise

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace weir::ctl {
namespace {

// Replies to rtnetlink requests are queued while the request is being sent, so a
// read normally returns at once; the timeout only bounds a misbehaving kernel.
constexpr int reply_timeout_ms = 1000;
constexpr size_t receive_buffer_size = 32768;  // a dump part never exceeds this

// The interface's name for messages; its number when it has none (any more).
std::string link_name(int ifindex)
{
	char name[IF_NAMESIZE] = {};
	if (ifindex > 0 && if_indextoname(static_cast<unsigned>(ifindex), name) != nullptr)
		return name;
	return "interface #" + std::to_string(ifindex);
}

int kernel_family(const ip_addr &a)
{
	return a.is_v4() ? AF_INET : AF_INET6;
}

size_t address_length(const ip_addr &a)
{
	return a.is_v4() ? 4 : 16;
}

// What one exchange learnt besides the data messages: the kernel's errno and,
// when it gave one, its extended-ack explanation.
struct exchange_state {
	mnl_cb_t on_data = nullptr;
	void *data = nullptr;
	int error = 0;
	std::string kernel_message;
};

int on_data_message(const nlmsghdr *nlh, void *raw)
{
	auto *st = static_cast<exchange_state *>(raw);
	return st->on_data != nullptr ? st->on_data(nlh, st->data) : MNL_CB_OK;
}

// NLMSG_ERROR: error 0 is the ACK; otherwise keep errno and the NLMSGERR_ATTR_MSG
// text, which often says more than errno ("Invalid prefix length" vs EINVAL).
int on_error_attribute(const nlattr *attr, void *raw)
{
	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		static_cast<exchange_state *>(raw)->kernel_message = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

int on_error_message(const nlmsghdr *nlh, void *raw)
{
	auto *st = static_cast<exchange_state *>(raw);
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
		st->error = EBADMSG;
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	const auto *err = static_cast<const nlmsgerr *>(mnl_nlmsg_get_payload(nlh));
	if (err->error == 0)
		return MNL_CB_STOP;
	st->error = -err->error;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
		size_t offset = sizeof(nlmsgerr);
		if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0)
			offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
		const size_t payload_len = mnl_nlmsg_get_payload_len(nlh);
		if (offset < payload_len)
			(void)mnl_attr_parse_payload(static_cast<const char *>(mnl_nlmsg_get_payload(nlh)) +
			                                     offset,
			                             payload_len - offset, on_error_attribute, st);
	}
	errno = st->error;
	return MNL_CB_ERROR;
}

int on_done_message(const nlmsghdr *, void *)
{
	return MNL_CB_STOP;
}

// One NETLINK_ROUTE socket, closed on destruction.
class rtnl_socket {
public:
	static result<rtnl_socket> open();

	rtnl_socket(rtnl_socket &&other) noexcept : _nl(std::exchange(other._nl, nullptr)) {}
	rtnl_socket &operator=(rtnl_socket &&) = delete;
	rtnl_socket(const rtnl_socket &) = delete;
	~rtnl_socket()
	{
		if (_nl != nullptr)
			mnl_socket_close(_nl);
	}

	// Sends `nlh` and reads replies until its ACK (requests) or NLMSG_DONE (dumps),
	// handing each data message to `on_data`. The error is errno's text plus the
	// kernel's own explanation when it sent one.
	status exchange(nlmsghdr *nlh, mnl_cb_t on_data, void *data);

private:
	explicit rtnl_socket(mnl_socket *nl) : _nl(nl) {}
	mnl_socket *_nl;
};

result<rtnl_socket> rtnl_socket::open()
{
	mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (nl == nullptr)
		return error{std::string("cannot open a netlink socket: ") + std::strerror(errno)};
	rtnl_socket sock(nl);
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return error{std::string("cannot bind a netlink socket: ") + std::strerror(errno)};
	// Extended acks carry the kernel's reason; capped acks keep them small. Both
	// are optional: older kernels refuse them and we fall back to errno alone.
	int one = 1;
	(void)mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	const timeval timeout{reply_timeout_ms / 1000, (reply_timeout_ms % 1000) * 1000};
	(void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	return sock;
}

std::string describe(const exchange_state &st, int fallback_errno)
{
	std::string text = std::strerror(st.error != 0 ? st.error : fallback_errno);
	if (!st.kernel_message.empty())
		text += " (" + st.kernel_message + ")";
	return text;
}

status rtnl_socket::exchange(nlmsghdr *nlh, mnl_cb_t on_data, void *data)
{
	// The socket is fresh, so any number identifies this request on it.
	nlh->nlmsg_seq = static_cast<unsigned>(time(nullptr));
	const unsigned portid = mnl_socket_get_portid(_nl);
	if (mnl_socket_sendto(_nl, nlh, nlh->nlmsg_len) < 0)
		return error{std::strerror(errno)};

	exchange_state st{on_data, data, 0, {}};
	mnl_cb_t control[NLMSG_MIN_TYPE] = {};
	control[NLMSG_ERROR] = on_error_message;
	control[NLMSG_DONE] = on_done_message;
	std::vector<char> buf(receive_buffer_size);
	for (;;) {
		const ssize_t n = mnl_socket_recvfrom(_nl, buf.data(), buf.size());
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return error{"no reply from the kernel within " +
				             std::to_string(reply_timeout_ms) + " ms"};
			return error{std::strerror(errno)};
		}
		const int r = mnl_cb_run2(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq, portid,
		                          on_data_message, &st, control, NLMSG_MIN_TYPE);
		if (r == MNL_CB_ERROR)
			return error{describe(st, errno)};
		if (r == MNL_CB_STOP)
			return ok();
	}
}

// One request on a fresh socket, expecting an ACK.
status request(nlmsghdr *nlh)
{
	auto sock = rtnl_socket::open();
	if (!sock)
		return error{sock.error_message()};
	nlh->nlmsg_flags |= NLM_F_ACK;
	return sock->exchange(nlh, nullptr, nullptr);
}

status change_link(int ifindex, const std::string &what, void (*fill)(nlmsghdr *, ifinfomsg *, const void *),
                   const void *arg)
{
	std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	auto *ifi = static_cast<ifinfomsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	fill(nlh, ifi, arg);
	auto st = request(nlh);
	if (!st)
		return error{"cannot " + what + " " + link_name(ifindex) + ": " + st.error_message()};
	return st;
}

// Copies the usable neighbour entries of one interface out of a dump.
struct dump_target {
	int ifindex;
	std::vector<std::pair<ip_addr, mac_addr>> *out;
};

// NUD_VALID by name: the states whose link-layer address the kernel itself would
// put on a packet. Others carry no NDA_LLADDR today; the check does not rely on it.
constexpr uint16_t usable_states =
        NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;

int on_neighbour_attribute(const nlattr *attr, void *raw)
{
	if (mnl_attr_type_valid(attr, NDA_MAX) > 0)
		static_cast<const nlattr **>(raw)[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

int on_neighbour(const nlmsghdr *nlh, void *raw)
{
	const auto *target = static_cast<const dump_target *>(raw);
	if (nlh->nlmsg_type != RTM_NEWNEIGH || mnl_nlmsg_get_payload_len(nlh) < sizeof(ndmsg))
		return MNL_CB_OK;
	const auto *ndm = static_cast<const ndmsg *>(mnl_nlmsg_get_payload(nlh));
	if (ndm->ndm_ifindex != target->ifindex || (ndm->ndm_state & usable_states) == 0 ||
	    (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6))
		return MNL_CB_OK;
	ip_addr addr;
	addr.family = ndm->ndm_family == AF_INET ? WEIR_AF_INET : WEIR_AF_INET6;
	const nlattr *attrs[NDA_MAX + 1] = {};
	if (mnl_attr_parse(nlh, sizeof(ndmsg), on_neighbour_attribute, attrs) != MNL_CB_OK)
		return MNL_CB_OK;
	const nlattr *dst = attrs[NDA_DST];
	const nlattr *lladdr = attrs[NDA_LLADDR];
	if (dst == nullptr || lladdr == nullptr || mnl_attr_get_payload_len(lladdr) != 6 ||
	    mnl_attr_get_payload_len(dst) != address_length(addr))
		return MNL_CB_OK;
	mac_addr mac;
	std::memcpy(addr.bytes.data(), mnl_attr_get_payload(dst), address_length(addr));
	std::memcpy(mac.data(), mnl_attr_get_payload(lladdr), mac.size());
	target->out->emplace_back(addr, mac);
	return MNL_CB_OK;
}

}  // namespace

result<int> interface_index(const std::string &name)
{
	if (name.empty() || name.size() >= IF_NAMESIZE)
		return error{"bad interface name \"" + name + "\": 1 to " + std::to_string(IF_NAMESIZE - 1) +
		             " characters"};
	const unsigned index = if_nametoindex(name.c_str());
	if (index == 0)
		return error{"interface " + name + " not found: " + std::strerror(errno)};
	return static_cast<int>(index);
}

status wait_for_interface(const std::string &name, int timeout_ms)
{
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
	for (;;) {
		auto index = interface_index(name);
		if (index)
			return ok();
		if (name.empty() || name.size() >= IF_NAMESIZE)
			return error{index.error_message()};
		if (std::chrono::steady_clock::now() >= deadline)
			return error{"interface " + name + " did not appear within " +
			             std::to_string(timeout_ms) + " ms"};
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
}

status set_link_up(int ifindex)
{
	return change_link(
	        ifindex, "bring up",
	        [](nlmsghdr *, ifinfomsg *ifi, const void *) {
		        ifi->ifi_change = IFF_UP;
		        ifi->ifi_flags = IFF_UP;
	        },
	        nullptr);
}

status set_mtu(int ifindex, unsigned mtu)
{
	return change_link(
	        ifindex, "set MTU " + std::to_string(mtu) + " on",
	        [](nlmsghdr *nlh, ifinfomsg *, const void *arg) {
		        mnl_attr_put_u32(nlh, IFLA_MTU, *static_cast<const unsigned *>(arg));
	        },
	        &mtu);
}

status set_mac_address(int ifindex, const mac_addr &mac)
{
	return change_link(
	        ifindex, "set the MAC address of",
	        [](nlmsghdr *nlh, ifinfomsg *, const void *arg) { mnl_attr_put(nlh, IFLA_ADDRESS, 6, arg); },
	        mac.data());
}

status add_address(int ifindex, const ip_prefix &p)
{
	std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
	auto *ifa = static_cast<ifaddrmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
	ifa->ifa_family = static_cast<uint8_t>(kernel_family(p.addr));
	ifa->ifa_prefixlen = p.length;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = static_cast<uint32_t>(ifindex);
	const size_t len = address_length(p.addr);
	mnl_attr_put(nlh, IFA_LOCAL, len, p.addr.bytes.data());
	mnl_attr_put(nlh, IFA_ADDRESS, len, p.addr.bytes.data());
	if (p.addr.is_v6()) {
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	auto st = request(nlh);
	if (!st)
		return error{"cannot add " + p.to_string() + " to " + link_name(ifindex) + ": " +
		             st.error_message()};
	return st;
}

result<neighbour_table> neighbour_table::dump(int ifindex)
{
	auto fail = [ifindex](const std::string &why) {
		return error{"cannot read the neighbour table of " + link_name(ifindex) + ": " + why};
	};
	auto sock = rtnl_socket::open();
	if (!sock)
		return fail(sock.error_message());
	std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	auto *ndm = static_cast<ndmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
	ndm->ndm_family = AF_UNSPEC;  // IPv4 and IPv6 in one dump
	// The kernel filters by NDA_IFINDEX itself; on_neighbour checks again.
	mnl_attr_put_u32(nlh, NDA_IFINDEX, static_cast<uint32_t>(ifindex));

	neighbour_table table;
	dump_target target{ifindex, &table._entries};
	auto st = sock->exchange(nlh, on_neighbour, &target);
	if (!st)
		return fail(st.error_message());
	return table;
}

std::optional<mac_addr> neighbour_table::find(const ip_addr &a) const
{
	for (const auto &[addr, mac] : _entries)
		if (addr == a)
			return mac;
	return std::nullopt;
}

std::optional<mac_addr> lookup_neighbour(int ifindex, const ip_addr &a)
{
	auto table = neighbour_table::dump(ifindex);
	if (!table)
		return std::nullopt;
	return table->find(a);
}

status request_resolution(int ifindex, const ip_addr &a)
{
	std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = RTM_NEWNEIGH;
	// NLM_F_CREATE: a next hop the kernel has never seen gets an entry to resolve.
	// No NLM_F_EXCL: an existing entry is only nudged (NTF_USE never rewrites it).
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
	auto *ndm = static_cast<ndmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
	ndm->ndm_family = static_cast<uint8_t>(kernel_family(a));
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_NONE;
	ndm->ndm_flags = NTF_USE;
	mnl_attr_put(nlh, NDA_DST, address_length(a), a.bytes.data());
	auto st = request(nlh);
	if (!st)
		return error{"cannot resolve " + a.to_string() + " on " + link_name(ifindex) + ": " +
		             st.error_message()};
	return st;
}

}  // namespace weir::ctl
