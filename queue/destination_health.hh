// DestinationHealth: whether one destination (connector + next hop) may be given new work.
// After a connect failure it is down for a window that doubles per consecutive failure up to a
// cap; when the window ends exactly one probe goes out; a success reopens it with a concurrency
// window of one that grows by one per success. No failure modes: a pure state machine.
#pragma once

#include <cstdint>

namespace ringmta::queue {

struct HealthConfig {
    uint32_t down_initial_s = 60;  // first down window
    uint32_t down_max_s = 600;     // the doubling stops here
};

class DestinationHealth {
public:
    enum class State : uint8_t { up, down, probing };
    // open: start a transaction; probe: start one, as the probe; closed: start nothing.
    enum class Gate : uint8_t { open, probe, closed };

    Gate gate(uint64_t now_ms, uint32_t in_flight, uint32_t connections_max) const;
    // The transaction that gate() allowed as a probe has been handed out.
    void start_probe();
    // A connection could not be set up (refused, timeout, 4xx greeting). True when this opened
    // a new down window (the caller arms a wake-up at down_until_ms()); false when the
    // destination was already inside one (several connections failing together count once).
    bool connect_failed(uint64_t now_ms, const HealthConfig& config);
    // A connection was set up and greeted (or a transaction completed on one).
    void succeeded(uint32_t connections_max);
    // The operator's flush: a down window ends now, so the probe may go at once.
    void end_down_window(uint64_t now_ms) {
        if (state_ == State::down && down_until_ms_ > now_ms) down_until_ms_ = now_ms;
    }

    State state() const { return state_; }
    uint64_t down_until_ms() const { return down_until_ms_; }
    uint32_t consecutive_failures() const { return failures_; }
    // Transactions allowed in flight while recovering; UINT32_MAX when never restricted.
    uint32_t window() const { return window_; }

private:
    State state_ = State::up;
    uint64_t down_until_ms_ = 0;
    uint32_t failures_ = 0;
    uint32_t window_ = UINT32_MAX;
};

const char* destination_state_name(DestinationHealth::State state);

}  // namespace ringmta::queue
