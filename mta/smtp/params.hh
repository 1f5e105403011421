// MAIL FROM and RCPT TO parameters: SIZE (RFC 1870), BODY (RFC 6152, 3030), SMTPUTF8 (RFC
// 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461) and AUTH (RFC 4954, accepted and ignored).
// Invariant: a parsed value is syntactically valid; whether the session advertised the
// extension, and whether SIZE fits, is the session's to decide. Errors carry the exact reply.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mta/base/result.hh"

namespace ringmta::smtp {

enum class BodyType : uint8_t { unspecified, seven_bit, eight_bit_mime, binary_mime };
enum class DsnReturn : uint8_t { unspecified, full, headers };

struct MailParams {
    bool size_given = false;
    uint64_t size_bytes = 0;  // SIZE=n, the client's estimate
    BodyType body = BodyType::unspecified;
    bool smtputf8 = false;
    DsnReturn ret = DsnReturn::unspecified;
    std::string envid;        // ENVID as received (valid xtext, at most 100 octets); "" when absent
    bool auth_given = false;  // AUTH=... was present; its value is ignored
};

// NOTIFY bits; 0 means NOTIFY was not given. notify_never is never combined with another.
inline constexpr uint8_t notify_never = 1;
inline constexpr uint8_t notify_success = 2;
inline constexpr uint8_t notify_failure = 4;
inline constexpr uint8_t notify_delay = 8;

struct RcptParams {
    uint8_t notify = 0;
    std::string orcpt_type;     // ORCPT addr-type as received ("rfc822", "utf-8"); "" if absent
    std::string orcpt_xtext;    // the address as received, for relaying unchanged
    std::string orcpt_address;  // the address decoded (xtext; "\x{HEX}" too for utf-8)
};

// text: what follows the path, e.g. "SIZE=1000 BODY=8BITMIME"; may be empty. Keywords and
// fixed values are case-insensitive. Replies:
//   "501 5.5.4 Syntax error in parameters"   not keyword[=value] separated by spaces
//   "555 5.5.4 Unsupported option: KEYWORD"  unknown, or given twice (keyword as sent)
//   "501 5.5.4 Invalid KEYWORD value"        a known keyword with a bad value (upper case)
base::Result<MailParams> parse_mail_params(std::string_view text);
base::Result<RcptParams> parse_rcpt_params(std::string_view text);

// xtext (RFC 3461 4): "+HH" stands for an octet; upper-case hex is the standard, lower case is
// taken too. Fails on other octets outside 33..126, on "=" and on a bad "+" escape.
base::Result<std::string> decode_xtext(std::string_view xtext);

}  // namespace ringmta::smtp
