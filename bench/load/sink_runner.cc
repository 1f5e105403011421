// Sink orchestration and its report: messages, bytes, pool efficiency (messages per
// connection), end-to-end latency from X-Bench-Sent, and every 4xx/5xx reply sent, by code.
#include "bench/load/sink_runner.hh"

#include <sys/stat.h>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "bench/load/bench_clock.hh"
#include "bench/load/bench_report.hh"
#include "bench/load/sink_worker.hh"

namespace ringmta::bench {

namespace {

void print_report(const SinkOptions& o, const std::vector<std::unique_ptr<SinkWorker>>& workers,
                  double elapsed_s) {
    uint64_t messages = 0, bytes = 0, wire = 0, connections = 0, refused = 0, dropped = 0;
    uint64_t max_per_conn = 0, first_ns = 0, last_ns = 0;
    std::array<uint64_t, 600> codes{};
    auto latency = std::make_unique<LatencyHistogram>();
    for (const auto& w : workers) {
        const SinkStats& s = w->stats();
        messages += s.messages.get();
        bytes += s.message_bytes.get();
        wire += s.wire_bytes.get();
        connections += s.connections.get();
        refused += s.refused_connections.get();
        dropped += s.dropped_connections.get();
        max_per_conn = std::max(max_per_conn, s.max_messages_per_connection.get());
        uint64_t f = s.first_message_ns.get();
        if (f != 0 && (first_ns == 0 || f < first_ns)) first_ns = f;
        last_ns = std::max(last_ns, s.last_message_ns.get());
        for (size_t c = 0; c < codes.size(); ++c) codes[c] += s.replies[c].get();
        latency->merge_from(s.latency_ns);
    }
    // The rate is over the span in which messages arrived, not the sink's idle start-up.
    double active_s = last_ns > first_ns ? double(last_ns - first_ns) / 1e9 : 0;
    double rate = active_s > 0 ? double(messages - 1) / active_s : 0;
    double mean = connections > 0 ? double(messages) / double(connections) : 0;
    if (o.json) {
        printf(
            "{\"mode\": \"sink\", \"listen\": \"%s\", \"elapsed_s\": %.3f, \"active_s\": %.4f, "
            "\"messages\": %" PRIu64 ", \"msgs_per_s\": %.1f, \"message_bytes\": %" PRIu64
            ", \"wire_bytes\": %" PRIu64 ", \"connections\": %" PRIu64
            ", \"refused_connections\": %" PRIu64 ", \"dropped_connections\": %" PRIu64
            ", \"messages_per_connection\": {\"mean\": %.2f, \"max\": %" PRIu64
            "}, \"latency_ms\": %s, \"replies\": %s}\n",
            o.listen.text.c_str(), elapsed_s, active_s, messages, rate, bytes, wire, connections,
            refused, dropped, mean, max_per_conn, latency_json(*latency).c_str(),
            codes_json(codes).c_str());
    } else {
        printf("ringmta-bench sink %s: %" PRIu64
               " messages, %.0f msgs/s over %.3f s, "
               "%" PRIu64 " bytes\n",
               o.listen.text.c_str(), messages, rate, active_s, bytes);
        printf("  connections %" PRIu64 " (refused %" PRIu64 ", dropped %" PRIu64
               "), messages per connection mean %.2f max %" PRIu64 "\n",
               connections, refused, dropped, mean, max_per_conn);
        printf("  end-to-end latency (X-Bench-Sent): %s\n", latency_text(*latency).c_str());
        printf("  4xx/5xx replies sent: %s\n", codes_text(codes).c_str());
    }
    fflush(stdout);
}

}  // namespace

int run_sink(const SinkOptions& options) {
    if (!options.store_dir.empty()) {
        struct stat st {};
        if (stat(options.store_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "ringmta-bench sink: --store %s is not a directory\n",
                    options.store_dir.c_str());
            return 1;
        }
    }
    SinkShared shared;
    shared.options = &options;
    block_stop_signals();
    std::vector<std::unique_ptr<SinkWorker>> workers;
    for (unsigned i = 0; i < options.threads; ++i)
        workers.push_back(std::make_unique<SinkWorker>(shared, i));
    std::vector<std::thread> threads;
    for (auto& w : workers)
        threads.emplace_back([&w] {
            if (w->init()) w->run();
        });
    bool ok = true;
    for (auto& w : workers) {
        while (!w->ready() && !w->done()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ok = ok && w->ready();
    }
    if (!ok) {
        shared.stop = true;
        for (auto& t : threads) t.join();
        return 1;
    }
    fprintf(stderr, "ringmta-bench sink: listening on %s (%u threads)\n",
            options.listen.text.c_str(), options.threads);
    uint64_t start_ns = monotonic_ns();
    auto elapsed = [&] { return double(monotonic_ns() - start_ns) / 1e9; };
    wait_main([&] { return shared.stop.load(); }, options.report_interval_s,
              [&](double) { print_report(options, workers, elapsed()); },
              [&](unsigned) { shared.stop = true; });
    for (auto& t : threads) t.join();
    print_report(options, workers, elapsed());
    return 0;
}

}  // namespace ringmta::bench
