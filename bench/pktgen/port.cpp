// port.cpp — EAL and port set-up of the benchmark programs (port.h).
#include "port.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

namespace weir::bench {

result<int> start_eal(int argc, char **argv)
{
	int used = rte_eal_init(argc, argv);
	if (used < 0)
		return error{std::string("DPDK EAL initialisation failed: ") + rte_strerror(rte_errno)};
	return used;
}

namespace {

status configure(dpdk_port &p, const std::string &name)
{
	rte_eth_conf conf{};
	if (int rc = rte_eth_dev_configure(p.id, 1, 1, &conf); rc != 0)
		return error{"cannot configure " + name + ": " + rte_strerror(-rc)};
	int socket = int(rte_eth_dev_socket_id(p.id));
	if (int rc = rte_eth_rx_queue_setup(p.id, 0, ring_size, socket, nullptr, p.pool); rc != 0)
		return error{name + " RX queue: " + rte_strerror(-rc)};
	if (int rc = rte_eth_tx_queue_setup(p.id, 0, ring_size, socket, nullptr); rc != 0)
		return error{name + " TX queue: " + rte_strerror(-rc)};
	rte_ether_addr mac;
	if (int rc = rte_eth_macaddr_get(p.id, &mac); rc != 0)
		return error{name + " MAC: " + rte_strerror(-rc)};
	for (int i = 0; i < 6; i++)
		p.mac[i] = mac.addr_bytes[i];
	if (int rc = rte_eth_dev_start(p.id); rc != 0)
		return error{"cannot start " + name + ": " + rte_strerror(-rc)};
	return ok();
}

}  // namespace

result<dpdk_port> open_port(const std::string &name, double link_wait_s)
{
	dpdk_port p;
	if (rte_eth_dev_get_port_by_name(name.c_str(), &p.id) != 0)
		return error{"port " + name + " not found (give it with --vdev=...)"};
	// As weir's engine for one worker: RX ring + TX ring + bursts in flight.
	unsigned mbufs = 4 * ring_size + 4 * burst + 1024;
	p.pool = rte_pktmbuf_pool_create(("pool_" + name).c_str(), mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
	                                 int(rte_socket_id()));
	if (!p.pool)
		return error{std::string("cannot create the mbuf pool: ") + rte_strerror(rte_errno)};
	if (status st = configure(p, name); !st)
		return error{st.error_message()};
	uint64_t until = rte_get_timer_cycles() + uint64_t(link_wait_s * double(rte_get_timer_hz()));
	rte_eth_link link{};
	do {
		rte_eth_link_get_nowait(p.id, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			return p;
		rte_delay_ms(10);
	} while (rte_get_timer_cycles() < until);
	return error{"port " + name + ": link down after " + std::to_string(link_wait_s) +
	             " s (is the peer running?)"};
}

void close_port(dpdk_port &p)
{
	rte_eth_dev_stop(p.id);
	rte_eth_dev_close(p.id);
	rte_mempool_free(p.pool);
	p.pool = nullptr;
}

}  // namespace weir::bench
