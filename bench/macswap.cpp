// macswap.cpp — weir_macswap: the ceiling of the packet benchmarks. It does
// what dpdk-testpmd --forward-mode=macswap does (which Debian's dpdk package
// does not ship): receive a burst, swap each frame's Ethernet addresses, send
// the burst back out of the same port, free what the TX queue refuses. Its port,
// queue and pool set-up is weir's (bench/pktgen/port.h), so a generator that
// measures both measures the same link and the same per-burst costs, less weir's
// packet core. Threads: the main lcore waits for a signal; one worker lcore
// forwards.
//   weir_macswap EAL_ARGS -- --port NAME
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include <unistd.h>

#include "pktgen/port.h"

namespace {

std::atomic<bool> stopping{false};  // set by the signal handler; relaxed: only a flag

struct forwarder {
	uint16_t port = 0;
	uint64_t rx = 0, tx = 0, refused = 0;  // written by the worker, read after it joined
};

int forward(void *arg)
{
	forwarder &f = *static_cast<forwarder *>(arg);
	rte_mbuf *pkts[weir::bench::burst];
	while (!stopping.load(std::memory_order_relaxed)) {
		uint16_t n = rte_eth_rx_burst(f.port, 0, pkts, weir::bench::burst);
		if (n == 0)
			continue;
		for (uint16_t i = 0; i < n; i++) {
			auto *eth = rte_pktmbuf_mtod(pkts[i], rte_ether_hdr *);
			rte_ether_addr tmp = eth->src_addr;
			eth->src_addr = eth->dst_addr;
			eth->dst_addr = tmp;
		}
		uint16_t sent = rte_eth_tx_burst(f.port, 0, pkts, n);
		if (sent < n)
			rte_pktmbuf_free_bulk(pkts + sent, n - sent);
		f.rx += n;
		f.tx += sent;
		f.refused += n - sent;
	}
	return 0;
}

void on_signal(int)
{
	stopping.store(true, std::memory_order_relaxed);
}

}  // namespace

int main(int argc, char **argv)
{
	auto used = weir::bench::start_eal(argc, argv);
	if (!used) {
		std::fprintf(stderr, "weir_macswap: %s\n", used.error_message().c_str());
		return 1;
	}
	std::string port_name;
	for (int i = *used; i + 1 < argc; i++)
		if (std::strcmp(argv[i], "--port") == 0)
			port_name = argv[i + 1];
	if (port_name.empty()) {
		std::fprintf(stderr, "usage: weir_macswap EAL_ARGS -- --port NAME\n");
		return 2;
	}
	auto port = weir::bench::open_port(port_name, 60);
	if (!port) {
		std::fprintf(stderr, "weir_macswap: %s\n", port.error_message().c_str());
		return 1;
	}
	unsigned lcore = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
	if (lcore >= RTE_MAX_LCORE) {
		std::fprintf(stderr, "weir_macswap: needs two lcores (-l MAIN,WORKER)\n");
		return 1;
	}
	std::signal(SIGINT, on_signal);
	std::signal(SIGTERM, on_signal);
	forwarder f;
	f.port = port->id;
	rte_eal_remote_launch(forward, &f, lcore);
	std::fprintf(stderr, "weir_macswap: forwarding on %s, lcore %u\n", port_name.c_str(), lcore);
	// Sleep rather than spin in rte_eal_mp_wait_lcore: the main lcore shares its
	// core with the generator.
	while (!stopping.load(std::memory_order_relaxed))
		usleep(100000);
	rte_eal_mp_wait_lcore();
	std::printf("{\"rx\": %lu, \"tx\": %lu, \"refused\": %lu}\n", (unsigned long)f.rx,
	            (unsigned long)f.tx, (unsigned long)f.refused);
	weir::bench::close_port(*port);
	rte_eal_cleanup();
	return 0;
}
