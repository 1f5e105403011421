// RetryPolicy: capped doubling, seeded jitter bounds and replay, the deadline clamp and expiry,
// delay-warning times.
#include "queue/retry_policy.hh"

#include <gtest/gtest.h>

#include <set>

namespace ringmta::queue {
namespace {

constexpr uint64_t arrival_us = 1'700'000'000'000'000;

RetryConfig config_with_jitter(uint32_t pct) {
    RetryConfig c;
    c.jitter_pct = pct;
    return c;
}

TEST(RetryPolicy, NominalDelaysDoubleUpToTheCap) {
    RetryPolicy policy(RetryConfig{});
    const std::pair<uint32_t, uint64_t> cases[] = {
        {1, 60}, {2, 120}, {3, 240}, {4, 480}, {5, 960}, {6, 1920}, {7, 3600}, {8, 3600},
        {100, 3600}, {4'000'000'000u, 3600},
    };
    for (const auto& [attempts, want_s] : cases) {
        EXPECT_EQ(policy.nominal_delay_ms(attempts), want_s * 1000)
            << "attempts " << attempts << ": got " << policy.nominal_delay_ms(attempts) / 1000
            << " s, want " << want_s << " s";
    }
}

TEST(RetryPolicy, JitterStaysInsideItsWindowAndReplays) {
    const uint64_t seed = 20240601;
    SCOPED_TRACE("seed " + std::to_string(seed));
    RetryPolicy policy(config_with_jitter(15));
    SplitMix64 a(seed), b(seed);
    std::set<uint64_t> seen;
    for (uint32_t attempts = 1; attempts <= 8; ++attempts) {
        uint64_t nominal = policy.nominal_delay_ms(attempts);
        for (int i = 0; i < 200; ++i) {
            uint64_t d = policy.delay_ms(attempts, a);
            EXPECT_GE(d, nominal * 85 / 100) << "attempts " << attempts;
            EXPECT_LE(d, nominal * 115 / 100) << "attempts " << attempts;
            EXPECT_EQ(d, policy.delay_ms(attempts, b)) << "same seed, same delays";
            seen.insert(d);
        }
    }
    EXPECT_GT(seen.size(), 1000u) << "jitter should spread the delays";

    RetryPolicy flat(config_with_jitter(0));
    EXPECT_EQ(flat.delay_ms(3, a), 240'000u);
}

TEST(RetryPolicy, DeferralBeforeNearAndAfterTheDeadline) {
    RetryPolicy policy(config_with_jitter(0));
    const uint64_t deadline = arrival_us + 172800ull * 1'000'000;
    EXPECT_EQ(policy.deadline_us(arrival_us), deadline);
    struct Case {
        const char* label;
        uint64_t now_us;
        uint32_t attempts;
        bool want_expired;
        uint64_t want_next_us;
    };
    const Case cases[] = {
        {"first deferral", arrival_us + 1'000'000, 1, false, arrival_us + 61'000'000},
        {"fifth deferral", arrival_us + 5'000'000, 5, false, arrival_us + 965'000'000},
        {"clamped to deadline", deadline - 10'000'000, 20, false, deadline},
        {"at deadline", deadline, 30, true, 0},
        {"after deadline", deadline + 1, 30, true, 0},
    };
    SplitMix64 jitter(1);
    for (const Case& c : cases) {
        RetryDecision d = policy.after_deferral(arrival_us, c.now_us, c.attempts, jitter);
        EXPECT_EQ(d.expired, c.want_expired) << c.label;
        EXPECT_EQ(d.next_attempt_us, c.want_next_us)
            << c.label << ": got " << d.next_attempt_us << ", want " << c.want_next_us;
    }
}

TEST(RetryPolicy, DelayWarningTimes) {
    struct Case {
        const char* label;
        uint32_t warning_s;
        uint32_t lifetime_s;
        uint64_t want_us;
    };
    const Case cases[] = {
        {"default four hours", 14400, 172800, arrival_us + 14400ull * 1'000'000},
        {"off", 0, 172800, 0},
        {"not before the bounce", 172800, 172800, 0},
    };
    for (const Case& c : cases) {
        RetryConfig config;
        config.delay_warning_s = c.warning_s;
        config.queue_lifetime_s = c.lifetime_s;
        EXPECT_EQ(RetryPolicy(config).delay_warning_at_us(arrival_us), c.want_us) << c.label;
    }
}

TEST(RetryPolicy, ExpiredStatus) {
    EXPECT_EQ(expired_status(""), "4.4.7");
    EXPECT_EQ(expired_status("4.2.0"), "4.2.0");
}

TEST(RetryPolicy, ExpiredStatusOfAWaitingRecipient) {
    struct Case {
        const char* label;
        const char* status;
        const char* diagnostic;
        const char* want;
    };
    const Case cases[] = {
        {"last status known", "4.4.1", "connect to mx[192.0.2.1]:25: Connection refused", "4.4.1"},
        {"status wins over the diagnostic", "4.4.2",
         "host mx[192.0.2.1] said: 450 4.2.0 busy (in reply to RCPT TO command)", "4.4.2"},
        {"after a restart: the quoted reply's code",
         "", "host mx[192.0.2.1] said: 452 4.2.2 mailbox full (in reply to RCPT TO command)",
         "4.2.2"},
        {"a quoted 5xx was a deferral: temporary", "",
         "host mx[192.0.2.1] said: 554 5.7.1 policy (in reply to end of DATA command)", "4.7.1"},
        {"three-digit parts", "", "host mx said: 451 4.123.456 odd", "4.123.456"},
        {"no enhanced code", "", "host mx[192.0.2.1] said: 450 busy", "4.4.7"},
        {"not a code", "", "host mx said: 450 4.x.0 busy", "4.4.7"},
        {"no remote reply", "", "lost connection with mx[192.0.2.1] while sending RCPT TO",
         "4.4.7"},
        {"nothing known", "", "", "4.4.7"},
    };
    for (const Case& c : cases)
        EXPECT_EQ(expired_status(c.status, c.diagnostic), c.want) << c.label;
}

}  // namespace
}  // namespace ringmta::queue
