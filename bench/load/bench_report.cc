// Formatting of latency and reply-code reports, and the main thread's signal wait.
#include "bench/load/bench_report.hh"

#include <signal.h>
#include <time.h>

#include <cinttypes>
#include <cstdio>

namespace ringmta::bench {

namespace {

struct Point {
    const char* name;
    double percent;
};
constexpr Point points[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p999", 99.9}};

double ms(uint64_t ns) { return double(ns) / 1e6; }

}  // namespace

std::string latency_text(const LatencyHistogram& h) {
    char buf[256];
    snprintf(buf, sizeof buf, "p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms",
             ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)),
             ms(h.percentile(99.9)), ms(h.max()));
    return buf;
}

std::string latency_json(const LatencyHistogram& h) {
    std::string out = "{\"count\": " + std::to_string(h.count());
    char buf[64];
    for (const Point& p : points) {
        snprintf(buf, sizeof buf, ", \"%s\": %.4f", p.name, ms(h.percentile(p.percent)));
        out += buf;
    }
    snprintf(buf, sizeof buf, ", \"max\": %.4f}", ms(h.max()));
    return out + buf;
}

std::string codes_text(const std::array<uint64_t, 600>& codes) {
    std::string out;
    for (size_t c = 0; c < codes.size(); ++c) {
        if (codes[c] == 0) continue;
        if (!out.empty()) out += ", ";
        out += std::to_string(c) + " x " + std::to_string(codes[c]);
    }
    return out.empty() ? "none" : out;
}

std::string codes_json(const std::array<uint64_t, 600>& codes) {
    std::string out = "{";
    for (size_t c = 0; c < codes.size(); ++c) {
        if (codes[c] == 0) continue;
        if (out.size() > 1) out += ", ";
        out += "\"" + std::to_string(c) + "\": " + std::to_string(codes[c]);
    }
    return out + "}";
}

void block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

unsigned wait_main(const std::function<bool()>& done, double interval_s,
                   const std::function<void(double)>& tick,
                   const std::function<void(unsigned)>& on_signal) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    timespec start{};
    clock_gettime(CLOCK_MONOTONIC, &start);
    double next_tick_s = interval_s;
    unsigned signals = 0;
    while (!done()) {
        timespec wait{0, 50 * 1000 * 1000};
        if (sigtimedwait(&set, nullptr, &wait) > 0) on_signal(++signals);
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed_s =
            double(now.tv_sec - start.tv_sec) + double(now.tv_nsec - start.tv_nsec) / 1e9;
        if (interval_s > 0 && elapsed_s >= next_tick_s) {
            next_tick_s += interval_s;
            tick(elapsed_s);
        }
    }
    return signals;
}

}  // namespace ringmta::bench
