// ClientReplyParser: the outbound side's reader of server replies (RFC 5321 4.2), fed whatever
// chunks arrive and stopping after each complete reply, so bytes after it stay the caller's
// (STARTTLS discards them, pipelining reads them as the next reply). Invariant: a reply is
// handed out only whole and well-formed; a malformed line, mismatched codes inside a multi-line
// reply or a reply over reply_bytes_max is a sticky protocol error.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::smtp {

struct ClientReply {
    int code = 0;                    // 200..599
    std::string enhanced;            // "5.1.1" (RFC 3463) when the first line carried one, else ""
    std::vector<std::string> lines;  // text of each line without code, separator, enhanced code
                                     // (when it repeats the first line's) and line end

    // "550 5.1.1 <x@y>: user unknown", lines joined by one space, sanitised (no CR, LF or other
    // control characters), as Postfix writes a reply into logs and DSNs.
    std::string summary() const;
    // The enhanced code, or "4.0.0" / "5.0.0" (class.0.0) when the server sent none.
    std::string enhanced_or_default() const;
};

enum class ReplyParse : uint8_t {
    need_more,  // input consumed entirely; no complete reply yet
    reply,      // reply() holds a complete reply; input was advanced past its last line end
    error,      // protocol error (see error()); the connection must be closed
};

class ClientReplyParser {
  public:
    static constexpr size_t reply_bytes_max = 65536;

    // Consumes bytes from the front of input, at most up to the end of one reply, and advances
    // input past what it used. Lines end in LF, an optional CR before it is dropped (servers
    // must send CRLF; Postfix's client also takes LF alone).
    ReplyParse parse(std::string_view& input);

    // Valid after parse() returned reply, until the next parse().
    const ClientReply& reply() const { return reply_; }
    // After error: what was wrong, e.g. "malformed reply line".
    const std::string& error() const { return error_; }
    // Whether bytes of an unfinished reply are held.
    bool partial() const { return !line_.empty() || (!complete_ && !reply_.lines.empty()); }
    // Drops any unfinished reply (after the 220 to STARTTLS, RFC 3207 4.2) and a sticky error.
    void reset();

  private:
    ReplyParse fail(std::string why);
    // One line without its line end. Returns reply when it was the last line of the reply.
    ReplyParse take_line(std::string_view line);

    ClientReply reply_;
    std::string line_;        // the unfinished line so far
    size_t reply_bytes_ = 0;  // bytes of the current reply consumed so far, line ends included
    bool complete_ = false;   // reply_ holds a finished reply (cleared on the next parse)
    std::string error_;
};

}  // namespace ringmta::smtp
