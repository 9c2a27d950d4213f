// config_save.cpp — the TOML writer of config_save.h. Pure text building, and the
// atomic write; whichever thread saves (the control thread in weir).
#include "config_save.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace weir::ctl {

namespace {

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string quoted(const std::string &s)
{
	std::string out = "\"";
	for (char c : s) {
		unsigned char u = static_cast<unsigned char>(c);
		if (c == '"' || c == '\\') {
			out += '\\';
			out += c;
		} else if (u < 0x20 || u == 0x7f) {
			char buf[8];
			std::snprintf(buf, sizeof(buf), "\\u%04x", u);
			out += buf;
		} else {
			out += c;
		}
	}
	return out + "\"";
}

class writer {
public:
	void table(const std::string &header) { _out += (_out.empty() ? "" : "\n") + header + "\n"; }
	// A table header without the blank line before it.
	void tight_table(const std::string &header) { _out += header + "\n"; }
	void str(const std::string &key, const std::string &v, const char *indent = "")
	{
		_out += indent + key + " = " + quoted(v) + "\n";
	}
	void num(const std::string &key, uint64_t v, const char *indent = "")
	{
		_out += indent + key + " = " + std::to_string(v) + "\n";
	}
	void boolean(const std::string &key, bool v) { _out += key + (v ? " = true\n" : " = false\n"); }
	void list(const std::string &key, const std::vector<std::string> &v)
	{
		std::string items;
		for (const std::string &s : v)
			items += (items.empty() ? "" : ", ") + quoted(s);
		_out += key + " = [" + items + "]\n";
	}
	std::string take() { return std::move(_out); }

private:
	std::string _out;
};

std::string hex32(uint32_t v)
{
	char buf[16];
	std::snprintf(buf, sizeof(buf), "%08x", v);
	return buf;
}

std::string octal_mode(uint32_t mode)
{
	char buf[16];
	std::snprintf(buf, sizeof(buf), "%04o", mode);
	return buf;
}

std::string mac_text(const std::array<uint8_t, 6> &m)
{
	char buf[24];
	std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

void write_node(writer &w, const node_config &n)
{
	w.table("[node]");
	w.str("ipv4", n.ipv4.to_string());
	if (n.ipv6)
		w.str("ipv6", n.ipv6->to_string());
	if (n.gateway)
		w.str("gateway", n.gateway->to_string());
	if (n.gateway6)
		w.str("gateway6", n.gateway6->to_string());
	w.str("hash_seed", hex32(n.hash_seed));
}

void write_dataplane(writer &w, const dataplane_config &d)
{
	w.table("[dataplane]");
	w.str("engine", to_string(d.engine));
	w.num("workers", d.workers);
	w.num("flow_table_size", d.flow_table_size);
	w.num("mtu", d.mtu);
	w.num("gue_port", d.gue_port);
	w.table("[dataplane.dpdk]");
	w.list("eal_args", d.dpdk.eal_args);
	if (!d.dpdk.port.empty())
		w.str("port", d.dpdk.port);
	w.boolean("exception_path", d.dpdk.exception_path);
	w.str("tap_name", d.dpdk.tap_name);
	w.table("[dataplane.xdp]");
	if (!d.xdp.interface.empty())
		w.str("interface", d.xdp.interface);
	w.str("mode", to_string(d.xdp.mode));
}

void write_rest(writer &w, const config &cfg)
{
	w.table("[timeouts]");
	w.num("tcp", cfg.timeouts.tcp);
	w.num("tcp_closing", cfg.timeouts.tcp_closing);
	w.num("udp", cfg.timeouts.udp);
	w.table("[control]");
	w.str("socket", cfg.control.socket);
	w.str("socket_mode", octal_mode(cfg.control.socket_mode));
	w.str("metrics_listen", cfg.control.metrics_listen);
}

}  // namespace

std::string vip_toml(const vip_config &v)
{
	writer w;
	w.table("[[vip]]");
	w.str("name", v.name);
	w.str("address", v.address.to_string());
	w.num("port", v.port);
	w.str("protocol", to_string(v.proto));
	w.str("scheduler", to_string(v.scheduler));
	w.str("forwarding", to_string(v.forwarding));
	w.num("table_size", v.table_size);
	w.str("fragments", to_string(v.fragments));
	const health_config &h = v.health;
	w.table("  [vip.health]");
	w.str("kind", to_string(h.kind), "  ");
	if (h.port)
		w.num("port", *h.port, "  ");
	// path is used by http checks only (elsewhere the loader warns about it):
	// written for them, or when it differs from the default, so nothing is lost.
	if (h.kind == health_kind::http || h.path != health_config{}.path)
		w.str("path", h.path, "  ");
	w.num("interval_ms", h.interval_ms, "  ");
	w.num("timeout_ms", h.timeout_ms, "  ");
	w.num("rise", h.rise, "  ");
	w.num("fall", h.fall, "  ");
	if (!v.backends.empty())
		w.tight_table("");
	for (const backend_config &b : v.backends) {
		// Backends are the bulk of a large file (the loader takes at most 4 MiB):
		// one line each where they can, weight only when it is not the default 1.
		w.tight_table("  [[vip.backend]]");
		w.str("address", b.address.to_string(), "  ");
		if (b.weight != backend_config{}.weight)
			w.num("weight", b.weight, "  ");
		if (b.mac)
			w.str("mac", mac_text(*b.mac), "  ");
	}
	return w.take();
}

std::string config_toml(const config &cfg)
{
	writer w;
	w.table("# weir configuration, written by `weirctl save` from the running state.");
	write_node(w, cfg.node);
	write_dataplane(w, cfg.dataplane);
	write_rest(w, cfg);
	std::string out = w.take();
	for (const vip_config &v : cfg.vips)
		out += "\n" + vip_toml(v);
	return out;
}

namespace {

std::string directory_of(const std::string &path)
{
	size_t slash = path.rfind('/');
	if (slash == std::string::npos)
		return ".";
	return slash == 0 ? "/" : path.substr(0, slash);
}

status fail(const std::string &what, const std::string &path, int tmp_fd, const std::string &tmp)
{
	std::string msg = "cannot write " + path + ": " + what + ": " + std::strerror(errno);
	if (tmp_fd >= 0)
		::close(tmp_fd);
	if (!tmp.empty())
		::unlink(tmp.c_str());
	return error{msg};
}

}  // namespace

status write_file_atomically(const std::string &path, const std::string &text)
{
	if (path.empty())
		return error{"cannot write the configuration: no path"};
	std::string tmp = path + ".tmp.XXXXXX";
	int fd = ::mkstemp(tmp.data());
	if (fd < 0)
		return fail("creating a temporary file in " + directory_of(path), path, -1, "");
	struct stat st;
	mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
	if (::fchmod(fd, mode) != 0)
		return fail("fchmod", path, fd, tmp);
	for (size_t off = 0; off < text.size();) {
		ssize_t n = ::write(fd, text.data() + off, text.size() - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("write", path, fd, tmp);
		off += size_t(n);
	}
	if (::fsync(fd) != 0)
		return fail("fsync", path, fd, tmp);
	if (::close(fd) != 0)
		return fail("close", path, -1, tmp);
	if (::rename(tmp.c_str(), path.c_str()) != 0)
		return fail("rename", path, -1, tmp);
	// The rename is durable once the directory is.
	int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir >= 0) {
		::fsync(dir);
		::close(dir);
	}
	return ok();
}

}  // namespace weir::ctl
