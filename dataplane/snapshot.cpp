// snapshot.cpp — building the VIP index of a snapshot (control thread, before
// publication).
#include "snapshot.h"

namespace weir::dp {

void vip_index::build(const std::vector<std::pair<weir_vip_key, uint32_t>> &entries, uint32_t seed)
{
	uint32_t size = 4;
	while (size < entries.size() * 2)
		size *= 2;
	_slots.assign(size, slot{packed{}, none});
	_mask = size - 1;
	_seed = seed;
	for (const auto &[vip, value] : entries) {
		packed k = pack(vip.addr, vip.port, vip.proto, vip.family);
		uint32_t i = slot_hash(k, seed) & _mask;
		while (_slots[i].value != none && !(_slots[i].key == k))
			i = (i + 1) & _mask;
		_slots[i] = slot{k, value};
	}
}

}  // namespace weir::dp
