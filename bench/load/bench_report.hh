// Report pieces shared by source and sink: latency percentiles and reply-code tables as text
// and JSON, and the signal-driven wait loop of the main thread. Output only; no state.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "bench/load/latency_histogram.hh"

namespace ringmta::bench {

// "p50 0.412 ms, p90 ..., max ..." (values in ns).
std::string latency_text(const LatencyHistogram& h);
// {"count": N, "p50": ms, "p90": ..., "p99": ..., "p999": ..., "max": ...}
std::string latency_json(const LatencyHistogram& h);
// "451 x 12, 554 x 3" / {"451": 12, "554": 3}; codes with a zero count are left out.
std::string codes_text(const std::array<uint64_t, 600>& codes);
std::string codes_json(const std::array<uint64_t, 600>& codes);

// Blocks SIGINT and SIGTERM in the calling thread (call before starting workers, so they
// inherit the mask and only the main thread sees the signals).
void block_stop_signals();
// Waits until `done()` is true, calling `tick(elapsed_s)` every `interval_s` (0: never) and
// `on_signal(count)` for each SIGINT/SIGTERM. Returns the number of signals seen.
unsigned wait_main(const std::function<bool()>& done, double interval_s,
                   const std::function<void(double)>& tick,
                   const std::function<void(unsigned)>& on_signal);

}  // namespace ringmta::bench
