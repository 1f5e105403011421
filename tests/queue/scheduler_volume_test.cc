// The scheduler at volume: 100,000 messages over 50 destinations, drained, a fifth deferred and
// retried. Asserts only on correctness (every recipient delivered exactly once, counts back to
// zero); prints the time taken, which is a measurement, not a pass/fail threshold.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "queue/scheduler.hh"

namespace ringmta::queue {
namespace {

TEST(SchedulerVolume, HundredThousandMessages) {
    constexpr uint32_t message_count = 100'000;
    constexpr uint32_t destination_count = 50;
    const uint64_t seed = 7;
    SCOPED_TRACE("seed " + std::to_string(seed));
    base::FakeClock clock;
    SplitMix64 jitter(seed);
    SchedulerConfig config;
    config.messages_max = message_count;
    Scheduler scheduler(config, clock, jitter);
    std::vector<DestinationId> destinations;
    for (uint32_t i = 0; i < destination_count; ++i) {
        destinations.push_back(scheduler.destination(
            DestinationKey{i % 3, "mx" + std::to_string(i) + ".example:25"}, DestinationConfig{}));
    }

    auto start = std::chrono::steady_clock::now();
    SplitMix64 shape(seed);
    uint64_t recipient_total = 0;
    std::vector<SubmitRecipient> rs;
    for (uint32_t m = 0; m < message_count; ++m) {
        rs.clear();
        uint32_t n = 1 + uint32_t(shape.next_u64() % 3);
        for (uint32_t i = 0; i < n; ++i) {
            rs.push_back({i, destinations[shape.next_u64() % destination_count]});
        }
        recipient_total += n;
        ASSERT_TRUE(scheduler.submit(1000 + m, clock.wall_us(), rs).has_value());
    }
    auto submitted = std::chrono::steady_clock::now();

    std::vector<uint8_t> delivered(size_t(message_count) * 3, 0);
    uint64_t delivered_total = 0, transactions = 0, deferrals = 0;
    std::vector<RecipientResult> results;
    std::vector<RecipientDecision> decisions;
    std::vector<Notice> notices;
    for (int round = 0; round < 20 && delivered_total < recipient_total; ++round) {
        while (auto t = scheduler.next()) {
            ++transactions;
            // Every fifth transaction of the first round is deferred, the rest delivered.
            bool defer = round == 0 && transactions % 5 == 0;
            results.assign(t->recipients.size(),
                           defer ? RecipientResult::deferred : RecipientResult::delivered);
            scheduler.complete(*t, results, decisions);
            for (const RecipientDecision& d : decisions) {
                if (d.verdict == Verdict::retry) {
                    ++deferrals;
                    continue;
                }
                ASSERT_EQ(d.verdict, Verdict::delivered);
                uint8_t& seen = delivered[size_t(t->queue_id - 1000) * 3 + d.index];
                ASSERT_EQ(seen, 0) << "delivered twice";
                seen = 1;
                ++delivered_total;
            }
        }
        clock.advance_ms(config.retry.initial_s * 1200);  // past every first retry
        scheduler.advance(notices);
    }
    auto done = std::chrono::steady_clock::now();

    EXPECT_EQ(delivered_total, recipient_total);
    EXPECT_GT(deferrals, 0u);
    EXPECT_EQ(scheduler.message_count(), 0u);
    for (const DestinationStats& s : scheduler.all_stats()) {
        EXPECT_EQ(s.ready + s.deferred + s.in_flight + s.transactions_in_flight, 0u);
    }
    using ms = std::chrono::duration<double, std::milli>;
    std::printf("scheduler: %u messages, %llu recipients, %llu transactions, %llu deferrals: "
                "submit %.1f ms, drain %.1f ms\n",
                message_count, (unsigned long long)recipient_total,
                (unsigned long long)transactions, (unsigned long long)deferrals,
                ms(submitted - start).count(), ms(done - submitted).count());
}

}  // namespace
}  // namespace ringmta::queue
