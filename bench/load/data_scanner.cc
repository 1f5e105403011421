// DataScanner's four states: at a line start, inside a line, after a leading dot, after ".\r".
#include "bench/load/data_scanner.hh"

#include <cstring>

namespace ringmta::bench {

size_t DataScanner::scan(const char* data, size_t size, std::string* out, bool* ended) {
    *ended = false;
    size_t i = 0;
    while (i < size) {
        switch (state_) {
            case State::mid_line: {
                const void* lf = std::memchr(data + i, '\n', size - i);
                size_t end = lf ? size_t(static_cast<const char*>(lf) - data) + 1 : size;
                if (out) out->append(data + i, end - i);
                i = end;
                if (lf) state_ = State::line_start;
                break;
            }
            case State::line_start:
                if (data[i] == '.') {
                    ++i;  // a stuffed dot, or the start of the terminator: not content either way
                    state_ = State::dot;
                } else {
                    state_ = State::mid_line;
                }
                break;
            case State::dot:
                if (data[i] == '\r') {
                    ++i;
                    state_ = State::dot_cr;
                } else {
                    state_ = State::mid_line;
                }
                break;
            case State::dot_cr:
                if (data[i] == '\n') {
                    state_ = State::line_start;
                    *ended = true;
                    return i + 1;
                }
                if (out) out->push_back('\r');  // ".\rX": the CR was content after a stuffed dot
                state_ = State::mid_line;
                break;
        }
    }
    return i;
}

}  // namespace ringmta::bench
