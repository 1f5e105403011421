// Retry arithmetic: capped doubling, multiplicative jitter, deadline clamp, delay warnings.
#include "queue/retry_policy.hh"

#include <algorithm>

#include "mta/base/assert.hh"

namespace ringmta::queue {

uint64_t SplitMix64::next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

RetryPolicy::RetryPolicy(const RetryConfig& config) : config_(config) {
    MTA_ASSERT(config.initial_s > 0);
    MTA_ASSERT(config.max_s >= config.initial_s);
    MTA_ASSERT(config.jitter_pct <= 50);
}

uint64_t RetryPolicy::nominal_delay_ms(uint32_t attempts) const {
    MTA_ASSERT(attempts >= 1);
    uint64_t delay_s = config_.initial_s;
    // Stop doubling at the cap; also keeps the shift from overflowing for large counts.
    for (uint32_t i = 1; i < attempts && delay_s < config_.max_s; ++i) delay_s *= 2;
    return std::min<uint64_t>(delay_s, config_.max_s) * 1000;
}

uint64_t RetryPolicy::delay_ms(uint32_t attempts, JitterSource& jitter) const {
    uint64_t nominal = nominal_delay_ms(attempts);
    uint64_t span = nominal * config_.jitter_pct / 100;  // one side of the window
    if (span == 0) return nominal;
    // Uniform over [nominal - span, nominal + span]; the modulo bias is negligible here.
    return nominal - span + jitter.next_u64() % (2 * span + 1);
}

RetryDecision RetryPolicy::after_deferral(uint64_t arrival_us, uint64_t now_us,
                                          uint32_t attempts, JitterSource& jitter) const {
    uint64_t deadline = deadline_us(arrival_us);
    if (now_us >= deadline) return RetryDecision{true, 0};
    uint64_t next = now_us + delay_ms(attempts, jitter) * 1000;
    // The last try happens at the deadline rather than a whole backoff after it.
    return RetryDecision{false, std::min(next, deadline)};
}

uint64_t RetryPolicy::delay_warning_at_us(uint64_t arrival_us) const {
    if (config_.delay_warning_s == 0 || config_.delay_warning_s >= config_.queue_lifetime_s) {
        return 0;
    }
    return arrival_us + uint64_t(config_.delay_warning_s) * 1'000'000;
}

std::string_view expired_status(std::string_view last_status) {
    return last_status.empty() ? std::string_view("4.4.7") : last_status;
}

std::string expired_status(std::string_view last_status, std::string_view last_diagnostic) {
    if (!last_status.empty()) return std::string(last_status);
    // "said: " then a reply code and (with ENHANCEDSTATUSCODES) "c.s.d" with 1-3 digit parts.
    size_t said = last_diagnostic.find(" said: ");
    if (said == std::string_view::npos) return "4.4.7";
    std::string_view reply = last_diagnostic.substr(said + 7);
    if (reply.size() < 4 || reply[3] != ' ') return "4.4.7";
    std::string_view code = reply.substr(4);
    code = code.substr(0, code.find(' '));
    auto digits = [](std::string_view s) {
        return !s.empty() && s.size() <= 3 &&
               std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    size_t dot1 = code.find('.'), dot2 = code.find('.', dot1 + 1);
    if (code.size() < 5 || (code[0] != '4' && code[0] != '5') || dot1 != 1 ||
        dot2 == std::string_view::npos || !digits(code.substr(2, dot2 - 2)) ||
        !digits(code.substr(dot2 + 1)))
        return "4.4.7";
    std::string status(code);
    status[0] = '4';  // the recipient was deferred: its status was temporary
    return status;
}

}  // namespace ringmta::queue
