// Cost of one log line, formatted and written to /dev/null: the per-event price paid on the
// accept and delivery paths (a queued line per message, a delivery line per recipient).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include "mta/base/log.hh"

namespace {

using namespace ringmta::base;

void run(benchmark::State& state, LogFormat format) {
    int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    log_configure(fd, format, LogLevel::info);
    for (auto _ : state) {
        MTA_LOG_INFO("%s: client=[%s], from=<%s>, nrcpt=%zu, size=%zu, queued", "0005F3A1B2C3D401",
                     "127.0.0.1", "sender@example.com", size_t(1), size_t(1024));
    }
    log_configure(2, LogFormat::text, LogLevel::info);
    ::close(fd);
}

void BM_LogLineText(benchmark::State& state) { run(state, LogFormat::text); }
void BM_LogLineJson(benchmark::State& state) { run(state, LogFormat::json); }
BENCHMARK(BM_LogLineText);
BENCHMARK(BM_LogLineJson);

}  // namespace
