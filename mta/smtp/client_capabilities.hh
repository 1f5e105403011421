// ServerCapabilities: what a next hop's EHLO reply offers (RFC 5321 4.1.1.1 and the extension
// RFCs), read once per EHLO and consulted for every later command on the connection.
// Invariant: only keywords this client can use are recorded; an unknown keyword or a malformed
// argument never fails the session, it only leaves the extension unused (SIZE without a valid
// number means "no stated limit").
#pragma once

#include <cstdint>

#include "mta/smtp/client_reply.hh"

namespace ringmta::smtp {

struct ServerCapabilities {
    bool esmtp = false;                  // the server answered EHLO (false after the HELO fallback)
    bool pipelining = false;             // RFC 2920
    bool size = false;                   // RFC 1870
    uint64_t size_bytes_max = 0;         // SIZE's argument; 0: no stated limit
    bool eight_bit_mime = false;         // RFC 6152
    bool smtputf8 = false;               // RFC 6531
    bool chunking = false;               // RFC 3030 BDAT
    bool binary_mime = false;            // RFC 3030 BODY=BINARYMIME
    bool dsn = false;                    // RFC 3461
    bool starttls = false;               // RFC 3207
    bool enhanced_status_codes = false;  // RFC 2034
    bool auth_plain = false;             // RFC 4954 / RFC 4616
    bool auth_login = false;             // the de-facto LOGIN mechanism

    bool operator==(const ServerCapabilities&) const = default;
};

// Reads a 2xx reply to EHLO: the first line is the server's greeting name, each further line
// a keyword with optional space-separated arguments, case-insensitive. "AUTH=PLAIN LOGIN" (the
// pre-standard form some servers still advertise) counts as AUTH.
ServerCapabilities parse_ehlo_reply(const ClientReply& reply);

}  // namespace ringmta::smtp
