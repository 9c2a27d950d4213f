// maglev.h — building a VIP's Maglev table from its sorted backend set and the
// cluster's hash seed. Pure functions: the control thread calls them while it
// builds a snapshot; the data path only reads the finished table (weir_maglev.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ip_addr.h"
#include "result.h"
#include "weir_maglev.h"

namespace weir::ctl {

struct maglev_backend {
	ip_addr address;
	uint32_t weight = 1;  // 0 = drained: no slots (tracked flows stay)
};

// True when `n` is prime. The config validator checks `table_size` with it.
bool is_prime(uint32_t n);

// The table for `sorted_backends` (sorted by address, no duplicates: the order
// the snapshot publishes, so entry i of the table names the same backend on
// every host). Entry = index into `sorted_backends`. `size` must be a prime no
// larger than WEIR_MAGLEV_MAX_SIZE.
//
// Every slot is filled and backend i gets size × weight_i / Σweights slots,
// rounded up or down (never more than one slot from its exact share); weight 0
// gets none. The same backends, weights, size and seed give a byte-identical table
// on every host and run.
//
// Errors, each a message for the operator: bad size, unsorted or duplicate
// backends, and no backend with weight > 0. In the last case the VIP has no usable
// backend: publish it with an empty table (zero backends), so the data path drops
// its new flows as "no usable backend" and counts them, until a backend gets a
// weight again.
result<std::vector<uint32_t>> build_maglev_table(std::span<const maglev_backend> sorted_backends,
                                                 uint32_t size, uint32_t seed);

// A fingerprint of what a table decides: the backend addresses in table order
// and the table's entries (weights are left out: 1:1 and 2:2 build the same
// table). Two hosts with equal fingerprints send every hash to the same backend
// address. Independent of host byte order.
uint64_t maglev_fingerprint(std::span<const maglev_backend> sorted_backends, std::span<const uint32_t> table);

// The fingerprint as `weirctl status` prints it: 16 lower-case hex digits.
std::string format_fingerprint(uint64_t fingerprint);

}  // namespace weir::ctl
