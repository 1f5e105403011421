// NewlineNormalizer: copies content in runs, stopping only at CR, LF and NUL (found 16 bytes at a
// time), so ordinary CRLF text costs one vector compare per 16 bytes and one sink write per
// call. Conditions are sticky bits; which one is reported is fixed by ContentOutcome's order.
#include "mta/smtp/newline_normalizer.hh"

#include "mta/base/assert.hh"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ringmta::smtp {
namespace {

constexpr uint8_t bit(ContentOutcome o) { return uint8_t(1u << unsigned(o)); }

bool is_special(char c) { return c == '\r' || c == '\n' || c == '\0'; }

// Index of the first CR, LF or NUL in p[0, n), or n.
size_t find_special(const char* p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i nul = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)),
                                   _mm_cmpeq_epi8(v, nul));
        unsigned mask = unsigned(_mm_movemask_epi8(hit));
        if (mask != 0) return i + unsigned(__builtin_ctz(mask));
    }
#endif
    for (; i < n; ++i) {
        if (is_special(p[i])) return i;
    }
    return n;
}

}  // namespace

std::string_view content_reply(ContentOutcome outcome) {
    switch (outcome) {
        case ContentOutcome::ok:
            return {};
        case ContentOutcome::too_big:
            return "552 5.3.4 Message size exceeds fixed limit";
        case ContentOutcome::bare_newline:
            return "550 5.6.0 Message contains bare CR or LF";
        case ContentOutcome::nul:
            return "554 5.6.0 Message contains NUL character";
        case ContentOutcome::line_too_long:
            return "500 5.5.2 Line too long";
    }
    MTA_UNREACHABLE();
}

NewlineNormalizer::NewlineNormalizer(ContentSink& sink, const ContentLimits& limits, bool binary)
    : sink_(sink), limits_(limits), binary_(binary) {
    MTA_ASSERT(limits.message_size_bytes_max > 0);
    MTA_ASSERT(limits.line_length_bytes_max > 0);
}

size_t NewlineNormalizer::copy(const char* p, size_t n, bool stop_at_dot) {
    if (binary_) {
        emit(p, n);
        return n;
    }
    size_t i = 0;
    if (pending_cr_) {
        if (n == 0) return 0;
        // The CR was held back from the previous run; either way it is written as CRLF now.
        pending_cr_ = false;
        if (p[0] == '\n') {
            i = 1;
            at_line_start_ = true;
        } else {
            bare_newline();
        }
        end_line(line_length_);
        emit("\r\n", 2);
    }
    size_t run = i;   // first byte not yet emitted
    size_t line = i;  // first byte of the current line in p
    while (i < n) {
        if (at_line_start_) {
            if (stop_at_dot && p[i] == '.') break;
            at_line_start_ = false;
        }
        size_t j = i + find_special(p + i, n - i);
        if (j == n) {
            i = n;
            break;
        }
        if (p[j] == '\0') {
            conditions_ |= bit(ContentOutcome::nul);
            i = j + 1;
            continue;
        }
        if (p[j] == '\r') {
            if (j + 1 == n) {
                // Whether this CR is half of a CRLF is known only with the next byte.
                line_length_ += j - line;
                emit(p + run, j - run);
                pending_cr_ = true;
                return n;
            }
            if (p[j + 1] == '\n') {
                end_line(line_length_ + (j - line));
                i = j + 2;
                line = i;
                at_line_start_ = true;
                continue;
            }
        }
        // A bare CR or LF ends the line and is written as CRLF. What follows is not at the start
        // of a CRLF-delimited line, so a "." there is content, never a terminator or stuffing.
        bare_newline();
        end_line(line_length_ + (j - line));
        emit(p + run, j - run);
        emit("\r\n", 2);
        i = j + 1;
        run = i;
        line = i;
    }
    line_length_ += i - line;
    if (line_length_ > limits_.line_length_bytes_max) {
        conditions_ |= bit(ContentOutcome::line_too_long);
    }
    emit(p + run, i - run);
    return i;
}

void NewlineNormalizer::finish() {
    if (binary_) return;
    if (pending_cr_) {
        pending_cr_ = false;
        bare_newline();
    } else if (line_length_ == 0) {
        return;  // empty, or already ends with CRLF
    }
    end_line(line_length_);
    emit("\r\n", 2);
}

ContentOutcome NewlineNormalizer::outcome() const {
    for (ContentOutcome o : {ContentOutcome::too_big, ContentOutcome::bare_newline,
                             ContentOutcome::nul, ContentOutcome::line_too_long}) {
        if (conditions_ & bit(o)) return o;
    }
    return ContentOutcome::ok;
}

void NewlineNormalizer::emit(const char* p, size_t n) {
    if (n == 0) return;
    size_ += n;
    if (size_ > limits_.message_size_bytes_max) conditions_ |= bit(ContentOutcome::too_big);
    if (conditions_ == 0) sink_.write(p, n);
}

void NewlineNormalizer::end_line(uint64_t length) {
    if (length > limits_.line_length_bytes_max) conditions_ |= bit(ContentOutcome::line_too_long);
    line_length_ = 0;
}

void NewlineNormalizer::bare_newline() {
    if (limits_.bare_newline == BareNewline::reject) {
        conditions_ |= bit(ContentOutcome::bare_newline);
    }
}

}  // namespace ringmta::smtp
