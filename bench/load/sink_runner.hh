// `ringmta-bench sink`: starts --threads workers on one address (SO_REUSEPORT), says
// "listening" on stderr once every worker is ready, reports every --report-interval seconds
// and on SIGINT/SIGTERM (then exits 0). Returns 1 when the address cannot be served.
#pragma once

#include "bench/load/bench_options.hh"

namespace ringmta::bench {

int run_sink(const SinkOptions& options);

}  // namespace ringmta::bench
