// dpdk_worker.cpp — the burst loop of a DPDK worker (its own lcore only): RX a
// burst, run the packet core, buffer and flush TX, hand non-VIP traffic to the
// kernel through the TAP and the kernel's traffic back out of the port. Nothing
// here allocates, locks, logs or makes a system call per packet.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "dpdk_worker.h"

#include <algorithm>

namespace weir::dp {

namespace {

constexpr uint16_t burst = 32;
// The flow table is swept whole about once per sweep_period, a chunk at a time,
// paced by the clock rather than by the loop: expired entries leave the
// per-backend counts (least_conn) within seconds, and a loop spinning on an
// empty port does not spend its cycles and cache walking the table. (Sweeping
// 256 buckets after every empty poll took 57 % of a worker's cycles at 6 Mpps.)
constexpr uint32_t sweep_chunk = 64;
constexpr uint64_t sweep_period_s = 2;
// The TAP is polled every tap_poll_us (and at once again after a full burst):
// each poll is a readv() system call, which a poll per loop would pay even when
// the kernel sends nothing. 50 us is nothing to ARP, NDP or a health check.
constexpr uint64_t tap_poll_us = 50;

// What the pipeline counted a frame as, before it was sent.
enum class sent_as : uint8_t { forwarded, passed, icmp_reply };

// Sends what the queue takes; frees and counts the rest. A forwarded or passed
// frame that does not fit becomes a tx_full drop, so that received = forwarded
// + passed + dropped still holds. An ICMP error weir wrote in place of a packet
// was already that packet's drop (mtu_exceeded): it only leaves icmp_sent.
void flush(uint16_t port, uint16_t queue, rte_mbuf **m, const sent_as *what, uint16_t n, worker_counters &c)
{
	uint16_t sent = n ? rte_eth_tx_burst(port, queue, m, n) : 0;
	for (uint16_t i = sent; i < n; i++) {
		switch (what[i]) {
		case sent_as::forwarded:
			c.tx_bytes.sub(m[i]->pkt_len);
			c.tx_packets.sub(1);
			c.drops[WEIR_DROP_tx_full].inc();
			break;
		case sent_as::passed:
			c.pass_packets.sub(1);
			c.drops[WEIR_DROP_tx_full].inc();
			break;
		case sent_as::icmp_reply:
			c.icmp_sent.sub(1);
			break;
		}
		rte_pktmbuf_free(m[i]);
	}
}

// Runs the pipeline over single-segment frames; chained mbufs (larger than one
// buffer) are never VIP traffic weir can forward, so they go to the kernel.
void process_burst(dpdk_engine::worker &w, const snapshot &s, rte_mbuf **rx, uint16_t n, uint32_t now)
{
	frame frames[burst];
	rte_mbuf *mine[burst];
	rte_mbuf *to_port[burst], *to_tap[burst];
	sent_as port_as[burst], tap_as[burst];
	uint8_t verdicts[burst];
	uint16_t k = 0, np = 0, nt = 0;
	for (uint16_t i = 0; i < n; i++) {
		rte_mbuf *m = rx[i];
		if (m->nb_segs != 1) {
			w.counters.rx_packets.inc();
			w.counters.rx_bytes.add(m->pkt_len);
			w.counters.pass_packets.inc();
			tap_as[nt] = sent_as::passed;
			to_tap[nt++] = m;
			continue;
		}
		rte_prefetch0(rte_pktmbuf_mtod(m, void *));
		mine[k] = m;
		frames[k++] = frame{rte_pktmbuf_mtod(m, uint8_t *), m->data_len, rte_pktmbuf_headroom(m)};
	}
	w.pipe.process(s, frames, verdicts, k, now);
	for (uint16_t i = 0; i < k; i++) {
		rte_mbuf *m = mine[i];
		switch (verdicts[i]) {
		case WEIR_VERDICT_TX:
			m->data_off = uint16_t(frames[i].data - static_cast<uint8_t *>(m->buf_addr));
			m->data_len = uint16_t(frames[i].len);
			m->pkt_len = frames[i].len;
			port_as[np] = frames[i].icmp_reply ? sent_as::icmp_reply : sent_as::forwarded;
			to_port[np++] = m;
			break;
		case WEIR_VERDICT_PASS:
			tap_as[nt] = sent_as::passed;
			to_tap[nt++] = m;
			break;
		default:
			rte_pktmbuf_free(m);
		}
	}
	flush(w.port, uint16_t(w.index), to_port, port_as, np, w.counters);
	if (w.tap != UINT16_MAX)
		flush(w.tap, uint16_t(w.index), to_tap, tap_as, nt, w.counters);
	else
		rte_pktmbuf_free_bulk(to_tap, nt);
}

}  // namespace

void run_worker(dpdk_engine::worker &w, const std::atomic<const snapshot *> &published,
                const std::atomic<bool> &stop, rte_rcu_qsbr *qsbr)
{
	const uint64_t hz = rte_get_timer_hz();
	const uint64_t chunks = std::max<uint64_t>(1, w.flows->buckets() / sweep_chunk);
	const uint64_t sweep_gap = std::max<uint64_t>(1, hz * sweep_period_s / chunks);
	uint64_t next_sweep = 0;
	const uint64_t tap_gap = std::max<uint64_t>(1, hz * tap_poll_us / 1'000'000);
	uint64_t next_tap = 0;
	uint32_t now = 0;  // the coarse clock, seconds of the timer
	uint64_t next_second = 0;
	rte_rcu_qsbr_thread_online(qsbr, w.index);
	rte_mbuf *rx[burst];
	while (!stop.load(std::memory_order_relaxed)) {
		// Acquire pairs with the control thread's release in publish(): the
		// snapshot is complete before this worker reads it. It stays valid until
		// this worker's next quiescent report below.
		const snapshot *s = published.load(std::memory_order_acquire);
		uint64_t tsc = rte_get_timer_cycles();
		if (tsc >= next_second) {  // a division per second, not per loop
			now = uint32_t(tsc / hz);
			next_second = (uint64_t(now) + 1) * hz;
		}
		uint16_t n = rte_eth_rx_burst(w.port, uint16_t(w.index), rx, burst);
		w.counters.polls.inc();
		if (n) {
			process_burst(w, *s, rx, n, now);
			w.counters.busy_cycles.add(rte_get_timer_cycles() - tsc);
		} else {
			w.counters.empty_polls.inc();
		}
		uint16_t k = 0;
		if (w.tap != UINT16_MAX && tsc >= next_tap) {
			// The kernel's own traffic (ARP, NDP, health checks, replies to
			// ping) leaves through the data port unchanged.
			k = rte_eth_rx_burst(w.tap, uint16_t(w.index), rx, burst);
			next_tap = k == burst ? tsc : tsc + tap_gap;
			if (k) {
				uint16_t sent = rte_eth_tx_burst(w.port, uint16_t(w.index), rx, k);
				if (sent < k) {
					rte_pktmbuf_free_bulk(rx + sent, k - sent);
					w.counters.drops[WEIR_DROP_tx_full].add(k - sent);
				}
			}
		}
		if (tsc >= next_sweep) {
			w.flows->sweep(sweep_chunk, now);
			next_sweep = tsc + sweep_gap;
		}
		rte_rcu_qsbr_quiescent(qsbr, w.index);
	}
	rte_rcu_qsbr_thread_offline(qsbr, w.index);
}

}  // namespace weir::dp
