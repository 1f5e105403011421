// Spool record codec throughput (bytes/s of whole records): message records with 1, 10 and 100
// recipients and 1 KiB or 100 KiB of content, encoded (head written, content checksummed in
// place, as the spool writer does) and decoded (framed, both CRCs checked, envelope parsed, as
// recovery and delivery do); and journal outcome records, encoded and decoded.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "queue/journal_record.hh"
#include "queue/message_record.hh"
#include "queue/record_format.hh"

namespace ringmta::queue {
namespace {

// An envelope as a TLS-speaking relay client leaves it: DSN parameters on every recipient.
Envelope make_envelope(int64_t recipients) {
    Envelope e;
    e.queue_id = 0x0005F3A1B2C3D401;
    e.arrival_us = 1'767'225'600'123'456;
    e.sender = "bounces+campaign-2026-11.u48213@lists.example.com";
    e.body_type = BodyType::eight_bit_mime;
    e.ret = DsnRet::hdrs;
    e.envid = "QQ314159+2B2653589";
    e.client_ip = "192.0.2.45";
    e.helo_name = "mail-out-3.lists.example.com";
    e.tls_protocol = "TLSv1.3";
    e.tls_cipher = "TLS_AES_256_GCM_SHA384";
    e.shard = 1;
    for (int64_t i = 0; i < recipients; ++i) {
        Recipient r;
        r.address = "customer." + std::to_string(10000 + i) + "@mail" + std::to_string(i % 7) +
                    ".example.net";
        r.notify = notify_success | notify_failure;
        r.orcpt = "rfc822;" + r.address;
        e.recipients.push_back(std::move(r));
    }
    return e;
}

// Headers, then 76-column text lines, `size` bytes in all.
std::string make_content(size_t size) {
    std::string c =
        "Received: from mail-out-3.lists.example.com (mail-out-3.lists.example.com "
        "[192.0.2.45])\r\n\tby gw.example.org (ringmta) with ESMTPS id 0005F3A1B2C3D401\r\n"
        "From: Lists <news@lists.example.com>\r\nTo: customer@example.net\r\n"
        "Subject: November newsletter\r\nMessage-ID: <n.48213@lists.example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
    for (size_t line = 0; c.size() < size; ++line) {
        for (size_t i = 0; i < 76; ++i) c += char('a' + (line + i) % 26);
        c += "\r\n";
    }
    c.resize(size);
    return c;
}

ContentSpan span_of(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The whole record as it sits in a segment: head, content, zero padding.
std::vector<uint8_t> make_record(const Envelope& e, const std::string& content) {
    ContentSpan spans[] = {span_of(content)};
    std::vector<uint8_t> record(message_head_size(e));
    auto head = encode_message_head(e, spans, record);
    if (!head) std::abort();
    record.insert(record.end(), content.begin(), content.end());
    record.resize(head->record_size, 0);
    return record;
}

void BM_MessageEncode(benchmark::State& state) {
    Envelope e = make_envelope(state.range(0));
    std::string content = make_content(size_t(state.range(1)));
    ContentSpan spans[] = {span_of(content)};
    std::vector<uint8_t> head(message_head_size(e));
    uint64_t record_size = 0;
    for (auto _ : state) {
        auto h = encode_message_head(e, spans, head);
        benchmark::DoNotOptimize(head.data());
        record_size = h->record_size;
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(record_size));
    state.counters["record_bytes"] = double(record_size);
}

void BM_MessageDecode(benchmark::State& state) {
    Envelope e = make_envelope(state.range(0));
    std::string content = make_content(size_t(state.range(1)));
    std::vector<uint8_t> record = make_record(e, content);
    auto check = decode_message_record(record);
    if (!check || check->envelope != e || check->content.size() != content.size()) {
        std::fprintf(stderr, "message record does not round-trip\n");
        std::abort();  // a broken codec must fail the smoke test, not be timed
    }
    for (auto _ : state) {
        auto d = decode_message_record(record);
        benchmark::DoNotOptimize(d->envelope.recipients.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(record.size()));
    state.counters["record_bytes"] = double(record.size());
}

void message_args(benchmark::internal::Benchmark* b) {
    for (int64_t recipients : {1, 10, 100})
        for (int64_t content : {1024, 102400}) b->Args({recipients, content});
    b->ArgNames({"rcpts", "content"});
}
BENCHMARK(BM_MessageEncode)->Apply(message_args);
BENCHMARK(BM_MessageDecode)->Apply(message_args);

// Outcomes as delivery journals them: a delivery with the next hop's reply, a deferral.
const OutcomeRecord kOutcomes[] = {
    {0x0005F3A1B2C3D401, 3, Outcome::delivered, 1, 0,
     "250 2.0.0 Ok: queued as 4Xk9Lm2QzTz1"},
    {0x0005F3A1B2C3D402, 0, Outcome::deferred, 4, 1'767'225'900'000'000,
     "451 4.7.1 <customer.10000@mail0.example.net>: Recipient address rejected: greylisted, "
     "try again in 300 seconds"},
};

void BM_OutcomeEncode(benchmark::State& state) {
    const OutcomeRecord& r = kOutcomes[state.range(0)];
    std::vector<uint8_t> out(outcome_record_size(r));
    for (auto _ : state) {
        benchmark::DoNotOptimize(encode_outcome(r, out));
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(out.size()));
    state.SetItemsProcessed(int64_t(state.iterations()));
}

void BM_OutcomeDecode(benchmark::State& state) {
    const OutcomeRecord& r = kOutcomes[state.range(0)];
    std::vector<uint8_t> record(outcome_record_size(r));
    encode_outcome(r, record);
    Frame f = read_frame(record);
    auto check = decode_outcome(f.payload);
    if (f.status != FrameStatus::ok || !check || *check != r) {
        std::fprintf(stderr, "outcome record does not round-trip\n");
        std::abort();
    }
    for (auto _ : state) {
        Frame frame = read_frame(record);  // both CRCs, as recovery reads it
        auto d = decode_outcome(frame.payload);
        benchmark::DoNotOptimize(d->diagnostic.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(record.size()));
    state.SetItemsProcessed(int64_t(state.iterations()));
}

// 0: delivered (short diagnostic), 1: deferred (a long greylisting reply).
BENCHMARK(BM_OutcomeEncode)->Arg(0)->Arg(1)->ArgName("outcome");
BENCHMARK(BM_OutcomeDecode)->Arg(0)->Arg(1)->ArgName("outcome");

}  // namespace
}  // namespace ringmta::queue
