// DATA/BDAT content scanning throughput (bytes/s) over typical mail text fed in recv()-sized
// chunks, next to a plain memcpy of the same bytes in the same run: compare the ratio, not the
// absolute numbers, on shared machines. Runs also as a tiny test (--benchmark_min_time=0.01).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "mta/smtp/bdat_reader.hh"
#include "mta/smtp/data_reader.hh"

namespace ringmta::smtp {
namespace {

constexpr size_t kMessageBytes = 1 << 20;
constexpr size_t kRecvBytes = 16384;

// Lines of line_length octets (then CRLF); every dot_every-th line begins with a stuffed dot,
// every bare_lf_every-th line ends with a bare LF (0: never).
std::string make_wire(size_t line_length, size_t dot_every, size_t bare_lf_every) {
    std::string wire;
    wire.reserve(kMessageBytes + line_length + 8);
    for (size_t line = 1; wire.size() < kMessageBytes; ++line) {
        if (dot_every && line % dot_every == 0) wire += "..";
        for (size_t i = 0; i < line_length; ++i) wire += char('a' + (line + i) % 26);
        wire += bare_lf_every && line % bare_lf_every == 0 ? "\n" : "\r\n";
    }
    wire += ".\r\n";
    return wire;
}

// Throws the bytes away: measures the scan, not the appends.
class NullSink final : public ContentSink {
  public:
    void write(const char* p, size_t n) override {
        benchmark::DoNotOptimize(p);
        bytes_ += n;
    }
    size_t bytes_ = 0;
};

void run_data(benchmark::State& state, const std::string& wire) {
    ContentLimits limits;
    limits.message_size_bytes_max = uint64_t(1) << 40;
    for (auto _ : state) {
        NullSink sink;
        DataReader reader(sink, limits);
        for (size_t offset = 0; offset < wire.size(); offset += kRecvBytes) {
            size_t n = std::min(kRecvBytes, wire.size() - offset);
            FeedResult r = reader.feed(wire.data() + offset, n);
            if (r.status == ContentStatus::complete) break;
        }
        benchmark::DoNotOptimize(sink.bytes_);
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(wire.size()));
}

void BM_MemcpyBaseline(benchmark::State& state) {
    std::string wire = make_wire(76, 0, 0);
    std::string out(kRecvBytes, '\0');
    for (auto _ : state) {
        for (size_t offset = 0; offset < wire.size(); offset += kRecvBytes) {
            size_t n = std::min(kRecvBytes, wire.size() - offset);
            std::memcpy(out.data(), wire.data() + offset, n);
            benchmark::ClobberMemory();
        }
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(wire.size()));
}
BENCHMARK(BM_MemcpyBaseline);

void BM_DataPlainText(benchmark::State& state) {
    run_data(state, make_wire(size_t(state.range(0)), 0, 0));
}
BENCHMARK(BM_DataPlainText)->Arg(76)->Arg(998);

void BM_DataDotStuffed(benchmark::State& state) { run_data(state, make_wire(76, 4, 0)); }
BENCHMARK(BM_DataDotStuffed);

void BM_DataBareLf(benchmark::State& state) { run_data(state, make_wire(76, 0, 4)); }
BENCHMARK(BM_DataBareLf);

void BM_DataIntoString(benchmark::State& state) {
    std::string wire = make_wire(76, 0, 0);
    std::string content;
    content.reserve(wire.size());
    for (auto _ : state) {
        content.clear();
        StringSink sink(&content);
        DataReader reader(sink, ContentLimits{});
        for (size_t offset = 0; offset < wire.size(); offset += kRecvBytes) {
            size_t n = std::min(kRecvBytes, wire.size() - offset);
            if (reader.feed(wire.data() + offset, n).status == ContentStatus::complete) break;
        }
        benchmark::DoNotOptimize(content.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(wire.size()));
}
BENCHMARK(BM_DataIntoString);

void BM_BdatText(benchmark::State& state) {
    std::string wire = make_wire(76, 0, 0);
    for (auto _ : state) {
        NullSink sink;
        BdatReader reader(sink, ContentLimits{}, /*binary=*/false);
        reader.begin_chunk(wire.size(), true);
        for (size_t offset = 0; offset < wire.size(); offset += kRecvBytes) {
            size_t n = std::min(kRecvBytes, wire.size() - offset);
            benchmark::DoNotOptimize(reader.feed(wire.data() + offset, n));
        }
        benchmark::DoNotOptimize(sink.bytes_);
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(wire.size()));
}
BENCHMARK(BM_BdatText);

}  // namespace
}  // namespace ringmta::smtp
