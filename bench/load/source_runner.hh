// `ringmta-bench source`: loads the corpus, spreads the sessions over --threads workers, prints
// a progress line a second on stderr and the final report (text or --json) on stdout.
// Returns the exit code: 0 when every message was accepted, 1 otherwise or on set-up failure.
#pragma once

#include "bench/load/bench_options.hh"

namespace ringmta::bench {

int run_source(const SourceOptions& options);

}  // namespace ringmta::bench
