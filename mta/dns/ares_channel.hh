// c-ares driven from the shard's io_uring: each c-ares socket is watched with a one-shot
// IORING_OP_POLL_ADD through a Completion embedded in a pooled SocketWatch; c-ares timeouts run
// from an io_uring timeout and from the tick hook. No threads, no allocation per I/O. At most
// `queries_in_flight_max` queries are in c-ares; the rest wait FIFO. Every submitted query gets
// exactly one callback, always from the ring loop, never inside submit().
#pragma once

#include <ares.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mta/base/result.hh"
#include "mta/dns/dns_message.hh"
#include "mta/engine/ring.hh"

namespace ringmta::dns {

struct ChannelOptions {
    std::vector<std::string> servers;  // "ip:port" or "[v6]:port"; empty: /etc/resolv.conf
    uint32_t timeout_ms = 2000;        // first try; c-ares doubles it per round
    uint32_t tries = 3;
    uint32_t queries_in_flight_max = 64;
};

class AresChannel;

// One question, embedded in the lookup that asks it. The channel links it into its queues
// through `next`; the owner must keep it alive until its callback has run.
struct DnsQuery {
    using Callback = void (*)(DnsQuery* self);
    Callback callback = nullptr;
    void* owner = nullptr;
    std::string name;
    uint16_t type = 0;
    DnsReply reply;  // valid in the callback
    // Channel bookkeeping.
    AresChannel* channel = nullptr;
    DnsQuery* next = nullptr;
};

// Maps a c-ares query status (and the reply, when the server sent one) to a DnsReply.
DnsReply make_reply(int ares_status, const unsigned char* packet, int length);

class AresChannel {
  public:
    AresChannel(engine::Ring& ring, ChannelOptions options);
    ~AresChannel();  // requires !busy(): shut down and drain the ring first
    AresChannel(const AresChannel&) = delete;
    AresChannel& operator=(const AresChannel&) = delete;

    base::Result<void> init();
    void submit(DnsQuery* query);
    // Runs `hook(arg)` after every batch of delivered callbacks (and on wake()).
    void set_after_delivery(void (*hook)(void*), void* arg) {
        after_delivery_ = hook;
        after_delivery_arg_ = arg;
    }
    // Makes the ring loop come back to deliver(): for results ready without any I/O.
    void wake();

    // From the shard's tick hook: expired c-ares timeouts.
    void on_tick(uint64_t now_ms);
    // Cancels every query (callbacks see try_later "resolver stopped") and every poll.
    void shutdown();
    // SQEs pointing into this object are still in flight.
    bool busy() const;

    size_t in_flight() const { return in_flight_; }
    size_t queued() const { return queued_count_; }
    uint64_t queries_sent() const { return queries_sent_; }
    size_t in_flight_peak() const { return in_flight_peak_; }

  private:
    struct SocketWatch;
    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable);
    static void on_ares_reply(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
    static void on_poll(engine::Completion* c, int result, uint32_t flags);
    static void on_timer(engine::Completion* c, int result, uint32_t flags);
    static void on_wake(engine::Completion* c, int result, uint32_t flags);

    SocketWatch* active_watch(ares_socket_t fd);
    void update_poll(SocketWatch* w);
    void retire(SocketWatch* w);
    void release(SocketWatch* w);
    void send(DnsQuery* q);
    void finish(DnsQuery* q);
    void pump();
    void deliver();
    void process_timeouts();
    void arm_timer();

    engine::Ring& ring_;
    ChannelOptions options_;
    ares_channel channel_ = nullptr;
    bool stopped_ = false;

    std::vector<std::unique_ptr<SocketWatch>> watches_;
    std::vector<SocketWatch*> free_watches_;

    DnsQuery* queued_head_ = nullptr;  // FIFO of queries waiting for an in-flight slot
    DnsQuery* queued_tail_ = nullptr;
    size_t queued_count_ = 0;
    DnsQuery* done_head_ = nullptr;  // FIFO of answered queries waiting for their callback
    DnsQuery* done_tail_ = nullptr;
    size_t in_flight_ = 0;  // inside c-ares, not answered yet
    size_t in_flight_peak_ = 0;
    uint64_t queries_sent_ = 0;
    bool delivering_ = false;
    bool destroying_ = false;

    engine::Completion timer_;
    __kernel_timespec timer_ts_{};
    uint64_t timeout_due_ms_ = 0;
    engine::Completion wake_;
    void (*after_delivery_)(void*) = nullptr;
    void* after_delivery_arg_ = nullptr;
};

}  // namespace ringmta::dns
