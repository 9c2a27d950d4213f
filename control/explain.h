// explain.h — `weirctl explain SRC:SPORT DST:DPORT tcp|udp`: where the data path
// sends a flow's next packet and why, computed with the pipeline's own rules
// (dataplane/pipeline.cpp) from the published snapshot and the engine's flow
// tables. Pure function of its inputs; the control thread calls it while the
// workers run, so a tracked entry may be a packet old.
//
// Reply fields:
//   flow        "198.18.0.1:40000 -> 10.10.1.1:80/tcp"
//   verdict     "forward" | "pass" (not a VIP: to the kernel) | "drop"
//   reason      a drop reason of weir_drop_reasons.def, for "drop"
//   vip, scheduler, hash ("0x..." of the 5-tuple: picks the flow-table bucket)
//   tracked     true when a live flow entry holds the flow
//   backend     the address the next packet goes to (null when none)
//   expires_in, worker   of the entry, when tracked
//   closing     when tracked: FIN or RST seen, so a new connection (SYN) on this
//               5-tuple would be scheduled anew, as a new flow
//   choice      "tracked" | "maglev" (the slot decides) | "rotation" (wrr: next in the
//               rotation) | "least_loaded" (least_conn: fewest flows per weight now)
//   maglev      {hash_of ("5-tuple" | "source address"), hash, slot, table_size,
//               backend}: the VIP's Maglev choice, which new maglev/maglev_src flows
//               and untracked packets of every scheduler take
//   summary     one sentence saying the above
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine.h"
#include "result.h"
#include "snapshot.h"
#include "weir_hash.h"

namespace weir::ctl {

// The flow of "SRC:SPORT" "DST:DPORT" "tcp|udp" (IPv6 in brackets), as the parser
// would key its packets. Errors: a part does not parse, or the families differ.
result<weir_flow_key> parse_flow(std::string_view src, std::string_view dst, std::string_view proto);

// The engine's tracked entry of a flow (dp::engine::find_flow).
using flow_lookup = std::function<std::optional<dp::tracked_flow>(uint32_t hash, uint32_t sig)>;

nlohmann::json explain_flow(const dp::snapshot &s, const weir_flow_key &key, const flow_lookup &lookup);

}  // namespace weir::ctl
