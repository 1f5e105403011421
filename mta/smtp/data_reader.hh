// DataReader: the content after DATA's 354, fed in whatever chunks recv() returns, up to and
// including the terminator; stops there so pipelined commands after it stay unconsumed.
// Invariant: only CRLF "." CRLF ends DATA, where the first CRLF may be that of the DATA command
// itself. Fails only as a ContentOutcome decided at the terminator (see newline_normalizer.hh).
//
// Rules, exactly (RFC 5321 4.1.1.4, 4.5.2):
// - A "line" for the terminator and for dot-unstuffing is delimited by real CRLFs only. At the
//   start of such a line, ".\r\n" is the terminator (not stored); any other "." there is
//   removed (".." becomes ".", ".x" becomes "x", ".\n" becomes "\n" before normalising).
// - A bare CR (not followed by LF) or bare LF (not preceded by CR) is content: under
//   `normalize` it is stored as CRLF, under `reject` it makes the message fail with 550 5.6.0.
//   What follows a bare CR or LF is not the start of a CRLF line, so a "." there is kept and
//   can never terminate or be unstuffed: "\n.\r\n", "\n.\n", "\r\n.\n", "\r.\r\n",
//   "\r\n.\r\r\n" and "\r.\n" all leave DATA open.
// - Stored content is therefore unstuffed text that ends with CRLF (or is empty) and holds no
//   bare CR or LF. It may hold a line that is a lone "." (sent as ".." or produced by
//   normalising "\n.\r\n"); like every line beginning with ".", the outbound side must
//   dot-stuff it, and always does, so nothing can end a transaction early at a next hop.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mta/smtp/newline_normalizer.hh"

namespace ringmta::smtp {

enum class ContentStatus : uint8_t {
    need_more,   // everything offered was consumed; feed the next bytes
    chunk_done,  // BDAT only: the announced chunk is consumed, the message goes on
    complete,    // the content has ended; see outcome()
};

struct FeedResult {
    ContentStatus status;
    size_t consumed;  // input bytes used; bytes after them belong to the next command
};

class DataReader {
  public:
    DataReader(ContentSink& sink, const ContentLimits& limits);

    // Consumes p[0, n). Returns complete with the bytes used up to and including the terminator,
    // or need_more with consumed == n. Must not be called after complete.
    FeedResult feed(const char* p, size_t n);

    // Valid once feed() returned complete. content_reply(outcome()) is the reply when not ok.
    ContentOutcome outcome() const { return normalizer_.outcome(); }
    // Stored octets (after unstuffing and normalising), counted even once the sink is skipped.
    uint64_t content_size() const { return normalizer_.content_size(); }

  private:
    enum class State : uint8_t {
        text,    // inside content
        dot,     // consumed "." at the start of a CRLF line
        dot_cr,  // consumed ".\r" at the start of a CRLF line
        done,
    };

    NewlineNormalizer normalizer_;
    State state_ = State::text;
};

}  // namespace ringmta::smtp
