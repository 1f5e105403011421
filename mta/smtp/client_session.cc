// Glue between ClientProtocol and the connection. TLS: after the protocol says start_tls, the
// handshake runs over the same connection; for "verify" the chain and name are checked before
// the protocol hears tls_ready (failing closes the connection with a TLS failure).
#include "mta/smtp/client_session.hh"

#include <openssl/x509.h>

#include <cstring>

#include "mta/base/clock.hh"
#include "mta/base/log.hh"
#include "mta/engine/shard.hh"

namespace ringmta::smtp {

ClientSession::ClientSession(engine::Connection& connection, ClientConfig config,
                             ClientTlsSettings tls, ClientSessionOwner& owner,
                             uint32_t idle_timeout_s)
    : connection_(connection), protocol_(config), tls_settings_(std::move(tls)), owner_(owner),
      peer_(config.peer_name + "[" + config.peer_address + "]"), idle_timeout_s_(idle_timeout_s),
      helo_timeout_s_(config.helo_timeout_s), opened_us_(base::monotonic_us()) {}

ClientSession::~ClientSession() = default;

void ClientSession::on_connected(int result) {
    if (closed_reported_) return;
    if (result != 0) {
        ClientFailure f;
        f.kind = ClientFailureKind::connection_lost;
        f.enhanced = "4.4.1";
        f.diagnostic = "connect to " + peer_ + ": " + std::strerror(-result);
        closed_reported_ = true;
        owner_.on_session_closed(*this, f, false);
        return;
    }
    connected_ = true;
    connected_us_ = base::monotonic_us();
    arm_deadline();
}

void ClientSession::arm_deadline() {
    ClientWait wait = handshaking_ ? ClientWait::tls : protocol_.waiting_for();
    uint32_t timeout_s = wait == ClientWait::none ? idle_timeout_s_ : suggested_timeout_s(wait);
    if (wait == ClientWait::greeting || wait == ClientWait::ehlo || wait == ClientWait::starttls)
        timeout_s = helo_timeout_s_;
    deadline_ms_ = connection_.shard().now_ms() + uint64_t(timeout_s) * 1000;
}

void ClientSession::send_output() {
    if (out_.empty()) return;
    if (tls_ && tls_->handshake_done()) {
        if (!tls_->write_plaintext(out_, &connection_.output())) {
            out_.clear();
            act(protocol_.connection_lost("TLS write failed: " + tls_->error()));
            return;
        }
    } else {
        connection_.output().append(out_);
    }
    out_.clear();
    connection_.flush();
}

void ClientSession::act(ClientAction action) {
    send_output();
    switch (action) {
        case ClientAction::read:
            idle_ = false;
            break;
        case ClientAction::start_tls:
            begin_tls();
            break;
        case ClientAction::ready:
            idle_ = true;
            if (ready_us_ == 0) ready_us_ = base::monotonic_us();
            if (in_transaction_) {
                in_transaction_ = false;
                owner_.on_transaction_done(*this, protocol_.results());
            }
            // The owner may have sent a new message or quit in the callback above.
            if (idle_ && !connection_.closing()) owner_.on_session_idle(*this);
            break;
        case ClientAction::close:
            idle_ = false;
            if (in_transaction_) {
                in_transaction_ = false;
                owner_.on_transaction_done(*this, protocol_.results());
            }
            connection_.close_after_send();
            break;
    }
    arm_deadline();
}

void ClientSession::begin_tls() {
    if (tls_settings_.ctx == nullptr) {
        act(protocol_.tls_failed("no TLS context"));
        return;
    }
    tls_ = std::make_unique<tls::TlsStream>();
    if (!tls_->start(tls_settings_.ctx, tls::TlsStream::Role::client, tls_settings_.verify_name)) {
        act(protocol_.tls_failed(tls_->error()));
        return;
    }
    handshaking_ = true;
    // Produce the ClientHello.
    plain_.clear();
    tls_->read_plaintext(&plain_, &connection_.output());
    connection_.flush();
}

void ClientSession::on_receive(const char* data, size_t size) {
    if (!tls_) {
        act(protocol_.receive(std::string_view(data, size), out_));
        return;
    }
    plain_.clear();
    if (!tls_->feed_ciphertext(data, size) || !tls_->read_plaintext(&plain_, &connection_.output())) {
        connection_.flush();
        act(handshaking_ ? protocol_.tls_failed(tls_->error())
                         : protocol_.connection_lost("TLS: " + tls_->error()));
        return;
    }
    connection_.flush();
    if (handshaking_) {
        if (!tls_->handshake_done()) return;
        handshaking_ = false;
        if (tls_settings_.verify && tls_->verify_result() != X509_V_OK) {
            act(protocol_.tls_failed(std::string("certificate verification failed: ") +
                                     X509_verify_cert_error_string(tls_->verify_result())));
            return;
        }
        act(protocol_.tls_ready(out_));
    }
    if (!plain_.empty()) act(protocol_.receive(plain_, out_));
}

void ClientSession::send(const ClientMessage& message) {
    MTA_ASSERT(idle_);
    idle_ = false;
    in_transaction_ = true;
    act(protocol_.send_message(message, out_));
}

void ClientSession::quit() {
    idle_ = false;
    act(protocol_.quit(out_));
}

void ClientSession::on_tick(uint64_t now_ms) {
    if (!connected_ || connection_.closing() || now_ms < deadline_ms_) return;
    if (idle_) {
        // Idle past the pool's idle timeout: leave politely.
        quit();
        return;
    }
    act(protocol_.timed_out());
}

void ClientSession::on_shutdown() {
    if (idle_) quit();
}

void ClientSession::on_closed() {
    if (closed_reported_) return;
    closed_reported_ = true;
    ClientFailure failure = protocol_.failure();
    if (handshaking_ && failure.kind == ClientFailureKind::none) {
        // A peer that hangs up instead of completing the handshake failed it.
        handshaking_ = false;
        protocol_.tls_failed("connection closed by peer during the TLS handshake");
        failure = protocol_.failure();
    }
    if (protocol_.waiting_for() != ClientWait::none && failure.kind == ClientFailureKind::none) {
        // The peer went away while we waited for something: defer what is pending.
        protocol_.connection_lost("connection closed by peer");
        if (in_transaction_) {
            in_transaction_ = false;
            owner_.on_transaction_done(*this, protocol_.results());
        }
        failure = protocol_.failure();
    }
    owner_.on_session_closed(*this, failure, connected_);
}

}  // namespace ringmta::smtp
