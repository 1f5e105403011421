// Test helper: feeds DATA or BDAT content in a chosen chunking and records what came out, so a
// case can be checked against every split point and byte-at-a-time delivery.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "mta/smtp/data_reader.hh"

namespace ringmta::smtp::testing {

struct FeedOutput {
    bool complete = false;
    size_t consumed = 0;  // input bytes used in all (meaningful when complete)
    std::string content;
    ContentOutcome outcome = ContentOutcome::ok;

    bool operator==(const FeedOutput&) const = default;
};

inline const char* outcome_name(ContentOutcome o) {
    switch (o) {
        case ContentOutcome::ok:
            return "ok";
        case ContentOutcome::too_big:
            return "too_big";
        case ContentOutcome::bare_newline:
            return "bare_newline";
        case ContentOutcome::nul:
            return "nul";
        case ContentOutcome::line_too_long:
            return "line_too_long";
    }
    return "?";
}

// Printable form for failure messages: CR, LF and NUL spelled out.
inline std::string visible(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\r')
            out += "\\r";
        else if (c == '\n')
            out += "\\n";
        else if (c == '\0')
            out += "\\0";
        else
            out += c;
    }
    return out;
}

inline std::string describe(const FeedOutput& f) {
    return std::string(f.complete ? "complete" : "need_more") +
           " consumed=" + std::to_string(f.consumed) + " outcome=" + outcome_name(f.outcome) +
           " content=\"" + visible(f.content) + "\"";
}

inline void PrintTo(const FeedOutput& f, std::ostream* os) { *os << describe(f); }

// The chunkings every case runs through: whole, each split in two, one byte at a time.
inline std::vector<std::vector<size_t>> chunkings(size_t n) {
    std::vector<std::vector<size_t>> all;
    all.push_back({n});
    for (size_t split = 0; split <= n; ++split) all.push_back({split, n - split});
    all.push_back(std::vector<size_t>(n, 1));
    return all;
}

inline std::string chunking_name(const std::vector<size_t>& sizes) {
    std::string out;
    for (size_t s : sizes) {
        if (!out.empty()) out += '+';
        out += std::to_string(s);
    }
    return out;
}

}  // namespace ringmta::smtp::testing
