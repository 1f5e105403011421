// A source thread: one io_uring (engine::Ring: batch drain, feature probing), its sessions, a
// list of sessions waiting for a due time (rate pacing, reconnect backoff) and its counters.
// State shared across threads is only SourceShared (a message counter and the stop flag).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench/load/bench_clock.hh"
#include "bench/load/bench_options.hh"
#include "bench/load/latency_histogram.hh"
#include "bench/load/message_corpus.hh"
#include "mta/engine/ring.hh"
#include "mta/tls/tls_context.hh"

namespace ringmta::bench {

class SourceSession;

struct SourceShared {
    const SourceOptions* options = nullptr;
    const MessageCorpus* corpus = nullptr;
    uint32_t run_id = 0;
    uint64_t start_ns = 0;     // monotonic
    uint64_t deadline_ns = 0;  // monotonic; 0: --messages mode
    std::atomic<uint64_t> next_sequence{0};
    std::atomic<bool> stop{false};
    std::atomic<unsigned> next_from_address{0};
    std::atomic<bool> warned{false};

    // Takes the next message number; false when the run is over. `due_ns` is when it may be
    // sent under --rate (0: now).
    bool claim(uint64_t now_ns, uint64_t* sequence, uint64_t* due_ns);
};

struct SourceStats {
    Counter accepted;  // final 2xx
    Counter failed;    // transaction ended without a 2xx
    Counter retried;   // lost before its content went out; sent again
    Counter rcpts_accepted;
    Counter message_bytes;  // content bytes of accepted messages
    Counter wire_bytes;     // everything written to sockets
    Counter connections;
    Counter connect_errors;
    Counter lost_connections;  // closed by the peer or failed mid-dialogue
    Counter timeouts;
    Counter sessions_given_up;
    std::array<Counter, 600> reply_codes;  // every 3xx other than 354, 4xx and 5xx reply
    LatencyHistogram latency_ns;           // end of DATA to the final reply
};

class SourceWorker {
  public:
    SourceWorker(SourceShared& shared, unsigned first_session, unsigned session_count);
    ~SourceWorker();

    // Runs the thread's loop until every session has finished. Returns false (with a line
    // on stderr) if the ring or TLS context cannot be set up.
    bool run();

    engine::Ring& ring() { return ring_; }
    SourceShared& shared() { return shared_; }
    const SourceOptions& options() const { return *shared_.options; }
    SourceStats& stats() { return stats_; }
    const SourceStats& stats() const { return stats_; }
    SSL_CTX* tls_context() { return tls_.raw(); }
    // The cached RFC 5322 date of the current second.
    std::string_view date(uint64_t now_unix_ns);
    void wait_until_due(SourceSession* s) { waiting_.push_back(s); }
    void session_finished() { ++finished_sessions_; }
    bool done() const { return done_.load(std::memory_order_acquire); }

  private:
    SourceShared& shared_;
    unsigned first_session_;
    unsigned session_count_;
    engine::Ring ring_;
    tls::TlsContext tls_;
    std::vector<std::unique_ptr<SourceSession>> sessions_;
    std::vector<SourceSession*> waiting_;
    std::vector<SourceSession*> waking_;  // swapped with waiting_ while sessions are woken
    unsigned finished_sessions_ = 0;
    SourceStats stats_;
    std::array<char, 48> date_{};
    size_t date_size_ = 0;
    int64_t date_second_ = -1;
    std::atomic<bool> done_{false};
};

}  // namespace ringmta::bench
