// A shard: one thread, one io_uring, its own listeners (SO_REUSEPORT), connections, timers and
// end-of-tick hooks (the spool's group commit runs there). Nothing mutable is shared with other
// shards except the connection admission counters in Admission.
#pragma once

#include <sys/eventfd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mta/engine/buffer_ring.hh"
#include "mta/engine/connection.hh"
#include "mta/engine/ring.hh"

namespace ringmta::engine {

class Admission;

struct ListenSpec {
    sockaddr_storage address{};
    socklen_t length = 0;
    std::string text;
};

struct ShardOptions {
    unsigned index = 0;
    std::vector<ListenSpec> listeners;
    unsigned recv_buffer_count = 1024;      // power of two
    size_t recv_buffer_size = 16384;
    uint32_t shutdown_grace_ms = 30000;
    bool use_buffer_ring = true;            // false forces the poll + recv fallback (tests)
};

// Why a new connection is refused before any protocol runs (it still gets a reply).
enum class AdmissionVerdict { ok, too_many_total, too_many_from_ip, shutting_down };

// Makes the protocol handler of a new connection.
using HandlerFactory =
    std::function<std::unique_ptr<ConnectionHandler>(Connection&, AdmissionVerdict)>;

class Shard {
public:
    Shard(ShardOptions options, Admission& admission, HandlerFactory factory);
    ~Shard();
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;

    // Creates the ring and listeners. Runs on the shard's own thread (SINGLE_ISSUER).
    base::Result<void> init();
    // The loop; returns after a stop request once connections and hooks have drained.
    void run();

    // Thread-safe: ask the loop to stop / run a task on the shard's thread.
    void request_stop();
    void post(std::function<void()> task);

    unsigned index() const { return options_.index; }
    Ring& ring() { return ring_; }
    BufferRing* buffer_ring() { return buffer_ring_ok_ ? &buffer_ring_ : nullptr; }
    uint64_t now_ms() const { return now_ms_; }
    bool stopping() const { return stopping_; }
    size_t connection_count() const { return connections_.size(); }  // inbound and outbound
    size_t inbound_connection_count() const {  // accepted on a listener (outbound: UINT32_MAX)
        size_t n = 0;
        for (const auto& c : connections_) n += c->listener_index() != UINT32_MAX ? 1 : 0;
        return n;
    }
    char* scratch() { return scratch_.data(); }
    // The port listener `i` is bound to (useful when it was configured as port 0).
    uint16_t listener_port(size_t i) const;
    size_t scratch_size() const { return scratch_.size(); }

    // Runs after each batch of completions (group commit lives here). A hook returns true
    // while it has work in flight that the shard must wait for before exiting.
    void add_tick_hook(std::function<bool()> hook) { tick_hooks_.push_back(std::move(hook)); }
    // Runs once a second (after the connections' on_tick).
    void add_second_hook(std::function<void(uint64_t now_ms)> hook) {
        second_hooks_.push_back(std::move(hook));
    }

    // Opens an outbound TCP connection to `address`; the handler hears on_connected() first.
    // Returns null (with errno set) when no socket could be created.
    Connection* open_outbound(const sockaddr_storage& address, socklen_t length,
                              std::unique_ptr<ConnectionHandler> handler, uint32_t timeout_ms);

    // Connection bookkeeping (called by Connection).
    void receive_starved(Connection* c) { starved_.push_back(c); }
    void connection_finished(Connection* c);

private:
    static void on_accept(Completion* c, int result, uint32_t flags);
    static void on_wakeup(Completion* c, int result, uint32_t flags);
    static void on_timer(Completion* c, int result, uint32_t flags);
    void arm_accept(size_t listener);
    void arm_wakeup();
    void arm_timer();
    void accept_connection(int fd, uint32_t listener);
    void begin_shutdown();
    void run_posted();
    void reap_finished();

    ShardOptions options_;
    Admission& admission_;
    HandlerFactory factory_;
    Ring ring_;
    BufferRing buffer_ring_;
    bool buffer_ring_ok_ = false;
    std::vector<char> scratch_;

    struct Listener {
        int fd = -1;
        Completion accept;
        uint32_t index = 0;
    };
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::vector<std::unique_ptr<Connection>> connections_;
    std::vector<Connection*> finished_;
    std::vector<Connection*> starved_;

    int wakeup_fd_ = -1;
    uint64_t wakeup_value_ = 0;
    Completion wakeup_;
    Completion timer_;
    __kernel_timespec timer_ts_{};
    std::mutex posted_mutex_;
    std::vector<std::function<void()>> posted_;
    std::atomic<bool> stop_requested_{false};

    std::vector<std::function<bool()>> tick_hooks_;
    std::vector<std::function<void(uint64_t)>> second_hooks_;
    uint64_t now_ms_ = 0;
    uint64_t last_second_ms_ = 0;
    bool stopping_ = false;
    uint64_t stop_deadline_ms_ = 0;
};

// Connection limits across all shards: one total and one per client IP. The only mutable state
// shards share; touched once per connect and disconnect, never per I/O.
class Admission {
public:
    Admission(uint32_t total_max, uint32_t per_ip_max) : total_max_(total_max), per_ip_max_(per_ip_max) {}
    AdmissionVerdict admit(const std::string& ip);
    void release(const std::string& ip);
    uint32_t total() const { return total_.load(std::memory_order_relaxed); }
    void set_limits(uint32_t total_max, uint32_t per_ip_max);

private:
    std::atomic<uint32_t> total_{0};
    std::atomic<uint32_t> total_max_;
    std::atomic<uint32_t> per_ip_max_;
    std::mutex mutex_;
    std::unordered_map<std::string, uint32_t> per_ip_;  // live connections per client IP
};

}  // namespace ringmta::engine
