// MetricsHistogram: which bucket each observation lands in (`le` is inclusive), sum and count,
// merging shards' copies, and that the type holds no heap memory (observe() never allocates).
#include "mta/admin/metrics_histogram.hh"

#include <gtest/gtest.h>

#include <type_traits>

namespace ringmta::admin {
namespace {

constexpr std::array<uint64_t, 3> kBounds = {10, 20, 30};

TEST(MetricsHistogram, BucketPerValue) {
    struct Case {
        uint64_t value;
        size_t want_bucket;  // 3 is +Inf
    };
    const Case cases[] = {{0, 0},  {10, 0}, {11, 1}, {20, 1},
                          {21, 2}, {30, 2}, {31, 3}, {UINT64_MAX / 2, 3}};
    for (const Case& c : cases) {
        MetricsHistogram h(kBounds);
        h.observe(c.value);
        for (size_t i = 0; i <= kBounds.size(); ++i) {
            uint64_t want = i == c.want_bucket ? 1 : 0;
            EXPECT_EQ(h.bucket(i), want) << "value " << c.value << ": bucket " << i << " got "
                                         << h.bucket(i) << ", want " << want;
        }
        EXPECT_EQ(h.count(), 1u);
        EXPECT_EQ(h.sum(), c.value);
    }
}

TEST(MetricsHistogram, MergeAddsBucketsSumAndCount) {
    MetricsHistogram a(kBounds), b(kBounds);
    for (uint64_t v : {1, 15, 15, 40}) a.observe(v);
    for (uint64_t v : {25, 100}) b.observe(v);
    a.merge(b);
    const uint64_t want[] = {1, 2, 1, 2};
    for (size_t i = 0; i < 4; ++i)
        EXPECT_EQ(a.bucket(i), want[i])
            << "bucket " << i << ": got " << a.bucket(i) << ", want " << want[i];
    EXPECT_EQ(a.count(), 6u);
    EXPECT_EQ(a.sum(), 1u + 15 + 15 + 40 + 25 + 100);
    EXPECT_EQ(b.count(), 2u) << "merge must not change its argument";
}

TEST(MetricsHistogram, StandardBoundsAreIncreasingAndFit) {
    MetricsHistogram accept(kAcceptLatencyBoundsUs);
    MetricsHistogram delivery(kDeliveryLatencyBoundsUs);
    EXPECT_EQ(accept.bounds().size(), kAcceptLatencyBoundsUs.size());
    EXPECT_EQ(delivery.bounds().size(), kDeliveryLatencyBoundsUs.size());
}

TEST(MetricsHistogramDeathTest, MergingDifferentBoundsIsABug) {
    MetricsHistogram a(kAcceptLatencyBoundsUs), b(kDeliveryLatencyBoundsUs);
    EXPECT_DEATH(a.merge(b), "assertion failed");
}

TEST(MetricsHistogramDeathTest, UnsortedBoundsAreABug) {
    static constexpr std::array<uint64_t, 3> bad = {10, 10, 30};
    EXPECT_DEATH(MetricsHistogram h(bad), "assertion failed");
}

// No allocation on observe(): the type owns no heap memory (a trivially copyable type cannot
// own any), so observe(), which only updates members, has nowhere to allocate into. Turning the
// buckets into a std::vector, say, fails this line.
static_assert(std::is_trivially_copyable_v<MetricsHistogram>);

}  // namespace
}  // namespace ringmta::admin
