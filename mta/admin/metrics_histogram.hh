// MetricsHistogram: a fixed-bucket histogram of non-negative integer observations (latencies in
// microseconds, counts) that a shard updates on its own thread and the metrics endpoint merges.
// Invariant: the bounds are strictly increasing, at most kBoundCountMax, and have static storage;
// observe() never allocates or locks. Merging histograms with different bounds is a bug (asserts).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "mta/base/assert.hh"

namespace ringmta::admin {

// End of DATA (or last BDAT) → 250 sent: dominated by the group-commit fdatasync.
inline constexpr std::array<uint64_t, 14> kAcceptLatencyBoundsUs = {
    500,     1'000,   2'500,   5'000,     10'000,    25'000,    50'000,
    100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};

// Arrival → delivered: milliseconds on a healthy smart host, hours behind a retry schedule.
inline constexpr std::array<uint64_t, 16> kDeliveryLatencyBoundsUs = {
    10'000,      50'000,        100'000,        250'000,       500'000,    1'000'000,
    2'500'000,   5'000'000,     10'000'000,     30'000'000,    60'000'000, 300'000'000,
    900'000'000, 3'600'000'000, 14'400'000'000, 86'400'000'000};

class MetricsHistogram {
  public:
    static constexpr size_t kBoundCountMax = 24;

    explicit MetricsHistogram(std::span<const uint64_t> bounds)
        : bounds_(bounds.data()), bound_count_(bounds.size()) {
        MTA_ASSERT(bounds.size() <= kBoundCountMax);
        for (size_t i = 1; i < bounds.size(); ++i) MTA_ASSERT(bounds[i - 1] < bounds[i]);
    }

    // Counts `value` in the first bucket whose bound is >= value (Prometheus `le`), or +Inf.
    void observe(uint64_t value) noexcept {
        const uint64_t* end = bounds_ + bound_count_;
        ++counts_[size_t(std::lower_bound(bounds_, end, value) - bounds_)];
        sum_ += value;
        ++count_;
    }

    void merge(const MetricsHistogram& other) {
        MTA_ASSERT(bounds_ == other.bounds_ && bound_count_ == other.bound_count_);
        for (size_t i = 0; i <= bound_count_; ++i) counts_[i] += other.counts_[i];
        sum_ += other.sum_;
        count_ += other.count_;
    }

    std::span<const uint64_t> bounds() const { return {bounds_, bound_count_}; }
    // Observations in bucket i alone (not cumulative); i == bounds().size() is the +Inf bucket.
    uint64_t bucket(size_t i) const {
        MTA_ASSERT(i <= bound_count_);
        return counts_[i];
    }
    uint64_t sum() const { return sum_; }
    uint64_t count() const { return count_; }

  private:
    const uint64_t* bounds_;
    size_t bound_count_;
    std::array<uint64_t, kBoundCountMax + 1> counts_{};
    uint64_t sum_ = 0;
    uint64_t count_ = 0;
};

}  // namespace ringmta::admin
