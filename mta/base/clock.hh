// Clocks: monotonic milliseconds for timeouts, wall-clock for trace headers and queue IDs.
// Code that schedules takes a Clock& so tests can use FakeClock.
#pragma once

#include <cstdint>
#include <ctime>

namespace ringmta::base {

inline uint64_t monotonic_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

inline uint64_t monotonic_us() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
}

inline uint64_t realtime_us() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
}

class Clock {
public:
    virtual ~Clock() = default;
    virtual uint64_t now_ms() const = 0;       // monotonic
    virtual uint64_t wall_us() const = 0;      // since the Unix epoch
};

class SystemClock final : public Clock {
public:
    uint64_t now_ms() const override { return monotonic_ms(); }
    uint64_t wall_us() const override { return realtime_us(); }
};

class FakeClock final : public Clock {
public:
    uint64_t now_ms() const override { return now_ms_; }
    uint64_t wall_us() const override { return wall_us_; }
    void advance_ms(uint64_t ms) { now_ms_ += ms; wall_us_ += ms * 1000; }
    uint64_t now_ms_ = 1'000'000;
    uint64_t wall_us_ = 1'700'000'000'000'000;
};

}  // namespace ringmta::base
