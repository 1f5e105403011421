// The envelope of one spooled message: everything the SMTP transaction decided that delivery,
// DSN and `queue show` need later. Plain data; its on-disk form is the message record payload
// (record_format.hh). Strings are bytes as received (UTF-8 allowed under SMTPUTF8).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringmta::queue {

enum class BodyType : uint8_t { seven_bit = 0, eight_bit_mime = 1, binary_mime = 2 };

// RFC 3461 RET=; none means the client did not say.
enum class DsnRet : uint8_t { none = 0, full = 1, hdrs = 2 };

// RFC 3461 NOTIFY= as a bitmask; 0 means the client did not say (defaults apply).
enum NotifyFlag : uint8_t {
    notify_unset = 0,
    notify_never = 1,
    notify_success = 2,
    notify_failure = 4,
    notify_delay = 8,
};

struct Recipient {
    std::string address;  // from RCPT TO, without angle brackets; domain lower-cased
    uint8_t notify = notify_unset;
    std::string orcpt;    // ORCPT= value as received ("rfc822;user@example.com"), or empty

    bool operator==(const Recipient&) const = default;
};

struct Envelope {
    uint64_t queue_id = 0;
    uint64_t arrival_us = 0;  // wall clock, microseconds since the Unix epoch
    std::string sender;       // empty for the null reverse-path <>
    bool smtputf8 = false;
    BodyType body_type = BodyType::seven_bit;
    DsnRet ret = DsnRet::none;
    std::string envid;        // ENVID=, or empty
    std::vector<Recipient> recipients;
    std::string client_ip;    // textual address of the SMTP client
    std::string helo_name;
    std::string tls_protocol; // empty when the session was not under TLS
    std::string tls_cipher;
    uint16_t shard = 0;       // the shard that accepted (and owns) the message

    bool operator==(const Envelope&) const = default;
};

}  // namespace ringmta::queue
