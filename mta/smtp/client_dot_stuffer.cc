// Dot-stuffing by runs: the scan stops only at line ends, and copies only where a "." must be
// doubled (or at the end of a piece), so a message without leading dots is one append per piece.
#include "mta/smtp/client_dot_stuffer.hh"

#include <cstring>

#include "mta/base/assert.hh"

namespace ringmta::smtp {

void DotStuffer::append(std::string& out, std::string_view piece) {
    if (piece.empty()) return;
    const char* begin = piece.data();
    const char* end = begin + piece.size();
    if (at_line_start_ && *begin == '.') out += '.';
    const char* run = begin;
    const char* scan = begin;
    while (const void* hit = std::memchr(scan, '\n', size_t(end - scan))) {
        const char* nl = static_cast<const char*>(hit);
        MTA_ASSERT(nl > begin ? nl[-1] == '\r' : last_ == '\r');
        scan = nl + 1;
        if (scan == end) break;
        if (*scan == '.') {
            out.append(run, size_t(scan - run));
            out += '.';
            run = scan;
        }
    }
    out.append(run, size_t(end - run));
    last_ = end[-1];
    at_line_start_ = last_ == '\n';
}

void DotStuffer::finish(std::string& out) {
    MTA_ASSERT(at_line_start_);
    out += ".\r\n";
}

void append_dot_stuffed(std::string& out, std::span<const std::string_view> content) {
    size_t total = 0;
    for (std::string_view piece : content) total += piece.size();
    // Leading dots are rare; a little slack avoids a reallocation for the usual few.
    out.reserve(out.size() + total + total / 256 + 3);
    DotStuffer stuffer;
    for (std::string_view piece : content) stuffer.append(out, piece);
    stuffer.finish(out);
}

}  // namespace ringmta::smtp
