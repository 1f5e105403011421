// parse_command: one SMTP command line (CRLF already removed) into a verb and its arguments.
// Invariant: the result's views point into the line, which the caller keeps alive; the verb is
// always set when recognised, even when the arguments are wrong. Syntax errors are not
// failures but replies: error_reply holds the exact reply to send (without CRLF).
#pragma once

#include <cstdint>
#include <string_view>

namespace ringmta::smtp {

enum class Verb : uint8_t {
    helo,
    ehlo,
    mail,
    rcpt,
    data,
    bdat,
    rset,
    noop,
    quit,
    vrfy,
    help,
    starttls,
    auth,
    unknown,  // also an empty line
};

// ASCII case-insensitive equality: verbs, parameter keywords and fixed values (RFC 5321 2.4).
bool ascii_iequals(std::string_view a, std::string_view b);

// The verb in upper case ("MAIL"); "" for unknown.
std::string_view verb_name(Verb verb);

struct Command {
    Verb verb = Verb::unknown;
    // HELO, EHLO, VRFY, HELP, NOOP, AUTH: the text after the verb, spaces trimmed (may be empty
    // for HELP and NOOP).
    std::string_view argument;
    // MAIL, RCPT: the path as sent ("<a@b>", "<>"), and the parameters after it, trimmed.
    std::string_view path;
    std::string_view params;
    // BDAT: the chunk size and whether LAST was given.
    uint64_t bdat_size_bytes = 0;
    bool bdat_last = false;
    // Non-empty: the command is malformed; send exactly this reply.
    std::string_view error_reply;

    bool ok() const { return error_reply.empty(); }
};

// Verbs are case-insensitive. "MAIL FROM: <a@b>" (a space after the colon) is accepted, as
// Postfix does. MAIL and RCPT split path from parameters at the first space outside a quoted
// string; whether the path is a valid address is for address.hh to say.
//
// Replies: "500 5.5.2 Syntax error: empty command", "500 5.5.2 Syntax error: invalid character"
// (NUL, CR or LF in the line), "500 5.5.1 Command unrecognized", and "501 5.5.4 Syntax: <usage>"
// for a known verb with wrong arguments, e.g. "501 5.5.4 Syntax: MAIL FROM:<address>",
// "501 5.5.4 Syntax: DATA" (no argument allowed), "501 5.5.4 Syntax: BDAT size [LAST]".
Command parse_command(std::string_view line);

}  // namespace ringmta::smtp
