// The messages a source sends: one generated body of a given size, or every .eml file of a
// directory, prepared once at start (line ends normalised to CRLF, a DATA form dot-stuffed and a
// BDAT form not), so sending a message copies nothing. Unreadable input fails at start-up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mta/base/result.hh"

namespace ringmta::bench {

// Bare LF and bare CR become CRLF; a non-empty text that does not end in CRLF gets one.
std::string normalize_line_ends(std::string_view text);
// Doubles a '.' at the start of every line (RFC 5321 §4.5.2); `crlf_text` is normalised.
std::string dot_stuff(std::string_view crlf_text);
// Drops every header field called `name` (case-insensitive, folded lines included) from the
// header section (up to the first empty line) of a normalised message.
std::string remove_header(std::string_view message, std::string_view name);
// `bytes` of body: lines of 76 characters + CRLF, every eighth line (3, 11, 19...) starting
// with '.' so that dot-stuffing is always exercised; a shorter last line makes up the rest.
std::string generated_body(size_t bytes);

struct PreparedMessage {
    std::string name;     // file name, or "generated"
    std::string stuffed;  // for DATA: dot-stuffed, ends in CRLF (no terminating ".")
    std::string raw;      // for BDAT: normalised, not stuffed
    bool eight_bit = false;
};

class MessageCorpus {
  public:
    // A generated message of about `size_bytes` including the per-message headers.
    static MessageCorpus generated(size_t size_bytes);
    // Every *.eml of `dir` in name order; fails if there is none or one cannot be read.
    static base::Result<MessageCorpus> from_directory(const std::string& dir);

    // True when the sender must add Date/From/To/Subject (generated bodies have none).
    bool needs_headers() const { return generated_; }
    size_t count() const { return messages_.size(); }
    const PreparedMessage& at(uint64_t sequence) const {
        return messages_[size_t(sequence % messages_.size())];
    }

  private:
    bool generated_ = false;
    std::vector<PreparedMessage> messages_;
};

// What the per-message header block says. Every message gets X-Bench-Sent (unix ns at
// submission, for the sink's end-to-end latency) and a unique Message-ID.
struct HeaderFields {
    uint64_t sent_unix_ns = 0;
    uint64_t sequence = 0;  // global message number
    uint32_t run_id = 0;    // distinguishes runs (pid) in Message-IDs
    bool full = false;      // also Date/From/To/Subject and the empty line
    std::string_view date;  // RFC 5322 date, cached per second by the caller
    std::string_view from;
    std::string_view to;
};
// Writes the header block into `out`; returns its length. `capacity` >= 512 + from + to.
size_t format_headers(char* out, size_t capacity, const HeaderFields& fields);
// RFC 5322 date of `unix_s` in UTC into `out` (>= 40 bytes); returns its length.
size_t format_date(char* out, int64_t unix_s);

}  // namespace ringmta::bench
