// Receive, send and close for one connection. The object is freed by the shard only after
// finished() — when no SQE refers to its completions any more.
#include "mta/engine/connection.hh"

#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "mta/base/assert.hh"
#include "mta/engine/shard.hh"

namespace ringmta::engine {

namespace {
std::string ip_text(const sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN] = "unknown";
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
    } else if (ss.ss_family == AF_INET6) {
        auto* a6 = reinterpret_cast<const sockaddr_in6*>(&ss);
        if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
            inet_ntop(AF_INET, a6->sin6_addr.s6_addr + 12, buf, sizeof buf);
        } else {
            inet_ntop(AF_INET6, &a6->sin6_addr, buf, sizeof buf);
        }
    }
    return buf;
}
}  // namespace

Connection::Connection(Shard& shard, int fd, const sockaddr_storage& peer, socklen_t peer_len,
                       uint32_t listener_index)
    : shard_(shard), fd_(fd), peer_(peer), peer_len_(peer_len), peer_ip_(ip_text(peer)),
      listener_index_(listener_index) {
    recv_.owner = this;
    send_.owner = this;
    send_.callback = &Connection::on_send;
    connect_.owner = this;
    connect_.callback = &Connection::on_connect;
}

Connection::~Connection() {
    MTA_ASSERT(!recv_.pending && !send_.pending && !connect_.pending);
    if (fd_ >= 0) ::close(fd_);
}

void Connection::connect(uint32_t timeout_ms) {
    connect_timeout_.tv_sec = timeout_ms / 1000;
    connect_timeout_.tv_nsec = (timeout_ms % 1000) * 1000000L;
    io_uring_sqe* sqe = shard_.ring().sqe_for(&connect_);
    io_uring_prep_connect(sqe, fd_, reinterpret_cast<const sockaddr*>(&peer_), peer_len_);
    sqe->flags |= IOSQE_IO_LINK;
    // The timeout's own completion is not needed: a fired timeout shows as -ECANCELED on the
    // connect, which is reported as -ETIME below.
    io_uring_sqe* timeout = shard_.ring().sqe_for(nullptr);
    io_uring_prep_link_timeout(timeout, &connect_timeout_, 0);
}

void Connection::on_connect(Completion* c, int result, uint32_t) {
    auto* self = static_cast<Connection*>(c->owner);
    if (result == -ECANCELED) result = -ETIME;
    if (self->closing_) result = result == 0 ? -ECANCELED : result;
    // The handler hears on_connected first, and on_closed only afterwards (from
    // maybe_finish below), so a refused connect is reported once, as a connect failure.
    self->in_callback_ = true;
    if (result == 0) {
        self->start();
    } else {
        self->close();
    }
    if (self->handler_) self->handler_->on_connected(result);
    self->in_callback_ = false;
    self->maybe_finish();
}

void Connection::start() {
    started_ = true;
    arm_receive();
    flush();
}

void Connection::arm_receive() {
    // A backlogged connection is armed again by on_send once its output has drained.
    if (closing_ || receive_paused_ || recv_.pending || output_backlogged()) return;
    if (BufferRing* br = shard_.buffer_ring()) {
        // One-shot receive with a provided buffer: rearmed only when the handler wants more,
        // so a session that waits (commit, slow send) leaves further input in the socket.
        recv_.callback = &Connection::on_recv;
        io_uring_sqe* sqe = shard_.ring().sqe_for(&recv_);
        io_uring_prep_recv(sqe, fd_, nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = br->group_id();
    } else {
        // Fallback without buffer rings: wait for readability, then recv() into the shard's
        // scratch buffer, so an idle connection still holds no buffer of its own.
        recv_.callback = &Connection::on_poll;
        io_uring_sqe* sqe = shard_.ring().sqe_for(&recv_);
        io_uring_prep_poll_add(sqe, fd_, POLLIN);
    }
}

void Connection::resume_receive() {
    receive_paused_ = false;
    arm_receive();
}

void Connection::retry_receive() { arm_receive(); }

void Connection::deliver(const char* data, size_t size) {
    in_callback_ = true;
    handler_->on_receive(data, size);
    in_callback_ = false;
}

void Connection::on_recv(Completion* c, int result, uint32_t flags) {
    auto* self = static_cast<Connection*>(c->owner);
    if (result > 0 && (flags & IORING_CQE_F_BUFFER)) {
        BufferRing* br = self->shard_.buffer_ring();
        uint16_t id = uint16_t(flags >> IORING_CQE_BUFFER_SHIFT);
        if (!self->closing_) self->deliver(br->buffer(id), size_t(result));
        br->recycle(id);
        self->arm_receive();
    } else if (result == -ENOBUFS) {
        // Every provided buffer is in use this instant; try again after this batch.
        if (!self->closing_) self->shard_.receive_starved(self);
    } else if (result == -EINTR || result == -EAGAIN) {
        self->arm_receive();
    } else {
        self->close();  // EOF (0), reset, or cancelled
    }
    self->maybe_finish();
}

void Connection::on_poll(Completion* c, int result, uint32_t) {
    auto* self = static_cast<Connection*>(c->owner);
    if (result < 0 || self->closing_) {
        if (result < 0) self->close();
        self->maybe_finish();
        return;
    }
    // Read what is there in scratch-sized gulps; stop when the handler pauses us.
    while (!self->closing_ && !self->receive_paused_ && !self->output_backlogged()) {
        ssize_t n = ::recv(self->fd_, self->shard_.scratch(), self->shard_.scratch_size(), MSG_DONTWAIT);
        if (n > 0) {
            self->deliver(self->shard_.scratch(), size_t(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        self->close();
        break;
    }
    self->arm_receive();
    self->maybe_finish();
}

void Connection::flush() {
    if (!started_ || send_.pending || closing_) return;
    if (output_.empty()) {
        if (close_after_send_) close();
        return;
    }
    in_flight_.swap(output_);
    output_.clear();
    sent_ = 0;
    submit_send();
}

void Connection::submit_send() {
    io_uring_sqe* sqe = shard_.ring().sqe_for(&send_);
    io_uring_prep_send(sqe, fd_, in_flight_.data() + sent_, in_flight_.size() - sent_, MSG_NOSIGNAL);
}

void Connection::on_send(Completion* c, int result, uint32_t) {
    auto* self = static_cast<Connection*>(c->owner);
    if (self->closing_) {
        self->maybe_finish();
        return;
    }
    if (result < 0) {
        if (result == -EINTR || result == -EAGAIN) {
            self->submit_send();
        } else {
            self->close();
            self->maybe_finish();
        }
        return;
    }
    self->sent_ += size_t(result);
    if (self->sent_ < self->in_flight_.size()) {
        self->submit_send();
        return;
    }
    self->in_flight_.clear();
    self->sent_ = 0;
    if (!self->output_.empty()) {
        self->flush();
    } else if (self->close_after_send_) {
        self->close();
    } else if (self->handler_) {
        self->handler_->on_send_complete();
        self->flush();
    }
    if (!self->output_backlogged()) self->arm_receive();  // no-op unless backpressure held it
    self->maybe_finish();
}

void Connection::close_after_send(uint32_t linger_ms) {
    if (!close_after_send_) close_deadline_ms_ = shard_.now_ms() + linger_ms;
    close_after_send_ = true;
    receive_paused_ = true;
    if (!send_.pending) flush();
}

void Connection::close() {
    if (closing_) return;
    closing_ = true;
    // shutdown() makes a pending recv or poll complete at once; the fd is closed in the
    // destructor, after every SQE that names it has completed.
    ::shutdown(fd_, SHUT_RDWR);
    if (recv_.pending) {
        io_uring_sqe* sqe = shard_.ring().sqe_for(nullptr);
        io_uring_prep_cancel(sqe, &recv_, 0);
    }
    maybe_finish();
}

void Connection::release() {
    MTA_ASSERT(holds_ > 0);
    --holds_;
    maybe_finish();
}

void Connection::maybe_finish() {
    if (!closing_ || finished_ || recv_.pending || send_.pending || connect_.pending ||
        in_callback_ || holds_ > 0)
        return;
    finished_ = true;
    if (handler_) handler_->on_closed();
    shard_.connection_finished(this);
}

}  // namespace ringmta::engine
