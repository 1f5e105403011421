// The source thread loop: submit and drain the ring, wake sessions whose due time has come,
// check reply timeouts once a second, and stop when every session has finished.
//
// Why not engine::Shard/Connection: they serve accepted connections (no outbound connect) and
// copy every send into a std::string; the source sends one shared, prepared body to every
// session straight from memory with sendmsg. The engine's Ring (setup with feature probing and
// a batch drain) is reused as is.
#include "bench/load/source_worker.hh"

#include <cstdio>

#include "bench/load/source_session.hh"

namespace ringmta::bench {

bool SourceShared::claim(uint64_t now_ns, uint64_t* sequence, uint64_t* due_ns) {
    if (stop.load(std::memory_order_relaxed)) return false;
    if (deadline_ns != 0 && now_ns >= deadline_ns) return false;
    uint64_t n = next_sequence.fetch_add(1, std::memory_order_relaxed);
    if (options->messages != 0 && n >= options->messages) return false;
    *sequence = n;
    *due_ns =
        options->rate_per_s > 0 ? start_ns + uint64_t(double(n) * 1e9 / options->rate_per_s) : 0;
    return true;
}

SourceWorker::SourceWorker(SourceShared& shared, unsigned first_session, unsigned session_count)
    : shared_(shared), first_session_(first_session), session_count_(session_count) {}

SourceWorker::~SourceWorker() = default;

std::string_view SourceWorker::date(uint64_t now_unix_ns) {
    auto second = int64_t(now_unix_ns / 1000000000u);
    if (second != date_second_) {
        date_second_ = second;
        date_size_ = format_date(date_.data(), second);
    }
    return {date_.data(), date_size_};
}

bool SourceWorker::run() {
    unsigned cq = 4096;
    while (cq < session_count_ * 4) cq *= 2;
    if (auto r = ring_.init(1024, cq); !r) {
        fprintf(stderr, "ringmta-bench: %s\n", r.error().message.c_str());
        done_.store(true, std::memory_order_release);
        return false;
    }
    if (options().starttls) {
        if (auto r = tls_.init_client(false, ""); !r) {
            fprintf(stderr, "ringmta-bench: TLS client context: %s\n", r.error().message.c_str());
            done_.store(true, std::memory_order_release);
            return false;
        }
    }
    sessions_.reserve(session_count_);
    waiting_.reserve(session_count_);
    waking_.reserve(session_count_);
    for (unsigned i = 0; i < session_count_; ++i)
        sessions_.push_back(std::make_unique<SourceSession>(*this, first_session_ + i));
    for (auto& s : sessions_) s->start();
    uint64_t next_check_ns = monotonic_ns() + 1000000000u;
    while (finished_sessions_ < session_count_) {
        ring_.run_once(waiting_.empty() ? 100 : 1);
        uint64_t now = monotonic_ns();
        if (!waiting_.empty()) {
            waking_.swap(waiting_);
            bool stopping = shared_.stop.load(std::memory_order_relaxed);
            for (SourceSession* s : waking_) {
                if ((s->due_ns() <= now || stopping) && !s->send_pending()) {
                    s->wake();
                } else {
                    waiting_.push_back(s);
                }
            }
            waking_.clear();
        }
        if (now >= next_check_ns) {
            next_check_ns = now + 1000000000u;
            for (auto& s : sessions_) s->check_timeout(now);
        }
    }
    done_.store(true, std::memory_order_release);
    return true;
}

}  // namespace ringmta::bench
