// `ringmta-bench source`: loads the corpus, spreads the sessions over --threads workers, prints
// a progress line a second on stderr and the final report (text or --json) on stdout.
// Exit code: 0 when the run completed (rejections are results), 1 on set-up failure or when
// some sessions gave up, 3 when no connection could be kept up at all.
#pragma once

#include "bench/load/bench_options.hh"

namespace ringmta::bench {

int run_source(const SourceOptions& options);

}  // namespace ringmta::bench
