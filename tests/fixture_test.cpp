// fixture_test.cpp — runs the fixture table (fixtures.h) through the C++ pipeline
// as the daemon would: configuration text -> ctl::build_snapshot (one backend
// registry per fixture, so world changes keep backend refs) -> dp::pipeline with a
// fresh flow table and counters. Every fixture runs step by step; the fixtures
// that allow it also run together, a world at a time, in full bursts. Any
// mismatch fails with a frame diff; every TX frame is also checked on its own
// (checksums, inner packet unchanged, ICMP quote), so a wrong expectation in the
// table does not pass silently either.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "fixtures.h"
#include "packet_builder.h"
#include "pipeline.h"
#include "snapshot_builder.h"

namespace weir::test {

// gtest prints a parameter with this (found by argument-dependent lookup).
void PrintTo(const fixture &f, std::ostream *os)
{
	*os << f.name;
}

namespace {

constexpr uint32_t guard = 64;  // bytes around each buffer that the pipeline must not touch
constexpr uint8_t canary = 0xa5;

// Counter values, to compare before and after a step.
struct counts {
	std::array<uint64_t, size_t(counter_id::count)> v{};
	std::array<uint64_t, WEIR_DROP__COUNT> drops{};
	uint64_t rx = 0;
	uint64_t tx_bytes = 0;
};

// One worker's pipeline and the control-plane state that feeds it.
class rig {
public:
	rig()
	{
		auto t = dp::flow_table::create(1u << 16);
		if (!t)
			throw std::runtime_error(t.error_message());
		_flows = std::move(*t);
		_pipe = std::make_unique<dp::pipeline>(*_flows, _ctr);
	}

	// Builds and publishes the snapshot of `w`; "" or the reason it failed.
	std::string publish(const world &w)
	{
		ctl::config_report report = ctl::load_config_text(w.config, w.name);
		if (!report.valid()) {
			std::string out = "world " + w.name + " is not a valid configuration:\n";
			for (const ctl::config_problem &p : report.problems)
				out += p.to_string() + "\n";
			return out;
		}
		ctl::host_facts host;
		host.port_mac = w.port_mac;
		host.icmp_rate = w.icmp_rate;
		host.resolve = [n = w.neighbours](const ctl::ip_addr &a) -> std::optional<ctl::mac_addr> {
			for (const auto &[addr, mac] : n)
				if (ctl::ip_addr::parse(addr) == a)
					return mac;
			return std::nullopt;
		};
		auto s = ctl::build_snapshot(*report.cfg, host, _registry, _snap.get());
		if (!s)
			return "world " + w.name + ": " + s.error_message();
		_snap = *s;
		return "";
	}

	void process(dp::frame *frames, uint8_t *verdicts, uint32_t n, uint32_t now)
	{
		_pipe->process(*_snap, frames, verdicts, n, now);
	}

	counts read() const
	{
		counts c;
		auto set = [&](counter_id id, uint64_t v) { c.v[size_t(id)] = v; };
		set(counter_id::tx_packets, _ctr.tx_packets.get());
		set(counter_id::pass_packets, _ctr.pass_packets.get());
		set(counter_id::icmp_sent, _ctr.icmp_sent.get());
		set(counter_id::icmp_rate_limited, _ctr.icmp_rate_limited.get());
		set(counter_id::icmp_forwarded, _ctr.icmp_forwarded.get());
		set(counter_id::fragments_forwarded, _ctr.fragments_forwarded.get());
		set(counter_id::untracked, _ctr.untracked.get());
		set(counter_id::flows_inserted, _flows->counters().inserted);
		set(counter_id::flows_expired, _flows->counters().expired);
		set(counter_id::flows_rechosen, _flows->counters().rechosen);
		for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++)
			c.drops[r] = _ctr.drops[r].get();
		c.rx = _ctr.rx_packets.get();
		c.tx_bytes = _ctr.tx_bytes.get();
		return c;
	}

	const dp::snapshot &snap() const { return *_snap; }

private:
	ctl::backend_registry _registry;
	std::shared_ptr<const dp::snapshot> _snap;
	std::unique_ptr<dp::flow_table> _flows;
	dp::worker_counters _ctr;
	std::unique_ptr<dp::pipeline> _pipe;
};

// A frame in its own buffer with `headroom` bytes before it and guard bytes around.
class buffer {
public:
	buffer(const frame &in, uint32_t headroom) : _bytes(2 * guard + headroom + in.size(), canary)
	{
		std::copy(in.begin(), in.end(), _bytes.begin() + guard + headroom);
		_end = guard + headroom + in.size();
		f = {_bytes.data() + guard + headroom, uint32_t(in.size()), headroom};
	}

	frame out() const { return frame(f.data, f.data + f.len); }

	// "" when the pipeline stayed inside the buffer and kept data - headroom fixed.
	std::string bounds_problem() const
	{
		const uint8_t *start = _bytes.data() + guard;
		if (f.data - f.headroom != start)
			return "data - headroom moved";
		if (f.data < start || f.data + f.len > _bytes.data() + _end)
			return "frame outside its buffer";
		for (size_t i = 0; i < guard; i++)
			if (_bytes[i] != canary || _bytes[_end + i] != canary)
				return "wrote outside the buffer";
		return "";
	}

	dp::frame f;

private:
	std::vector<uint8_t> _bytes;
	size_t _end;
};

const char *verdict_name(uint8_t v)
{
	return v == WEIR_VERDICT_TX     ? "TX"
	       : v == WEIR_VERDICT_PASS ? "PASS"
	       : v == WEIR_VERDICT_DROP ? "DROP"
	                                : "?";
}

const char *drop_name(uint32_t r)
{
	static const char *names[] = {
#define WEIR_DROP(name, help) #name,
#include "weir_drop_reasons.def"
#undef WEIR_DROP
	};
	return r < WEIR_DROP__COUNT ? names[r] : "?";
}

uint16_t get16(const frame &f, size_t off)
{
	return uint16_t(f[off] << 8 | f[off + 1]);
}

// Offset of the IP header after Ethernet and VLAN tags.
size_t l3_offset(const frame &f)
{
	size_t off = 14;
	while (off + 4 <= f.size() && (get16(f, off - 2) == 0x8100 || get16(f, off - 2) == 0x88a8))
		off += 4;
	return off;
}

// The IP packet of an input frame (its padding cut off).
frame ip_packet(const frame &f, size_t l3)
{
	size_t len = f[l3] >> 4 == 4 ? get16(f, l3 + 2) : 40u + get16(f, l3 + 4);
	return frame(f.begin() + l3, f.begin() + l3 + len);
}

bool same_bytes(const frame &f, size_t off, const uint8_t *p, size_t n)
{
	return off + n <= f.size() && std::equal(p, p + n, f.begin() + off);
}

std::string check_reply(const frame &in_ip, const frame &out, size_t l3, bool v4)
{
	size_t push = v4 ? 28 : 48, max = v4 ? 576 : 1280;
	if (!l4_checksum_ok(out, l3))
		return "ICMP checksum wrong";
	if (out[l3 + (v4 ? 20 : 40)] != (v4 ? 3 : 2))
		return "not a fragmentation-needed / packet-too-big";
	size_t len = out.size() - l3;
	if (len > in_ip.size() || len > max)
		return "reply longer than the trigger or the RFC limit";
	if (!same_bytes(out, l3 + push, in_ip.data(), len - push))
		return "quote is not the start of the trigger";
	return "";
}

// Properties of a TX frame that hold whatever the table says: "" or a problem.
std::string check_tx(const frame &in, const frame &out, const dp::snapshot &s)
{
	size_t l3 = l3_offset(in);
	if (l3_offset(out) != l3 || out.size() < l3 + 20)
		return "L2 header changed length";
	if (!std::equal(s.node.mac, s.node.mac + 6, out.begin() + 6))
		return "source MAC is not the port's";
	if (!std::equal(in.begin() + 12, in.begin() + long(l3) - 2, out.begin() + 12))
		return "VLAN tags changed";
	frame in_ip = ip_packet(in, l3);
	if (std::equal(in.begin() + long(l3) - 2, in.end(), out.begin() + long(l3) - 2, out.end()))
		return "";  // l2dsr: only the MACs changed
	bool v4 = out[l3] >> 4 == 4;
	const uint8_t *node = v4 ? reinterpret_cast<const uint8_t *>(&s.node.ipv4)
	                         : reinterpret_cast<const uint8_t *>(s.node.ipv6);
	if (v4 && !ipv4_header_checksum_ok(out, l3))
		return "outer IPv4 header checksum wrong";
	if (!same_bytes(out, l3 + (v4 ? 12 : 8), node, v4 ? 4 : 16))
		return check_reply(in_ip, out, l3, v4);  // from the VIP: weir's ICMP error
	uint8_t proto = out[l3 + (v4 ? 9 : 6)];
	size_t inner = l3 + (v4 ? 20 : 40);
	if (proto == 17) {
		if (!v4 && !l4_checksum_ok(out, l3))
			return "outer UDP checksum over IPv6 wrong";
		if (get16(out, inner) < 49152)
			return "GUE source port outside 49152-65535";
		inner += 8;
	} else if (proto != 4 && proto != 41) {
		return "unknown outer protocol";
	}
	if (out.size() - inner != in_ip.size() || !same_bytes(out, inner, in_ip.data(), in_ip.size()))
		return "inner packet changed";
	return "";
}

std::string describe(const std::string &where, const step &s)
{
	return where + " (expected " + verdict_name(s.verdict) +
	       (s.reason ? std::string(" ") + drop_name(*s.reason) : "") + ")";
}

void check_frame(const std::string &where, const step &s, uint8_t verdict, const buffer &b,
                 const dp::snapshot &snap)
{
	EXPECT_EQ(verdict_name(verdict), std::string(verdict_name(s.verdict))) << describe(where, s);
	EXPECT_EQ(b.bounds_problem(), "") << where;
	if (s.verdict == WEIR_VERDICT_DROP || verdict != s.verdict)
		return;
	frame got = b.out();
	std::string diff = frame_diff(s.output, got);
	EXPECT_TRUE(diff.empty()) << describe(where, s) << ": frame differs\n" << diff;
	if (s.verdict == WEIR_VERDICT_TX) {
		EXPECT_EQ(check_tx(s.input, got, snap), "") << where;
	}
}

// What `steps` must do to the counters, added to `c`.
void add_expected(counts &c, const std::vector<const step *> &steps)
{
	for (const step *s : steps) {
		c.rx++;
		for (const counter_delta &d : s->counters)
			c.v[size_t(d.id)] += uint64_t(d.delta);
		if (s->reason)
			c.drops[*s->reason]++;
		if (s->verdict == WEIR_VERDICT_TX && !s->reason)
			c.tx_bytes += s->output.size();
	}
}

void check_counts(const std::string &where, counts want, const counts &got)
{
	for (size_t i = 0; i < want.v.size(); i++)
		EXPECT_EQ(got.v[i], want.v[i]) << where << ": counter " << to_string(counter_id(i));
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++)
		EXPECT_EQ(got.drops[r], want.drops[r]) << where << ": drop counter " << drop_name(r);
	EXPECT_EQ(got.rx, want.rx) << where << ": rx_packets";
	EXPECT_EQ(got.tx_bytes, want.tx_bytes) << where << ": tx_bytes";
}

// Runs `steps` (at most max_burst, one clock value) as one burst and checks them.
void run_burst(rig &r, const std::vector<const step *> &steps, const std::vector<std::string> &names)
{
	std::vector<buffer> bufs;
	std::vector<dp::frame> frames;
	bufs.reserve(steps.size());
	for (const step *s : steps) {
		bufs.emplace_back(s->input, s->headroom);
		frames.push_back(bufs.back().f);
	}
	std::vector<uint8_t> verdicts(steps.size(), 0xff);
	counts want = r.read();
	add_expected(want, steps);
	r.process(frames.data(), verdicts.data(), uint32_t(frames.size()), steps.front()->now);
	for (size_t i = 0; i < steps.size(); i++) {
		bufs[i].f = frames[i];
		check_frame(names[i], *steps[i], verdicts[i], bufs[i], r.snap());
	}
	check_counts(names.size() == 1 ? names[0] : "burst of " + std::to_string(steps.size()), want,
	             r.read());
}

class fixture_table : public ::testing::TestWithParam<fixture> {};

TEST_P(fixture_table, step_by_step)
{
	const fixture &fx = GetParam();
	rig r;
	ASSERT_EQ(r.publish(fx.start), "");
	for (size_t i = 0; i < fx.steps.size(); i++) {
		const step &s = fx.steps[i];
		std::string where = fx.name + " step " + std::to_string(i + 1);
		if (s.change) {
			ASSERT_EQ(r.publish(*s.change), "") << where;
		}
		run_burst(r, {&s}, {where});
	}
}

std::string test_name(const ::testing::TestParamInfo<fixture> &info)
{
	return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(pipeline, fixture_table, ::testing::ValuesIn(all_fixtures()), test_name);

// The burst path: every fixture that allows it, a world at a time, in bursts of
// max_burst frames that mix fixtures (each fixture's steps stay in order).
TEST(fixture_bursts, whole_table_in_bursts)
{
	std::map<std::string, std::vector<const fixture *>> by_world;
	std::vector<fixture> all = all_fixtures();
	for (const fixture &f : all)
		if (f.burst)
			by_world[f.start.name].push_back(&f);
	size_t largest = 0;
	for (const auto &[name, fixtures] : by_world) {
		rig r;
		ASSERT_EQ(r.publish(fixtures.front()->start), "");
		std::vector<const step *> steps;
		std::vector<std::string> names;
		auto flush = [&] {
			if (!steps.empty())
				run_burst(r, steps, names);
			largest = std::max(largest, steps.size());
			steps.clear();
			names.clear();
		};
		for (const fixture *f : fixtures) {
			ASSERT_EQ(f->start.config, fixtures.front()->start.config)
			        << "two worlds named " << name;
			for (size_t i = 0; i < f->steps.size(); i++) {
				const step &s = f->steps[i];
				ASSERT_FALSE(s.change)
				        << f->name << " changes its world: not a burst fixture";
				if (steps.size() == dp::pipeline::max_burst ||
				    (!steps.empty() && steps[0]->now != s.now))
					flush();
				steps.push_back(&s);
				names.push_back("burst: " + f->name + " step " + std::to_string(i + 1));
			}
		}
		flush();
	}
	EXPECT_EQ(largest, size_t(dp::pipeline::max_burst)) << "no full burst: too few burst fixtures";
}

// The table itself: big enough, and every drop the pipeline decides has a fixture.
TEST(fixture_table_contents, covers_every_verdict_and_drop_reason)
{
	std::vector<fixture> all = all_fixtures();
	EXPECT_GE(all.size(), 60u);
	std::array<bool, WEIR_DROP__COUNT> reasons{};
	std::array<bool, 3> verdicts{};
	for (const fixture &f : all)
		for (const step &s : f.steps) {
			verdicts[s.verdict] = true;
			if (s.reason)
				reasons[*s.reason] = true;
		}
	for (uint32_t r = 0; r < WEIR_DROP__COUNT; r++) {
		if (r != WEIR_DROP_tx_full) {  // the engine's, after the pipeline
			EXPECT_TRUE(reasons[r]) << "no fixture for drop reason " << drop_name(r);
		}
	}
	EXPECT_TRUE(verdicts[WEIR_VERDICT_TX] && verdicts[WEIR_VERDICT_PASS] && verdicts[WEIR_VERDICT_DROP]);
	EXPECT_FALSE(fixture_inputs().empty());
}

}  // namespace
}  // namespace weir::test
