// DestinationHealth: doubling down windows with a cap, one failure per window, the single
// probe, and the concurrency window that grows one success at a time.
#include "queue/destination_health.hh"

#include <gtest/gtest.h>

namespace ringmta::queue {
namespace {

using Gate = DestinationHealth::Gate;
using State = DestinationHealth::State;

TEST(DestinationHealth, DownWindowsDoubleToTheCap) {
    DestinationHealth h;
    HealthConfig config;  // 60 s doubling to 600 s
    uint64_t now = 1'000'000;
    const uint64_t want_s[] = {60, 120, 240, 480, 600, 600};
    for (uint64_t w : want_s) {
        ASSERT_TRUE(h.connect_failed(now, config));
        EXPECT_EQ(h.down_until_ms() - now, w * 1000)
            << "failure " << h.consecutive_failures() << ": got "
            << (h.down_until_ms() - now) / 1000 << " s, want " << w << " s";
        now = h.down_until_ms();
        EXPECT_EQ(h.gate(now, 0, 20), Gate::probe);
        h.start_probe();
        EXPECT_EQ(h.gate(now, 0, 20), Gate::closed) << "one probe at a time";
    }
}

TEST(DestinationHealth, FailuresInsideOneWindowCountOnce) {
    DestinationHealth h;
    HealthConfig config;
    ASSERT_TRUE(h.connect_failed(1000, config));
    EXPECT_FALSE(h.connect_failed(2000, config));
    EXPECT_FALSE(h.connect_failed(3000, config));
    EXPECT_EQ(h.consecutive_failures(), 1u);
    EXPECT_EQ(h.down_until_ms(), 61'000u);
    EXPECT_EQ(h.gate(60'999, 0, 20), Gate::closed);
    EXPECT_EQ(h.gate(61'000, 5, 20), Gate::probe) << "old connections do not block the probe";
}

TEST(DestinationHealth, RecoveryGrowsConcurrencyOneAtATime) {
    DestinationHealth h;
    EXPECT_EQ(h.gate(0, 19, 20), Gate::open) << "never failed: full concurrency";
    EXPECT_EQ(h.gate(0, 20, 20), Gate::closed);
    ASSERT_TRUE(h.connect_failed(0, HealthConfig{}));
    h.start_probe();
    h.succeeded(20);
    EXPECT_EQ(h.state(), State::up);
    EXPECT_EQ(h.consecutive_failures(), 0u);
    for (uint32_t window = 1; window <= 20; ++window) {
        EXPECT_EQ(h.window(), window);
        EXPECT_EQ(h.gate(0, window - 1, 20), Gate::open) << "window " << window;
        EXPECT_EQ(h.gate(0, window, 20), Gate::closed) << "window " << window;
        h.succeeded(20);
    }
    EXPECT_EQ(h.window(), 20u) << "the window stops at connections_max";
}

}  // namespace
}  // namespace ringmta::queue
