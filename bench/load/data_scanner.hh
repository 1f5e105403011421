// The DATA side of the sink: finds the CRLF "." CRLF that ends a message, across any split of
// the input, and removes the dot-stuffing (RFC 5321 §4.5.2) of what it passes on. It looks at
// each line start only and skips to the next LF with memchr, so it costs ~1 branch per line.
#pragma once

#include <cstddef>
#include <string>

namespace ringmta::bench {

class DataScanner {
  public:
    // Start of a message: the first byte is at a line start.
    void reset() { state_ = State::line_start; }
    // Consumes input up to and including the terminating ".\r\n" (then `*ended` is set) or all
    // of it; returns how many bytes were consumed. Unstuffed content is appended to `out`
    // unless it is null. A bare LF counts as a line end, as most receivers do.
    size_t scan(const char* data, size_t size, std::string* out, bool* ended);

  private:
    enum class State { line_start, mid_line, dot, dot_cr };
    State state_ = State::line_start;
};

}  // namespace ringmta::bench
