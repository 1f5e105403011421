// Delivery status notifications (RFC 3464 inside an RFC 6522 multipart/report; RFC 6533's
// global types for SMTPUTF8 messages): who gets one, and the spool-ready bounce itself.
// Invariant: the content is CRLF only, no line exceeds 998 octets, and the MIME boundary occurs
// nowhere in any part. No failure mode: a request that warrants no DSN yields std::nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "queue/envelope.hh"

namespace ringmta::queue {

// RFC 3464 2.3.3. expanded is not listed: ringmta never expands a recipient.
enum class DsnAction : uint8_t { failed, delayed, delivered, relayed };

const char* dsn_action_name(DsnAction action);

struct DsnRecipient {
    uint32_t index = 0;            // position in Envelope::recipients (address, NOTIFY, ORCPT)
    DsnAction action = DsnAction::failed;
    std::string status;            // enhanced code, "5.1.1"; for an expiry the last 4.x.y
    std::string remote_mta;        // "mx.example.com" when a remote answered, else ""
    std::string diagnostic;        // the remote reply, "550 5.1.1 user unknown", or ""
    std::string reason;            // human text when no remote reply explains it
                                   // ("connect to mx.example.com: connection refused")
    uint64_t last_attempt_us = 0;  // wall clock; 0: no attempt (field omitted)
    uint64_t will_retry_until_us = 0;  // delayed only; 0 omits Will-Retry-Until
    bool expired = false;          // failed because the queue lifetime ran out
};

struct DsnOptions {
    std::string_view hostname;     // ours: Reporting-MTA, From, Message-ID
    uint64_t bounce_queue_id = 0;  // id the caller allocated for the bounce
    uint64_t now_us = 0;           // wall clock: Date
    int utc_offset_min = 0;        // of the zone the Date and Arrival-Date are written in
    // A failure DSN returns the whole original unless RET=HDRS, the original is BINARYMIME
    // (it cannot travel inside an 8bit message), or it is larger than this (0: no limit);
    // otherwise only its headers are returned. Like Postfix's bounce_size_limit.
    uint64_t full_content_max_bytes = 0;
    uint32_t queue_lifetime_s = 172800;  // quoted in the human text of delays and expiries
};

// The bounce: envelope (sender <>, one recipient = the original sender, NOTIFY=NEVER) and the
// content, ready to be spooled like any accepted message.
struct DsnMessage {
    Envelope envelope;
    std::string content;
};

// RFC 3461 4.1: NOTIFY=NEVER wants nothing; unset wants failures and delays; an explicit list
// wants exactly its kinds (SUCCESS covers delivered and relayed).
bool dsn_wanted(uint8_t notify, DsnAction action);

// Builds the DSN for the recipients that want one. std::nullopt when the original sender is
// the null reverse-path (a bounce is never bounced) or no recipient wants a DSN. `content` is
// the stored message (our Received header first). The Subject follows the gravest action:
// failed, else delayed, else delivered/relayed. Recipient indices must be in range (asserted).
std::optional<DsnMessage> build_dsn(const Envelope& original, std::string_view content,
                                    std::span<const DsnRecipient> recipients,
                                    const DsnOptions& options);

// RFC 3461 4 xtext: "+HH" decoded; anything else copied. Malformed "+" sequences are copied
// as they are (the DSN still goes out). Exposed for tests.
std::string decode_xtext_lenient(std::string_view xtext);

}  // namespace ringmta::queue
