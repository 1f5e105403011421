// Down windows, the single probe, and the slow reopening of a destination.
#include "queue/destination_health.hh"

#include <algorithm>

namespace ringmta::queue {

DestinationHealth::Gate DestinationHealth::gate(uint64_t now_ms, uint32_t in_flight,
                                                uint32_t connections_max) const {
    switch (state_) {
        case State::up:
            return in_flight < std::min(window_, connections_max) ? Gate::open : Gate::closed;
        case State::down:
            // Connections opened before the failure may still be busy; the probe does not
            // wait for them, it tests whether a *new* connection works.
            return now_ms >= down_until_ms_ ? Gate::probe : Gate::closed;
        case State::probing:
            return Gate::closed;
    }
    return Gate::closed;
}

void DestinationHealth::start_probe() { state_ = State::probing; }

bool DestinationHealth::connect_failed(uint64_t now_ms, const HealthConfig& config) {
    if (state_ == State::down && now_ms < down_until_ms_) return false;
    ++failures_;
    uint64_t window_s = config.down_initial_s;
    for (uint32_t i = 1; i < failures_ && window_s < config.down_max_s; ++i) window_s *= 2;
    window_s = std::min<uint64_t>(window_s, config.down_max_s);
    state_ = State::down;
    down_until_ms_ = now_ms + window_s * 1000;
    window_ = 0;
    return true;
}

void DestinationHealth::succeeded(uint32_t connections_max) {
    if (state_ != State::up) {
        state_ = State::up;
        failures_ = 0;
        window_ = 1;  // release the backlog gradually: one connection, then one more per success
        return;
    }
    if (window_ < connections_max) ++window_;
}

const char* destination_state_name(DestinationHealth::State state) {
    switch (state) {
        case DestinationHealth::State::up: return "up";
        case DestinationHealth::State::down: return "down";
        case DestinationHealth::State::probing: return "probing";
    }
    return "?";
}

}  // namespace ringmta::queue
