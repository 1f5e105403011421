// Bucket arithmetic of LatencyHistogram: index = (shift + 1) * 128 + (value >> shift) - 128
// for values of 256 and more, where shift keeps the top 8 significant bits.
#include "bench/load/latency_histogram.hh"

#include <bit>
#include <cmath>

namespace ringmta::bench {

size_t LatencyHistogram::index_of(uint64_t value) {
    if (value < (uint64_t(1) << sub_bucket_bits)) return size_t(value);
    unsigned msb = 63u - unsigned(std::countl_zero(value));
    unsigned shift = msb - (sub_bucket_bits - 1);
    return size_t(half) * (shift + 1) + size_t(value >> shift) - half;
}

uint64_t LatencyHistogram::upper_bound_of(size_t index) {
    if (index < (size_t(1) << sub_bucket_bits)) return index;
    size_t shift = index / half - 1;
    uint64_t top = uint64_t(index - half * (shift + 1) + half);
    // For the last bucket (top + 1) << shift wraps to 0, and 0 - 1 is UINT64_MAX: exact.
    return ((top + 1) << shift) - 1;
}

void LatencyHistogram::merge_from(const LatencyHistogram& other) {
    uint64_t total = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
        uint64_t n = other.buckets_[i].get();
        if (n == 0) continue;
        buckets_[i].add(n);
        total += n;
    }
    count_.add(total);
    max_.raise_to(other.max());
}

uint64_t LatencyHistogram::percentile(double percent) const {
    uint64_t total = 0;
    for (const Counter& b : buckets_) total += b.get();
    if (total == 0) return 0;
    auto rank = uint64_t(std::ceil(percent / 100.0 * double(total)));
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
        seen += buckets_[i].get();
        if (seen >= rank) {
            uint64_t bound = upper_bound_of(i);
            return bound < max() ? bound : max();
        }
    }
    return max();
}

}  // namespace ringmta::bench
