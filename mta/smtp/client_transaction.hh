// One outbound message transaction as the client session sees it: the queued envelope, which of
// its recipients go in this transaction, the stored content, and a result per recipient.
// Invariant: when a transaction has ended (the session says ready or close), no result is
// pending or accepted; each is delivered, deferred or failed with a diagnostic.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "queue/envelope.hh"

namespace ringmta::smtp {

struct ClientMessage {
    // Must outlive the transaction, as must the bytes content points to: the content is sent
    // only once DATA is answered (or the RCPT replies are in, for BDAT).
    const queue::Envelope* envelope = nullptr;
    // Indices into envelope->recipients, in RCPT order; not empty. Copied by the session.
    std::span<const uint32_t> recipients;
    // The stored content in pieces, concatenated in order (e.g. the Received header, then the
    // body). Unless the body is BINARYMIME it holds no bare CR or LF and ends with CRLF or is
    // empty, as the spool guarantees. The piece list is copied; the bytes are not.
    std::span<const std::string_view> content;
};

enum class RecipientStatus : uint8_t {
    pending,    // no RCPT reply yet
    accepted,   // RCPT got 2xx; the content's fate is not known yet
    delivered,  // the next hop took responsibility (2xx after the content)
    deferred,   // try again later (4xx, or a connection-level problem)
    failed,     // permanent (5xx, or a local permanent refusal such as 5.6.7)
};

const char* recipient_status_name(RecipientStatus status);

// Whether the message cannot be relayed without SMTPUTF8 (RFC 6531 3.4): a non-ASCII byte in
// the sender, in one of `recipients` (indices into envelope.recipients) or in the header
// section of `content` (up to the first empty line). A non-ASCII body needs only 8BITMIME.
// Decided at delivery time from what the spool holds, so records of any age answer the same.
bool smtputf8_needed(const queue::Envelope& envelope, std::span<const uint32_t> recipients,
                     std::span<const std::string_view> content);

struct RecipientResult {
    uint32_t recipient = 0;  // index into envelope->recipients
    RecipientStatus status = RecipientStatus::pending;
    int code = 0;          // the remote reply's code; 0 when the result was decided locally
    std::string enhanced;  // "5.1.1"; the reply's class with ".0.0" when it carried none
    // Postfix-style text for the log line and the DSN, e.g. "host mx.example.com[192.0.2.1]
    // said: 550 5.1.1 <x@y>: user unknown (in reply to RCPT TO command)".
    std::string diagnostic;
};

}  // namespace ringmta::smtp
