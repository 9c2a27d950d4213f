// generator.cpp — the send/receive loop of weir_pktgen (generator.h).
#include "generator.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <numeric>

namespace weir::bench {

namespace {

constexpr uint64_t stamp_mask = (uint64_t(1) << 48) - 1;

}  // namespace

generator::generator(const dpdk_port &port, const frame_plan &plan, const reply_check &rc)
    : _port(port), _plan(plan), _rc(rc), _hz(rte_get_tsc_hz())
{
	uint32_t flows = plan.spec().flows;
	// Flows are visited in a scattered order (a stride coprime with their count),
	// as a real mix would hit the device's flow table, not in address order.
	_stride = flows > 1 ? uint32_t(2654435761u % flows) : 1;
	while (flows > 1 && (_stride == 0 || std::gcd(_stride, flows) != 1))
		_stride++;
	_left = flows;
	if (plan.spec().kind == traffic::syn)
		_passes = max_passes(flows);
	else if (rc.kind == reply_kind::ipip)
		_flow_backend.assign(flows, 0);  // only repeated flows can be checked for stickiness
}

uint32_t generator::next_flow(uint32_t &pass)
{
	uint32_t f = _cursor;
	pass = _pass;
	if (--_left == 0) {
		_left = _plan.spec().flows;
		_pass = _pass + 1 < _passes ? _pass + 1 : 0;
	}
	uint32_t flows = _plan.spec().flows;
	_cursor += _stride;  // both below 10M: no overflow
	if (_cursor >= flows)
		_cursor -= flows;
	return f;
}

uint16_t generator::send(run_counts &c, uint16_t want)
{
	want = std::min<uint16_t>(want, burst);
	if (_pending_n < want) {
		uint16_t add = uint16_t(want - _pending_n);
		rte_mbuf **pkts = _pending + _pending_n;
		if (rte_pktmbuf_alloc_bulk(_port.pool, pkts, add) != 0)
			return 0;
		uint16_t size = _plan.spec().size;
		uint64_t stamp = rte_rdtsc() & stamp_mask;
		for (uint16_t i = 0; i < add; i++) {
			pkts[i]->data_len = size;
			pkts[i]->pkt_len = size;
			uint32_t pass;
			uint32_t flow = next_flow(pass);
			_plan.build(rte_pktmbuf_mtod(pkts[i], uint8_t *), flow, stamp, pass);
		}
		_pending_n = want;
	}
	if (_pending_n == 0)
		return 0;
	uint16_t sent = rte_eth_tx_burst(_port.id, 0, _pending, _pending_n);
	if (sent < _pending_n) {
		c.refused++;
		for (uint16_t i = sent; i < _pending_n; i++)
			_pending[i - sent] = _pending[i];
	}
	_pending_n = uint16_t(_pending_n - sent);
	c.sent += sent;
	return sent;
}

// Frames built but never offered are freed at the end of a phase.
void generator::drop_pending()
{
	if (_pending_n)
		rte_pktmbuf_free_bulk(_pending, _pending_n);
	_pending_n = 0;
}

void generator::receive(run_counts &c)
{
	rte_mbuf *pkts[burst];
	uint16_t n = rte_eth_rx_burst(_port.id, 0, pkts, burst);
	if (n == 0)
		return;
	uint64_t now = rte_rdtsc() & stamp_mask;
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *data = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		checked r = check_reply(_plan, _rc, data, pkts[i]->data_len);
		c.verdicts[size_t(r.v)]++;
		if (r.v != verdict::ok)
			continue;
		c.latency_ns.add(((now - r.stamp) & stamp_mask) * 1'000'000'000 / _hz);
		if (r.backend < 0)
			continue;
		c.per_backend[size_t(r.backend)]++;
		if (_flow_backend.empty())
			continue;
		uint8_t &seen = _flow_backend[r.flow];
		if (seen == 0)
			seen = uint8_t(r.backend + 1);
		else if (seen != r.backend + 1)
			c.moved++;
	}
	c.received += n;
	rte_pktmbuf_free_bulk(pkts, n);
}

// Collects replies until none came for 100 ms (at most 2 s).
void generator::drain(run_counts &c)
{
	uint64_t start = rte_rdtsc(), last = start;
	uint64_t quiet = _hz / 10;
	while (rte_rdtsc() - last < quiet && rte_rdtsc() - start < 2 * _hz) {
		uint64_t before = c.received;
		receive(c);
		if (c.received != before)
			last = rte_rdtsc();
	}
}

run_counts generator::warm_up()
{
	run_counts c;
	c.per_backend.assign(_rc.backends.size(), 0);
	uint64_t start = rte_rdtsc();
	uint32_t flows = _plan.spec().flows;
	while (c.sent < flows) {
		send(c, uint16_t(std::min<uint64_t>(burst, flows - c.sent)));
		receive(c);
	}
	c.seconds = double(rte_rdtsc() - start) / double(_hz);
	drop_pending();
	drain(c);
	return c;
}

run_counts generator::run(double seconds, double mpps)
{
	run_counts c;
	c.per_backend.assign(_rc.backends.size(), 0);
	uint64_t start = rte_rdtsc();
	uint64_t end = start + uint64_t(seconds * double(_hz));
	double per_cycle = mpps * 1e6 / double(_hz);
	for (uint64_t now = start; now < end; now = rte_rdtsc()) {
		uint16_t want = burst;
		if (mpps > 0) {
			uint64_t due = uint64_t(double(now - start) * per_cycle);
			want = due > c.sent ? uint16_t(std::min<uint64_t>(burst, due - c.sent)) : 0;
		}
		send(c, want);
		receive(c);
	}
	c.seconds = double(rte_rdtsc() - start) / double(_hz);
	drop_pending();
	drain(c);
	return c;
}

}  // namespace weir::bench
