// netlink.h — the kernel facts the DPDK engine's control thread needs, over
// rtnetlink (libmnl): bring the exception TAP up with the node's addresses, read
// next-hop MACs from the kernel's neighbour table on that TAP, and make the kernel
// resolve next hops it does not know yet.
// Control thread only. Every call opens its own NETLINK_ROUTE socket and closes it
// before returning, so there is no shared state; nothing here throws.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ip_addr.h"
#include "result.h"

namespace weir::ctl {

// if_nametoindex; the error names the interface.
result<int> interface_index(const std::string &name);

// Polls until `name` exists (a TAP created by the DPDK tap driver appears a little
// after the port starts); error after `timeout_ms`.
status wait_for_interface(const std::string &name, int timeout_ms);

// RTM_NEWLINK: administratively up / MTU / MAC address of the link.
status set_link_up(int ifindex);
status set_mtu(int ifindex, unsigned mtu);
status set_mac_address(int ifindex, const mac_addr &mac);

// RTM_NEWADDR with NLM_F_REPLACE, so adding an address the link already has is
// not an error. IPv6 addresses skip duplicate address detection (IFA_F_NODAD):
// the node's address is configured by the operator and must be usable at once.
status add_address(int ifindex, const ip_prefix &p);

// One dump of the kernel's neighbour table for one interface (IPv4 and IPv6),
// answering any number of lookups. The control thread takes one dump per
// resolution round and asks it about every next hop: one syscall round trip for
// all backends instead of one per backend.
class neighbour_table {
public:
	static result<neighbour_table> dump(int ifindex);

	// The MAC of `a` when the entry is usable: NUD_REACHABLE, STALE, DELAY, PROBE,
	// PERMANENT or NOARP. Incomplete and failed entries give nullopt.
	std::optional<mac_addr> find(const ip_addr &a) const;

private:
	std::vector<std::pair<ip_addr, mac_addr>> _entries;  // usable entries only, in kernel order
};

// One dump per call; nullopt when the neighbour is unknown, unusable, or the dump
// failed. Prefer neighbour_table for many lookups.
std::optional<mac_addr> lookup_neighbour(int ifindex, const ip_addr &a);

// Makes the kernel resolve `a` on `ifindex` (ARP or neighbour solicitation):
// RTM_NEWNEIGH with NTF_USE, which creates the entry if needed and kicks its
// state machine exactly as an outgoing packet would, without sending one.
// IPv6 solicitations come from the link's link-local address: for a moment after
// the link comes up it has none and the kernel skips its probes, so the caller
// retries (weir's control thread asks again every second until resolved).
// Returns as soon as the kernel has taken the request, without waiting for the
// answer; the error is for the caller to log.
status request_resolution(int ifindex, const ip_addr &a);

}  // namespace weir::ctl
