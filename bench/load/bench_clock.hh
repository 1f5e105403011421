// Clocks of ringmta-bench: monotonic for durations, realtime for X-Bench-Sent, which the sink
// (possibly another process) compares with its own realtime clock. vDSO calls, no syscall.
#pragma once

#include <time.h>

#include <cstdint>

namespace ringmta::bench {

inline uint64_t clock_ns(clockid_t id) {
    timespec ts;
    clock_gettime(id, &ts);
    return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}
inline uint64_t monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }
inline uint64_t realtime_ns() { return clock_ns(CLOCK_REALTIME); }

}  // namespace ringmta::bench
