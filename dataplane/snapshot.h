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
		return find(key.addr, key.port, key.proto, key.family);
	}
	// The same, from the fields of a flow key: read one by one as the parser
	// wrote them, never as a copy of the key (see weir_key_set_proto).
	uint32_t find(const __be32 addr[4], __be16 port, uint8_t proto, uint8_t family) const
	{
		if (_slots.empty())
			return none;
		packed k = pack(addr, port, proto, family);
		for (uint32_t i = slot_hash(k, _seed) & _mask;; i = (i + 1) & _mask) {
			const slot &s = _slots[i];
			if (s.value == none || s.key == k)
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
				f(unpack(s.key), s.value);
	}

	// A key as the index compares it: address words, then port, proto, family.
	struct packed {
		uint64_t a, b;
		uint32_t c;
		bool operator==(const packed &) const = default;
	};
	static packed pack(const __be32 addr[4], __be16 port, uint8_t proto, uint8_t family)
	{
		return {uint64_t(addr[0]) | uint64_t(addr[1]) << 32,
		        uint64_t(addr[2]) | uint64_t(addr[3]) << 32,
		        uint32_t(port) | uint32_t(proto) << 16 | uint32_t(family) << 24};
	}
	static weir_vip_key unpack(const packed &k)
	{
		weir_vip_key v{};
		v.addr[0] = uint32_t(k.a);
		v.addr[1] = uint32_t(k.a >> 32);
		v.addr[2] = uint32_t(k.b);
		v.addr[3] = uint32_t(k.b >> 32);
		v.port = uint16_t(k.c);
		v.proto = uint8_t(k.c >> 16);
		v.family = uint8_t(k.c >> 24);
		return v;
	}
	// Where a key's probe starts: three independent multiplies and a fold, a few
	// cycles on every packet where MurmurHash3's five dependent rounds took about
	// ten nanoseconds. The index lives in this process only (the XDP engine copies
	// its entries into BPF hash maps), so this hash has nothing to agree with.
	static uint32_t slot_hash(const packed &k, uint32_t seed)
	{
		uint64_t h = (k.a ^ seed) * 0x9e3779b97f4a7c15ull ^ k.b * 0xc2b2ae3d27d4eb4full ^
		             (k.c | uint64_t(seed) << 32) * 0x165667b19e3779f9ull;
		h ^= h >> 32;
		h *= 0xd6e8feb86659fd93ull;
		return uint32_t(h >> 32);
	}

private:
	struct slot {
		packed key;
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
	uint32_t id = s.by_key.find(k.daddr, k.dport, k.proto, k.family);
	if (id == vip_index::none && k.dport != 0)
		id = s.by_key.find(k.daddr, 0, k.proto, k.family);
	return id;
}

// The VIP owning a destination address and protocol (for packets without ports);
// proto 0: any VIP at that address.
inline uint32_t find_vip_by_addr(const snapshot &s, const weir_flow_key &k, uint8_t proto)
{
	return s.by_addr.find(k.daddr, 0, proto, k.family);
}

}  // namespace weir::dp
