// RetryPolicy: when a deferred recipient is tried again, when it gives up, and when the sender
// is warned of the delay. Pure arithmetic over times the caller passes; the only state is the
// injected jitter source. Invariant: a retry is never scheduled past the message's deadline
// (arrival + queue lifetime), so the last attempt happens at the deadline, not after it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringmta::queue {

// The random numbers behind retry jitter; tests inject a seeded one and replay it.
class JitterSource {
public:
    virtual ~JitterSource() = default;
    virtual uint64_t next_u64() = 0;
};

// SplitMix64: tiny, seedable, good enough to spread retries (not for anything secret).
class SplitMix64 final : public JitterSource {
public:
    explicit SplitMix64(uint64_t seed) : state_(seed) {}
    uint64_t next_u64() override;

private:
    uint64_t state_;
};

struct RetryConfig {
    uint32_t initial_s = 60;          // first retry after this long
    uint32_t max_s = 3600;            // the doubling stops here
    uint32_t jitter_pct = 15;         // each delay is moved uniformly within +-jitter_pct %
    uint32_t queue_lifetime_s = 172800;
    uint32_t delay_warning_s = 14400; // 0: no delay warnings
};

// What to do with a recipient that was just deferred.
struct RetryDecision {
    bool expired = false;         // give up: fail the recipient (see expiry note below)
    uint64_t next_attempt_us = 0; // when not expired: wall-clock time of the next try
};

// Expiry, as Postfix does it: a recipient still deferred once arrival + queue_lifetime has
// passed fails permanently. Its DSN says Action: failed with the *last temporary* Status and
// Diagnostic-Code (e.g. 4.2.0 and the remote's 450 reply), plus a human line saying that
// delivery timed out; expired_status() below gives the Status when no attempt ever got a code.
class RetryPolicy {
public:
    // Asserts initial_s > 0, max_s >= initial_s, jitter_pct <= 50.
    explicit RetryPolicy(const RetryConfig& config);

    const RetryConfig& config() const { return config_; }

    // The un-jittered delay after `attempts` attempts (attempts >= 1): initial_s doubled per
    // attempt after the first, capped at max_s.
    uint64_t nominal_delay_ms(uint32_t attempts) const;
    // nominal_delay_ms with jitter drawn from `jitter`: within +-jitter_pct % of the nominal.
    uint64_t delay_ms(uint32_t attempts, JitterSource& jitter) const;

    uint64_t deadline_us(uint64_t arrival_us) const {
        return arrival_us + uint64_t(config_.queue_lifetime_s) * 1'000'000;
    }

    // A recipient was deferred at now_us after `attempts` attempts in all.
    RetryDecision after_deferral(uint64_t arrival_us, uint64_t now_us, uint32_t attempts,
                                 JitterSource& jitter) const;

    // 0 when warnings are off or would come after the deadline (the bounce says it all).
    uint64_t delay_warning_at_us(uint64_t arrival_us) const;

private:
    RetryConfig config_;
};

// The Status of an expired recipient: its last temporary status if it had one, else 4.4.7
// ("delivery time expired", RFC 3463).
std::string_view expired_status(std::string_view last_status);
// The same for a recipient that expires while waiting: its last status when it is known (kept
// in memory), else the enhanced code quoted in its last diagnostic ("... said: 450 4.2.0 busy
// (in reply to RCPT TO command)", what the journal keeps across a restart) made temporary,
// else 4.4.7.
std::string expired_status(std::string_view last_status, std::string_view last_diagnostic);

}  // namespace ringmta::queue
