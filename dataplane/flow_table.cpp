// flow_table.cpp — creation and the incremental sweep of a worker's flow table
// (the per-packet operations are inline in flow_table.h). create() runs on the
// thread that sets the engine up; everything else on the owning worker.
#include "flow_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace weir::dp {

namespace {

constexpr size_t huge_page = size_t(2) << 20;

std::string mib(size_t bytes)
{
	return std::to_string((bytes + (size_t(1) << 20) - 1) >> 20) + " MiB";
}

}  // namespace

flow_table::flow_table(flow_bucket *buckets, uint32_t mask, std::unique_ptr<std::atomic<uint32_t>[]> active)
    : _buckets(buckets), _mask(mask), _active(std::move(active))
{}

flow_table::~flow_table()
{
	std::free(_buckets);
}

result<std::unique_ptr<flow_table>> flow_table::create(uint32_t entries)
{
	if (entries == 0)
		return error{"flow_table_size must be at least 1"};
	if (entries > max_entries)
		return error{"flow_table_size " + std::to_string(entries) + " is above the maximum of " +
		             std::to_string(max_entries) + " entries per worker"};

	uint32_t nbuckets = std::bit_ceil((entries + flow_bucket_entries - 1) / flow_bucket_entries);
	size_t size = size_t(nbuckets) * sizeof(flow_bucket);
	// A large table is read at random, one line per packet: on 2 MiB pages its
	// translations fit the TLB. Both sizes are powers of two, so `size` is a
	// multiple of the alignment as aligned_alloc requires.
	bool huge = size >= huge_page;
	void *mem = std::aligned_alloc(huge ? huge_page : alignof(flow_bucket), size);
	if (!mem)
		return error{"cannot allocate " + mib(size) + " for a flow table of " +
		             std::to_string(entries) +
		             " entries: lower dataplane.flow_table_size or free memory"};
	// Only a hint: without transparent huge pages the table works on 4 KiB pages.
	if (huge)
		(void)madvise(mem, size, MADV_HUGEPAGE);
	// Zeroing also faults every page in now rather than under traffic.
	std::memset(mem, 0, size);

	std::unique_ptr<std::atomic<uint32_t>[]> active(new (std::nothrow)
	                                                        std::atomic<uint32_t>[WEIR_MAX_BACKENDS]());
	flow_table *t = active ? new (std::nothrow) flow_table(static_cast<flow_bucket *>(mem), nbuckets - 1,
	                                                       std::move(active))
	                       : nullptr;
	if (!t) {
		std::free(mem);
		return error{"cannot allocate the flow table's per-backend counts: out of memory"};
	}
	return std::unique_ptr<flow_table>(t);
}

uint32_t flow_table::sweep(uint32_t buckets, uint32_t now)
{
	uint32_t n = std::min(buckets, _mask + 1);
	uint32_t reclaimed = 0;
	for (uint32_t i = 0; i < n; i++) {
		for (flow_entry &e : _buckets[_sweep_cursor].entries) {
			if (e.sig != 0 && is_expired(e.expires, now)) {
				reclaim_expired(e);
				reclaimed++;
			}
		}
		_sweep_cursor = (_sweep_cursor + 1) & _mask;
	}
	return reclaimed;
}

size_t flow_table::bytes() const
{
	return buckets() * sizeof(flow_bucket) + WEIR_MAX_BACKENDS * sizeof(std::atomic<uint32_t>);
}

}  // namespace weir::dp
