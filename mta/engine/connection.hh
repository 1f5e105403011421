// A TCP connection on a shard: receives into provided buffers (or poll + recv as fallback),
// sends one buffer at a time, and closes only when no SQE still points at it. The protocol on
// top is a ConnectionHandler; the engine knows nothing of SMTP.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <linux/time_types.h>

#include "mta/engine/completion.hh"

namespace ringmta::engine {

class Shard;
class Connection;

// What a protocol implements. All calls happen on the shard's thread.
class ConnectionHandler {
public:
    virtual ~ConnectionHandler() = default;
    // Bytes arrived; they are valid only during the call (copy what must be kept).
    virtual void on_receive(const char* data, size_t size) = 0;
    // The send buffer has been written out completely.
    virtual void on_send_complete() {}
    // Once a second; `now_ms` is monotonic.
    virtual void on_tick(uint64_t now_ms) = 0;
    // The gateway is stopping: finish what is in flight, then close.
    virtual void on_shutdown() = 0;
    // The peer closed or the connection failed; the handler is destroyed right after.
    virtual void on_closed() {}
    // Outbound connections only: the TCP connect finished (0) or failed (-errno, -ETIME for
    // the connect timeout). After a failure the connection closes by itself.
    virtual void on_connected(int result) { (void)result; }
};

class Connection {
public:
    Connection(Shard& shard, int fd, const sockaddr_storage& peer, socklen_t peer_len,
               uint32_t listener_index);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void set_handler(std::unique_ptr<ConnectionHandler> handler) { handler_ = std::move(handler); }
    ConnectionHandler* handler() { return handler_.get(); }

    const sockaddr_storage& peer() const { return peer_; }
    const std::string& peer_ip() const { return peer_ip_; }
    uint32_t listener_index() const { return listener_index_; }
    Shard& shard() { return shard_; }
    int fd() const { return fd_; }

    // Outbound: submits the connect (with a linked timeout); start() follows on success.
    void connect(uint32_t timeout_ms);
    bool connected() const { return started_; }

    // Starts receiving. Receiving can be paused (e.g. while a message commits, so pipelined
    // input waits in the socket, not in memory) and resumed.
    void start();
    void pause_receive() { receive_paused_ = true; }
    void resume_receive();
    // Backpressure on a peer that does not read: while more than `bytes` of output wait to be
    // sent, no receive is armed (0: no limit). Input then waits in the socket, not in memory.
    void set_output_pending_max(size_t bytes) { output_pending_max_ = bytes; }

    // Bytes to send go here; flush() starts a send if none is in flight. Replies collected
    // while a send is in flight go out together in the next one.
    std::string& output() { return output_; }
    void flush();
    bool send_in_flight() const { return send_.pending; }
    size_t output_pending_bytes() const { return output_.size() + (in_flight_.size() - sent_); }

    // Sends what is buffered, then closes; a peer that has not taken it all within
    // `linger_ms` is closed anyway (the shard checks once a second), so a stalled peer
    // cannot hold the connection forever.
    void close_after_send(uint32_t linger_ms = kCloseLingerDefaultMs);
    static constexpr uint32_t kCloseLingerDefaultMs = 10000;
    // True once a close_after_send() has waited past its linger time.
    bool close_overdue(uint64_t now_ms) const {
        return close_after_send_ && !closing_ && now_ms >= close_deadline_ms_;
    }
    // Closes now; buffered output is dropped.
    void close();
    bool closing() const { return closing_ || close_after_send_; }

    // A handler with work in flight that points into it (a spool commit) holds the connection
    // open; the object is not freed until release() even if the peer went away.
    void hold() { ++holds_; }
    void release();

    // True once the connection has fully closed and may be freed by the shard.
    bool finished() const { return finished_; }

    // Set by the shard when the connection counted against the admission limits.
    bool admitted = false;

    // Called by the shard when receive buffers were exhausted: arm again.
    void retry_receive();

private:
    static void on_recv(Completion* c, int result, uint32_t flags);
    static void on_poll(Completion* c, int result, uint32_t flags);
    static void on_send(Completion* c, int result, uint32_t flags);
    static void on_connect(Completion* c, int result, uint32_t flags);
    void arm_receive();
    bool output_backlogged() const {
        return output_pending_max_ != 0 && output_pending_bytes() > output_pending_max_;
    }
    void deliver(const char* data, size_t size);
    void submit_send();
    void maybe_finish();

    Shard& shard_;
    int fd_;
    sockaddr_storage peer_;
    socklen_t peer_len_;
    std::string peer_ip_;
    uint32_t listener_index_;
    std::unique_ptr<ConnectionHandler> handler_;

    Completion recv_;
    Completion send_;
    Completion connect_;
    __kernel_timespec connect_timeout_{};
    std::string output_;     // replies collected, not yet handed to the kernel
    std::string in_flight_;  // being sent; sent_ bytes of it are done
    size_t sent_ = 0;
    size_t output_pending_max_ = 0;
    uint64_t close_deadline_ms_ = 0;
    bool started_ = false;
    bool receive_paused_ = false;
    bool close_after_send_ = false;
    bool closing_ = false;
    bool finished_ = false;
    bool in_callback_ = false;
    unsigned holds_ = 0;
};

}  // namespace ringmta::engine
