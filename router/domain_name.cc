// Domain normalisation for lookups and config. Invalid input is a DomainKind value, never an
// exception; only the non-ASCII path calls libidn2 (and so allocates).
#include "router/domain_name.hh"

#include <idn2.h>

#include <cstdlib>
#include <cstring>

namespace ringmta::router {
namespace {

// Lower-cases ASCII while copying; reports whether a byte >= 0x80 was seen.
bool copy_lower_ascii(std::string_view in, char* out) {
    unsigned char high = 0;
    for (size_t i = 0; i < in.size(); ++i) {
        auto c = static_cast<unsigned char>(in[i]);
        high |= c;
        out[i] = static_cast<char>(unsigned(c - 'A') < 26u ? c + ('a' - 'A') : c);
    }
    return (high & 0x80) != 0;
}

// Labels must be non-empty and at most 63 bytes; the whole at most 253.
bool labels_are_sane(std::string_view s) {
    if (s.empty() || s.size() > kDomainLengthMax) return false;
    size_t label = 0;
    for (char c : s) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
        } else if (++label > kLabelLengthMax) {
            return false;
        }
    }
    return label != 0;
}

void finish(DomainBuffer& out, size_t size) {
    out.size = static_cast<uint32_t>(size);
    std::memset(out.text + size, 0, 8);
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
    std::string_view a_label(ascii);
    DomainKind kind = DomainKind::invalid;
    if (labels_are_sane(a_label)) {
        copy_lower_ascii(a_label, out.text);
        finish(out, a_label.size());
        kind = DomainKind::name;
    }
    std::free(ascii);
    return kind;
}

}  // namespace

DomainKind normalize_domain(std::string_view in, DomainBuffer& out) {
    finish(out, 0);
    if (!in.empty() && in.back() == '.') in.remove_suffix(1);
    if (in.empty()) return DomainKind::invalid;
    if (in.front() == '[') {
        if (in.size() < 3 || in.back() != ']' || in.size() > kDomainLengthMax) {
            return DomainKind::invalid;
        }
        copy_lower_ascii(in, out.text);
        finish(out, in.size());
        return DomainKind::literal;
    }
    if (in.size() > kDomainLengthMax) {
        // Too long as ASCII; a UTF-8 name may still have a short enough A-label.
        for (char c : in) {
            if (static_cast<unsigned char>(c) >= 0x80) return to_a_label(in, out);
        }
        return DomainKind::invalid;
    }
    if (copy_lower_ascii(in, out.text)) return to_a_label(in, out);
    if (!labels_are_sane({out.text, in.size()})) return DomainKind::invalid;
    finish(out, in.size());
    return DomainKind::name;
}

std::string_view domain_of_address(std::string_view address) {
    if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
        address = address.substr(1, address.size() - 2);
    }
    size_t at = address.rfind('@');
    return at == std::string_view::npos ? address : address.substr(at + 1);
}

bool is_hostname_syntax(std::string_view s) {
    if (!labels_are_sane(s)) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  c == '.';
        if (!ok) return false;
    }
    return true;
}

}  // namespace ringmta::router
