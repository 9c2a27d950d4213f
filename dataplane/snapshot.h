// snapshot.h — the immutable state every worker reads: node parameters, VIPs,
// their scheduling tables, backends. Built by the control thread
// (control/snapshot_builder.cpp), published whole, never modified after
// publication; workers read it without locks. Unchanged per-VIP tables are shared
// by pointer between consecutive snapshots.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "weir_abi.h"
#include "weir_hash.h"

namespace weir::dp {

// A table of backend ids: a VIP's Maglev table (indexed by slot; every VIP has
// one, also for hashing fragments and ICMP errors), or a wrr VIP's rotation (the
// smooth weighted round robin sequence, indexed by a per-worker cursor).
struct vip_table {
	std::vector<uint32_t> slots;
	uint64_t fingerprint = 0;  // of the builder's output; equal on every host with the same inputs
};

// Open-addressing map from a VIP key to a VIP id, sized at build time to at most
// half full so a lookup touches one or two slots.
class vip_index {
public:
	static constexpr uint32_t none = UINT32_MAX;

	void build(const std::vector<std::pair<weir_vip_key, uint32_t>> &entries, uint32_t seed);
	uint32_t find(const weir_vip_key &key) const
	{
		if (_slots.empty())
			return none;
		for (uint32_t i = weir_hash_words(&key, 5, _seed) & _mask;; i = (i + 1) & _mask) {
			const slot &s = _slots[i];
			if (s.value == none || __builtin_memcmp(&s.key, &key, sizeof(key)) == 0)
				return s.value;
		}
	}

	// Calls f(key, value) for every entry (the XDP engine copies the index into
	// its BPF hash maps).
	template <class F>
	void for_each(F f) const
	{
		for (const slot &s : _slots)
			if (s.value != none)
				f(s.key, s.value);
	}

private:
	struct slot {
		weir_vip_key key;
		uint32_t value;
	};
	std::vector<slot> _slots;
	uint32_t _mask = 0;
	uint32_t _seed = 0;
};

struct snapshot {
	uint64_t generation = 0;
	weir_node node{};
	std::vector<weir_vip> vips;  // by VIP id
	std::vector<std::string> vip_names;  // by VIP id
	std::vector<std::shared_ptr<const vip_table>> tables;  // Maglev tables, by VIP id
	std::vector<std::shared_ptr<const vip_table>> rotations;  // wrr sequences, by VIP id (null: not wrr)
	std::vector<uint32_t> vip_backends;  // backend ids, VIP after VIP (weir_vip.backend_first)
	std::vector<weir_backend> backends;  // by backend id
	vip_index by_key;  // (address, port, protocol) → VIP; a port-0 VIP is stored under port 0
	// (address, port 0, protocol) → the VIP that takes fragments to that address and
	// protocol; (address, port 0, protocol 0) → any VIP at that address, which makes
	// malformed packets to it drops rather than passes.
	vip_index by_addr;

	const weir_backend *backend_by_ref(uint32_t ref) const
	{
		uint32_t id = WEIR_BACKEND_ID(ref);
		if (id >= backends.size() || backends[id].ref != ref)
			return nullptr;  // removed, or its id now belongs to another backend
		return &backends[id];
	}
};

// The VIP key of a flow's destination: exact port first, then the port-0 VIP.
inline uint32_t find_vip(const snapshot &s, const weir_flow_key &k)
{
	weir_vip_key key{};
	__builtin_memcpy(key.addr, k.daddr, sizeof(key.addr));
	key.port = k.dport;
	key.proto = k.proto;
	key.family = k.family;
	uint32_t id = s.by_key.find(key);
	if (id == vip_index::none && key.port != 0) {
		key.port = 0;
		id = s.by_key.find(key);
	}
	return id;
}

// The VIP owning a destination address and protocol (for packets without ports);
// proto 0: any VIP at that address.
inline uint32_t find_vip_by_addr(const snapshot &s, const weir_flow_key &k, uint8_t proto)
{
	weir_vip_key key{};
	__builtin_memcpy(key.addr, k.daddr, sizeof(key.addr));
	key.proto = proto;
	key.family = k.family;
	return s.by_addr.find(key);
}

}  // namespace weir::dp
