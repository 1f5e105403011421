// DataReader: the dot layer over NewlineNormalizer. The normaliser stops in front of every "."
// that begins a CRLF line (rare in real mail); this file decides between terminator and
// unstuffing, keeping one state byte so a terminator split across chunks is still seen.
#include "mta/smtp/data_reader.hh"

#include "mta/base/assert.hh"

namespace ringmta::smtp {

DataReader::DataReader(ContentSink& sink, const ContentLimits& limits)
    : normalizer_(sink, limits, /*binary=*/false) {}

FeedResult DataReader::feed(const char* p, size_t n) {
    MTA_ASSERT(state_ != State::done);
    size_t i = 0;
    for (;;) {
        switch (state_) {
            case State::text:
                i += normalizer_.copy(p + i, n - i, /*stop_at_dot=*/true);
                if (i == n) return {ContentStatus::need_more, n};
                ++i;  // the line-initial "."
                state_ = State::dot;
                break;
            case State::dot:
                if (i == n) return {ContentStatus::need_more, n};
                if (p[i] == '\r') {
                    ++i;
                    state_ = State::dot_cr;
                    break;
                }
                // Unstuffed: the dot is dropped and the line goes on with this byte.
                normalizer_.continue_line();
                state_ = State::text;
                break;
            case State::dot_cr:
                if (i == n) return {ContentStatus::need_more, n};
                if (p[i] == '\n') {
                    state_ = State::done;
                    return {ContentStatus::complete, i + 1};
                }
                // ".\r" then not LF: the dot is dropped and the CR is bare.
                normalizer_.continue_line_after_cr();
                state_ = State::text;
                break;
            case State::done:
                MTA_UNREACHABLE();
        }
    }
}

}  // namespace ringmta::smtp
