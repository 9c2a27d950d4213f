// ip_addr.h — an IPv4 or IPv6 address and prefix as the control plane holds them.
// Values only; any thread.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weir_hash.h"

namespace weir::ctl {

// An Ethernet address, as the control plane passes it around.
using mac_addr = std::array<uint8_t, 6>;

// An address in network byte order. IPv4 uses bytes 0..3 and leaves 4..15 zero:
// the same layout as the address words of struct weir_flow_key.
struct ip_addr {
	uint8_t family = WEIR_AF_INET;  // WEIR_AF_INET or WEIR_AF_INET6
	std::array<uint8_t, 16> bytes{};

	bool is_v4() const { return family == WEIR_AF_INET; }
	bool is_v6() const { return family == WEIR_AF_INET6; }

	// Sorted IPv4 before IPv6, then by bytes: the order Maglev indices follow.
	auto operator<=>(const ip_addr &) const = default;
	bool operator==(const ip_addr &) const = default;

	// "10.0.0.1" or "fd00::1"; nullopt when it is neither.
	static std::optional<ip_addr> parse(std::string_view text);
	std::string to_string() const;
};

// An address with a prefix length, e.g. node.ipv4 = "10.10.0.2/24".
struct ip_prefix {
	ip_addr addr;
	uint8_t length = 0;

	bool operator==(const ip_prefix &) const = default;

	// "10.10.0.2/24"; nullopt when the address or the length does not parse or the
	// length exceeds 32 (IPv4) / 128 (IPv6).
	static std::optional<ip_prefix> parse(std::string_view text);
	std::string to_string() const;
	bool contains(const ip_addr &a) const;
};

}  // namespace weir::ctl
