// The client session as a queue of owed replies: every command written pushes the step whose
// reply it awaits, and each parsed reply pops the oldest, so pipelined groups (RFC 2920) and
// one-at-a-time dialogues share one path. Setup steps (greeting, EHLO, STARTTLS, AUTH) end in
// idle or in a connection failure; transaction steps end in idle with final results.
#include "mta/smtp/client_protocol.hh"

#include <algorithm>

#include "mta/base/assert.hh"
#include "mta/smtp/client_commands.hh"
#include "mta/smtp/client_dot_stuffer.hh"
#include "mta/smtp/client_sasl.hh"

namespace ringmta::smtp {

std::string as_temporary(std::string enhanced) {
    if (!enhanced.empty() && enhanced[0] == '5') enhanced[0] = '4';
    return enhanced;
}

const char* wait_name(ClientWait wait) {
    static constexpr const char* names[] = {"none", "greeting",    "ehlo", "starttls", "tls",
                                            "auth", "rset",        "mail", "rcpt",     "data",
                                            "bdat", "end_of_data", "quit"};
    return names[size_t(wait)];
}

uint32_t suggested_timeout_s(ClientWait wait) {
    switch (wait) {
        case ClientWait::none:
            return 0;
        case ClientWait::rset:
            return 20;
        case ClientWait::data:
            return 120;
        case ClientWait::bdat:
            return 180;
        case ClientWait::end_of_data:
            return 600;
        default:
            return 300;
    }
}

const char* failure_kind_name(ClientFailureKind kind) {
    static constexpr const char* names[] = {
        "none", "greeting",        "ehlo", "tls_not_offered", "starttls", "tls_handshake",
        "auth", "service_closing", "rset", "protocol",        "timeout",  "connection_lost",
    };
    return names[size_t(kind)];
}

const char* ClientProtocol::reply_to(Step step) {
    static constexpr const char* phrases[] = {
        "initial greeting",  "EHLO command",      "HELO command", "STARTTLS command",
        "AUTH command",      "AUTH command",      "AUTH command", "RSET command",
        "MAIL FROM command", "RCPT TO command",   "DATA command", "end of DATA command",
        "BDAT command",      "BDAT LAST command", "QUIT command",
    };
    return phrases[size_t(step)];
}

ClientProtocol::ClientProtocol(ClientConfig config)
    : config_(std::move(config)), peer_(peer_label(config_.peer_name, config_.peer_address)) {
    MTA_ASSERT(config_.bdat_chunk_bytes > 0);
    MTA_ASSERT(!config_.helo_name.empty());
    expect(Step::greeting);
}

ClientWait ClientProtocol::waiting_for() const {
    if (phase_ == Phase::tls_handshake) return ClientWait::tls;
    if (expect_head_ == expects_.size()) return ClientWait::none;
    static constexpr ClientWait waits[] = {
        ClientWait::greeting, ClientWait::ehlo,        ClientWait::ehlo, ClientWait::starttls,
        ClientWait::auth,     ClientWait::auth,        ClientWait::auth, ClientWait::rset,
        ClientWait::mail,     ClientWait::rcpt,        ClientWait::data, ClientWait::end_of_data,
        ClientWait::bdat,     ClientWait::end_of_data, ClientWait::quit,
    };
    return waits[size_t(expects_[expect_head_].step)];
}

std::string ClientProtocol::stage_text() const {
    if (expect_head_ < expects_.size() && expects_[expect_head_].step == Step::helo) {
        return "while performing the HELO handshake";
    }
    switch (waiting_for()) {
        case ClientWait::none:
            return "while idle";
        case ClientWait::greeting:
            return "while receiving the initial server greeting";
        case ClientWait::ehlo:
            return "while performing the EHLO handshake";
        case ClientWait::starttls:
            return "while sending STARTTLS";
        case ClientWait::tls:
            return "while performing the TLS handshake";
        case ClientWait::auth:
            return "while authenticating";
        case ClientWait::rset:
            return "while sending RSET";
        case ClientWait::mail:
            return "while sending MAIL FROM";
        case ClientWait::rcpt:
            return "while sending RCPT TO";
        case ClientWait::data:
            return "while sending DATA command";
        case ClientWait::bdat:
            return "while sending message body";
        case ClientWait::end_of_data:
            return "while sending end of data -- message may be sent more than once";
        case ClientWait::quit:
            return "while sending QUIT";
    }
    MTA_UNREACHABLE();
}

ClientAction ClientProtocol::current_action() const {
    switch (phase_) {
        case Phase::setup:
        case Phase::transaction:
        case Phase::quitting:
            return ClientAction::read;
        case Phase::tls_handshake:
            return ClientAction::start_tls;
        case Phase::idle:
            return ClientAction::ready;
        case Phase::closed:
            return ClientAction::close;
    }
    MTA_UNREACHABLE();
}

// ---- events from the caller -------------------------------------------------------------------

ClientAction ClientProtocol::receive(std::string_view bytes, std::string& out) {
    if (phase_ == Phase::closed) return ClientAction::close;
    if (phase_ == Phase::tls_handshake) {
        // Plaintext after the 220 and before the handshake: never executed (RFC 3207 4.2).
        discarded_bytes_ += bytes.size();
        return ClientAction::start_tls;
    }
    while (!bytes.empty()) {
        ReplyParse parsed = parser_.parse(bytes);
        if (parsed == ReplyParse::need_more) break;
        if (parsed == ReplyParse::error) {
            return fail(
                ClientFailureKind::protocol, nullptr,
                "protocol error: " + parser_.error() + " from host " + peer_ + " " + stage_text(),
                "4.5.0", nullptr);
        }
        const ClientReply& reply = parser_.reply();
        if (expect_head_ == expects_.size()) {
            // Nothing owed: only a 421 announcing a close (an idle timeout) is legitimate.
            bool closing = reply.code == 421;
            return fail(closing ? ClientFailureKind::service_closing : ClientFailureKind::protocol,
                        &reply,
                        std::string(closing ? "" : "protocol error: ") + "host " + peer_ +
                            " said: " + reply.summary() + " (unsolicited)",
                        reply.enhanced_or_default(), nullptr);
        }
        Expect owed = expects_[expect_head_++];
        if (expect_head_ == expects_.size()) {
            expects_.clear();
            expect_head_ = 0;
        }
        ClientAction action = on_reply(owed, reply, out);
        if (action == ClientAction::start_tls) {
            discarded_bytes_ += bytes.size();
            return action;
        }
        if (action == ClientAction::close) return action;
    }
    return current_action();
}

ClientAction ClientProtocol::tls_ready(std::string& out) {
    MTA_ASSERT(phase_ == Phase::tls_handshake);
    tls_active_ = true;
    phase_ = Phase::setup;
    caps_ = ServerCapabilities{};  // RFC 3207 4.2: forget everything learnt in plaintext
    append_command(out, "EHLO", config_.helo_name);
    expect(Step::ehlo);
    return ClientAction::read;
}

ClientAction ClientProtocol::tls_failed(std::string_view reason) {
    MTA_ASSERT(phase_ == Phase::tls_handshake);
    std::string why = reason.empty() ? "handshake failure" : std::string(reason);
    return fail(ClientFailureKind::tls_handshake, nullptr,
                "Cannot start TLS with host " + peer_ + ": " + why, "4.7.5", nullptr);
}

ClientAction ClientProtocol::timed_out() {
    if (phase_ == Phase::closed) return ClientAction::close;
    if (phase_ == Phase::quitting) {
        phase_ = Phase::closed;
        return ClientAction::close;
    }
    return fail(ClientFailureKind::timeout, nullptr,
                "conversation with " + peer_ + " timed out " + stage_text(), "4.4.2", nullptr);
}

ClientAction ClientProtocol::connection_lost(std::string_view reason) {
    if (phase_ == Phase::closed) return ClientAction::close;
    if (phase_ == Phase::quitting) {
        phase_ = Phase::closed;
        return ClientAction::close;
    }
    std::string text = "lost connection with " + peer_ + " " + stage_text();
    if (!reason.empty()) text += " (" + std::string(reason) + ")";
    return fail(ClientFailureKind::connection_lost, nullptr, std::move(text), "4.4.2", nullptr);
}

ClientAction ClientProtocol::quit(std::string& out) {
    MTA_ASSERT(phase_ == Phase::idle);
    append_command(out, "QUIT");
    expect(Step::quit);
    phase_ = Phase::quitting;
    return ClientAction::read;
}

// ---- failures ---------------------------------------------------------------------------------

ClientAction ClientProtocol::fail(ClientFailureKind kind, const ClientReply* reply,
                                  std::string diagnostic, std::string_view enhanced,
                                  std::string* quit_out) {
    failure_.kind = kind;
    failure_.code = reply ? reply->code : 0;
    failure_.enhanced = enhanced;
    failure_.diagnostic = std::move(diagnostic);
    for (RecipientResult& r : results_) {
        if (r.status != RecipientStatus::pending && r.status != RecipientStatus::accepted) continue;
        r.status = RecipientStatus::deferred;
        r.code = failure_.code;
        r.enhanced = as_temporary(failure_.enhanced);
        r.diagnostic = failure_.diagnostic;
    }
    expects_.clear();
    expect_head_ = 0;
    if (quit_out) append_command(*quit_out, "QUIT");
    phase_ = Phase::closed;
    return ClientAction::close;
}

ClientAction ClientProtocol::fail_reply(ClientFailureKind kind, const ClientReply& reply, Step step,
                                        std::string* quit_out) {
    std::string diagnostic;
    if (step == Step::greeting) {
        diagnostic = "host " + peer_ + " refused to talk to me: " + reply.summary();
    } else if (step == Step::auth || step == Step::auth_login_user ||
               step == Step::auth_login_password) {
        diagnostic = "SASL authentication failed; server " + peer_ + " said: " + reply.summary();
    } else {
        diagnostic = diagnostic_said(peer_, reply, reply_to(step));
    }
    if (kind != ClientFailureKind::protocol) {
        return fail(kind, &reply, std::move(diagnostic), reply.enhanced_or_default(), quit_out);
    }
    return fail(kind, &reply, "protocol error: " + diagnostic, "4.5.0", quit_out);
}

// ---- replies ----------------------------------------------------------------------------------

ClientAction ClientProtocol::on_reply(Expect owed, const ClientReply& reply, std::string& out) {
    if (owed.step == Step::quit) {
        phase_ = Phase::closed;
        return ClientAction::close;
    }
    if (reply.code == 421) {
        // A 421 greeting is a 4xx greeting like any other (the next host is tried); later it
        // ends the session. Either way the server closes: no QUIT.
        ClientFailureKind kind = owed.step == Step::greeting ? ClientFailureKind::greeting
                                                             : ClientFailureKind::service_closing;
        return fail_reply(kind, reply, owed.step, nullptr);
    }
    switch (owed.step) {
        case Step::greeting:
        case Step::ehlo:
        case Step::helo:
        case Step::starttls:
            return on_setup_reply(owed.step, reply, out);
        case Step::auth:
        case Step::auth_login_user:
        case Step::auth_login_password:
            return on_auth_reply(owed.step, reply, out);
        default:
            return on_transaction_reply(owed, reply, out);
    }
}

ClientAction ClientProtocol::on_setup_reply(Step step, const ClientReply& reply, std::string& out) {
    int reply_class = reply.code / 100;
    switch (step) {
        case Step::greeting:
            if (reply_class != 2) {
                // RFC 5321 3.1: after a 554 greeting the client should still say QUIT.
                return fail_reply(ClientFailureKind::greeting, reply, step, &out);
            }
            append_command(out, "EHLO", config_.helo_name);
            expect(Step::ehlo);
            return ClientAction::read;
        case Step::ehlo:
            if (reply_class == 2) {
                caps_ = parse_ehlo_reply(reply);
                return after_ehlo(out);
            }
            if (reply_class == 5) {  // no ESMTP: fall back to HELO (RFC 5321 3.2)
                append_command(out, "HELO", config_.helo_name);
                expect(Step::helo);
                return ClientAction::read;
            }
            return fail_reply(ClientFailureKind::ehlo, reply, step, &out);
        case Step::helo:
            if (reply_class != 2) return fail_reply(ClientFailureKind::ehlo, reply, step, &out);
            caps_ = ServerCapabilities{};
            return after_ehlo(out);
        case Step::starttls:
            if (reply_class == 2) {
                phase_ = Phase::tls_handshake;
                // The parser stops after each reply, so it holds nothing of what followed the
                // 220; receive() drops that. Reset anyway: nothing may cross this point.
                parser_.reset();
                return ClientAction::start_tls;
            }
            if (config_.tls == TlsPolicy::opportunistic) {
                starttls_refused_ = true;
                return after_ehlo(out);
            }
            return fail_reply(ClientFailureKind::starttls, reply, step, &out);
        default:
            MTA_UNREACHABLE();
    }
}

ClientAction ClientProtocol::after_ehlo(std::string& out) {
    bool tls_must = config_.tls == TlsPolicy::required || config_.tls == TlsPolicy::verify;
    if (!tls_active_ && config_.tls != TlsPolicy::none && !starttls_refused_) {
        if (caps_.starttls) {
            append_command(out, "STARTTLS");
            expect(Step::starttls);
            return ClientAction::read;
        }
        if (tls_must) {
            return fail(ClientFailureKind::tls_not_offered, nullptr,
                        "TLS is required, but was not offered by host " + peer_, "4.7.4", &out);
        }
    }
    if (!config_.auth_username.empty() && !authenticated_) {
        if (!tls_active_ && !config_.auth_allow_plaintext) {
            return fail(ClientFailureKind::auth, nullptr,
                        "not sending credentials to host " + peer_ +
                            " without TLS (auth over plaintext is not allowed)",
                        "4.7.0", &out);
        }
        if (caps_.auth_plain) {
            append_command(
                out, "AUTH",
                "PLAIN " + sasl_plain_response(config_.auth_username, config_.auth_password));
            expect(Step::auth);
            return ClientAction::read;
        }
        if (caps_.auth_login) {
            append_command(out, "AUTH", "LOGIN");
            expect(Step::auth_login_user);
            return ClientAction::read;
        }
        return fail(ClientFailureKind::auth, nullptr,
                    "SASL authentication failed; host " + peer_ +
                        " offers no supported mechanism (PLAIN, LOGIN)",
                    "4.7.0", &out);
    }
    phase_ = Phase::idle;
    return ClientAction::ready;
}

ClientAction ClientProtocol::on_auth_reply(Step step, const ClientReply& reply, std::string& out) {
    int reply_class = reply.code / 100;
    if (step != Step::auth && reply.code == 334) {  // LOGIN: the server asks; the order is fixed
        bool user = step == Step::auth_login_user;
        append_command(out, base64_encode(user ? config_.auth_username : config_.auth_password));
        expect(user ? Step::auth_login_password : Step::auth);
        return ClientAction::read;
    }
    if (step == Step::auth && reply_class == 2) {
        authenticated_ = true;
        phase_ = Phase::idle;
        return ClientAction::ready;
    }
    if (reply_class == 4 || reply_class == 5) {
        return fail_reply(ClientFailureKind::auth, reply, step, &out);
    }
    return fail_reply(ClientFailureKind::protocol, reply, step, nullptr);
}

}  // namespace ringmta::smtp
