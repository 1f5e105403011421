// Recipient-domain normalisation: lower-case, one trailing dot removed, IDN in A-label form,
// address literals recognised. The normalised text lands in a caller's stack buffer, so the
// lookup path allocates nothing unless the domain is non-ASCII (libidn2 allocates).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringmta::router {

inline constexpr size_t kDomainLengthMax = 253;
inline constexpr size_t kLabelLengthMax = 63;
inline constexpr size_t kLabelCountMax = (kDomainLengthMax + 1) / 2;   // "a.a.a...": 127

// Holds one normalised domain. For a name, label k is text[label_start[k], label_start[k + 1]
// - 1), so lookups never scan for dots again. The 32 bytes after the end are zero, so any
// suffix can be hashed and compared in whole words without masks.
struct DomainBuffer {
    alignas(16) char text[kDomainLengthMax + 1 + 32 + 2];
    uint32_t size = 0;
    uint32_t label_count = 0;
    uint8_t label_start[kLabelCountMax + 1];

    std::string_view view() const { return {text, size}; }
    uint32_t label_size(uint32_t k) const { return label_start[k + 1] - 1u - label_start[k]; }
    std::string_view label(uint32_t k) const { return {text + label_start[k], label_size(k)}; }
};

enum class DomainKind : uint8_t {
    name,       // a domain name: labels separated by single dots
    literal,    // "[192.0.2.1]" or "[IPv6:...]": matches only the "*" address space
    invalid,    // empty, empty label, over 253 bytes, or an IDN libidn2 refuses
};

// Normalises `in` into `out`. For a literal, `out` holds it lower-cased, brackets included.
DomainKind normalize_domain(std::string_view in, DomainBuffer& out);

// The recipient domain of an address: the part after the last '@' ("<a@b>" brackets allowed),
// or the whole text when there is no '@'.
std::string_view domain_of_address(std::string_view address);

// True when every label of a normalised name is 1-63 bytes of [a-z0-9_-]: what config accepts.
bool is_hostname_syntax(std::string_view normalised);

}  // namespace ringmta::router
