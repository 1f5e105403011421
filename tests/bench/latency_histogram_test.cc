// LatencyHistogram: bucket bounds are contiguous and tight (relative error < 1/128), and
// percentiles of known distributions come out within that error.
#include "bench/load/latency_histogram.hh"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

namespace ringmta::bench {
namespace {

TEST(LatencyHistogram, BucketsAreContiguousAndTight) {
    struct Case {
        const char* label;
        uint64_t value;
    };
    const Case cases[] = {{"zero", 0},
                          {"exact range", 255},
                          {"first log bucket", 256},
                          {"odd", 257},
                          {"1 ms", 1000000},
                          {"1 s", 1000000000},
                          {"2^40 + 1", (uint64_t(1) << 40) + 1},
                          {"max", UINT64_MAX}};
    for (const Case& c : cases) {
        size_t i = LatencyHistogram::index_of(c.value);
        ASSERT_LT(i, LatencyHistogram::bucket_count) << c.label;
        uint64_t upper = LatencyHistogram::upper_bound_of(i);
        EXPECT_GE(upper, c.value) << c.label << ": got upper bound " << upper;
        EXPECT_LE(double(upper - c.value), double(c.value) / 128.0 + 1) << c.label;
        if (i > 0) {
            uint64_t below = LatencyHistogram::upper_bound_of(i - 1);
            EXPECT_LT(below, c.value) << c.label << ": previous bucket ends at " << below;
            EXPECT_EQ(LatencyHistogram::index_of(below + 1), i) << c.label;
        }
    }
}

TEST(LatencyHistogram, PercentilesOfUniformValues) {
    auto h = std::make_unique<LatencyHistogram>();
    for (uint64_t v = 1; v <= 100000; ++v) h->record(v * 1000);
    struct Case {
        double percent;
        uint64_t want;
    };
    for (const Case& c : {Case{50, 50000000}, Case{90, 90000000}, Case{99, 99000000},
                          Case{99.9, 99900000}, Case{100, 100000000}}) {
        uint64_t got = h->percentile(c.percent);
        EXPECT_NEAR(double(got), double(c.want), double(c.want) / 100)
            << "p" << c.percent << ": got " << got << ", want " << c.want;
    }
    EXPECT_EQ(h->max(), 100000000u);
    EXPECT_EQ(h->count(), 100000u);
}

TEST(LatencyHistogram, MergeAddsCountsAndKeepsMax) {
    auto a = std::make_unique<LatencyHistogram>();
    auto b = std::make_unique<LatencyHistogram>();
    a->record(10);
    b->record(5000);
    b->record(7);
    a->merge_from(*b);
    EXPECT_EQ(a->count(), 3u);
    EXPECT_EQ(a->max(), 5000u);
    EXPECT_EQ(a->percentile(50), 10u) << "got " << a->percentile(50) << ", want 10";
    EXPECT_EQ(LatencyHistogram().percentile(50), 0u) << "an empty histogram reports 0";
}

}  // namespace
}  // namespace ringmta::bench
