// snapshot.cpp — building the VIP index of a snapshot (control thread, before
// publication).
#include "snapshot.h"

namespace weir::dp {

void vip_index::build(const std::vector<std::pair<weir_vip_key, uint32_t>> &entries, uint32_t seed)
{
	uint32_t size = 4;
	while (size < entries.size() * 2)
		size *= 2;
	_slots.assign(size, slot{weir_vip_key{}, none});
	_mask = size - 1;
	_seed = seed;
	for (const auto &[key, value] : entries) {
		uint32_t i = weir_hash_words(&key, 5, seed) & _mask;
		while (_slots[i].value != none && __builtin_memcmp(&_slots[i].key, &key, sizeof(key)) != 0)
			i = (i + 1) & _mask;
		_slots[i] = slot{key, value};
	}
}

}  // namespace weir::dp
