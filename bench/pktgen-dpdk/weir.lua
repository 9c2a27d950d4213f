-- bench/pktgen-dpdk/weir.lua — Pktgen-DPDK traffic for weir's VIP on real NICs
-- (docs/benchmarks.md, "On real NICs"). Port 0 of Pktgen is cabled to weir's
-- data port; weir's backends resolve to Pktgen's port MAC (static neighbour
-- entries on weir's host), so every frame weir forwards comes back IPIP-
-- encapsulated to Pktgen, whose RX rate is weir's forwarding rate.
--
--   pktgen -l 0-2 -n 4 -a PCI -- -P -m "[1:2].0" -f bench/pktgen-dpdk/weir.lua
--
-- Edit the settings below; the defaults match the configuration in docs/benchmarks.md.
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local port = "0"
local weir_mac = "02:00:00:00:00:02"  -- weir's data port (dst MAC of the frames)
local vip = "10.10.1.1"
local vip_port = 80
local src_first = "10.64.0.0"         -- sources 10.64.0.0 .. 10.64.0.19
local src_last = "10.64.0.19"
-- 20 source addresses x 49999 source ports (coprime counts: Pktgen steps both
-- on every packet) = 999,980 distinct flows, as weir_pktgen's 1M-flow runs.
local sport_first = 1024
local sport_last = 1024 + 49999 - 1
local size = 64          -- frame size with FCS: 64 .. 1518
local rate = 100         -- percent of line rate
local seconds = 30

pktgen.set_range(port, "on")
pktgen.range.dst_mac(port, "start", weir_mac)
pktgen.range.dst_ip(port, "start", vip)
pktgen.range.dst_ip(port, "inc", "0.0.0.0")
pktgen.range.dst_ip(port, "min", vip)
pktgen.range.dst_ip(port, "max", vip)
pktgen.range.src_ip(port, "start", src_first)
pktgen.range.src_ip(port, "inc", "0.0.0.1")
pktgen.range.src_ip(port, "min", src_first)
pktgen.range.src_ip(port, "max", src_last)
pktgen.range.dst_port(port, "start", vip_port)
pktgen.range.dst_port(port, "inc", 0)
pktgen.range.dst_port(port, "min", vip_port)
pktgen.range.dst_port(port, "max", vip_port)
pktgen.range.src_port(port, "start", sport_first)
pktgen.range.src_port(port, "inc", 1)
pktgen.range.src_port(port, "min", sport_first)
pktgen.range.src_port(port, "max", sport_last)
pktgen.range.pkt_size(port, "start", size)
pktgen.range.pkt_size(port, "inc", 0)
pktgen.range.pkt_size(port, "min", size)
pktgen.range.pkt_size(port, "max", size)
pktgen.set_proto(port, "tcp")   -- range-mode TCP frames carry Pktgen's default flags (ACK)
pktgen.set(port, "rate", rate)

-- One pass over the flows first, so that the measured frames meet tracked flows.
pktgen.start(port)
pktgen.delay(2000)
pktgen.stop(port)
pktgen.delay(1000)
pktgen.clear(port)

pktgen.start(port)
local rx, tx = 0, 0
for i = 1, seconds do
	pktgen.delay(1000)
	local r = pktgen.portStats(port, "rate")[tonumber(port)]  -- packets per second
	rx, tx = rx + r.pkts_rx / 1e6, tx + r.pkts_tx / 1e6
	printf("%3d s: offered %8.3f Mpps, came back %8.3f Mpps\n", i, r.pkts_tx / 1e6, r.pkts_rx / 1e6)
end
pktgen.stop(port)
printf("mean over %d s: offered %.3f Mpps, weir forwarded %.3f Mpps (%.1f%%)\n", seconds, tx / seconds,
	rx / seconds, tx > 0 and 100 * rx / tx or 0)
