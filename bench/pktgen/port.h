// port.h — DPDK set-up shared by weir_pktgen and weir_macswap: EAL start-up from
// the command line and a port configured the way weir's DPDK engine configures
// its data port (dataplane/dpdk_engine.cpp: one RX and one TX queue of 1024
// descriptors, an mbuf pool sized as for one worker). Main lcore, before any
// packet moves.
#pragma once

#include <cstdint>
#include <string>

#include "result.h"

struct rte_mempool;

namespace weir::bench {

constexpr uint16_t ring_size = 1024;
constexpr uint16_t burst = 32;

// rte_eal_init over argv; returns how many arguments the EAL consumed.
result<int> start_eal(int argc, char **argv);

struct dpdk_port {
	uint16_t id = 0;
	rte_mempool *pool = nullptr;
	uint8_t mac[6] = {};
};

// Finds port `name`, creates its pool, queues, starts it and waits up to
// `link_wait_s` seconds for the link (a memif peer connecting).
result<dpdk_port> open_port(const std::string &name, double link_wait_s);
void close_port(dpdk_port &p);

}  // namespace weir::bench
