// Domain normalisation for lookups and config. Invalid input is a DomainKind value, never an
// exception; only the non-ASCII path calls libidn2 (and so allocates).
#include "router/domain_name.hh"

#include <idn2.h>

#include <cstdlib>
#include <cstring>

namespace ringmta::router {
namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHigh = 0x8080808080808080ull;

enum class Scan { name, invalid, non_ascii };

// Eight bytes at a time: refuse non-ASCII, lower-case A-Z, find the dots (SWAR; all byte
// lanes stay below 0x80 so no carry crosses lanes), then check label lengths.
Scan scan_ascii(const char* in, uint32_t n, DomainBuffer& out) {
    uint32_t labels = 1;
    out.label_start[0] = 0;
    for (uint32_t i = 0; i < n; i += 8) {
        uint32_t take = n - i < 8 ? n - i : 8;
        uint64_t w = 0;
        if (take == 8) {
            std::memcpy(&w, in + i, 8);
        } else if (n >= 8) {
            // The tail as the last word of the input, shifted down: no variable-size copy.
            std::memcpy(&w, in + n - 8, 8);
            w >>= 8 * (8 - take);
        } else {
            for (uint32_t j = 0; j < take; ++j) w |= uint64_t(uint8_t(in[i + j])) << (8 * j);
        }
        if (w & kHigh) return Scan::non_ascii;
        uint64_t upper = (w + (0x80 - 'A') * kOnes) & ~(w + (0x7f - 'Z') * kOnes) & kHigh;
        w |= upper >> 2;
        std::memcpy(out.text + i, &w, 8);
        uint64_t x = w ^ ('.' * kOnes);
        uint64_t dots = ~(((x & ~kHigh) + ~kHigh) | x) & kHigh;
        if (take < 8) dots &= (uint64_t(1) << (8 * take)) - 1;
        for (; dots != 0; dots &= dots - 1) {
            if (labels > kLabelCountMax) return Scan::invalid;
            out.label_start[labels++] =
                static_cast<uint8_t>(i + uint32_t(__builtin_ctzll(dots)) / 8 + 1);
        }
    }
    if (labels > kLabelCountMax) return Scan::invalid;
    out.label_start[labels] = static_cast<uint8_t>(n + 1);
    for (uint32_t k = 0; k < labels; ++k) {
        uint32_t size = out.label_start[k + 1] - 1u - out.label_start[k];
        if (size == 0 || size > kLabelLengthMax) return Scan::invalid;
    }
    out.size = n;
    out.label_count = labels;
    std::memset(out.text + n, 0, 8);
    return Scan::name;
}

void copy_literal(std::string_view in, DomainBuffer& out) {
    for (size_t i = 0; i < in.size(); ++i) {
        auto c = static_cast<unsigned char>(in[i]);
        out.text[i] = static_cast<char>(unsigned(c - 'A') < 26u ? c + ('a' - 'A') : c);
    }
    out.size = static_cast<uint32_t>(in.size());
    out.label_count = 0;
    std::memset(out.text + in.size(), 0, 8);
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

bool is_hostname_syntax(std::string_view s) {
    DomainBuffer buffer;
    if (s.size() > kDomainLengthMax ||
        scan_ascii(s.data(), static_cast<uint32_t>(s.size()), buffer) != Scan::name) {
        return false;
    }
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  c == '.';
        if (!ok) return false;
    }
    return true;
}

}  // namespace ringmta::router
