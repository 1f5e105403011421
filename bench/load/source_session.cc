// The client dialogue of a source session: connect, EHLO, optional STARTTLS, transactions with
// or without PIPELINING (then the content of one message and the envelope of the next share
// one write), DATA or BDAT, QUIT; and the bookkeeping of what each reply means.
#include "bench/load/source_session.hh"

#include <netinet/tcp.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "mta/base/assert.hh"

namespace ringmta::bench {

namespace {

bool counted_as_error(int code) { return code >= 400 || (code >= 300 && code != 354); }

bool starts_with_word(std::string_view text, std::string_view word) {
    if (text.size() < word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i)
        if ((text[i] & ~0x20) != word[i]) return false;
    return text.size() == word.size() || text[word.size()] == ' ';
}

void append_rcpt(std::string& into, const std::string& rcpt_to, unsigned k) {
    into += "RCPT TO:<";
    if (k == 0) {
        into += rcpt_to;
    } else {
        size_t at = rcpt_to.find('@');
        into.append(rcpt_to, 0, at);
        into += '+';
        into += std::to_string(k);
        into.append(rcpt_to, at, std::string::npos);
    }
    into += ">\r\n";
}

}  // namespace

SourceSession::SourceSession(SourceWorker& worker, unsigned index)
    : worker_(worker), index_(index) {
    for (engine::Completion* c : {&connect_, &send_, &recv_}) c->owner = this;
    connect_.callback = &SourceSession::on_connect;
    send_.callback = &SourceSession::on_send;
    recv_.callback = &SourceSession::on_recv;
    size_t envelope_bytes =
        256 + size_t(worker.options().rcpts) * (worker.options().rcpt_to.size() + 24);
    pre_.reserve(envelope_bytes);
    post_.reserve(envelope_bytes);
    replies_.reserve(4096);
}

SourceSession::~SourceSession() {
    if (fd_ >= 0) ::close(fd_);
}

void SourceSession::start() { after_close(); }

void SourceSession::wake() {
    in_waiting_list_ = false;
    if (worker_.shared().stop.load(std::memory_order_relaxed) && have_message_ && !envelope_sent_) {
        have_message_ = false;  // claimed but never sent: not part of the run
        exhausted_ = true;
    }
    if (phase_ == Phase::idle) {
        if (exhausted_ && !have_message_) {
            after_close();
        } else {
            connect();
        }
    } else if (phase_ == Phase::open && expected_size_ == 0) {
        next_transaction();
    }
}

void SourceSession::check_timeout(uint64_t now_ns) {
    bool waiting_on_peer = phase_ == Phase::connecting || phase_ == Phase::quitting ||
                           (phase_ == Phase::open && (expected_size_ > 0 || send_.pending));
    const SourceOptions& o = worker_.options();
    double limit_s = phase_ == Phase::connecting ? o.connect_timeout_s : o.timeout_s;
    auto limit_ns = uint64_t(limit_s * 1e9);
    if (!waiting_on_peer || now_ns - last_io_ns_ < limit_ns) return;
    if (phase_ != Phase::quitting) worker_.stats().timeouts.add();
    lose_connection();
}

// ---------------------------------------------------------------- connection

void SourceSession::connect() {
    const SourceOptions& o = worker_.options();
    last_io_ns_ = monotonic_ns();
    phase_ = Phase::connecting;
    fd_ = ::socket(o.to.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) {
        worker_.stats().connect_errors.add();
        lose_connection();
        return;
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!o.from_addresses.empty()) {
        // The port is chosen at connect time, so one address serves many destinations.
        setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        unsigned pick = worker_.shared().next_from_address.fetch_add(1, std::memory_order_relaxed);
        const SocketAddress& from = o.from_addresses[pick % o.from_addresses.size()];
        if (::bind(fd_, from.raw(), from.length) != 0) {
            worker_.stats().connect_errors.add();
            lose_connection();
            return;
        }
    }
    io_uring_sqe* sqe = worker_.ring().sqe_for(&connect_);
    io_uring_prep_connect(sqe, fd_, o.to.raw(), o.to.length);
}

void SourceSession::on_connect(engine::Completion* c, int result, uint32_t) {
    auto* self = static_cast<SourceSession*>(c->owner);
    if (self->phase_ != Phase::connecting) {
        self->maybe_finish_close();
        return;
    }
    if (result < 0) {
        self->worker_.stats().connect_errors.add();
        self->lose_connection();
        return;
    }
    self->worker_.stats().connections.add();
    self->phase_ = Phase::open;
    self->messages_on_connection_ = 0;
    self->expected_head_ = self->expected_size_ = 0;
    self->replies_.clear();
    self->replies_pos_ = 0;
    self->tls_.reset();
    self->tls_out_.clear();
    self->tls_handshaking_ = false;
    self->rset_needed_ = false;
    self->expect(Step::greeting);
    self->arm_recv();
}

void SourceSession::arm_recv() {
    io_uring_sqe* sqe = worker_.ring().sqe_for(&recv_);
    io_uring_prep_recv(sqe, fd_, net_buffer_.data(), net_buffer_.size(), 0);
}

void SourceSession::on_recv(engine::Completion* c, int result, uint32_t) {
    auto* self = static_cast<SourceSession*>(c->owner);
    if (self->phase_ == Phase::closing) {
        self->maybe_finish_close();
        return;
    }
    if (result <= 0) {
        if (self->phase_ == Phase::quitting) {
            self->begin_close();
        } else {
            self->lose_connection();
        }
        return;
    }
    self->last_io_ns_ = monotonic_ns();
    self->received(self->net_buffer_.data(), size_t(result));
    if (self->phase_ == Phase::open || self->phase_ == Phase::quitting) {
        self->arm_recv();
    } else {
        self->maybe_finish_close();
    }
}

void SourceSession::received(const char* data, size_t size) {
    if (!tls_) {
        replies_.append(data, size);
    } else {
        if (!tls_->feed_ciphertext(data, size) || !tls_->read_plaintext(&replies_, &tls_out_)) {
            lose_connection();
            return;
        }
        send_tls_wire();
        if (tls_handshaking_ && tls_->handshake_done()) {
            tls_handshaking_ = false;
            send_ehlo();
        }
    }
    parse_replies();
}

// ---------------------------------------------------------------- replies

void SourceSession::parse_replies() {
    while (!send_.pending && (phase_ == Phase::open || phase_ == Phase::quitting)) {
        size_t eol = replies_.find("\r\n", replies_pos_);
        if (eol == std::string::npos) break;
        std::string_view line(replies_.data() + replies_pos_, eol - replies_pos_);
        replies_pos_ = eol + 2;
        if (line.size() < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
            line[2] < '0' || line[2] > '9' ||
            (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
            lose_connection();  // not SMTP: nothing more on this connection can be trusted
            return;
        }
        if (expected_size_ > 0 && expected_[expected_head_].step == Step::ehlo)
            note_capabilities(line.size() > 4 ? line.substr(4) : std::string_view());
        if (line.size() > 3 && line[3] == '-') continue;
        on_reply((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
    }
    if (replies_pos_ == replies_.size()) {
        replies_.clear();
        replies_pos_ = 0;
    } else if (replies_pos_ > 8192) {
        replies_.erase(0, replies_pos_);
        replies_pos_ = 0;
    }
}

void SourceSession::note_capabilities(std::string_view text) {
    if (starts_with_word(text, "PIPELINING")) cap_pipelining_ = true;
    if (starts_with_word(text, "STARTTLS")) cap_starttls_ = true;
    if (starts_with_word(text, "CHUNKING")) cap_chunking_ = true;
    if (starts_with_word(text, "8BITMIME")) cap_8bit_ = true;
}

void SourceSession::on_reply(int code) {
    SourceStats& stats = worker_.stats();
    if (counted_as_error(code)) stats.reply_codes[size_t(code)].add();
    if (expected_size_ == 0 || code == 421) {
        lose_connection();  // unsolicited, or the server is closing the connection
        return;
    }
    Expected& front = expected_[expected_head_];
    Step step = front.step;
    if (--front.count == 0) {
        expected_head_ = (expected_head_ + 1) % expected_.size();
        --expected_size_;
    }
    bool ok = code >= 200 && code < 300;
    const SourceOptions& o = worker_.options();
    switch (step) {
        case Step::greeting:
            if (!ok) return lose_connection();
            return send_ehlo();
        case Step::ehlo:
            if (!ok) return lose_connection();
            return after_ehlo();
        case Step::starttls:
            if (code != 220) {
                if (!worker_.shared().warned.exchange(true))
                    fprintf(stderr, "ringmta-bench: STARTTLS refused with %d\n", code);
                exhausted_ = true;
                return send_quit();
            }
            return start_tls();
        case Step::rset:
            if (!pipelining_) next_transaction();
            return;
        case Step::mail:
            if (!ok) {
                transaction_failed_ = true;
                if (!pipelining_) end_transaction(false);
                return;
            }
            if (!pipelining_) {
                append_rcpt(pre_, o.rcpt_to, rcpts_sent_++);
                expect(Step::rcpt);
                submit_output();
            }
            return;
        case Step::rcpt:
            if (ok) {
                ++rcpts_ok_;
                stats.rcpts_accepted.add();
            }
            if (pipelining_) return;
            if (rcpts_sent_ < o.rcpts) {
                append_rcpt(pre_, o.rcpt_to, rcpts_sent_++);
                expect(Step::rcpt);
            } else if (rcpts_ok_ == 0) {
                return end_transaction(false);
            } else if (bdat_) {
                add_content(false);
            } else {
                pre_ += "DATA\r\n";
                expect(Step::data);
            }
            return submit_output();
        case Step::data:
            if (code != 354) return end_transaction(false);
            add_content(true);
            // RFC 2920: the next transaction's commands may follow the content in the same write.
            if (pipelining_ && !o.new_connection_per_message) build_envelope(post_);
            return submit_output();
        case Step::content_end:
            final_pending_ = false;
            ++messages_on_connection_;
            if (ok) {
                stats.accepted.add();
                stats.message_bytes.add(final_bytes_);
                stats.latency_ns.record(monotonic_ns() - final_sent_ns_);
                failures_in_row_ = 0;
                failing_since_ns_ = 0;
            } else {
                stats.failed.add();  // the end-of-data reply closes the transaction either way
            }
            if (!envelope_sent_) next_transaction();
            return;
        case Step::quit:
            phase_ = Phase::quitting;  // the server closes first, so TIME_WAIT stays on its side
            return;
    }
}

// ---------------------------------------------------------------- dialogue

void SourceSession::send_ehlo() {
    cap_pipelining_ = cap_starttls_ = cap_chunking_ = cap_8bit_ = false;
    pre_ += "EHLO ";
    pre_ += worker_.options().helo;
    pre_ += "\r\n";
    expect(Step::ehlo);
    submit_output();
}

void SourceSession::after_ehlo() {
    const SourceOptions& o = worker_.options();
    if (o.starttls && !tls_) {
        if (!cap_starttls_) {
            if (!worker_.shared().warned.exchange(true))
                fprintf(stderr, "ringmta-bench: %s does not offer STARTTLS\n", o.to.text.c_str());
            exhausted_ = true;
            return send_quit();
        }
        pre_ += "STARTTLS\r\n";
        expect(Step::starttls);
        return submit_output();
    }
    pipelining_ = o.pipelining && cap_pipelining_;
    bdat_ = o.bdat && cap_chunking_;
    if (pipelining_ != o.pipelining || bdat_ != o.bdat) {
        if (!worker_.shared().warned.exchange(true))
            fprintf(stderr, "ringmta-bench: %s lacks %s; going without\n", o.to.text.c_str(),
                    bdat_ != o.bdat ? "CHUNKING" : "PIPELINING");
    }
    next_transaction();
}

void SourceSession::start_tls() {
    // Replies pipelined after the 220 would be an injection; nothing before the handshake counts.
    replies_.clear();
    replies_pos_ = 0;
    tls_.emplace();
    if (!tls_->start(worker_.tls_context(), tls::TlsStream::Role::client) ||
        !tls_->read_plaintext(&replies_, &tls_out_)) {
        return lose_connection();
    }
    tls_handshaking_ = true;
    send_tls_wire();
}

bool SourceSession::build_envelope(std::string& into) {
    uint64_t now = monotonic_ns();
    if (!have_message_) {
        if (exhausted_) return false;
        if (!worker_.shared().claim(now, &sequence_, &due_ns_)) {
            exhausted_ = true;
            return false;
        }
        have_message_ = true;
    }
    if (due_ns_ > now) {
        if (!in_waiting_list_) {
            in_waiting_list_ = true;
            worker_.wait_until_due(this);
        }
        return false;
    }
    if (rset_needed_) {
        rset_needed_ = false;
        into += "RSET\r\n";
        expect(Step::rset);
        if (!pipelining_) return true;  // MAIL follows the RSET reply
    }
    const SourceOptions& o = worker_.options();
    const PreparedMessage& m = worker_.shared().corpus->at(sequence_);
    transaction_failed_ = false;
    rcpts_ok_ = rcpts_sent_ = 0;
    into += "MAIL FROM:<";
    into += o.mail_from;
    into += m.eight_bit && cap_8bit_ ? "> BODY=8BITMIME\r\n" : ">\r\n";
    expect(Step::mail);
    envelope_sent_ = true;
    if (!pipelining_) return true;
    for (unsigned k = 0; k < o.rcpts; ++k) append_rcpt(into, o.rcpt_to, k);
    rcpts_sent_ = o.rcpts;
    expect(Step::rcpt, o.rcpts);
    if (bdat_) {
        // The BDAT command carries the size, so the content goes in this same write.
        add_content(false);
    } else {
        into += "DATA\r\n";
        expect(Step::data);
    }
    return true;
}

void SourceSession::next_transaction() {
    if (phase_ != Phase::open || (expected_size_ > 0 && !pipelining_)) return;
    if (worker_.options().new_connection_per_message && messages_on_connection_ > 0) {
        if (!final_pending_) send_quit();
        return;
    }
    if (build_envelope(pre_)) return submit_output();
    if (!have_message_ && !final_pending_ && expected_size_ == 0) send_quit();
}

void SourceSession::add_content(bool with_terminator) {
    const PreparedMessage& m = worker_.shared().corpus->at(sequence_);
    const std::string& body = bdat_ ? m.raw : m.stuffed;
    HeaderFields f;
    f.sent_unix_ns = realtime_ns();
    f.sequence = sequence_;
    f.run_id = worker_.shared().run_id;
    f.full = worker_.shared().corpus->needs_headers();
    f.date = worker_.date(f.sent_unix_ns);
    f.from = worker_.options().mail_from;
    f.to = worker_.options().rcpt_to;
    header_size_ = format_headers(header_.data(), header_.size(), f);
    body_ = body.data();
    body_size_ = body.size();
    if (bdat_) {
        pre_ += "BDAT ";
        pre_ += std::to_string(header_size_ + body_size_);
        pre_ += " LAST\r\n";
    }
    content_queued_ = true;
    content_terminator_ = with_terminator;
    final_pending_ = true;
    final_bytes_ = header_size_ + body_size_;
    have_message_ = false;
    envelope_sent_ = false;
    expect(Step::content_end);
}

void SourceSession::end_transaction(bool accepted) {
    (accepted ? worker_.stats().accepted : worker_.stats().failed).add();
    have_message_ = false;
    envelope_sent_ = false;
    rset_needed_ = true;
    next_transaction();
}

void SourceSession::send_quit() {
    pre_ += "QUIT\r\n";
    expect(Step::quit);
    submit_output();
}

void SourceSession::expect(Step step, uint32_t count) {
    MTA_ASSERT(expected_size_ < expected_.size());
    expected_[(expected_head_ + expected_size_) % expected_.size()] = Expected{step, count};
    ++expected_size_;
}

// ---------------------------------------------------------------- output

void SourceSession::submit_output() {
    MTA_ASSERT(!send_.pending || tls_);
    iov_count_ = iov_index_ = 0;
    auto add = [&](const char* p, size_t n) {
        if (n > 0) iov_[iov_count_++] = iovec{const_cast<char*>(p), n};
    };
    add(pre_.data(), pre_.size());
    if (content_queued_) {
        add(header_.data(), header_size_);
        add(body_, body_size_);
        if (content_terminator_) add(".\r\n", 3);
        content_queued_ = false;
        final_stamp_pending_ = true;
    }
    add(post_.data(), post_.size());
    if (iov_count_ == 0) return;
    if (tls_) {
        for (unsigned i = 0; i < iov_count_; ++i) {
            if (!tls_->write_plaintext({static_cast<char*>(iov_[i].iov_base), iov_[i].iov_len},
                                       &tls_out_))
                return lose_connection();
        }
        pre_.clear();
        post_.clear();
        iov_count_ = 0;
        return send_tls_wire();
    }
    send_iovecs();
}

void SourceSession::send_iovecs() {
    msg_.msg_iov = &iov_[iov_index_];
    msg_.msg_iovlen = iov_count_ - iov_index_;
    io_uring_sqe* sqe = worker_.ring().sqe_for(&send_);
    io_uring_prep_sendmsg(sqe, fd_, &msg_, MSG_NOSIGNAL);
}

void SourceSession::send_tls_wire() {
    if (send_.pending || tls_out_.empty() || phase_ == Phase::closing) return;
    tls_in_flight_.swap(tls_out_);
    tls_out_.clear();
    tls_sent_ = 0;
    io_uring_sqe* sqe = worker_.ring().sqe_for(&send_);
    io_uring_prep_send(sqe, fd_, tls_in_flight_.data(), tls_in_flight_.size(), MSG_NOSIGNAL);
}

void SourceSession::on_send(engine::Completion* c, int result, uint32_t) {
    auto* self = static_cast<SourceSession*>(c->owner);
    if (self->phase_ == Phase::closing) return self->maybe_finish_close();
    if (result <= 0) return self->lose_connection();
    self->worker_.stats().wire_bytes.add(uint64_t(result));
    self->last_io_ns_ = monotonic_ns();
    if (self->tls_) {
        self->tls_sent_ += size_t(result);
        if (self->tls_sent_ < self->tls_in_flight_.size()) {
            io_uring_sqe* sqe = self->worker_.ring().sqe_for(&self->send_);
            io_uring_prep_send(sqe, self->fd_, self->tls_in_flight_.data() + self->tls_sent_,
                               self->tls_in_flight_.size() - self->tls_sent_, MSG_NOSIGNAL);
            return;
        }
        self->tls_in_flight_.clear();
        if (!self->tls_out_.empty()) return self->send_tls_wire();
    } else {
        auto left = size_t(result);
        while (self->iov_index_ < self->iov_count_ && left >= self->iov_[self->iov_index_].iov_len)
            left -= self->iov_[self->iov_index_++].iov_len;
        if (self->iov_index_ < self->iov_count_) {
            iovec& v = self->iov_[self->iov_index_];
            v.iov_base = static_cast<char*>(v.iov_base) + left;
            v.iov_len -= left;
            return self->send_iovecs();
        }
        self->pre_.clear();
        self->post_.clear();
    }
    if (self->final_stamp_pending_) {
        self->final_stamp_pending_ = false;
        self->final_sent_ns_ = self->last_io_ns_;
    }
    self->parse_replies();
}

// ---------------------------------------------------------------- closing

void SourceSession::lose_connection() {
    if (phase_ == Phase::closing || phase_ == Phase::finished || phase_ == Phase::idle) return;
    SourceStats& stats = worker_.stats();
    if (phase_ != Phase::quitting && phase_ != Phase::connecting) stats.lost_connections.add();
    if (have_message_ && envelope_sent_) stats.retried.add();  // sent again on a new connection
    envelope_sent_ = false;
    if (final_pending_) {
        // Its content went out and no verdict came back: unknown, so not accepted.
        final_pending_ = false;
        stats.failed.add();
    }
    if (messages_on_connection_ > 0 || phase_ == Phase::quitting) {
        failures_in_row_ = 0;
        failing_since_ns_ = 0;
    } else {
        if (failures_in_row_++ == 0) failing_since_ns_ = monotonic_ns();
    }
    begin_close();
}

void SourceSession::begin_close() {
    phase_ = Phase::closing;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    if (connect_.pending) {
        io_uring_sqe* sqe = worker_.ring().sqe_for(nullptr);
        io_uring_prep_cancel(sqe, &connect_, 0);
    }
    maybe_finish_close();
}

void SourceSession::maybe_finish_close() {
    if (phase_ != Phase::closing || connect_.pending || send_.pending || recv_.pending) return;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    tls_.reset();
    pre_.clear();
    post_.clear();
    content_queued_ = final_stamp_pending_ = false;
    expected_head_ = expected_size_ = 0;
    after_close();
}

void SourceSession::after_close() {
    phase_ = Phase::idle;
    uint64_t now = monotonic_ns();
    if (!have_message_ && !exhausted_) {
        if (worker_.shared().claim(now, &sequence_, &due_ns_)) {
            have_message_ = true;
        } else {
            exhausted_ = true;
        }
    }
    if (!have_message_) {
        phase_ = Phase::finished;
        worker_.session_finished();
        return;
    }
    if (failures_in_row_ > 0) {
        // Retrying past the end of a --duration run would only stretch it: the message held
        // here was claimed in time but can no longer be sent within the run.
        uint64_t deadline_ns = worker_.shared().deadline_ns;
        if (now - failing_since_ns_ > uint64_t(worker_.options().connect_timeout_s * 1e9) ||
            (deadline_ns != 0 && now >= deadline_ns)) {
            if (!worker_.shared().warned.exchange(true))
                fprintf(stderr, "ringmta-bench: giving up on %s after %u failed connections\n",
                        worker_.options().to.text.c_str(), failures_in_row_);
            worker_.stats().sessions_given_up.add();
            worker_.stats().failed.add();
            have_message_ = false;
            exhausted_ = true;
            phase_ = Phase::finished;
            worker_.session_finished();
            return;
        }
        uint64_t backoff_ns = uint64_t(1000000) << (failures_in_row_ < 7 ? failures_in_row_ : 7);
        if (due_ns_ < now + backoff_ns) due_ns_ = now + backoff_ns;
    }
    if (due_ns_ > now) {
        in_waiting_list_ = true;
        worker_.wait_until_due(this);
        return;
    }
    connect();
}

}  // namespace ringmta::bench
