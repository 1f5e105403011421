// The sink's SMTP dialogue: EHLO/HELO, MAIL, RCPT, DATA, BDAT, RSET, NOOP, QUIT, STARTTLS, with
// just enough sequencing to stay RFC 5321 conformant for a well-behaved client, and the
// injected failures. Replies are short fixed texts; nothing is allocated per message once the
// buffers have grown to the working size.
#include "bench/load/sink_connection.hh"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "bench/load/bench_clock.hh"
#include "mta/base/assert.hh"

namespace ringmta::bench {

namespace {

constexpr size_t line_length_max = 4096;

bool verb_is(std::string_view line, std::string_view verb) {
    if (line.size() < verb.size()) return false;
    for (size_t i = 0; i < verb.size(); ++i)
        if ((line[i] & ~0x20) != verb[i]) return false;
    return line.size() == verb.size() || line[verb.size()] == ' ';
}

// The X-Bench-Sent value from the first bytes of a message: the source puts the header first,
// but every relay on the way prepends its Received header, so look at each header line.
uint64_t parse_bench_sent(const char* head, size_t size) {
    static constexpr std::string_view prefix = "X-Bench-Sent: ";
    std::string_view text(head, size);
    size_t at = text.rfind("\r\n\r\n");  // stop at the end of the header block if it is here
    if (at != std::string_view::npos) text = text.substr(0, at + 2);
    size_t pos = text.substr(0, prefix.size()) == prefix ? 0 : text.find("\nX-Bench-Sent: ");
    if (pos == std::string_view::npos) return 0;
    if (pos != 0) ++pos;
    uint64_t v = 0;
    for (size_t i = pos + prefix.size(); i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
        v = v * 10 + uint64_t(text[i] - '0');
    return v;
}

}  // namespace

SinkConnection::SinkConnection(SinkWorker& worker) : worker_(worker) {
    recv_.owner = send_.owner = this;
    recv_.callback = &SinkConnection::on_recv;
    send_.callback = &SinkConnection::on_send;
    out_.reserve(1024);
    in_flight_.reserve(1024);
}

SinkConnection::~SinkConnection() {
    if (fd_ >= 0) ::close(fd_);
}

void SinkConnection::open(int fd) {
    fd_ = fd;
    ++generation_;
    mode_ = Mode::command;
    close_after_send_ = in_delay_ = discard_rest_ = false;
    line_.clear();
    out_.clear();
    in_flight_.clear();
    tls_.reset();
    tls_wire_.clear();
    messages_ = 0;
    reset_transaction();
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    reply("220 " + worker_.options().hostname + " ESMTP ringmta-bench sink\r\n");
    flush();
    arm_recv();
}

void SinkConnection::arm_recv() {
    if (recv_.pending || fd_ < 0) return;
    if (mode_ == Mode::closing) return maybe_finish_close();
    io_uring_sqe* sqe = worker_.ring().sqe_for(&recv_);
    if (engine::BufferRing* br = worker_.buffer_ring()) {
        io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = br->group_id();
    } else {
        own_buffer_.resize(16384);
        io_uring_prep_recv(sqe, fd_, own_buffer_.data(), own_buffer_.size(), 0);
    }
}

void SinkConnection::on_recv(engine::Completion* c, int result, uint32_t flags) {
    auto* self = static_cast<SinkConnection*>(c->owner);
    engine::BufferRing* br = self->worker_.buffer_ring();
    if (result > 0) {
        const char* data = self->own_buffer_.data();
        if (br != nullptr && (flags & IORING_CQE_F_BUFFER)) {
            auto id = uint16_t(flags >> IORING_CQE_BUFFER_SHIFT);
            if (self->mode_ != Mode::closing) self->received(br->buffer(id), size_t(result));
            br->recycle(id);  // its bytes have been parsed or copied out
        } else if (self->mode_ != Mode::closing) {
            self->received(data, size_t(result));
        }
        if (!(flags & IORING_CQE_F_MORE)) self->arm_recv();
        return;
    }
    if (result == -ENOBUFS && self->mode_ != Mode::closing) {
        self->worker_.receive_starved(self);  // every buffer in use this instant: rearm later
        return;
    }
    if (self->recv_.pending) return;  // a multishot recv reports an error and goes on
    self->begin_close();
}

void SinkConnection::received(const char* data, size_t size) {
    worker_.stats().wire_bytes.add(size);
    if (!tls_) {
        consume(data, size);
    } else {
        tls_plain_.clear();
        if (!tls_->feed_ciphertext(data, size) || !tls_->read_plaintext(&tls_plain_, &tls_wire_))
            return begin_close();
        consume(tls_plain_.data(), tls_plain_.size());
    }
    flush();
}

void SinkConnection::consume(const char* data, size_t size) {
    discard_rest_ = false;
    while (size > 0 && mode_ != Mode::closing && !discard_rest_) {
        if (mode_ == Mode::data) {
            bool ended = false;
            size_t used = scanner_.scan(
                data, size, worker_.options().store_dir.empty() ? nullptr : &message_, &ended);
            content(data, used);
            data += used;
            size -= used;
            if (ended) end_of_message();
            continue;
        }
        if (mode_ == Mode::bdat) {
            size_t used = size < bdat_left_ ? size : size_t(bdat_left_);
            if (!worker_.options().store_dir.empty()) message_.append(data, used);
            content(data, used);
            data += used;
            size -= used;
            bdat_left_ -= used;
            if (bdat_left_ == 0) bdat_chunk_done();
            continue;
        }
        const void* lf = std::memchr(data, '\n', size);
        size_t take = lf ? size_t(static_cast<const char*>(lf) - data) + 1 : size;
        if (!lf || !line_.empty()) {
            line_.append(data, take);
            data += take;
            size -= take;
            if (line_.size() > line_length_max) {
                line_.clear();
                reply_error(500, "500 5.5.2 line too long\r\n");
                continue;
            }
            if (!lf) break;
            command(line_);
            line_.clear();
            continue;
        }
        std::string_view line(data, take);
        data += take;
        size -= take;
        command(line);
    }
}

void SinkConnection::content(const char* data, size_t size) {
    message_bytes_ += size;
    if (head_size_ < sizeof head_) {
        size_t n = std::min(size, sizeof head_ - head_size_);
        std::memcpy(head_ + head_size_, data, n);
        head_size_ += n;
    }
}

void SinkConnection::command(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    const SinkOptions& o = worker_.options();
    if (verb_is(line, "EHLO")) {
        reset_transaction();
        return reply(worker_.ehlo_reply(worker_.tls_context() != nullptr && !tls_));
    }
    if (verb_is(line, "HELO")) {
        reset_transaction();
        return reply("250 " + o.hostname + "\r\n");
    }
    if (verb_is(line, "MAIL")) {
        if (mail_) return reply_error(503, "503 5.5.1 nested MAIL command\r\n");
        if (o.max_per_conn != 0 && messages_ >= o.max_per_conn) {
            reply_error(421, "421 4.7.0 too many messages on this connection\r\n");
            close_after_send_ = true;
            mode_ = Mode::closing;
            return;
        }
        mail_ = true;
        return reply("250 2.1.0 Ok\r\n");
    }
    if (verb_is(line, "RCPT")) {
        if (!mail_) return reply_error(503, "503 5.5.1 need MAIL before RCPT\r\n");
        if (o.fail_at_rcpt) {
            double u = worker_.draw();
            if (u < o.tempfail) return reply_error(451, "451 4.3.0 injected temporary failure\r\n");
            if (u < o.tempfail + o.permfail)
                return reply_error(550, "550 5.1.1 injected permanent failure\r\n");
        }
        ++rcpts_;
        return reply("250 2.1.5 Ok\r\n");
    }
    if (verb_is(line, "DATA")) {
        if (!mail_) return reply_error(503, "503 5.5.1 need MAIL before DATA\r\n");
        if (rcpts_ == 0) return reply_error(554, "554 5.5.1 no valid recipients\r\n");
        start_message();
        mode_ = Mode::data;
        scanner_.reset();
        return reply("354 End data with <CR><LF>.<CR><LF>\r\n");
    }
    if (verb_is(line, "BDAT")) {
        std::string_view rest = line.size() > 5 ? line.substr(5) : std::string_view();
        uint64_t n = 0;
        size_t i = 0;
        for (; i < rest.size() && rest[i] >= '0' && rest[i] <= '9'; ++i)
            n = n * 10 + uint64_t(rest[i] - '0');
        if (i == 0) return reply_error(501, "501 5.5.4 BDAT needs a size\r\n");
        bdat_refused_ = !mail_ || rcpts_ == 0;
        if (!bdat_refused_ && !bdat_message_) {
            bdat_message_ = true;
            start_message();
        }
        bdat_left_ = n;
        bdat_last_ = verb_is(rest.substr(i + (i < rest.size() ? 1 : 0)), "LAST");
        mode_ = Mode::bdat;
        if (n == 0) bdat_chunk_done();
        return;
    }
    if (verb_is(line, "RSET")) {
        reset_transaction();
        return reply("250 2.0.0 Ok\r\n");
    }
    if (verb_is(line, "NOOP")) return reply("250 2.0.0 Ok\r\n");
    if (verb_is(line, "QUIT")) {
        reply("221 2.0.0 Bye\r\n");
        close_after_send_ = true;
        mode_ = Mode::closing;
        return;
    }
    if (verb_is(line, "STARTTLS")) {
        if (worker_.tls_context() == nullptr || tls_)
            return reply_error(502, "502 5.5.1 STARTTLS not available\r\n");
        reply("220 2.0.0 Ready to start TLS\r\n");
        // The 220 goes out in clear; everything after it is ciphertext. Input pipelined after
        // STARTTLS is dropped (RFC 3207 §4.2 injection).
        tls_wire_.append(out_);
        out_.clear();
        tls_.emplace();
        if (!tls_->start(worker_.tls_context(), tls::TlsStream::Role::server)) return begin_close();
        reset_transaction();
        discard_rest_ = true;
        line_.clear();
        return;
    }
    if (verb_is(line, "VRFY")) return reply("252 2.5.0 cannot verify\r\n");
    reply_error(502, "502 5.5.2 command not recognized\r\n");
}

void SinkConnection::bdat_chunk_done() {
    mode_ = Mode::command;
    if (bdat_refused_) return reply_error(503, "503 5.5.1 BDAT without a valid MAIL and RCPT\r\n");
    if (bdat_last_) return end_of_message();
    reply("250 2.0.0 chunk received\r\n");
}

void SinkConnection::start_message() {
    message_.clear();
    message_bytes_ = 0;
    head_size_ = 0;
}

void SinkConnection::end_of_message() {
    mode_ = Mode::command;
    const SinkOptions& o = worker_.options();
    SinkStats& stats = worker_.stats();
    bool accepted = true;
    double u = worker_.draw();
    if (u < o.drop) {
        stats.dropped_connections.add();
        reset_transaction();
        return begin_close();  // no reply at all: the client must cope with a lost verdict
    }
    u -= o.drop;
    if (!o.fail_at_rcpt && u < o.tempfail) {
        reply_error(451, "451 4.3.0 injected temporary failure\r\n");
        accepted = false;
    } else if (!o.fail_at_rcpt && u < o.tempfail + o.permfail) {
        reply_error(554, "554 5.6.0 injected permanent failure\r\n");
        accepted = false;
    }
    ++messages_;
    if (accepted) {
        uint64_t now = monotonic_ns();
        stats.messages.add();
        stats.message_bytes.add(message_bytes_);
        stats.max_messages_per_connection.raise_to(messages_);
        if (stats.first_message_ns.get() == 0) stats.first_message_ns.add(now);
        stats.last_message_ns.raise_to(now);
        if (uint64_t sent = parse_bench_sent(head_, head_size_); sent != 0) {
            uint64_t arrived = realtime_ns();
            stats.latency_ns.record(arrived > sent ? arrived - sent : 0);
        }
        if (!o.store_dir.empty()) store_message();
        char text[64];
        int n = snprintf(text, sizeof text, "250 2.0.0 Ok: queued as %" PRIx64 "\r\n",
                         stats.messages.get());
        reply({text, size_t(n)});
    }
    reset_transaction();
}

void SinkConnection::store_message() {
    uint64_t id = worker_.shared().store_counter.fetch_add(1, std::memory_order_relaxed) + 1;
    std::string path = worker_.options().store_dir + "/" + std::to_string(id);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0;
    for (size_t done = 0; ok && done < message_.size();) {
        ssize_t n = ::write(fd, message_.data() + done, message_.size() - done);
        ok = n > 0;
        done += ok ? size_t(n) : 0;
    }
    if (fd >= 0) ::close(fd);
    if (!ok)
        fprintf(stderr, "ringmta-bench sink: cannot store %s: %s\n", path.c_str(), strerror(errno));
}

void SinkConnection::reset_transaction() {
    mail_ = false;
    rcpts_ = 0;
    bdat_refused_ = false;
    bdat_message_ = false;
    message_bytes_ = 0;
    head_size_ = 0;
}

void SinkConnection::reply(std::string_view text) { out_.append(text); }

void SinkConnection::reply_error(int code, std::string_view text) {
    worker_.stats().replies[size_t(code)].add();
    out_.append(text);
}

// ---------------------------------------------------------------- output

void SinkConnection::flush() {
    if (out_.empty() && tls_wire_.empty()) return;
    uint32_t latency_ms = worker_.options().latency_ms;
    if (latency_ms == 0) return send_now();
    if (in_delay_) return;  // goes out with the flush already scheduled
    in_delay_ = true;
    worker_.delay_flush(this, generation_, monotonic_ns() + uint64_t(latency_ms) * 1000000u);
}

void SinkConnection::delayed_flush_due(uint64_t generation) {
    if (generation != generation_ || !in_delay_) return;
    in_delay_ = false;
    if (fd_ < 0) return;
    if (mode_ == Mode::closing && !close_after_send_) return maybe_finish_close();
    send_now();
}

void SinkConnection::send_now() {
    if (send_.pending || fd_ < 0) return;
    if (tls_ && tls_->handshake_done() && !out_.empty()) {
        if (!tls_->write_plaintext(out_, &tls_wire_)) return begin_close();
        out_.clear();
    }
    if (!tls_wire_.empty()) {
        in_flight_.swap(tls_wire_);
        tls_wire_.clear();
    } else if (!tls_) {
        in_flight_.swap(out_);
        out_.clear();
    }
    if (in_flight_.empty()) {
        if (close_after_send_) begin_close();
        return;
    }
    sent_ = 0;
    io_uring_sqe* sqe = worker_.ring().sqe_for(&send_);
    io_uring_prep_send(sqe, fd_, in_flight_.data(), in_flight_.size(), MSG_NOSIGNAL);
}

void SinkConnection::on_send(engine::Completion* c, int result, uint32_t) {
    auto* self = static_cast<SinkConnection*>(c->owner);
    if (result <= 0) {
        self->in_flight_.clear();
        self->close_after_send_ = false;
        return self->begin_close();
    }
    self->sent_ += size_t(result);
    if (self->sent_ < self->in_flight_.size()) {
        io_uring_sqe* sqe = self->worker_.ring().sqe_for(&self->send_);
        io_uring_prep_send(sqe, self->fd_, self->in_flight_.data() + self->sent_,
                           self->in_flight_.size() - self->sent_, MSG_NOSIGNAL);
        return;
    }
    self->in_flight_.clear();
    if (!self->out_.empty() || !self->tls_wire_.empty()) return self->send_now();
    if (self->close_after_send_) return self->begin_close();
    if (self->mode_ == Mode::closing) self->maybe_finish_close();
}

// ---------------------------------------------------------------- closing

void SinkConnection::begin_close() {
    if (fd_ < 0) return;
    if (mode_ != Mode::closing || close_after_send_) {
        close_after_send_ = false;
        mode_ = Mode::closing;
        ::shutdown(fd_, SHUT_RDWR);
        if (recv_.pending) {
            io_uring_sqe* sqe = worker_.ring().sqe_for(nullptr);
            io_uring_prep_cancel(sqe, &recv_, 0);
        }
    }
    maybe_finish_close();
}

void SinkConnection::maybe_finish_close() {
    if (fd_ < 0 || recv_.pending || send_.pending || close_after_send_) return;
    ::close(fd_);
    fd_ = -1;
    in_delay_ = false;
    ++generation_;
    worker_.connection_closed(this);
}

}  // namespace ringmta::bench
