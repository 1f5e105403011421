// Domain normalisation for lookups and config. Invalid input is a DomainKind value, never an
// exception; only the non-ASCII path calls libidn2 (and so allocates).
#include "router/domain_name.hh"

#include <idn2.h>

#include <array>
#include <cstdlib>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace ringmta::router {
namespace {

enum class Scan { name, invalid, non_ascii };

// Records label k, text[start, end), once its dot is found. False for an empty or over-long
// label. k < kLabelCountMax because names are <= 253 bytes.
inline bool finish_label(DomainBuffer& out, uint32_t k, uint32_t start, uint32_t end) {
    if (end - start - 1 >= kLabelLengthMax) return false;   // empty wraps around
    out.label_start[k] = static_cast<uint8_t>(start);
    return true;
}

// A bad label is only final if the name is ASCII: UTF-8 further on goes to libidn2 instead.
Scan refuse(const char* rest, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
        if (static_cast<unsigned char>(rest[i]) >= 0x80) return Scan::non_ascii;
    }
    return Scan::invalid;
}

// Sixteen bytes lower-cased from `in` to `out`; bit j of the result is set when byte j is a
// dot. False when a byte is not ASCII (then `out` holds garbage).
#ifdef __SSE2__
inline bool lower_chunk(const char* in, char* out, uint32_t& dots) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
    if (_mm_movemask_epi8(v) != 0) return false;
    __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
                                  _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
    v = _mm_or_si128(v, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
    dots = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))));
    return true;
}
#else
inline bool lower_chunk(const char* in, char* out, uint32_t& dots) {
    dots = 0;
    for (uint32_t j = 0; j < 16; ++j) {
        auto c = static_cast<unsigned char>(in[j]);
        if (c >= 0x80) return false;
        out[j] = static_cast<char>(unsigned(c - 'A') < 26u ? c + ('a' - 'A') : c);
        dots |= uint32_t(c == '.') << j;
    }
    return true;
}
#endif

// Sixteen bytes at a time: refuse non-ASCII, lower-case A-Z into out.text, find the dots and
// finish each label at its dot. The last chunk is the input's last 16 bytes (rewriting a few
// already done), or a zero-padded copy of a shorter input: no variable-size copies.
// Inlined into normalize_domain: the lookup path then makes one call, not two.
[[gnu::always_inline]] inline Scan scan_ascii(const char* in, uint32_t n, DomainBuffer& out) {
    alignas(16) char small[16] = {};
    if (n < 16) {
        if (n >= 8) {
            uint64_t lo, hi = 0;
            std::memcpy(&lo, in, 8);
            if (n > 8) {
                std::memcpy(&hi, in + n - 8, 8);
                hi >>= 8 * (16 - n);
            }
            std::memcpy(small, &lo, 8);
            std::memcpy(small + 8, &hi, 8);
        } else {
            for (uint32_t j = 0; j < n; ++j) small[j] = in[j];
        }
    }
    uint32_t labels = 0, start = 0;
    for (uint32_t i = 0; i < n; i += 16) {
        uint32_t dots;
        uint32_t take = n - i < 16 ? n - i : 16;
        if (n < 16) {
            if (!lower_chunk(small, out.text, dots)) return Scan::non_ascii;
        } else if (take == 16) {
            if (!lower_chunk(in + i, out.text + i, dots)) return Scan::non_ascii;
        } else {
            if (!lower_chunk(in + n - 16, out.text + n - 16, dots)) return Scan::non_ascii;
            dots >>= 16 - take;
        }
        for (; dots != 0; dots &= dots - 1) {
            uint32_t end = i + uint32_t(__builtin_ctz(dots));
            if (!finish_label(out, labels++, start, end)) return refuse(in + i, n - i);
            start = end + 1;
        }
    }
    std::memset(out.text + n, 0, 32);
    if (!finish_label(out, labels++, start, n)) return Scan::invalid;
    out.label_start[labels] = static_cast<uint8_t>(n + 1);
    out.size = n;
    out.label_count = labels;
    return Scan::name;
}

void copy_literal(std::string_view in, DomainBuffer& out) {
    for (size_t i = 0; i < in.size(); ++i) {
        auto c = static_cast<unsigned char>(in[i]);
        out.text[i] = static_cast<char>(unsigned(c - 'A') < 26u ? c + ('a' - 'A') : c);
    }
    out.size = static_cast<uint32_t>(in.size());
    out.label_count = 0;
    std::memset(out.text + in.size(), 0, 32);
}

// UTF-8 → A-label through libidn2 (UTS #46 non-transitional mapping, which also case-folds).
DomainKind to_a_label(std::string_view in, DomainBuffer& out) {
    char input[4 * kDomainLengthMax + 1];
    if (in.size() >= sizeof input) return DomainKind::invalid;
    std::memcpy(input, in.data(), in.size());
    input[in.size()] = '\0';
    char* ascii = nullptr;
    int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(input),
                            reinterpret_cast<uint8_t**>(&ascii), IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) return DomainKind::invalid;
    size_t size = std::strlen(ascii);
    Scan scan = size <= kDomainLengthMax ? scan_ascii(ascii, uint32_t(size), out) : Scan::invalid;
    std::free(ascii);
    return scan == Scan::name ? DomainKind::name : DomainKind::invalid;
}

}  // namespace

DomainKind normalize_domain(std::string_view in, DomainBuffer& out) {
    out.size = 0;
    out.label_count = 0;
    if (!in.empty() && in.back() == '.') in.remove_suffix(1);
    if (in.empty()) return DomainKind::invalid;
    if (in.front() == '[') {
        if (in.size() < 3 || in.back() != ']' || in.size() > kDomainLengthMax) {
            return DomainKind::invalid;
        }
        copy_literal(in, out);
        return DomainKind::literal;
    }
    if (in.size() <= kDomainLengthMax) {
        Scan scan = scan_ascii(in.data(), static_cast<uint32_t>(in.size()), out);
        if (scan != Scan::non_ascii) {
            if (scan == Scan::name) return DomainKind::name;
            out.size = 0;
            return DomainKind::invalid;
        }
        return to_a_label(in, out);
    }
    // Too long as ASCII; a UTF-8 name may still have a short enough A-label.
    for (char c : in) {
        if (static_cast<unsigned char>(c) >= 0x80) return to_a_label(in, out);
    }
    return DomainKind::invalid;
}

std::string_view domain_of_address(std::string_view address) {
    if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
        address = address.substr(1, address.size() - 2);
    }
    size_t at = address.rfind('@');
    return at == std::string_view::npos ? address : address.substr(at + 1);
}

// One pass, a table lookup per byte: config loading calls this once per address space.
bool is_hostname_syntax(std::string_view s) {
    static constexpr auto kHostnameByte = [] {
        std::array<bool, 256> ok{};
        for (int c = 'a'; c <= 'z'; ++c) ok[c] = true;
        for (int c = '0'; c <= '9'; ++c) ok[c] = true;
        ok['-'] = ok['_'] = true;
        return ok;
    }();
    if (s.empty() || s.size() > kDomainLengthMax) return false;
    size_t label_size = 0;
    for (char c : s) {
        if (c == '.') {
            if (label_size == 0) return false;
            label_size = 0;
        } else if (!kHostnameByte[static_cast<unsigned char>(c)] ||
                   ++label_size > kLabelLengthMax) {
            return false;
        }
    }
    return label_size != 0;
}

}  // namespace ringmta::router
