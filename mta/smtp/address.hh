// RFC 5321 4.1.2 path syntax for MAIL FROM and RCPT TO, with RFC 6531 UTF-8 when the
// transaction said SMTPUTF8. Invariant: a Path that parsed has a domain in canonical form
// (ASCII lower case, no trailing dot). Errors carry the exact reply in Error::message.
#pragma once

#include <string>
#include <string_view>

#include "mta/base/result.hh"

namespace ringmta::smtp {

struct Path {
    std::string local_part;  // as on the wire: case kept, quotes and quoted-pairs kept
    // Lower-cased, trailing dot removed; "[192.0.2.1]" or "[IPv6:2001:db8::1]" for a literal;
    // empty for the null reverse path and for RCPT TO:<postmaster>.
    std::string domain;
    std::string mailbox;   // local_part "@" domain; local_part alone for <postmaster>; "" if null
    bool is_null = false;  // MAIL FROM:<>
};

// Both accept "<" [source-route ":"] mailbox ">" and drop the source route (RFC 5321 3.3 and
// appendix C). Brackets are required. Limits: local part 64 octets, domain 255, label 63,
// whole path 256 (RFC 5321 4.5.3.1). A trailing dot on the domain is accepted and removed.
// Address literals: IPv4 and "IPv6:" (checked with inet_pton); general literals are refused.
// Without smtputf8 any octet above 127 gives "553 5.6.7 Address requires SMTPUTF8"; with it,
// UTF-8 must be well formed and may appear in atoms, quoted strings and domain labels.
//
// "<>" is the null path. Other errors: "501 5.1.7 Bad sender address syntax".
base::Result<Path> parse_reverse_path(std::string_view text, bool smtputf8);

// Also accepts "<postmaster>" (any case) without a domain. Errors:
// "501 5.1.3 Bad recipient address syntax".
base::Result<Path> parse_forward_path(std::string_view text, bool smtputf8);

// A domain as in a path: LDH labels (or U-labels with smtputf8), at most 63 octets per label and
// 255 in all. No trailing dot. For HELO/EHLO arguments too.
bool is_valid_domain(std::string_view domain, bool smtputf8);

// "[192.0.2.1]" or "[IPv6:2001:db8::1]".
bool is_valid_address_literal(std::string_view literal);

// Well-formed UTF-8: shortest forms only, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

}  // namespace ringmta::smtp
