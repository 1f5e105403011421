// The Received trace header (RFC 5321 4.4) that the server prepends to each message, with the
// protocol keyword of RFC 3848 / RFC 6531. Invariant: folded with CRLF TAB, ends with CRLF, and
// client-supplied text (HELO name, reverse name) is sanitised so it cannot break the header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringmta::smtp {

struct ReceivedFields {
    std::string_view helo;          // the client's HELO/EHLO argument
    std::string_view reverse_name;  // the client's verified reverse DNS name; "" prints unknown
    std::string_view client_ip;     // "192.0.2.1" or "2001:db8::1" (printed as [IPv6:...])
    std::string_view hostname;      // ours
    bool esmtp = true;              // EHLO, not HELO
    bool tls = false;
    bool authenticated = false;
    bool smtputf8 = false;
    std::string_view tls_protocol;  // "TLSv1.3", when tls
    std::string_view tls_cipher;    // "TLS_AES_256_GCM_SHA384", when tls
    std::string_view queue_id;
    std::string_view recipient;  // the mailbox when the message has exactly one, else ""
    int64_t time_s = 0;          // Unix time
    int utc_offset_min = 0;      // of the local zone at time_s (local_utc_offset_min)
};

// SMTP, ESMTP, ESMTPA, ESMTPS, ESMTPSA, UTF8SMTP, UTF8SMTPA, UTF8SMTPS, UTF8SMTPSA.
std::string_view received_protocol(bool esmtp, bool tls, bool authenticated, bool smtputf8);

// Received: from HELO (NAME [IP])\r\n
// \t(using PROTOCOL with cipher CIPHER)\r\n                              only with TLS
// \tby HOST (ringmta) with PROTO id QUEUEID\r\n\tfor <RCPT>; DATE\r\n    one recipient
// \tby HOST (ringmta) with PROTO id QUEUEID;\r\n\tDATE\r\n               otherwise
void append_received_header(std::string& out, const ReceivedFields& fields);

// RFC 5322 3.3 date-time: "Tue, 1 Jul 2003 10:52:37 +0200".
void append_rfc5322_date(std::string& out, int64_t time_s, int utc_offset_min);

// The local zone's offset from UTC at time_s, in minutes (from localtime_r).
int local_utc_offset_min(int64_t time_s);

}  // namespace ringmta::smtp
