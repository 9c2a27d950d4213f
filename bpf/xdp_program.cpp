// xdp_program.cpp — loading weir_lb.bpf.o and publishing snapshots into its maps
// (xdp_program.h). Owner thread only.
#include "xdp_program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "weir_lb.skel.h"

namespace weir::xdp {

namespace {

// libbpf's messages during load(): the verifier's log ends with the reason.
std::string g_last_libbpf_line;

int capture_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	char line[512];
	int n = vsnprintf(line, sizeof(line), fmt, args);
	std::string s(line);
	while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
		s.pop_back();
	if (!s.empty())
		g_last_libbpf_line = s;
	return n;
}

std::string errno_text(int err)
{
	return std::strerror(err < 0 ? -err : err);
}

status map_error(const char *what, int err)
{
	return error{std::string("XDP maps: cannot ") + what + ": " + errno_text(err)};
}

// Creates an array map usable as an inner map of weir_tables / weir_rotations
// holding `values`.
result<int> create_inner(const std::vector<uint32_t> &values)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
	uint32_t n = values.empty() ? 1 : uint32_t(values.size());
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "weir_table", 4, 4, n, &opts);
	if (fd < 0)
		return error{"XDP maps: cannot create a table of " + std::to_string(n) +
		             " entries: " + errno_text(fd)};
	std::vector<uint32_t> keys(values.size());
	for (uint32_t i = 0; i < keys.size(); i++)
		keys[i] = i;
	uint32_t count = uint32_t(values.size());
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	if (count && bpf_map_update_batch(fd, keys.data(), values.data(), &count, &bopts) != 0) {
		int err = errno;
		::close(fd);
		return error{"XDP maps: cannot fill a table: " + errno_text(err)};
	}
	return fd;
}

}  // namespace

unsigned program::possible_cpus()
{
	int n = libbpf_num_possible_cpus();
	return n > 0 ? unsigned(n) : 1u;
}

result<std::unique_ptr<program>> program::load(const program_options &opt)
{
	libbpf_set_print(capture_libbpf);
	std::unique_ptr<program> p(new program());
	p->_skel = weir_lb::open();
	if (!p->_skel)
		return error{"XDP: cannot open the embedded weir_lb.bpf.o: " + errno_text(errno)};
	p->_flow_capacity = opt.flow_table_size;
	if (int err = bpf_map__set_max_entries(p->_skel->maps.weir_flows, opt.flow_table_size); err != 0)
		return error{"XDP: cannot size the flow table: " + errno_text(err)};
	g_last_libbpf_line.clear();
	if (int err = weir_lb::load(p->_skel); err != 0)
		return error{"XDP program weir_lb rejected by the kernel (" + errno_text(err) +
		             "): " + g_last_libbpf_line};
	auto fence = create_inner({0});
	if (!fence)
		return error{fence.error_message()};
	p->_fence_fd = *fence;
	if (status st = p->set_state(0, 0); !st)
		return error{st.error_message()};
	return p;
}

program::~program()
{
	for (auto &[key, t] : _inner)
		::close(t.fd);
	if (_fence_fd >= 0)
		::close(_fence_fd);
	if (_skel)
		weir_lb::destroy(_skel);
}

int program::prog_fd() const
{
	return bpf_program__fd(_skel->progs.weir_lb);
}

status program::set_state(uint32_t generation, uint32_t fixed_now)
{
	weir_xdp_state st{generation, fixed_now};
	uint32_t zero = 0;
	if (bpf_map_update_elem(bpf_map__fd(_skel->maps.weir_state), &zero, &st, BPF_ANY) != 0)
		return map_error("set the generation", errno);
	return ok();
}

status program::set_clock(uint32_t now)
{
	_fixed_now = now;
	return set_state(_generation, now);
}

uint32_t program::now() const
{
	if (_fixed_now)
		return _fixed_now;
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);  // bpf_ktime_get_ns's clock
	return uint32_t(ts.tv_sec);
}

status program::write_backends(const dp::snapshot &s, uint32_t half)
{
	int fd = bpf_map__fd(_skel->maps.weir_backends);
	half_state &h = _halves[half];
	std::vector<bool> present(WEIR_MAX_BACKENDS, false);
	std::vector<uint32_t> ids;
	for (uint32_t id = 0; id < s.backends.size() && id < WEIR_MAX_BACKENDS; id++) {
		if (s.backends[id].ref == 0)
			continue;
		uint32_t slot = half * WEIR_MAX_BACKENDS + id;
		if (bpf_map_update_elem(fd, &slot, &s.backends[id], BPF_ANY) != 0)
			return map_error("write a backend", errno);
		present[id] = true;
		ids.push_back(id);
	}
	const weir_backend empty{};
	for (uint32_t id : h.backend_ids) {
		uint32_t slot = half * WEIR_MAX_BACKENDS + id;
		if (!present[id] && bpf_map_update_elem(fd, &slot, &empty, BPF_ANY) != 0)
			return map_error("clear a backend", errno);
	}
	h.backend_ids = std::move(ids);
	int list = bpf_map__fd(_skel->maps.weir_vip_backends);
	for (uint32_t k = 0; k < s.vip_backends.size() && k < WEIR_MAX_BACKENDS; k++) {
		uint32_t slot = half * WEIR_MAX_BACKENDS + k;
		if (bpf_map_update_elem(list, &slot, &s.vip_backends[k], BPF_ANY) != 0)
			return map_error("write a VIP's backend list", errno);
	}
	h.vip_backends = uint32_t(s.vip_backends.size());
	return ok();
}

status program::write_vips(const dp::snapshot &s, uint32_t half)
{
	int fd = bpf_map__fd(_skel->maps.weir_vips);
	for (uint32_t id = 0; id < s.vips.size(); id++) {
		uint32_t slot = half * WEIR_MAX_VIPS + id;
		if (bpf_map_update_elem(fd, &slot, &s.vips[id], BPF_ANY) != 0)
			return map_error("write a VIP", errno);
	}
	uint32_t slot = half;
	if (bpf_map_update_elem(bpf_map__fd(_skel->maps.weir_nodes), &slot, &s.node, BPF_ANY) != 0)
		return map_error("write the node parameters", errno);
	return ok();
}

result<int> program::table_fd(const std::shared_ptr<const dp::vip_table> &t, bool rotation)
{
	auto key = std::make_pair(t.get(), rotation);
	if (auto it = _inner.find(key); it != _inner.end())
		return it->second.fd;
	std::vector<uint32_t> values;
	if (rotation) {
		values.push_back(uint32_t(t->slots.size()));  // entry 0: the rotation's length
		values.insert(values.end(), t->slots.begin(), t->slots.end());
	} else {
		values = t->slots;
	}
	auto fd = create_inner(values);
	if (fd)
		_inner[key] = inner_table{t, *fd};
	return fd;
}

status program::write_tables(const dp::snapshot &s, uint32_t half)
{
	half_state &h = _halves[half];
	std::set<std::pair<const dp::vip_table *, bool>> used;
	auto write = [&](int outer, const std::vector<std::shared_ptr<const dp::vip_table>> &tables,
	                 bool rotation, std::vector<uint32_t> &slots) -> status {
		std::vector<uint32_t> written;
		for (uint32_t id = 0; id < tables.size(); id++) {
			const auto &t = tables[id];
			if (!t || t->slots.empty())
				continue;
			if (!rotation && t->slots.size() != s.vips[id].table_size)
				return error{"XDP maps: VIP " + s.vip_names[id] + ": table of " +
				             std::to_string(t->slots.size()) + " slots for table_size " +
				             std::to_string(s.vips[id].table_size)};
			auto fd = table_fd(t, rotation);
			if (!fd)
				return error{fd.error_message()};
			uint32_t slot = half * WEIR_MAX_VIPS + id;
			if (bpf_map_update_elem(outer, &slot, &*fd, BPF_ANY) != 0)
				return map_error("insert a VIP's table", errno);
			used.insert({t.get(), rotation});
			written.push_back(slot);
		}
		for (uint32_t slot : slots)
			if (std::find(written.begin(), written.end(), slot) == written.end())
				bpf_map_delete_elem(outer, &slot);
		slots = std::move(written);
		return ok();
	};
	if (status st = write(bpf_map__fd(_skel->maps.weir_tables), s.tables, false, h.table_slots); !st)
		return st;
	if (status st = write(bpf_map__fd(_skel->maps.weir_rotations), s.rotations, true, h.rotation_slots);
	    !st)
		return st;
	h.tables = std::move(used);
	return ok();
}

status program::write_keys(const dp::snapshot &s, uint32_t half)
{
	auto write = [&](int fd, const dp::vip_index &index, std::vector<weir_xdp_vip_key> &old) -> status {
		std::vector<weir_xdp_vip_key> keys;
		index.for_each([&](const weir_vip_key &k, uint32_t id) {
			weir_xdp_vip_key key{};
			key.key = k;
			key.generation = half;
			keys.push_back(key);
			if (bpf_map_update_elem(fd, &key, &id, BPF_ANY) != 0)
				keys.back().generation = UINT32_MAX;  // marks the failure
		});
		for (const weir_xdp_vip_key &k : keys)
			if (k.generation == UINT32_MAX)
				return map_error("insert a VIP key", errno);
		for (const weir_xdp_vip_key &k : old) {
			bool kept = std::any_of(keys.begin(), keys.end(), [&](const weir_xdp_vip_key &n) {
				return std::memcmp(&n, &k, sizeof(k)) == 0;
			});
			if (!kept)
				bpf_map_delete_elem(fd, &k);
		}
		old = std::move(keys);
		return ok();
	};
	half_state &h = _halves[half];
	if (status st = write(bpf_map__fd(_skel->maps.weir_vip_keys), s.by_key, h.keys); !st)
		return st;
	return write(bpf_map__fd(_skel->maps.weir_vip_addrs), s.by_addr, h.addr_keys);
}

void program::release_unused_tables()
{
	for (auto it = _inner.begin(); it != _inner.end();) {
		bool used = _halves[0].tables.count(it->first) || _halves[1].tables.count(it->first);
		if (used) {
			++it;
			continue;
		}
		::close(it->second.fd);
		it = _inner.erase(it);
	}
}

status program::publish(const dp::snapshot &s)
{
	if (s.vips.size() > WEIR_MAX_VIPS)
		return error{"XDP maps: more than " + std::to_string(WEIR_MAX_VIPS) + " VIPs"};
	uint32_t half = _generation ^ 1;
	if (status st = write_backends(s, half); !st)
		return st;
	if (status st = write_vips(s, half); !st)
		return st;
	if (status st = write_tables(s, half); !st)
		return st;
	if (status st = write_keys(s, half); !st)
		return st;
	if (status st = set_state(half, _fixed_now); !st)
		return st;
	_generation = half;
	// The kernel returns from an update of a map-in-map only after every program
	// that may have read the old value has finished: after this, no packet reads
	// the half that was current before the flip, and the next publish may write it.
	uint32_t fence = WEIR_XDP_FENCE_SLOT;
	if (bpf_map_update_elem(bpf_map__fd(_skel->maps.weir_tables), &fence, &_fence_fd, BPF_ANY) != 0)
		return map_error("wait for packets on the old generation", errno);
	release_unused_tables();
	return ok();
}

status program::reset_state()
{
	int flows = bpf_map__fd(_skel->maps.weir_flows);
	weir_xdp_flow_key key{}, next{};
	while (bpf_map_get_next_key(flows, nullptr, &next) == 0) {
		key = next;
		if (bpf_map_delete_elem(flows, &key) != 0)
			return map_error("clear the flow table", errno);
	}
	auto zero_array = [](int fd, uint32_t entries, size_t value_size) -> status {
		std::vector<uint8_t> zeros(value_size, 0);
		for (uint32_t i = 0; i < entries; i++)
			if (bpf_map_update_elem(fd, &i, zeros.data(), BPF_ANY) != 0)
				return map_error("clear packet state", errno);
		return ok();
	};
	unsigned cpus = possible_cpus();
	if (status st = zero_array(bpf_map__fd(_skel->maps.weir_active), WEIR_MAX_BACKENDS, 4); !st)
		return st;
	if (status st = zero_array(bpf_map__fd(_skel->maps.weir_swept), WEIR_MAX_BACKENDS, 4); !st)
		return st;
	std::fill(_swept.begin(), _swept.end(), 0);
	_sweep_resume = false;
	if (status st = zero_array(bpf_map__fd(_skel->maps.weir_wrr_cursors), WEIR_MAX_VIPS, 8 * cpus); !st)
		return st;
	return zero_array(bpf_map__fd(_skel->maps.weir_icmp), 1, sizeof(weir_xdp_icmp_budget) * cpus);
}

std::vector<uint64_t> program::counter(uint32_t index) const
{
	std::vector<uint64_t> v(possible_cpus(), 0);
	if (bpf_map_lookup_elem(bpf_map__fd(_skel->maps.weir_counters), &index, v.data()) != 0)
		std::fill(v.begin(), v.end(), 0);
	return v;
}

namespace {

// Sets a single-writer counter to `v` (the engine's copy of a BPF counter).
void set_counter(dp::counter &c, uint64_t v)
{
	c.add(v - c.get());
}

// All entries of a per-CPU array of weir_xdp_traffic, CPU-major per entry.
std::vector<weir_xdp_traffic> read_traffic(int fd, uint32_t entries, unsigned cpus)
{
	std::vector<weir_xdp_traffic> all(size_t(entries) * cpus);
	std::vector<uint32_t> keys(entries);
	uint32_t count = entries, out_batch = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	if (bpf_map_lookup_batch(fd, nullptr, &out_batch, keys.data(), all.data(), &count, &opts) != 0 &&
	    errno != ENOENT)
		std::fill(all.begin(), all.end(), weir_xdp_traffic{});
	return all;
}

}  // namespace

void program::read_counters(std::vector<dp::worker_counters> &per_cpu) const
{
	unsigned cpus = possible_cpus();
	int fd = bpf_map__fd(_skel->maps.weir_counters);
	std::vector<uint64_t> v(cpus);
	auto get = [&](uint32_t index) {
		if (bpf_map_lookup_elem(fd, &index, v.data()) != 0)
			std::fill(v.begin(), v.end(), 0);
	};
	struct field {
		uint32_t index;
		dp::counter dp::worker_counters::*member;
	};
	static constexpr field fields[] = {
	        {WEIR_XDP_RX_PACKETS, &dp::worker_counters::rx_packets},
	        {WEIR_XDP_RX_BYTES, &dp::worker_counters::rx_bytes},
	        {WEIR_XDP_TX_PACKETS, &dp::worker_counters::tx_packets},
	        {WEIR_XDP_TX_BYTES, &dp::worker_counters::tx_bytes},
	        {WEIR_XDP_PASS_PACKETS, &dp::worker_counters::pass_packets},
	        {WEIR_XDP_ICMP_SENT, &dp::worker_counters::icmp_sent},
	        {WEIR_XDP_ICMP_RATE_LIMITED, &dp::worker_counters::icmp_rate_limited},
	        {WEIR_XDP_ICMP_FORWARDED, &dp::worker_counters::icmp_forwarded},
	        {WEIR_XDP_FRAGMENTS_FORWARDED, &dp::worker_counters::fragments_forwarded},
	        {WEIR_XDP_UNTRACKED_COLLISIONS, &dp::worker_counters::untracked_collisions},
	        {WEIR_XDP_UNTRACKED, &dp::worker_counters::untracked},
	};
	for (const field &f : fields) {
		get(f.index);
		for (unsigned c = 0; c < cpus && c < per_cpu.size(); c++)
			set_counter(per_cpu[c].*f.member, v[c]);
	}
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++) {
		get(WEIR_XDP_DROPS + r);
		for (unsigned c = 0; c < cpus && c < per_cpu.size(); c++)
			set_counter(per_cpu[c].drops[r], v[c]);
	}
	auto traffic = [&](int map, uint32_t entries,
	                   std::unique_ptr<dp::traffic_counters[]> dp::worker_counters::*m) {
		std::vector<weir_xdp_traffic> all = read_traffic(map, entries, cpus);
		for (uint32_t i = 0; i < entries; i++)
			for (unsigned c = 0; c < cpus && c < per_cpu.size(); c++) {
				const weir_xdp_traffic &t = all[size_t(i) * cpus + c];
				set_counter((per_cpu[c].*m)[i].packets, t.packets);
				set_counter((per_cpu[c].*m)[i].bytes, t.bytes);
			}
	};
	traffic(bpf_map__fd(_skel->maps.weir_vip_traffic), WEIR_MAX_VIPS, &dp::worker_counters::vip);
	traffic(bpf_map__fd(_skel->maps.weir_backend_traffic), WEIR_MAX_BACKENDS,
	        &dp::worker_counters::backend);
}

std::optional<flow_view> program::find_flow(uint32_t hash, uint32_t sig) const
{
	weir_xdp_flow_key key{hash, sig};
	weir_xdp_flow value{};
	// A lookup from user space does not move the entry in the LRU order.
	if (bpf_map_lookup_elem(bpf_map__fd(_skel->maps.weir_flows), &key, &value) != 0)
		return std::nullopt;
	if (int32_t(value.expires - now()) <= 0)
		return std::nullopt;
	return flow_view{value.backend_ref, value.expires, value.state};
}

uint32_t program::sweep(uint32_t budget)
{
	int fd = bpf_map__fd(_skel->maps.weir_flows), swept = bpf_map__fd(_skel->maps.weir_swept);
	uint32_t t = now(), reclaimed = 0;
	weir_xdp_flow_key key{}, next{};
	// A resumed key deleted meanwhile makes get_next_key start over: harmless.
	if (_sweep_resume)
		key = _sweep_next;
	else if (bpf_map_get_next_key(fd, nullptr, &key) != 0)
		return 0;  // empty
	_sweep_resume = false;
	for (uint32_t i = 0; i < budget; i++) {
		// The next key first: a deleted key cannot lead on.
		bool more = bpf_map_get_next_key(fd, &key, &next) == 0;
		weir_xdp_flow v{};
		if (bpf_map_lookup_elem(fd, &key, &v) == 0 && int32_t(v.expires - t) <= 0 &&
		    bpf_map_delete_elem(fd, &key) == 0) {
			uint32_t id = WEIR_BACKEND_ID(v.backend_ref);
			_swept[id]++;
			bpf_map_update_elem(swept, &id, &_swept[id], BPF_ANY);
			reclaimed++;
		}
		if (!more)
			return reclaimed;  // the table's end: the next call starts over
		key = next;
	}
	_sweep_next = key;
	_sweep_resume = true;
	return reclaimed;
}

}  // namespace weir::xdp
