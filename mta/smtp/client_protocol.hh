// ClientProtocol: the outbound SMTP client session without I/O. The caller feeds it received
// plaintext and events (TLS ready or failed, timeout, connection lost) and sends what it appends
// to the caller's output buffer; it answers with what the caller must do next.
// Invariant: the output never holds a bare CR or LF (BINARYMIME content inside BDAT aside),
// replies are matched to commands in order, and a connection that saw a timeout, a 421, a TLS
// error, a malformed or unexpected reply is never reported reusable. Failures are values:
// per-recipient results and one ClientFailure for the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mta/smtp/client_capabilities.hh"
#include "mta/smtp/client_reply.hh"
#include "mta/smtp/client_transaction.hh"

namespace ringmta::smtp {

// A deferral carries a 4.x.x code even when the reply that caused it was a 5xx (a refused
// AUTH, say: the message is tried again, so its status must not read as permanent).
std::string as_temporary(std::string enhanced);

// connectors[].tls.mode (INTERFACE.md).
enum class TlsPolicy : uint8_t {
    none,           // never STARTTLS
    opportunistic,  // STARTTLS when offered; plaintext when not offered or refused
    required,       // STARTTLS or fail the connection (no certificate check)
    verify,         // as required; the caller checks chain and name before tls_ready()
};

struct ClientConfig {
    std::string helo_name;     // our name in EHLO/HELO
    std::string peer_name;     // the next hop's name, for diagnostics ("mx.example.com")
    std::string peer_address;  // its address, for diagnostics ("192.0.2.1")
    TlsPolicy tls = TlsPolicy::opportunistic;
    // AUTH when username is not empty: PLAIN if offered, else LOGIN. Only under TLS unless
    // auth_allow_plaintext.
    std::string auth_username;
    std::string auth_password;
    bool auth_allow_plaintext = false;
    bool pipelining = true;  // use PIPELINING when offered
    bool chunking = true;    // use BDAT when offered (BINARYMIME messages always need it)
    // Content octets per BDAT command, at least 1; one more when the chunk would otherwise end
    // between CR and LF.
    size_t bdat_chunk_bytes = 1 << 20;
    // The wait for the greeting, EHLO/HELO and STARTTLS replies (Postfix smtp_helo_timeout).
    uint32_t helo_timeout_s = 300;
};

// What the caller does after each call. Every call may have appended to the output buffer
// first: the caller sends that in any case.
enum class ClientAction : uint8_t {
    read,       // wait for more bytes (with the timeout for waiting_for()), then receive()
    start_tls,  // send the output, then run the TLS handshake on this connection; the bytes
                // received so far were discarded (RFC 3207 4.2); report tls_ready/tls_failed
    ready,      // idle: send_message() or quit() (or close). After a transaction its results
                // are final. Keep reading while idle: a 421 or a close may arrive
    close,      // send the output (QUIT, if any), then close; waiting for the 221 is optional.
                // Results are final; failure() says why when the session failed
};

// What the session waits for, for per-state timeouts (see suggested_timeout_s).
enum class ClientWait : uint8_t {
    none,  // idle or closed: the pool's idle timeout applies
    greeting,
    ehlo,      // EHLO or HELO reply
    starttls,  // reply to STARTTLS
    tls,       // the caller's TLS handshake
    auth,
    rset,
    mail,
    rcpt,
    data,         // the 354 to DATA
    bdat,         // reply to a BDAT chunk that is not the last
    end_of_data,  // reply after "." or BDAT LAST: the one that delivers
    quit,
};

const char* wait_name(ClientWait wait);

// Postfix's defaults for the matching smtp_*_timeout: greeting, ehlo, starttls, tls, auth,
// mail, rcpt and quit 300 s, rset 20 s, data 120 s, bdat 180 s (smtp_data_xfer_timeout),
// end_of_data 600 s; none 0 (not the session's to say). Not counted here and also the caller's:
// connect 30 s, and a stalled write while sending content 180 s (smtp_data_xfer_timeout).
uint32_t suggested_timeout_s(ClientWait wait);

enum class ClientFailureKind : uint8_t {
    none,
    greeting,         // the greeting was not 2xx: try the next host
    ehlo,             // EHLO refused with 4xx, or HELO after it refused
    tls_not_offered,  // tls required or verify, no STARTTLS in the EHLO reply
    starttls,         // STARTTLS refused while tls is required or verify
    tls_handshake,    // tls_failed(): with opportunistic the pool retries without TLS
    auth,             // AUTH refused, no usable mechanism, or not allowed without TLS
    service_closing,  // a 421 reply (RFC 5321 3.8), at any point
    rset,             // RSET refused before a new transaction
    protocol,         // malformed, unsolicited or unexpected reply
    timeout,
    connection_lost,
};

const char* failure_kind_name(ClientFailureKind kind);

struct ClientFailure {
    ClientFailureKind kind = ClientFailureKind::none;
    int code = 0;          // the remote reply's code, 0 when the failure was local
    std::string enhanced;  // "4.4.2", or the reply's enhanced code
    // "conversation with mx.example.com[192.0.2.1] timed out while sending RCPT TO", ...
    std::string diagnostic;
};

class ClientProtocol {
  public:
    // The connection is established; the session waits for the greeting.
    explicit ClientProtocol(ClientConfig config);

    // Received plaintext (decrypted when under TLS), in any chunking.
    ClientAction receive(std::string_view bytes, std::string& out);
    // After start_tls: the handshake completed (and, for verify, the peer checked out).
    ClientAction tls_ready(std::string& out);
    // After start_tls: the handshake or the verification failed.
    ClientAction tls_failed(std::string_view reason);
    // The timeout for waiting_for() expired.
    ClientAction timed_out();
    // The peer closed or the connection broke. reason (e.g. strerror) goes into the diagnostic.
    ClientAction connection_lost(std::string_view reason = {});

    // Only when idle (last action ready). Starts a transaction: results() gets one entry per
    // recipient. Returns ready at once (nothing sent) when the message cannot go to this next
    // hop: SMTPUTF8 needed but not offered (5.6.7), BINARYMIME needed but CHUNKING and
    // BINARYMIME not both offered (5.6.3), or larger than the server's SIZE (5.3.4).
    ClientAction send_message(const ClientMessage& message, std::string& out);
    // Only when idle. Appends QUIT; the session then waits for its reply and says close.
    ClientAction quit(std::string& out);

    ClientWait waiting_for() const;
    // Idle and fit for another transaction.
    bool reusable() const { return phase_ == Phase::idle; }
    bool tls_active() const { return tls_active_; }
    bool authenticated() const { return authenticated_; }
    const ServerCapabilities& capabilities() const { return caps_; }
    const ClientFailure& failure() const { return failure_; }
    // The current or last transaction's results, in RCPT order.
    std::span<const RecipientResult> results() const { return results_; }
    // MAIL commands sent on this connection, for max_messages_per_connection.
    uint32_t transactions() const { return transactions_; }
    // Bytes received after the 220 to STARTTLS and thrown away (worth a log line).
    size_t discarded_bytes() const { return discarded_bytes_; }

  private:
    enum class Phase : uint8_t { setup, tls_handshake, idle, transaction, quitting, closed };
    enum class Step : uint8_t {
        greeting,
        ehlo,
        helo,
        starttls,
        auth,
        auth_login_user,
        auth_login_password,
        rset,
        mail,
        rcpt,
        data,
        end_of_data,
        bdat,
        bdat_last,
        quit,
    };
    struct Expect {
        Step step;
        uint32_t slot;  // rcpt: index into results_
    };

    // client_protocol.cc: events, setup (greeting, EHLO, STARTTLS, AUTH) and failures.
    ClientAction on_reply(Expect owed, const ClientReply& reply, std::string& out);
    ClientAction on_setup_reply(Step step, const ClientReply& reply, std::string& out);
    ClientAction on_auth_reply(Step step, const ClientReply& reply, std::string& out);
    ClientAction after_ehlo(std::string& out);
    ClientAction fail(ClientFailureKind kind, const ClientReply* reply, std::string diagnostic,
                      std::string_view enhanced, std::string* quit_out);
    ClientAction fail_reply(ClientFailureKind kind, const ClientReply& reply, Step step,
                            std::string* quit_out);
    ClientAction current_action() const;
    void expect(Step step, uint32_t slot = 0) { expects_.push_back({step, slot}); }
    std::string stage_text() const;
    static const char* reply_to(Step step);  // "RCPT TO command", for diagnostics

    // client_transaction.cc: MAIL, RCPT, DATA or BDAT, RSET, and the per-recipient results.
    ClientAction on_transaction_reply(Expect owed, const ClientReply& reply, std::string& out);
    ClientAction on_rcpt_reply(uint32_t slot, const ClientReply& reply, std::string& out);
    ClientAction on_content_reply(Step step, const ClientReply& reply, std::string& out);
    ClientAction after_rcpts(std::string& out);
    ClientAction send_mail(std::string& out);
    void send_rcpt(std::string& out, uint32_t slot);
    bool send_bdat_chunk(std::string& out);
    char content_at(uint64_t offset) const;
    ClientAction refuse_message(const char* enhanced, std::string diagnostic);
    void settle_one(RecipientResult& r, const ClientReply& reply, Step step);
    void settle(RecipientStatus from, const ClientReply& reply, Step step);
    ClientAction end_transaction(bool clean);

    ClientConfig config_;
    std::string peer_;  // "name[address]"
    ClientReplyParser parser_;
    std::vector<Expect> expects_;  // replies owed, oldest first from expect_head_
    size_t expect_head_ = 0;
    Phase phase_ = Phase::setup;
    ServerCapabilities caps_;
    ClientFailure failure_;
    bool tls_active_ = false;
    bool starttls_refused_ = false;  // opportunistic: go on in plaintext
    bool authenticated_ = false;
    bool need_rset_ = false;  // the last transaction ended in an error reply
    uint32_t transactions_ = 0;
    size_t discarded_bytes_ = 0;

    // The transaction in progress.
    const queue::Envelope* envelope_ = nullptr;
    std::vector<std::string_view> content_;
    uint64_t content_bytes_ = 0;
    std::vector<RecipientResult> results_;
    bool pipelined_ = false;
    bool use_bdat_ = false;
    bool mail_ok_ = false;
    bool txn_error_ = false;  // a transaction-level error reply was applied
    uint32_t rcpts_answered_ = 0;
    uint32_t accepted_ = 0;
    uint64_t bdat_sent_bytes_ = 0;  // content octets already framed in BDAT chunks
};

}  // namespace ringmta::smtp
