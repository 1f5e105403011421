// Scheduler: grouping into transactions, FIFO ready queues, concurrency, retry timing with a
// fake clock and seeded jitter, requeue without an attempt, lifetime expiry, delay warnings,
// down-host hold with a single probe and gradual release, operator actions and counts.
#include "queue/scheduler.hh"

#include <gtest/gtest.h>

#include <memory>

namespace ringmta::queue {
namespace {

constexpr uint64_t seed = 42;

using Indices = std::vector<uint32_t>;

struct Harness {
    explicit Harness(SchedulerConfig c = zero_jitter()) : config(c) {
        scheduler = std::make_unique<Scheduler>(config, clock, jitter);
    }
    static SchedulerConfig zero_jitter() {
        SchedulerConfig c;
        c.retry.jitter_pct = 0;
        return c;
    }
    static SchedulerConfig ten_minute_lifetime() {
        SchedulerConfig c = zero_jitter();
        c.retry.queue_lifetime_s = 600;
        c.retry.delay_warning_s = 0;
        return c;
    }

    DestinationId dest(const std::string& hop, uint32_t connections = 20, uint32_t rcpts = 100) {
        DestinationConfig limits{connections, rcpts};
        return scheduler->destination(DestinationKey{0, hop}, limits);
    }
    // Recipient i goes to destinations[i].
    void submit(uint64_t id, const std::vector<DestinationId>& destinations) {
        std::vector<SubmitRecipient> rs;
        for (uint32_t i = 0; i < destinations.size(); ++i) rs.push_back({i, destinations[i]});
        ASSERT_TRUE(scheduler->submit(id, clock.wall_us(), rs).has_value());
    }
    std::vector<RecipientDecision> complete(const Transaction& t, RecipientResult r) {
        std::vector<RecipientResult> results(t.recipients.size(), r);
        std::vector<RecipientDecision> out;
        scheduler->complete(t, results, out);
        return out;
    }
    std::vector<Notice> advance_s(uint64_t seconds) {
        clock.advance_ms(seconds * 1000);
        std::vector<Notice> out;
        scheduler->advance(out);
        return out;
    }
    std::vector<Notice> advance_to(uint64_t now_ms) {
        clock.advance_ms(now_ms - clock.now_ms());
        std::vector<Notice> out;
        scheduler->advance(out);
        return out;
    }

    SchedulerConfig config;
    base::FakeClock clock;
    SplitMix64 jitter{seed};
    std::unique_ptr<Scheduler> scheduler;
};

TEST(Scheduler, GroupsOneMessagePerDestinationUpToTheMax) {
    Harness h;
    DestinationId a = h.dest("a.example:25", 20, 2);
    DestinationId b = h.dest("b.example:25");
    h.submit(7, {a, b, a, a, b});
    struct Step {
        DestinationId destination;
        Indices want;
    };
    const Step steps[] = {{a, {0, 2}}, {a, {3}}, {a, {}}, {b, {1, 4}}, {b, {}}};
    for (const Step& step : steps) {
        auto t = h.scheduler->next_ready(step.destination);
        Indices got = t ? t->recipients : Indices{};
        EXPECT_EQ(got, step.want) << "destination " << step.destination;
        if (t) {
            EXPECT_EQ(t->queue_id, 7u);
        }
    }
}

TEST(Scheduler, ReadyQueueIsFifoAndNextIsRoundRobin) {
    Harness h;
    DestinationId a = h.dest("a");
    DestinationId b = h.dest("b");
    for (uint64_t id = 1; id <= 3; ++id) h.submit(id, {a});
    for (uint64_t id = 11; id <= 13; ++id) h.submit(id, {b});
    std::vector<uint64_t> order;
    while (auto t = h.scheduler->next()) order.push_back(t->queue_id);
    EXPECT_EQ(order, (std::vector<uint64_t>{1, 11, 2, 12, 3, 13}));
}

TEST(Scheduler, ConcurrencyLimitHoldsUntilACompletion) {
    Harness h;
    DestinationId a = h.dest("a", 2);
    for (uint64_t id = 1; id <= 3; ++id) h.submit(id, {a});
    auto t1 = h.scheduler->next_ready(a);
    auto t2 = h.scheduler->next_ready(a);
    ASSERT_TRUE(t1 && t2);
    EXPECT_FALSE(h.scheduler->next_ready(a)) << "two in flight, connections_max 2";
    EXPECT_FALSE(h.scheduler->next());
    auto d = h.complete(*t1, RecipientResult::delivered);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].verdict, Verdict::delivered);
    EXPECT_EQ(d[0].attempts, 1u);
    auto t3 = h.scheduler->next();
    ASSERT_TRUE(t3);
    EXPECT_EQ(t3->queue_id, 3u);
    EXPECT_EQ(h.scheduler->message_count(), 2u) << "message 1 is final and gone";
}

TEST(Scheduler, RetryTimesFollowThePolicyWithSeededJitter) {
    SchedulerConfig config;  // jitter 15 %
    Harness h(config);
    SCOPED_TRACE("seed " + std::to_string(seed));
    DestinationId a = h.dest("a");
    uint64_t arrival_us = h.clock.wall_us();
    h.submit(1, {a, a, a});
    RetryPolicy replay_policy(config.retry);
    SplitMix64 replay(seed);
    for (uint32_t attempt = 1; attempt <= 4; ++attempt) {
        auto t = h.scheduler->next_ready(a);
        ASSERT_TRUE(t) << "attempt " << attempt;
        EXPECT_EQ(t->recipients, (Indices{0, 1, 2})) << "deferred together, retried together";
        auto d = h.complete(*t, RecipientResult::deferred);
        RetryDecision want =
            replay_policy.after_deferral(arrival_us, h.clock.wall_us(), attempt, replay);
        ASSERT_EQ(d.size(), 3u);
        for (const RecipientDecision& r : d) {
            EXPECT_EQ(r.verdict, Verdict::retry);
            EXPECT_EQ(r.attempts, attempt);
            EXPECT_EQ(r.next_attempt_us, want.next_attempt_us)
                << "attempt " << attempt << ": got " << r.next_attempt_us << ", want "
                << want.next_attempt_us;
        }
        uint64_t delay_ms = (want.next_attempt_us - h.clock.wall_us()) / 1000;
        uint64_t nominal = replay_policy.nominal_delay_ms(attempt);
        EXPECT_GE(delay_ms, nominal * 85 / 100);
        EXPECT_LE(delay_ms, nominal * 115 / 100);
        auto view = h.scheduler->find_recipient(1, 1);
        ASSERT_TRUE(view);
        EXPECT_EQ(view->phase, RecipientPhase::deferred);
        EXPECT_EQ(view->next_attempt_ms, h.clock.now_ms() + delay_ms);
        EXPECT_EQ(h.scheduler->next_wakeup_ms(), h.clock.now_ms() + delay_ms);

        h.advance_to(h.clock.now_ms() + delay_ms - 1);
        EXPECT_FALSE(h.scheduler->next_ready(a)) << "1 ms early, attempt " << attempt;
        h.advance_to(h.clock.now_ms() + 1);
    }
    EXPECT_TRUE(h.scheduler->next_ready(a));
}

TEST(Scheduler, NotAttemptedRequeuesWithoutCountingAnAttempt) {
    Harness h;
    DestinationId a = h.dest("a");
    h.submit(1, {a, a});
    auto t = h.scheduler->next_ready(a);
    ASSERT_TRUE(t);
    auto d = h.complete(*t, RecipientResult::not_attempted);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].verdict, Verdict::requeued);
    EXPECT_EQ(d[0].attempts, 0u);
    auto again = h.scheduler->next_ready(a);
    ASSERT_TRUE(again) << "ready at once, no backoff";
    EXPECT_EQ(again->recipients, (Indices{0, 1}));
    auto view = h.scheduler->find_recipient(1, 0);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->attempts, 0u);
    EXPECT_EQ(view->phase, RecipientPhase::in_flight);
}

TEST(Scheduler, DeferredUntilTheLifetimeEndsThenExpires) {
    Harness h(Harness::ten_minute_lifetime());
    DestinationId a = h.dest("a");
    uint64_t start_ms = h.clock.now_ms();
    h.submit(1, {a});
    // Attempts at 0, 60, 180, 420 s, then the clamp puts the last one at the deadline (600 s).
    const uint64_t want_attempt_s[] = {0, 60, 180, 420, 600};
    std::vector<RecipientDecision> d;
    for (uint64_t at_s : want_attempt_s) {
        h.advance_to(start_ms + at_s * 1000);
        auto t = h.scheduler->next_ready(a);
        ASSERT_TRUE(t) << "attempt at " << at_s << " s";
        d = h.complete(*t, RecipientResult::deferred);
        ASSERT_EQ(d.size(), 1u);
    }
    EXPECT_EQ(d[0].verdict, Verdict::expired) << "deferred at the deadline: fails for good";
    EXPECT_EQ(d[0].attempts, 5u);
    EXPECT_EQ(h.scheduler->message_count(), 0u);
}

TEST(Scheduler, HeldRecipientsExpireWhenTheLifetimeEndsWhileDown) {
    Harness h(Harness::ten_minute_lifetime());
    DestinationId a = h.dest("a");
    DestinationId b = h.dest("b");
    h.submit(1, {a, b, a});
    auto tb = h.scheduler->next_ready(b);
    ASSERT_TRUE(tb);
    h.scheduler->report_connect_failure(a);
    EXPECT_TRUE(h.advance_s(599).empty());
    auto notices = h.advance_s(1);
    ASSERT_EQ(notices.size(), 1u);
    EXPECT_EQ(notices[0].kind, Notice::Kind::expired);
    EXPECT_EQ(notices[0].recipients, (Indices{0, 2})) << "b's recipient is in flight";
    EXPECT_EQ(h.scheduler->stats(a).ready, 0u);
    auto d = h.complete(*tb, RecipientResult::deferred);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].verdict, Verdict::expired);
    EXPECT_EQ(h.scheduler->message_count(), 0u);
}

TEST(Scheduler, DelayWarningOncePerMessage) {
    SchedulerConfig config = Harness::zero_jitter();
    config.retry.delay_warning_s = 300;
    Harness h(config);
    DestinationId a = h.dest("a");
    h.submit(1, {a, a, a});
    auto t = h.scheduler->next_ready(a);
    ASSERT_TRUE(t);
    std::vector<RecipientResult> results = {RecipientResult::delivered, RecipientResult::deferred,
                                            RecipientResult::deferred};
    std::vector<RecipientDecision> out;
    h.scheduler->complete(*t, results, out);
    EXPECT_TRUE(h.advance_s(299).empty());
    auto notices = h.advance_s(1);
    ASSERT_EQ(notices.size(), 1u);
    EXPECT_EQ(notices[0].kind, Notice::Kind::delay_warning);
    EXPECT_EQ(notices[0].recipients, (Indices{1, 2})) << "the delivered one is not delayed";
    for (int i = 0; i < 10; ++i) {
        for (const Notice& n : h.advance_s(600)) {
            EXPECT_NE(n.kind, Notice::Kind::delay_warning) << "a second warning";
        }
    }
}

// The operator's flush of a down destination: its probe goes at once, not at the window's end,
// and a failing probe still opens the next (doubled) window as usual.
TEST(Scheduler, WakeEndsTheDownWindowNow) {
    Harness h;
    DestinationId a = h.dest("a", 4);
    DestinationId b = h.dest("b", 4);
    h.submit(1, {a});
    h.submit(2, {b});
    h.scheduler->report_connect_failure(a);
    h.scheduler->report_connect_failure(b);
    h.advance_s(10);
    EXPECT_FALSE(h.scheduler->next()) << "both inside their window";
    h.scheduler->wake(a);
    auto probe = h.scheduler->next();
    ASSERT_TRUE(probe);
    EXPECT_EQ(probe->destination, a);
    EXPECT_TRUE(probe->probe);
    EXPECT_FALSE(h.scheduler->next()) << "b was not woken";
    h.scheduler->report_connect_failure(a);
    h.complete(*probe, RecipientResult::deferred);
    EXPECT_EQ(h.scheduler->stats(a).down_until_ms, h.clock.now_ms() + 120'000);
    h.scheduler->wake(b);
    h.scheduler->wake(b);  // twice is once
    auto probe_b = h.scheduler->next();
    ASSERT_TRUE(probe_b);
    EXPECT_EQ(probe_b->destination, b);
    EXPECT_FALSE(h.scheduler->next());
}

TEST(Scheduler, DownHostHoldsThenProbesOnceThenReleasesGradually) {
    Harness h;
    DestinationId a = h.dest("a", 4);
    for (uint64_t id = 1; id <= 12; ++id) h.submit(id, {a});
    h.scheduler->report_connect_failure(a);
    EXPECT_FALSE(h.scheduler->next_ready(a)) << "held while down";
    h.advance_s(59);
    EXPECT_FALSE(h.scheduler->next()) << "still inside the 60 s window";
    h.advance_s(1);
    auto probe = h.scheduler->next();
    ASSERT_TRUE(probe);
    EXPECT_TRUE(probe->probe);
    EXPECT_FALSE(h.scheduler->next()) << "exactly one probe";
    EXPECT_EQ(h.scheduler->stats(a).state, DestinationHealth::State::probing);

    // The probe fails: the next window is twice as long.
    h.scheduler->report_connect_failure(a);
    auto d = h.complete(*probe, RecipientResult::deferred);
    EXPECT_EQ(d.at(0).verdict, Verdict::retry);
    EXPECT_EQ(h.scheduler->stats(a).down_until_ms, h.clock.now_ms() + 120'000);
    h.advance_s(119);
    EXPECT_FALSE(h.scheduler->next());
    h.advance_s(1);
    probe = h.scheduler->next();
    ASSERT_TRUE(probe);
    EXPECT_TRUE(probe->probe);

    // The probe connects: one transaction at a time, one more per success, up to 4.
    h.scheduler->report_success(a);
    h.complete(*probe, RecipientResult::delivered);
    std::vector<Transaction> in_flight;
    for (uint32_t window = 1; window <= 4; ++window) {
        while (auto t = h.scheduler->next()) {
            EXPECT_FALSE(t->probe);
            in_flight.push_back(*t);
        }
        EXPECT_EQ(in_flight.size(), window) << "window " << window;
        EXPECT_EQ(h.scheduler->stats(a).transactions_in_flight, window);
        h.scheduler->report_success(a);
    }
    while (auto t = h.scheduler->next()) in_flight.push_back(*t);
    EXPECT_EQ(in_flight.size(), 4u) << "connections_max caps the window";
}

TEST(Scheduler, CancelWhileInFlightLeavesCountsExact) {
    Harness h;
    DestinationId a = h.dest("a");
    h.submit(1, {a, a});
    h.submit(2, {a});
    auto t = h.scheduler->next_ready(a);
    ASSERT_TRUE(t);
    EXPECT_EQ(h.scheduler->stats(a).in_flight, 2u);
    EXPECT_TRUE(h.scheduler->cancel(1));
    EXPECT_FALSE(h.scheduler->cancel(1));
    EXPECT_EQ(h.scheduler->stats(a).in_flight, 0u);
    EXPECT_TRUE(h.complete(*t, RecipientResult::delivered).empty());
    auto stats = h.scheduler->stats(a);
    EXPECT_EQ(stats.ready, 1u);
    EXPECT_EQ(stats.transactions_in_flight, 0u);
    auto t2 = h.scheduler->next_ready(a);
    ASSERT_TRUE(t2);
    EXPECT_EQ(t2->queue_id, 2u);
}

TEST(Scheduler, SubmitFromTheJournalAndOperatorFlush) {
    Harness h;
    DestinationId a = h.dest("a");
    uint64_t now_us = h.clock.wall_us();
    std::vector<SubmitRecipient> rs = {{0, a, 3, now_us + 500'000'000}, {1, a, 1, 0}};
    ASSERT_TRUE(h.scheduler->submit(9, now_us - 1'000'000, rs).has_value());
    auto dup = h.scheduler->submit(9, now_us, rs);
    ASSERT_FALSE(dup.has_value());
    EXPECT_EQ(dup.error().code, base::Errc::invalid);
    auto stats = h.scheduler->stats(a);
    EXPECT_EQ(stats.ready, 1u);
    EXPECT_EQ(stats.deferred, 1u);
    auto view = h.scheduler->find_recipient(9, 0);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->attempts, 3u);
    EXPECT_EQ(view->next_attempt_ms, h.clock.now_ms() + 500'000);
    auto t = h.scheduler->next_ready(a);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->recipients, (Indices{1}));
    EXPECT_TRUE(h.scheduler->flush(9));
    auto flushed = h.scheduler->next_ready(a);
    ASSERT_TRUE(flushed);
    EXPECT_EQ(flushed->recipients, (Indices{0}));

    SchedulerConfig small = Harness::zero_jitter();
    small.messages_max = 1;
    Harness full(small);
    DestinationId b = full.dest("b");
    full.submit(1, {b});
    std::vector<SubmitRecipient> one = {{0, b}};
    auto refused = full.scheduler->submit(2, now_us, one);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, base::Errc::no_space);
}

TEST(Scheduler, CountsByDestinationAndAge) {
    Harness h;
    DestinationId a = h.dest("a");
    DestinationId b = h.dest("b");
    h.submit(1, {a, b});
    h.advance_s(700);
    h.submit(2, {a, a});
    auto t = h.scheduler->next_ready(b);
    ASSERT_TRUE(t);
    auto ta = h.scheduler->next_ready(a);
    ASSERT_TRUE(ta);
    h.complete(*ta, RecipientResult::deferred);
    const uint32_t bounds_s[] = {300, 3600};
    auto rows = h.scheduler->shape(bounds_s);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[a].counts, (std::vector<uint32_t>{2, 1, 0}));
    EXPECT_EQ(rows[b].counts, (std::vector<uint32_t>{0, 1, 0}));
    auto all = h.scheduler->all_stats();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[a].key->next_hop, "a");
    EXPECT_EQ(all[a].ready, 2u);
    EXPECT_EQ(all[a].deferred, 1u);
    EXPECT_EQ(all[b].in_flight, 1u);
}

}  // namespace
}  // namespace ringmta::queue
