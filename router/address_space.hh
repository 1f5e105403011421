// One Exchange address space, "[SMTP:]space[;cost]": `example.com`, `*.example.com` or `*`,
// cost 1-100 (default 1). Parsing refuses everything Exchange refuses (`*contoso.com`,
// non-SMTP types, cost out of range) with a message that quotes the value as written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mta/base/result.hh"
#include "router/domain_name.hh"

namespace ringmta::router {

enum class SpaceKind : uint8_t {
    exact,      // "example.com": that domain only
    wildcard,   // "*.example.com": the domain itself and every subdomain
    any,        // "*": whatever nothing more specific claims
};

inline constexpr uint32_t kCostMin = 1;
inline constexpr uint32_t kCostMax = 100;

struct AddressSpace {
    SpaceKind kind = SpaceKind::any;
    std::string domain;        // normalised (lower-case A-label); empty for `any`
    uint32_t cost = 1;
    std::string text;          // as written, for messages and explanations
};

// Parses one address space. The error message has no path prefix; the caller adds it.
base::Result<AddressSpace> parse_address_space(std::string_view text);

// Parses "example.com" or "*.example.com" (an accepted domain; no type, no cost, no "*").
base::Result<AddressSpace> parse_accepted_domain(std::string_view text);

// Whether `space` claims a recipient domain already normalised by normalize_domain.
bool space_matches(const AddressSpace& space, DomainKind kind, std::string_view domain);

// Larger is more specific: an exact domain beats `*.` of the same domain, which beats `*.` of
// its parent, ..., which beats `*` (0). Only meaningful between spaces matching one domain.
uint32_t space_specificity(const AddressSpace& space);

// The canonical text "space;cost" (type prefix dropped), for messages.
std::string space_display(const AddressSpace& space);

}  // namespace ringmta::router
