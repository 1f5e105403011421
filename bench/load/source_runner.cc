// Source orchestration: workers on their own threads; the main thread only waits for signals,
// prints progress and sums the workers' counters (relaxed reads) into the report.
#include "bench/load/source_runner.hh"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "bench/load/bench_report.hh"
#include "bench/load/source_worker.hh"

namespace ringmta::bench {

namespace {

struct SourceTotals {
    uint64_t accepted = 0, failed = 0, retried = 0, rcpts = 0, message_bytes = 0, wire_bytes = 0;
    uint64_t connections = 0, connect_errors = 0, lost = 0, timeouts = 0, given_up = 0;
    std::array<uint64_t, 600> codes{};
    std::unique_ptr<LatencyHistogram> latency = std::make_unique<LatencyHistogram>();
};

SourceTotals sum(const std::vector<std::unique_ptr<SourceWorker>>& workers) {
    SourceTotals t;
    for (const auto& w : workers) {
        const SourceStats& s = w->stats();
        t.accepted += s.accepted.get();
        t.failed += s.failed.get();
        t.retried += s.retried.get();
        t.rcpts += s.rcpts_accepted.get();
        t.message_bytes += s.message_bytes.get();
        t.wire_bytes += s.wire_bytes.get();
        t.connections += s.connections.get();
        t.connect_errors += s.connect_errors.get();
        t.lost += s.lost_connections.get();
        t.timeouts += s.timeouts.get();
        t.given_up += s.sessions_given_up.get();
        for (size_t c = 0; c < t.codes.size(); ++c) t.codes[c] += s.reply_codes[c].get();
        t.latency->merge_from(s.latency_ns);
    }
    return t;
}

std::string describe_load(const SourceOptions& o) {
    std::string d = o.eml_dir.empty() ? std::to_string(o.size_bytes) + "-byte messages"
                                      : "messages from " + o.eml_dir;
    d += ", " + std::to_string(o.sessions) + " sessions";
    if (o.rcpts > 1) d += ", " + std::to_string(o.rcpts) + " rcpts";
    if (o.pipelining) d += ", pipelining";
    if (o.bdat) d += ", BDAT";
    if (o.starttls) d += ", STARTTLS";
    if (o.new_connection_per_message) d += ", new connection per message";
    return d;
}

void print_report(const SourceOptions& o, const SourceTotals& t, double elapsed_s) {
    double rate = elapsed_s > 0 ? double(t.accepted) / elapsed_s : 0;
    double bytes_rate = elapsed_s > 0 ? double(t.message_bytes) / elapsed_s : 0;
    if (o.json) {
        printf(
            "{\"mode\": \"source\", \"to\": \"%s\", \"elapsed_s\": %.4f, \"sessions\": %u, "
            "\"threads\": %u, \"messages_accepted\": %" PRIu64 ", \"messages_failed\": %" PRIu64
            ", \"messages_retried\": %" PRIu64 ", \"recipients_accepted\": %" PRIu64
            ", \"msgs_per_s\": %.1f, \"bytes_per_s\": %.0f, \"message_bytes\": %" PRIu64
            ", \"wire_bytes\": %" PRIu64 ", \"connections\": %" PRIu64
            ", \"connect_errors\": %" PRIu64 ", \"lost_connections\": %" PRIu64
            ", \"timeouts\": %" PRIu64 ", \"sessions_given_up\": %" PRIu64
            ", \"latency_ms\": %s, \"replies\": %s}\n",
            o.to.text.c_str(), elapsed_s, o.sessions, o.threads, t.accepted, t.failed, t.retried,
            t.rcpts, rate, bytes_rate, t.message_bytes, t.wire_bytes, t.connections,
            t.connect_errors, t.lost, t.timeouts, t.given_up, latency_json(*t.latency).c_str(),
            codes_json(t.codes).c_str());
    } else {
        printf("ringmta-bench source -> %s: %s\n", o.to.text.c_str(), describe_load(o).c_str());
        printf("  accepted %" PRIu64 " in %.3f s: %.0f msgs/s, %.2f MB/s\n", t.accepted, elapsed_s,
               rate, bytes_rate / 1e6);
        printf("  failed %" PRIu64 ", retried %" PRIu64 ", connections %" PRIu64
               " (connect errors %" PRIu64 ", lost %" PRIu64 ", timeouts %" PRIu64 ")\n",
               t.failed, t.retried, t.connections, t.connect_errors, t.lost, t.timeouts);
        printf("  latency end of data -> reply: %s\n", latency_text(*t.latency).c_str());
        printf("  non-2xx replies: %s\n", codes_text(t.codes).c_str());
    }
    fflush(stdout);
}

}  // namespace

int run_source(const SourceOptions& options) {
    MessageCorpus corpus;
    if (options.eml_dir.empty()) {
        corpus = MessageCorpus::generated(options.size_bytes);
    } else {
        auto loaded = MessageCorpus::from_directory(options.eml_dir);
        if (!loaded) {
            fprintf(stderr, "ringmta-bench: %s\n", loaded.error().message.c_str());
            return 1;
        }
        corpus = std::move(*loaded);
    }
    SourceShared shared;
    shared.options = &options;
    shared.corpus = &corpus;
    shared.run_id = uint32_t(getpid());
    shared.start_ns = monotonic_ns();
    if (options.duration_s > 0)
        shared.deadline_ns = shared.start_ns + uint64_t(options.duration_s * 1e9);

    block_stop_signals();
    std::vector<std::unique_ptr<SourceWorker>> workers;
    unsigned first = 0;
    for (unsigned i = 0; i < options.threads; ++i) {
        unsigned count =
            options.sessions / options.threads + (i < options.sessions % options.threads ? 1 : 0);
        workers.push_back(std::make_unique<SourceWorker>(shared, first, count));
        first += count;
    }
    std::vector<std::thread> threads;
    std::atomic<bool> setup_failed{false};
    for (auto& w : workers)
        threads.emplace_back([&w, &setup_failed] {
            if (!w->run()) setup_failed = true;
        });

    uint64_t last_accepted = 0;
    double last_s = 0;
    auto all_done = [&] {
        for (auto& w : workers)
            if (!w->done()) return false;
        return true;
    };
    auto progress = [&](double elapsed_s) {
        if (options.quiet) return;
        SourceTotals t = sum(workers);
        double rate = double(t.accepted - last_accepted) / (elapsed_s - last_s);
        last_accepted = t.accepted;
        last_s = elapsed_s;
        fprintf(stderr,
                "[%6.1fs] accepted %" PRIu64 " (%.0f/s) failed %" PRIu64 " conns %" PRIu64
                " p50 %.3f ms p99 %.3f ms\n",
                elapsed_s, t.accepted, rate, t.failed, t.connections,
                double(t.latency->percentile(50)) / 1e6, double(t.latency->percentile(99)) / 1e6);
    };
    auto on_signal = [&](unsigned count) {
        shared.stop = true;  // finish what is in flight, then QUIT
        if (count >= 2) {
            SourceTotals t = sum(workers);
            print_report(options, t, double(monotonic_ns() - shared.start_ns) / 1e9);
            _exit(1);
        }
    };
    wait_main(all_done, 1.0, progress, on_signal);
    for (auto& t : threads) t.join();
    double elapsed_s = double(monotonic_ns() - shared.start_ns) / 1e9;
    if (setup_failed) return 1;
    SourceTotals t = sum(workers);
    print_report(options, t, elapsed_s);
    // Refused or failed messages are results, not errors; a target that could not be kept
    // reachable is (3, as for ringmta's own "cannot reach").
    if (t.given_up > 0) return t.accepted == 0 ? 3 : 1;
    return 0;
}

}  // namespace ringmta::bench
