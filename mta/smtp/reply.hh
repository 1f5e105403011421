// Reply formatting (RFC 5321 4.2, RFC 2034 enhanced codes) appended to the session's output
// buffer, so pipelined replies leave in one write. Invariant: every reply ends in CRLF and
// holds no other CR or LF, whatever text the client supplied. A malformed code asserts.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace ringmta::smtp {

// Appends text for use inside a reply or header: CR and LF are dropped, other control
// characters (but HT) become "?", and at most max_bytes octets are kept.
void append_sanitized(std::string& out, std::string_view text, size_t max_bytes = 512);

// "250 2.1.0 Ok\r\n". code is 200..599; enhanced ("2.1.0") must start with the code's class,
// or be empty for replies that carry none (greeting, EHLO).
void append_reply(std::string& out, int code, std::string_view enhanced, std::string_view text);

// A reply already formatted as "CODE [ENH] text", as the parsers hand out in error_reply and
// Error::message; CRLF is added.
void append_reply_line(std::string& out, std::string_view line);

// "250-2.0.0 first\r\n250-2.0.0 second\r\n250 2.0.0 last\r\n"; lines must not be empty.
void append_multiline_reply(std::string& out, int code, std::string_view enhanced,
                            std::span<const std::string_view> lines);

// The EHLO answer: "250-<hostname> Hello <client_name>\r\n" then one line per extension
// ("PIPELINING", "SIZE 26214400", ...), the last with "250 ". client_name is the client's own
// EHLO argument and is sanitised.
void append_ehlo_reply(std::string& out, std::string_view hostname, std::string_view client_name,
                       std::span<const std::string_view> extensions);

}  // namespace ringmta::smtp
