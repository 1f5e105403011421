// The ESMTP dialogue. Input is consumed as it arrives: command lines are executed at once and
// their replies collected; content bytes go through the DATA/BDAT reader. At the end of each
// read the collected replies go out in one write (RFC 2920). While a message commits, input is
// paused and what was already read waits in pending_input_.
#include "mta/smtp/server_session.hh"

#include <algorithm>
#include <cstring>

#include "mta/base/clock.hh"
#include "mta/base/log.hh"
#include "mta/smtp/address.hh"
#include "mta/smtp/command.hh"
#include "mta/smtp/params.hh"
#include "mta/smtp/reply.hh"
#include "mta/smtp/received_header.hh"
#include "mta/tls/tls_context.hh"
#include "queue/queue_id.hh"

namespace ringmta::smtp {

namespace {
ContentLimits content_limits(const config::Config& c) {
    ContentLimits l;
    l.message_size_bytes_max = c.limits.message_size_max;
    // text_line_length_max counts the CRLF; the reader counts octets without it.
    l.line_length_bytes_max = c.limits.text_line_length_max - 2;
    l.bare_newline = c.relay.bare_newline == config::BareNewline::reject ? BareNewline::reject
                                                                          : BareNewline::normalize;
    return l;
}
}  // namespace

ServerSession::ServerSession(engine::Connection& connection, ServerContext& context,
                             engine::AdmissionVerdict verdict)
    : connection_(connection), context_(context), config_(context.config) {
    last_activity_ms_ = context_.shard->now_ms();
    connection_.set_output_pending_max(limits().unread_reply_bytes_max);
    append_.owner = this;
    append_.done = &ServerSession::on_durable;
    const std::string& host = config_->server.hostname;
    const char* refused = nullptr;
    switch (verdict) {
        case engine::AdmissionVerdict::ok:
            ++context_.counters.connections;
            admitted_ = true;
            MTA_LOG_EVENT({}, "connect", "connect from [%s]", connection.peer_ip().c_str());
            reply("220 " + host + " ESMTP ringmta");
            break;
        case engine::AdmissionVerdict::too_many_total:
            refused = "too many connections";
            close_with("421 4.7.0 " + host + " Error: too many connections, try again later");
            break;
        case engine::AdmissionVerdict::too_many_from_ip:
            refused = "too many connections from this address";
            close_with("421 4.7.0 " + host + " Error: too many connections from " +
                       connection.peer_ip() + ", try again later");
            break;
        case engine::AdmissionVerdict::shutting_down:
            refused = "shutting down";
            close_with("421 4.3.2 " + host + " Service shutting down, try again later");
            break;
    }
    // A connection flood is exactly when these come by the thousand: a warning, so limited.
    if (refused != nullptr)
        MTA_LOG_EVENT_WARN({}, "connect_refused", "connect from [%s] refused: %s",
                           connection.peer_ip().c_str(), refused);
    flush_replies();
}

ServerSession::~ServerSession() { release_content(); }

// ---------------------------------------------------------------- input

void ServerSession::on_receive(const char* data, size_t size) {
    last_activity_ms_ = context_.shard->now_ms();
    if (mode_ == Mode::closing) return;
    if (tls_) {
        tls_plain_.clear();
        std::string& wire = connection_.output();
        if (!tls_->feed_ciphertext(data, size) || !tls_->read_plaintext(&tls_plain_, &wire)) {
            MTA_LOG_INFO("TLS error from %s: %s", connection_.peer_ip().c_str(),
                         tls_->error().c_str());
            mode_ = Mode::closing;
            close_after_reply();
            return;
        }
        consume(tls_plain_.data(), tls_plain_.size());
    } else {
        consume(data, size);
    }
    flush_replies();
    connection_.flush();  // TLS handshake records may be waiting even when no reply is
}

void ServerSession::consume(const char* data, size_t size) {
    while (size > 0 && mode_ != Mode::closing) {
        if (mode_ == Mode::committing) {
            // Bounded: input is paused while committing, so at most one read waits here.
            pending_input_.append(data, size);
            return;
        }
        size_t used = (mode_ == Mode::command) ? consume_command_bytes(data, size)
                                               : consume_content(data, size);
        data += used;
        size -= used;
        if (starttls_pending_) {
            // RFC 3207 4.2: anything the client pipelined after STARTTLS is discarded; the
            // next bytes on the wire are the TLS handshake.
            starttls_pending_ = false;
            return;
        }
    }
}

size_t ServerSession::consume_command_bytes(const char* data, size_t size) {
    const char* lf = static_cast<const char*>(std::memchr(data, '\n', size));
    size_t take = lf ? size_t(lf - data) + 1 : size;
    if (!discarding_line_) {
        if (line_.size() + take > limits().command_line_length_max) {
            discarding_line_ = true;
            line_.clear();
        } else {
            line_.append(data, take);
        }
    }
    if (lf == nullptr) return take;
    if (discarding_line_) {
        discarding_line_ = false;
        reply("500 5.5.2 Error: line too long");
        count_error();
        return take;
    }
    std::string line;
    line.swap(line_);
    line.pop_back();  // LF; a bare LF ending a command is tolerated, as Postfix does
    if (!line.empty() && line.back() == '\r') line.pop_back();
    execute(line);
    return take;
}

size_t ServerSession::consume_content(const char* data, size_t size) {
    FeedResult r = mode_ == Mode::data ? data_reader_->feed(data, size)
                                       : bdat_reader_->feed(data, size);
    if (r.status == ContentStatus::complete) {
        content_finished(mode_ == Mode::data ? data_reader_->outcome() : bdat_reader_->outcome());
    } else if (r.status == ContentStatus::chunk_done && bdat_orphan_) {
        content_finished(ContentOutcome::ok);
    } else if (r.status == ContentStatus::chunk_done) {
        mode_ = Mode::command;
        reply(bdat_reader_->failed() ? "250 2.0.0 Ok: chunk received (message will be refused)"
                                     : "250 2.0.0 Ok: chunk received");
    }
    return r.consumed;
}

void ServerSession::BudgetSink::write(const char* p, size_t n) {
    ServerSession& s = session_;
    if (s.over_budget_) return;
    size_t need = s.content_.size() + n;
    if (need > s.content_charged_) {
        // Charge in steps of at least 64 KiB so the shared counter is touched rarely.
        uint64_t step = std::max<uint64_t>(need - s.content_charged_, 65536);
        if (!s.context_.memory->charge(step)) {
            s.over_budget_ = true;
            s.release_content();
            return;
        }
        s.content_charged_ += step;
        s.content_.reserve(s.content_charged_);
    }
    s.content_.append(p, n);
}

// ---------------------------------------------------------------- commands

void ServerSession::execute(std::string_view line) {
    ++commands_;
    if (line.find('\0') != std::string_view::npos) {
        reply("500 5.5.2 Error: NUL character in command");
        count_error();
        return;
    }
    Command cmd = parse_command(line);
    if (!cmd.ok()) {
        reply(cmd.error_reply);
        count_error();
        return;
    }
    switch (cmd.verb) {
        case Verb::helo: cmd_helo(cmd.argument, false); break;
        case Verb::ehlo: cmd_helo(cmd.argument, true); break;
        case Verb::mail: cmd_mail(cmd.path, cmd.params); break;
        case Verb::rcpt: cmd_rcpt(cmd.path, cmd.params); break;
        case Verb::data: cmd_data(); break;
        case Verb::bdat: cmd_bdat(cmd.bdat_size_bytes, cmd.bdat_last); break;
        case Verb::rset:
            reset_transaction();
            reply("250 2.0.0 Ok");
            break;
        case Verb::noop: reply("250 2.0.0 Ok"); break;
        case Verb::quit:
            reply("221 2.0.0 Bye");
            mode_ = Mode::closing;
            flush_replies();
            close_after_reply();
            break;
        case Verb::vrfy:
            reply("252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
            break;
        case Verb::help:
            // STARTTLS only where EHLO would offer it: a listener with TLS, not yet under TLS.
            reply(starttls_offered()
                      ? "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY "
                        "HELP STARTTLS"
                      : "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY "
                        "HELP");
            break;
        case Verb::starttls: cmd_starttls(); break;
        case Verb::auth:
            reply("502 5.5.1 Error: authentication not enabled");
            count_error();
            break;
        case Verb::unknown:
            reply("500 5.5.1 Command unrecognized");
            count_error();
            break;
    }
}

void ServerSession::cmd_helo(std::string_view arg, bool extended) {
    if (arg.empty()) {
        reply(extended ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
        count_error();
        return;
    }
    reset_transaction();
    helo_name_ = std::string(arg.substr(0, 255));
    have_helo_ = true;
    extended_ = extended;
    const std::string& host = config_->server.hostname;
    if (!extended) {
        reply("250 " + host);
        return;
    }
    std::string size = "SIZE " + std::to_string(limits().message_size_max);
    std::vector<std::string_view> extensions = {"PIPELINING", size};
    if (starttls_offered()) extensions.push_back("STARTTLS");
    for (std::string_view e : {"ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"})
        extensions.push_back(e);
    append_ehlo_reply(replies_, host, helo_name_, extensions);
}

bool ServerSession::starttls_offered() const {
    return !tls_ && context_.listener_tls[connection_.listener_index()] != nullptr;
}

bool ServerSession::relay_allowed() const {
    for (const auto& net : config_->relay.networks)
        if (net.contains(reinterpret_cast<const sockaddr*>(&connection_.peer()))) return true;
    return false;
}

void ServerSession::cmd_mail(std::string_view path_text, std::string_view params_text) {
    if (!have_helo_) {
        reply("503 5.5.1 Error: send HELO/EHLO first");
        count_error();
        return;
    }
    if (have_mail_) {
        reply("503 5.5.1 Error: nested MAIL command");
        count_error();
        return;
    }
    if (!extended_ && !params_text.empty()) {
        reply("555 5.5.4 Error: MAIL parameters need EHLO");
        count_error();
        return;
    }
    auto params = parse_mail_params(params_text);
    if (!params) {
        reply(params.error().message);
        count_error();
        return;
    }
    if (params->body == BodyType::binary_mime) {
        // Not advertised on purpose: a binary body cannot be relayed to a next hop without
        // BINARYMIME (most of them), so taking it would only turn into a bounce later.
        reply("555 5.5.4 Unsupported option: BODY=BINARYMIME");
        count_error();
        return;
    }
    auto path = parse_reverse_path(path_text, params->smtputf8);
    if (!path) {
        reply(path.error().message);
        count_error();
        return;
    }
    if (params->size_given && params->size_bytes > limits().message_size_max) {
        reply("552 5.3.4 Error: message size exceeds fixed limit");
        context_.counters.refuse(Refusal::size);
        return;
    }
    if (!context_.queue_has_room()) {
        reply("452 4.3.1 Error: insufficient system storage (queue full), try again later");
        return;
    }
    reset_transaction();
    have_mail_ = true;
    declared_size_ = params->size_bytes;
    envelope_.sender = path->mailbox;
    envelope_.smtputf8 = params->smtputf8;
    envelope_.body_type = params->body == BodyType::eight_bit_mime ? queue::BodyType::eight_bit_mime
                        : params->body == BodyType::binary_mime    ? queue::BodyType::binary_mime
                                                                   : queue::BodyType::seven_bit;
    envelope_.ret = params->ret == DsnReturn::full      ? queue::DsnRet::full
                  : params->ret == DsnReturn::headers   ? queue::DsnRet::hdrs
                                                        : queue::DsnRet::none;
    envelope_.envid = params->envid;
    reply("250 2.1.0 Ok");
}

void ServerSession::cmd_rcpt(std::string_view path_text, std::string_view params_text) {
    if (!have_mail_) {
        reply("503 5.5.1 Error: need MAIL command");
        count_error();
        return;
    }
    auto params = parse_rcpt_params(params_text);
    if (!params) {
        reply(params.error().message);
        count_error();
        return;
    }
    auto path = parse_forward_path(path_text, envelope_.smtputf8);
    if (!path) {
        reply(path.error().message);
        count_error();
        return;
    }
    if (envelope_.recipients.size() >= limits().recipients_per_message_max) {
        reply("452 4.5.3 Error: too many recipients");
        context_.counters.refuse(Refusal::recipients);
        return;
    }
    // Open relay protection: outside relay.networks only our own domains are accepted.
    // <postmaster> without a domain is ours by definition (RFC 5321 4.5.1).
    bool ours = path->domain.empty() || context_.is_accepted_domain(path->domain);
    if (!ours && !relay_allowed()) {
        reply("554 5.7.1 <" + path->mailbox + ">: Relay access denied");
        context_.counters.refuse(Refusal::relay_denied);
        ++recipients_rejected_;
        count_error();
        return;
    }
    queue::Recipient r;
    r.address = path->mailbox;
    r.notify = params->notify;
    if (!params->orcpt_type.empty()) r.orcpt = params->orcpt_type + ";" + params->orcpt_xtext;
    envelope_.recipients.push_back(std::move(r));
    reply("250 2.1.5 Ok");
}

void ServerSession::cmd_data() {
    if (!have_mail_) {
        reply("503 5.5.1 Error: need MAIL command");
        count_error();
        return;
    }
    if (envelope_.recipients.empty()) {
        reply("554 5.5.1 Error: no valid recipients");
        count_error();
        return;
    }
    if (used_bdat_) {
        reply("503 5.5.1 Error: DATA after BDAT");
        count_error();
        return;
    }
    if (envelope_.body_type == queue::BodyType::binary_mime) {
        reply("503 5.5.1 Error: BODY=BINARYMIME requires BDAT");
        count_error();
        return;
    }
    content_.clear();
    data_reader_.emplace(sink_, content_limits(*config_));
    mode_ = Mode::data;
    reply("354 End data with <CR><LF>.<CR><LF>");
}

void ServerSession::cmd_bdat(uint64_t size_bytes, bool last) {
    if (!have_mail_ || envelope_.recipients.empty()) {
        // RFC 3030: the chunk must still be read and discarded to stay in step.
        data_reader_.reset();
        bdat_reader_.emplace(sink_, content_limits(*config_), false);
        bdat_reader_->begin_chunk(size_bytes, last);
        over_budget_ = true;  // nothing of it is kept
        used_bdat_ = true;
        mode_ = Mode::bdat;
        bdat_orphan_ = true;
        consume_empty_chunk();
        return;
    }
    if (!bdat_reader_) {
        content_.clear();
        bdat_reader_.emplace(sink_, content_limits(*config_),
                             envelope_.body_type == queue::BodyType::binary_mime);
    }
    used_bdat_ = true;
    bdat_reader_->begin_chunk(size_bytes, last);
    mode_ = Mode::bdat;
    consume_empty_chunk();
}

// BDAT 0 [LAST] consumes no bytes: settle it without waiting for input that will not come.
void ServerSession::consume_empty_chunk() {
    if (size_t used = consume_content(nullptr, 0); used != 0) MTA_UNREACHABLE();
}

void ServerSession::cmd_starttls() {
    tls::TlsContext* ctx = context_.listener_tls[connection_.listener_index()];
    if (tls_) {
        reply("503 5.5.1 Error: TLS already active");
        count_error();
        return;
    }
    if (ctx == nullptr) {
        reply("502 5.5.1 Error: command not implemented");
        count_error();
        return;
    }
    reply("220 2.0.0 Ready to start TLS");
    flush_replies();  // the 220 goes out in plaintext
    tls_ = std::make_unique<tls::TlsStream>();
    if (!tls_->start(ctx->raw(), tls::TlsStream::Role::server)) {
        mode_ = Mode::closing;
        close_after_reply();
        return;
    }
    // RFC 3207 4.2: the session starts over; the client must say EHLO again.
    reset_transaction();
    have_helo_ = false;
    helo_name_.clear();
    starttls_pending_ = true;
}

// ---------------------------------------------------------------- content and commit

void ServerSession::content_finished(ContentOutcome outcome) {
    mode_ = Mode::command;
    if (bdat_orphan_) {
        bdat_orphan_ = false;
        reset_transaction();
        reply("503 5.5.1 Error: need MAIL and RCPT before BDAT");
        return;
    }
    if (outcome != ContentOutcome::ok) {
        ++context_.counters.messages_rejected;
        context_.counters.refuse(outcome == ContentOutcome::too_big        ? Refusal::size
                                 : outcome == ContentOutcome::bare_newline ? Refusal::bare_newline
                                 : outcome == ContentOutcome::line_too_long ? Refusal::line_length
                                                                            : Refusal::policy);
        reply(content_reply(outcome));
        reset_transaction();
        return;
    }
    if (!context_.queue_has_room()) {
        ++context_.counters.messages_rejected;
        context_.counters.refuse(Refusal::storage);
        reply("452 4.3.1 Error: insufficient system storage (queue full), try again later");
        reset_transaction();
        return;
    }
    if (over_budget_) {
        ++context_.counters.messages_rejected;
        context_.counters.refuse(Refusal::storage);
        MTA_LOG_WARN("memory budget of %llu bytes exhausted; message from %s refused",
                     static_cast<unsigned long long>(limits().memory_max),
                     connection_.peer_ip().c_str());
        reply("452 4.3.1 Error: insufficient system storage, try again later");
        reset_transaction();
        return;
    }
    commit();
}

void ServerSession::commit() {
    envelope_.queue_id = context_.next_queue_id();
    envelope_.arrival_us = base::realtime_us();
    envelope_.client_ip = connection_.peer_ip();
    envelope_.helo_name = helo_name_;
    envelope_.shard = uint16_t(context_.shard->index());
    if (tls_) {
        envelope_.tls_protocol = tls_->protocol();
        envelope_.tls_cipher = tls_->cipher();
    }
    std::string id = queue::format_queue_id(envelope_.queue_id);
    ReceivedFields fields;
    fields.helo = helo_name_;
    fields.client_ip = envelope_.client_ip;
    fields.hostname = config_->server.hostname;
    fields.esmtp = extended_;
    fields.tls = tls_ != nullptr;
    fields.smtputf8 = envelope_.smtputf8;
    fields.tls_protocol = envelope_.tls_protocol;
    fields.tls_cipher = envelope_.tls_cipher;
    fields.queue_id = id;
    if (envelope_.recipients.size() == 1) fields.recipient = envelope_.recipients[0].address;
    fields.time_s = int64_t(envelope_.arrival_us / 1000000);
    fields.utc_offset_min = local_utc_offset_min(fields.time_s);
    received_.clear();
    append_received_header(received_, fields);

    append_.envelope = &envelope_;
    append_.content[0] = queue::ContentSpan(reinterpret_cast<const uint8_t*>(received_.data()),
                                            received_.size());
    append_.content[1] = queue::ContentSpan(reinterpret_cast<const uint8_t*>(content_.data()),
                                            content_.size());
    append_.content_count = 2;
    mode_ = Mode::committing;
    commit_started_us_ = base::monotonic_us();
    connection_.hold();
    connection_.pause_receive();
    context_.spool->append(&append_);
}

void ServerSession::on_durable(engine::SpoolAppend* append, bool durable) {
    static_cast<ServerSession*>(append->owner)->after_commit(durable);
}

void ServerSession::after_commit(bool durable) {
    std::string id = queue::format_queue_id(envelope_.queue_id);
    if (durable) {
        ++context_.counters.messages_accepted;
        if (context_.observe_accept_latency)
            context_.observe_accept_latency(base::monotonic_us() - commit_started_us_);
        context_.counters.bytes_accepted += received_.size() + content_.size();
        ++messages_queued_;
        MTA_LOG_EVENT(id, "queued", "client=[%s], from=<%s>, nrcpt=%zu, size=%zu, queued",
                      connection_.peer_ip().c_str(), envelope_.sender.c_str(),
                      envelope_.recipients.size(), received_.size() + content_.size());
        reply("250 2.0.0 Ok: queued as " + id);
    } else {
        ++context_.counters.messages_rejected;
        context_.counters.refuse(Refusal::storage);
        reply("451 4.3.0 Error: queue file write error, try again later");
    }
    reset_transaction();
    mode_ = Mode::command;
    bool closing = connection_.closing();
    connection_.release();  // may finish the connection if the peer already went away
    if (closing) return;
    if (shutdown_requested_) {
        close_with("421 4.3.2 " + config_->server.hostname + " Service shutting down");
        flush_replies();
        return;
    }
    std::string input;
    input.swap(pending_input_);
    consume(input.data(), input.size());
    flush_replies();
    if (mode_ != Mode::committing && mode_ != Mode::closing) connection_.resume_receive();
}

void ServerSession::reset_transaction() {
    have_mail_ = false;
    envelope_ = queue::Envelope{};
    declared_size_ = 0;
    used_bdat_ = false;
    data_reader_.reset();
    bdat_reader_.reset();
    received_.clear();
    release_content();
    over_budget_ = false;
}

void ServerSession::release_content() {
    std::string().swap(content_);
    if (content_charged_ > 0) {
        context_.memory->refund(content_charged_);
        content_charged_ = 0;
    }
}

// ---------------------------------------------------------------- replies, errors, timers

void ServerSession::reply(std::string_view text) {
    replies_.append(text);
    replies_.append("\r\n");
}

void ServerSession::flush_replies() {
    if (replies_.empty()) return;
    if (tls_ && !starttls_pending_ && tls_->active()) {
        tls_->write_plaintext(replies_, &connection_.output());
    } else {
        connection_.output().append(replies_);
    }
    replies_.clear();
    connection_.flush();
}

void ServerSession::count_error() {
    if (++errors_ < limits().errors_per_session_max) return;
    close_with("421 4.7.0 " + config_->server.hostname + " Error: too many errors");
}

void ServerSession::close_with(std::string_view text) {
    reply(text);
    mode_ = Mode::closing;
    flush_replies();
    close_after_reply();
}

void ServerSession::close_after_reply() {
    connection_.close_after_send(limits().final_reply_timeout_s * 1000);
}

void ServerSession::on_tick(uint64_t now_ms) {
    if (mode_ == Mode::closing || mode_ == Mode::committing) return;
    uint64_t timeout_s = (mode_ == Mode::data || mode_ == Mode::bdat) ? limits().data_timeout_s
                       : (tls_ && !tls_->handshake_done()) ? limits().tls_handshake_timeout_s
                                                           : limits().command_timeout_s;
    if (now_ms - last_activity_ms_ < timeout_s * 1000) return;
    MTA_LOG_INFO("timeout after %s from %s", mode_ == Mode::command ? "command" : "DATA",
                 connection_.peer_ip().c_str());
    close_with("421 4.4.2 " + config_->server.hostname + " Error: timeout exceeded");
}

void ServerSession::on_shutdown() {
    shutdown_requested_ = true;
    // Between transactions the session can go at once; otherwise the transaction in flight
    // finishes first (after_commit closes) or the grace period runs out.
    if (mode_ == Mode::command && !have_mail_) {
        close_with("421 4.3.2 " + config_->server.hostname + " Service shutting down");
    }
}

void ServerSession::on_closed() {
    release_content();
    if (admitted_)
        MTA_LOG_EVENT({}, "disconnect", "disconnect from [%s] commands=%u queued=%u",
                      connection_.peer_ip().c_str(), commands_, messages_queued_);
}

}  // namespace ringmta::smtp
