// ip_addr.cpp — parsing and printing of addresses and prefixes. Pure functions.
#include "ip_addr.h"

#include <arpa/inet.h>

#include <charconv>

namespace weir::ctl {

std::optional<ip_addr> ip_addr::parse(std::string_view text)
{
	std::string s(text);  // inet_pton needs a terminated string
	ip_addr a;
	if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
		a.family = WEIR_AF_INET;
		return a;
	}
	if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
		a.family = WEIR_AF_INET6;
		return a;
	}
	return std::nullopt;
}

std::string ip_addr::to_string() const
{
	char buf[INET6_ADDRSTRLEN];
	inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
	return buf;
}

std::optional<ip_prefix> ip_prefix::parse(std::string_view text)
{
	auto slash = text.find('/');
	if (slash == std::string_view::npos)
		return std::nullopt;
	auto addr = ip_addr::parse(text.substr(0, slash));
	if (!addr)
		return std::nullopt;
	auto len_text = text.substr(slash + 1);
	unsigned len = 0;
	auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
	if (ec != std::errc() || end != len_text.data() + len_text.size() || len_text.empty())
		return std::nullopt;
	if (len > (addr->is_v4() ? 32u : 128u))
		return std::nullopt;
	return ip_prefix{*addr, static_cast<uint8_t>(len)};
}

std::string ip_prefix::to_string() const
{
	return addr.to_string() + "/" + std::to_string(length);
}

bool ip_prefix::contains(const ip_addr &a) const
{
	if (a.family != addr.family)
		return false;
	unsigned full = length / 8, rest = length % 8;
	for (unsigned i = 0; i < full; i++)
		if (a.bytes[i] != addr.bytes[i])
			return false;
	if (rest == 0)
		return true;
	uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
	return (a.bytes[full] & mask) == (addr.bytes[full] & mask);
}

}  // namespace weir::ctl
