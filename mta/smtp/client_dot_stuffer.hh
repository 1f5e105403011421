// DotStuffer: stored message content to DATA wire form (RFC 5321 4.5.2): every line that
// begins with "." gets one more, then "." CRLF ends the content. Content arrives in any pieces.
// Invariant: stored content holds no bare CR or LF and ends with CRLF (or is empty), so the
// output holds none either and the terminator is the only line that is a lone "."; an LF not
// preceded by CR, or content not ending in CRLF, is a bug upstream and asserts.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace ringmta::smtp {

class DotStuffer {
  public:
    // Appends piece to out, stuffed. Copies runs between stuffing points whole (memchr for LF,
    // then one look at the next byte), so plain text costs little more than a memcpy.
    void append(std::string& out, std::string_view piece);
    // Appends ".\r\n". The content so far must be empty or end with CRLF.
    void finish(std::string& out);

  private:
    bool at_line_start_ = true;
    char last_ = '\n';  // the last content byte seen, to check the CR before an LF at a seam
};

// The whole DATA content of a message in one call: reserves once, stuffs every piece, adds the
// terminator. The output buffer grows by the content size plus one byte per line that begins
// with ".", plus 3.
void append_dot_stuffed(std::string& out, std::span<const std::string_view> content);

}  // namespace ringmta::smtp
