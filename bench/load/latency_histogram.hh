// A fixed-size log-linear latency histogram (HdrHistogram-style, relative error < 0.8%): 128
// linear sub-buckets per power of two, so recording is a shift and an increment with no
// allocation. One thread writes it; others may read it concurrently (relaxed atomics).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ringmta::bench {

// A counter written by one thread and read by any: relaxed load + store compiles to a plain
// add on x86, so the writer pays no locked instruction.
class Counter {
  public:
    void add(uint64_t n = 1) {
        v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void raise_to(uint64_t n) {
        if (n > get()) v_.store(n, std::memory_order_relaxed);
    }
    uint64_t get() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<uint64_t> v_{0};
};

class LatencyHistogram {
  public:
    static constexpr unsigned sub_bucket_bits = 8;  // values below 256 are exact
    static constexpr unsigned half = 1u << (sub_bucket_bits - 1);
    static constexpr size_t bucket_count = size_t(half) * (64 - sub_bucket_bits + 2);

    void record(uint64_t value) {
        buckets_[index_of(value)].add();
        count_.add();
        max_.raise_to(value);
    }
    // Adds every sample of `other` (a snapshot: `other` may still be written meanwhile).
    void merge_from(const LatencyHistogram& other);

    uint64_t count() const { return count_.get(); }
    uint64_t max() const { return max_.get(); }
    // The smallest recorded-bucket upper bound at or below which `percent` of the samples lie
    // (capped by the true maximum); 0 when empty.
    uint64_t percentile(double percent) const;

    static size_t index_of(uint64_t value);
    // The largest value that maps to bucket `index`.
    static uint64_t upper_bound_of(size_t index);

  private:
    std::array<Counter, bucket_count> buckets_{};
    Counter count_;
    Counter max_;
};

}  // namespace ringmta::bench
