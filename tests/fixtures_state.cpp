// fixtures_state.cpp — fixtures of choices and memory: each scheduler's choice
// of backend for new flows, and connection tracking across time and table
// changes (drains, additions, removals, FIN/RST and UDP timeouts). Test code only.
#include "fixtures_detail.h"

namespace weir::test::fx {
namespace {

constexpr uint8_t tcp = 6, udp = 17;

// A TCP packet client:sport -> vip:80 in `w` to `backend` (ipip), at `now`.
step at(const world &w, uint32_t seed, const std::string &client, const std::string &vip, uint16_t sport,
        uint8_t flags, const std::string &backend, uint32_t now, std::vector<counter_delta> moved = {})
{
	step s = to_backend(tcp_in(client, vip, sport, 80, flags), w, mode::ipip, backend,
	                    flow_hash(client, vip, tcp, sport, 80, seed), std::move(moved));
	s.now = now;
	return s;
}

// New flows to a sched-world VIP, in order, each to the backend listed.
std::vector<step> new_flows(const std::string &vip, uint16_t first_port,
                            const std::vector<std::string> &backends)
{
	world w = sched_world();
	std::vector<step> steps;
	for (size_t i = 0; i < backends.size(); i++)
		steps.push_back(at(w, sched_seed, client4, vip, uint16_t(first_port + i), tcp_syn,
		                   backends[i], 1000, {inserted()}));
	return steps;
}

std::vector<fixture> schedulers()
{
	std::vector<fixture> out;
	world w = sched_world();
	const std::string b21 = "10.10.0.21", b22 = "10.10.0.22", b23 = "10.10.0.23";
	// Golden (seed 0badcafe, table 1009, equal weights): 198.51.100.7 ports 42001,
	// 42002, 42004 -> .22, .23, .21. A change of the hash or the table builder
	// must break this fixture.
	out.push_back(
	        seq("maglev_golden_backends", w,
	            {at(w, sched_seed, client4, "10.10.2.1", 42001, tcp_syn, b22, 1000, {inserted()}),
	             at(w, sched_seed, client4, "10.10.2.1", 42002, tcp_syn, b23, 1000, {inserted()}),
	             at(w, sched_seed, client4, "10.10.2.1", 42004, tcp_syn, b21, 1000, {inserted()})}));
	// Golden: source 198.51.100.7 -> .23 whatever its port; .9 -> .21; 203.0.113.5 -> .22.
	out.push_back(seq(
	        "maglev_src_one_source_one_backend", w,
	        {at(w, sched_seed, client4, "10.10.2.2", 42010, tcp_syn, b23, 1000, {inserted()}),
	         at(w, sched_seed, client4, "10.10.2.2", 42011, tcp_syn, b23, 1000, {inserted()}),
	         at(w, sched_seed, "198.51.100.9", "10.10.2.2", 42010, tcp_syn, b21, 1000, {inserted()}),
	         at(w, sched_seed, "203.0.113.5", "10.10.2.2", 42010, tcp_syn, b22, 1000, {inserted()})}));
	// Weights 1:2:3 over six new flows: exactly 1, 2, 3, in the smooth order
	// (heavy backends spread out, not in runs).
	out.push_back(seq("wrr_weights_1_2_3_smooth_order", w,
	                  new_flows("10.10.2.3", 42020, {b23, b22, b21, b23, b22, b23}), false));
	// Packets of a tracked flow neither move it nor advance the rotation.
	out.push_back(seq("wrr_tracked_packets_do_not_advance_rotation", w,
	                  {at(w, sched_seed, client4, "10.10.2.3", 42030, tcp_syn, b23, 1000, {inserted()}),
	                   at(w, sched_seed, client4, "10.10.2.3", 42030, tcp_ack, b23, 1000),
	                   at(w, sched_seed, client4, "10.10.2.3", 42031, tcp_syn, b22, 1000, {inserted()})},
	                  false));
	// Weights 1 (.21) and 2 (.22): each new flow goes where active/weight is
	// lowest (ties to the lower address): 0/1 0/2 -> .21; 1/1 0/2 -> .22;
	// 1/1 1/2 -> .22; 1/1 2/2 -> .21; 2/1 2/2 -> .22; 2/1 3/2 -> .22.
	out.push_back(seq("least_conn_fewest_active_relative_to_weight", w,
	                  new_flows("10.10.2.4", 42040, {b21, b22, b22, b21, b22, b22}), false));
	return out;
}

// A flow established on .21 in state "one", then the table changes.
std::vector<fixture> table_changes()
{
	std::vector<fixture> out;
	const std::string b21 = "10.10.0.21", b22 = "10.10.0.22", b23 = "10.10.0.23", vip = "10.10.3.1";
	world one_w = state_world("one"), added = state_world("added"), drained = state_world("drained"),
	      removed = state_world("removed");
	auto s = [&](const world &w, uint16_t sport, uint8_t flags, const std::string &b, uint32_t now,
	             std::vector<counter_delta> moved = {}) {
		return at(w, main_seed, client4, vip, sport, flags, b, now, std::move(moved));
	};
	// Backends added: the flow stays on .21 although the new table sends its
	// hash to .23 (golden), as it does once the entry has expired.
	step stay = s(added, 43000, tcp_ack, b21, 200);
	stay.change = added;
	out.push_back(seq("added_backends_keep_established_flow", one_w,
	                  {s(one_w, 43000, tcp_syn, b21, 100, {inserted()}), stay,
	                   s(added, 43000, tcp_ack, b23, 1100, {{counter_id::flows_expired, 1}, inserted()})},
	                  false));
	// Drained (weight 0): its flows stay, new flows go elsewhere.
	step keep = s(drained, 43010, tcp_ack, b21, 200);
	keep.change = drained;
	out.push_back(seq("drained_backend_keeps_flows_gets_no_new_ones", one_w,
	                  {s(one_w, 43010, tcp_syn, b21, 100, {inserted()}), keep,
	                   s(drained, 43011, tcp_syn, b22, 200, {inserted()}),
	                   s(drained, 43010, tcp_ack, b21, 300)},
	                  false));
	// A SYN on a closed flow (FIN seen) opens a new connection on the same
	// 5-tuple: scheduled anew, so the drained backend gets none. A retransmitted
	// SYN of a handshake still open stays where its first SYN went.
	step closed = s(drained, 43012, tcp_ack | tcp_fin, b21, 200);
	closed.change = drained;
	out.push_back(seq("syn_on_closed_flow_is_a_new_flow", one_w,
	                  {s(one_w, 43012, tcp_syn, b21, 100, {inserted()}),
	                   s(one_w, 43013, tcp_syn, b21, 100, {inserted()}), closed,
	                   s(drained, 43013, tcp_syn, b21, 201),
	                   s(drained, 43012, tcp_syn, b22, 201, {{counter_id::flows_rechosen, 1}}),
	                   s(drained, 43012, tcp_ack, b22, 202)},
	                  false));
	// Removed: its flows are re-chosen on their next packet and then stay.
	step moved = s(removed, 43020, tcp_ack, b22, 200, {{counter_id::flows_rechosen, 1}});
	moved.change = removed;
	out.push_back(seq("removed_backend_flows_rechosen", one_w,
	                  {s(one_w, 43020, tcp_syn, b21, 100, {inserted()}), moved,
	                   s(removed, 43020, tcp_ack, b22, 300)},
	                  false));
	return out;
}

// Timeouts (tcp 900, tcp_closing 10, udp 30). With one backend every packet
// goes to .21 anyway: the flow-table counters show whether it was tracked.
std::vector<fixture> timeouts()
{
	std::vector<fixture> out;
	world w = state_world("one");
	const std::string b21 = "10.10.0.21", vip = "10.10.3.1";
	auto s = [&](uint16_t sport, uint8_t flags, uint32_t now, std::vector<counter_delta> moved = {}) {
		return at(w, main_seed, client4, vip, sport, flags, b21, now, std::move(moved));
	};
	std::vector<counter_delta> renewed = {{counter_id::flows_expired, 1}, inserted()};
	// Each packet extends the entry by 900 s; it expires exactly 900 s after the last.
	out.push_back(seq("tcp_idle_timeout", w,
	                  {s(43030, tcp_syn, 100, {inserted()}), s(43030, tcp_ack, 999),
	                   s(43030, tcp_ack, 1898), s(43030, tcp_ack, 2798, renewed)},
	                  false));
	// After a FIN the entry lives tcp_closing seconds from each later packet.
	out.push_back(seq("tcp_fin_moves_flow_to_closing_timeout", w,
	                  {s(43031, tcp_syn, 100, {inserted()}), s(43031, tcp_ack | tcp_fin, 101),
	                   s(43031, tcp_ack, 110), s(43031, tcp_ack, 120, renewed)},
	                  false));
	// RST closes as FIN does; a new SYN on the same 5-tuple reopens the flow
	// (its backend chosen again) under the open timeout.
	out.push_back(seq("tcp_syn_after_rst_reopens_flow", w,
	                  {s(43032, tcp_syn, 100, {inserted()}), s(43032, tcp_rst, 101),
	                   s(43032, tcp_syn, 105, {{counter_id::flows_rechosen, 1}}), s(43032, tcp_ack, 115)},
	                  false));
	packet_builder dns = udp_in(client4, "10.10.3.2", 43033, 53);
	uint32_t h = flow_hash(client4, "10.10.3.2", udp, 43033, 53, main_seed);
	auto u = [&](uint32_t now, std::vector<counter_delta> moved = {}) {
		step st = to_backend(dns, w, mode::ipip, b21, h, std::move(moved));
		st.now = now;
		return st;
	};
	out.push_back(seq("udp_timeout", w, {u(100, {inserted()}), u(129), u(159, renewed)}, false));
	return out;
}

}  // namespace

std::vector<fixture> scheduler_fixtures()
{
	return schedulers();
}

std::vector<fixture> state_fixtures()
{
	std::vector<fixture> out = table_changes();
	std::vector<fixture> more = timeouts();
	out.insert(out.end(), more.begin(), more.end());
	return out;
}

}  // namespace weir::test::fx
