// A sink thread: its own io_uring (engine::Ring) and provided-buffer ring (engine::BufferRing,
// so an idle connection holds no receive buffer), its own SO_REUSEPORT listener, a pool of
// connections reused across accepts, and a FIFO of replies held back by --latency-ms (one
// constant delay, so arrival order is due order). Counters are read by the main thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "bench/load/bench_options.hh"
#include "bench/load/latency_histogram.hh"
#include "mta/engine/buffer_ring.hh"
#include "mta/engine/ring.hh"
#include "mta/tls/tls_context.hh"

namespace ringmta::bench {

class SinkConnection;

struct SinkShared {
    const SinkOptions* options = nullptr;
    std::atomic<uint32_t> connections_open{0};  // across threads, for --max-conns
    std::atomic<uint64_t> store_counter{0};
    std::atomic<bool> stop{false};
};

struct SinkStats {
    Counter messages;             // accepted with 250
    Counter message_bytes;        // content bytes of accepted messages, as stored
    Counter wire_bytes;           // everything received
    Counter connections;          // admitted
    Counter refused_connections;  // 421 at greeting (--max-conns)
    Counter dropped_connections;  // --drop
    Counter max_messages_per_connection;
    Counter first_message_ns, last_message_ns;  // monotonic; 0: none yet
    std::array<Counter, 600> replies;           // every 4xx/5xx reply sent
    LatencyHistogram latency_ns;                // X-Bench-Sent to end of data
};

class SinkWorker {
  public:
    SinkWorker(SinkShared& shared, unsigned index);
    ~SinkWorker();

    // Sets up the ring, buffer ring, TLS and listener; false (with a line on stderr) on failure.
    bool init();
    // Runs until shared.stop, then closes every connection.
    void run();
    bool ready() const { return ready_.load(std::memory_order_acquire); }
    bool done() const { return done_.load(std::memory_order_acquire); }

    engine::Ring& ring() { return ring_; }
    engine::BufferRing* buffer_ring() { return buffer_ring_ok_ ? &buffer_ring_ : nullptr; }
    SinkShared& shared() { return shared_; }
    const SinkOptions& options() const { return *shared_.options; }
    SinkStats& stats() { return stats_; }
    const SinkStats& stats() const { return stats_; }
    SSL_CTX* tls_context() { return tls_ok_ ? tls_.raw() : nullptr; }
    const std::string& ehlo_reply(bool offer_starttls) const {
        return offer_starttls ? ehlo_tls_ : ehlo_;
    }
    // A uniform draw in [0, 1) from the thread's seeded generator.
    double draw();

    void delay_flush(SinkConnection* c, uint64_t generation, uint64_t due_ns);
    void receive_starved(SinkConnection* c) { starved_.push_back(c); }
    void connection_closed(SinkConnection* c);

  private:
    static void on_accept(engine::Completion* c, int result, uint32_t flags);
    void arm_accept();
    void admit(int fd);
    void run_due(uint64_t now_ns);

    SinkShared& shared_;
    unsigned index_;
    engine::Ring ring_;  // declared first: destroyed after the buffer ring
    engine::BufferRing buffer_ring_;
    bool buffer_ring_ok_ = false;
    tls::TlsContext tls_;
    bool tls_ok_ = false;
    int listen_fd_ = -1;
    engine::Completion accept_;
    std::string ehlo_, ehlo_tls_;
    uint64_t random_state_;

    std::vector<std::unique_ptr<SinkConnection>> pool_;
    std::vector<SinkConnection*> free_;
    size_t open_ = 0;
    struct Delayed {
        uint64_t due_ns;
        SinkConnection* connection;
        uint64_t generation;
    };
    std::deque<Delayed> delayed_;
    std::vector<SinkConnection*> starved_, starved_now_;
    SinkStats stats_;
    std::atomic<bool> ready_{false};
    std::atomic<bool> done_{false};
};

}  // namespace ringmta::bench
