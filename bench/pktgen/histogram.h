// histogram.h — latency histogram of weir_pktgen: log-linear buckets (16 per
// power of two above 32, so a value is known within about 6%), fixed size, no
// allocation per sample. Owned by the generator's lcore.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace weir::bench {

class histogram {
public:
	void add(uint64_t v)
	{
		_counts[index(v)]++;
		_n++;
		if (v > _max)
			_max = v;
	}
	uint64_t count() const { return _n; }
	uint64_t max() const { return _max; }
	// The value below which a fraction q (0..1) of the samples lie (the middle
	// of the bucket holding it); 0 without samples.
	uint64_t percentile(double q) const
	{
		if (_n == 0)
			return 0;
		uint64_t rank = uint64_t(q * double(_n - 1)) + 1, seen = 0;
		for (size_t i = 0; i < buckets; i++) {
			seen += _counts[i];
			if (seen >= rank)
				return middle(i);
		}
		return _max;
	}

private:
	static constexpr size_t buckets = 32 + 59 * 16;
	static size_t index(uint64_t v)
	{
		if (v < 32)
			return size_t(v);
		unsigned m = unsigned(std::bit_width(v) - 1);  // >= 5
		return 32 + (m - 5) * 16 + size_t((v >> (m - 4)) - 16);
	}
	static uint64_t middle(size_t i)
	{
		if (i < 32)
			return i;
		unsigned m = unsigned((i - 32) / 16 + 5);
		uint64_t low = uint64_t((i - 32) % 16 + 16) << (m - 4);
		return low + (uint64_t(1) << (m - 4)) / 2;
	}
	std::array<uint64_t, buckets> _counts{};
	uint64_t _n = 0, _max = 0;
};

}  // namespace weir::bench
