// An outbound SMTP connection to one next hop: the io_uring connection, TLS over memory BIOs
// and per-state timeouts around the I/O-free ClientProtocol. It reports to its owner (the
// destination's pool) when it is idle and ready, when a transaction ended (per-recipient
// results), and when it closed (with the reason). The owner decides what to send next.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mta/engine/connection.hh"
#include "mta/smtp/client_protocol.hh"
#include "mta/tls/tls_stream.hh"

namespace ringmta::smtp {

class ClientSession;

class ClientSessionOwner {
public:
    virtual ~ClientSessionOwner() = default;
    // Connected, greeted, EHLO (and TLS, AUTH) done, or a transaction finished cleanly: the
    // session is idle and may take a message.
    virtual void on_session_idle(ClientSession& session) = 0;
    // A transaction ended; results() holds one result per recipient of it.
    virtual void on_transaction_done(ClientSession& session,
                                     std::span<const RecipientResult> results) = 0;
    // The connection is gone. `failure.kind` is none after a clean QUIT or idle close.
    // `connected` says whether TCP got through (a connect failure marks the host down).
    virtual void on_session_closed(ClientSession& session, const ClientFailure& failure,
                                   bool connected) = 0;
};

struct ClientTlsSettings {
    SSL_CTX* ctx = nullptr;      // null: no TLS possible
    bool verify = false;         // check the chain and the name below
    std::string verify_name;     // the expected certificate name (and SNI)
};

class ClientSession final : public engine::ConnectionHandler {
public:
    ClientSession(engine::Connection& connection, ClientConfig config, ClientTlsSettings tls,
                  ClientSessionOwner& owner, uint32_t idle_timeout_s);
    ~ClientSession() override;

    // Only when idle. The message and its content must stay alive until on_transaction_done.
    void send(const ClientMessage& message);
    // Only when idle: QUIT and close.
    void quit();
    bool idle() const { return idle_; }
    uint32_t transactions() const { return protocol_.transactions(); }
    const std::string& peer() const { return peer_; }
    engine::Connection& connection() { return connection_; }
    bool tls_active() const { return protocol_.tls_active(); }
    const ClientFailure& failure() const { return protocol_.failure(); }
    const ServerCapabilities& capabilities() const { return protocol_.capabilities(); }
    // Monotonic microseconds, for the delays= of log lines: the connect started, TCP got
    // through, and greeting/EHLO/TLS/AUTH were done (0 until then).
    uint64_t opened_us() const { return opened_us_; }
    uint64_t connected_us() const { return connected_us_; }
    uint64_t ready_us() const { return ready_us_; }
    // For the pool's own bookkeeping.
    void* pool_tag = nullptr;

    void on_connected(int result) override;
    void on_receive(const char* data, size_t size) override;
    void on_tick(uint64_t now_ms) override;
    void on_shutdown() override;
    void on_closed() override;

private:
    void act(ClientAction action);
    void send_output();
    void begin_tls();
    void arm_deadline();

    engine::Connection& connection_;
    ClientProtocol protocol_;
    ClientTlsSettings tls_settings_;
    ClientSessionOwner& owner_;
    std::string peer_;
    uint32_t idle_timeout_s_;
    uint32_t helo_timeout_s_;
    std::unique_ptr<tls::TlsStream> tls_;
    bool handshaking_ = false;
    bool idle_ = false;
    bool in_transaction_ = false;
    bool connected_ = false;
    bool closed_reported_ = false;
    uint64_t deadline_ms_ = 0;
    uint64_t opened_us_ = 0;
    uint64_t connected_us_ = 0;
    uint64_t ready_us_ = 0;
    std::string out_;    // plaintext from the protocol, before TLS
    std::string plain_;  // decrypted input
};

}  // namespace ringmta::smtp
