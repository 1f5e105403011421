// Outbound DATA dot-stuffing throughput (bytes/s) over 1 MiB of mail text in two pieces
// (Received header, body), next to a plain append of the same bytes in the same run: compare
// the ratio, not absolute numbers, on shared machines. The argument is how often a line begins
// with "." (every Nth line; 0: never). Also the reply parser on a pipelined batch of replies.
// Runs also as a tiny test (--benchmark_min_time=0.001).
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "mta/smtp/client_dot_stuffer.hh"
#include "mta/smtp/client_reply.hh"

namespace ringmta::smtp {
namespace {

constexpr size_t kMessageBytes = 1 << 20;

std::string make_body(size_t dot_every) {
    std::string body;
    body.reserve(kMessageBytes + 128);
    for (size_t line = 1; body.size() < kMessageBytes; ++line) {
        if (dot_every && line % dot_every == 0) body += '.';
        for (size_t i = 0; i < 76; ++i) body += char('a' + (line + i) % 26);
        body += "\r\n";
    }
    return body;
}

const std::string kReceived =
    "Received: from client.example.org (client.example.org [192.0.2.7])\r\n"
    "\tby gw.example.com (ringmta) with ESMTPS id 0123456789ABCDEF\r\n";

void BM_AppendBaseline(benchmark::State& state) {
    std::string body = make_body(size_t(state.range(0)));
    std::string out;
    for (auto _ : state) {
        out.clear();
        out.reserve(kReceived.size() + body.size() + 3);
        out += kReceived;
        out += body;
        out += ".\r\n";
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
}

void BM_DotStuff(benchmark::State& state) {
    std::string body = make_body(size_t(state.range(0)));
    const std::string_view pieces[] = {kReceived, body};
    std::string out;
    for (auto _ : state) {
        out.clear();  // keeps capacity, as a connection's output buffer does
        append_dot_stuffed(out, pieces);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
}

// The replies to a pipelined MAIL, 100 RCPTs and DATA, parsed in one buffer.
void BM_ReplyParser(benchmark::State& state) {
    std::string wire = "250 2.1.0 Ok\r\n";
    for (int i = 0; i < 100; ++i) wire += "250 2.1.5 Ok\r\n";
    wire += "354 End data with <CR><LF>.<CR><LF>\r\n";
    ClientReplyParser parser;
    for (auto _ : state) {
        std::string_view in = wire;
        size_t replies = 0;
        while (parser.parse(in) == ReplyParse::reply) ++replies;
        benchmark::DoNotOptimize(replies);
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(wire.size()));
}

BENCHMARK(BM_AppendBaseline)->Arg(0)->Arg(10);
BENCHMARK(BM_DotStuff)->Arg(0)->Arg(10)->Arg(1);
BENCHMARK(BM_ReplyParser);

}  // namespace
}  // namespace ringmta::smtp
