// Route lookup: the query's suffixes probed from the longest to the shortest, so the first
// candidate that admits the message size wins; every better-ranked candidate ruled out by the
// size before it narrows the SizeRange. Accepted domains outrank all address spaces.
#include "router/route_table.hh"

#include <algorithm>

namespace ringmta::router {
namespace {

}  // namespace

const char* no_route_text(NoRoute reason) {
    switch (reason) {
        case NoRoute::none: return "route found";
        case NoRoute::invalid_domain: return "the recipient domain is not a valid domain name";
        case NoRoute::no_address_space: return "no enabled connector has a matching address space";
        case NoRoute::message_too_large:
            return "every matching connector's max_message_size is below the message size";
        case NoRoute::connector_disabled: return "the accepted domain's connector is disabled";
    }
    MTA_UNREACHABLE();
}

// The best candidate seen so far and the sizes for which it stays the answer.
struct RouteTable::Choice {
    const Candidate* winner = nullptr;
    uint64_t skipped_max = 0;   // largest size_max of better-ranked candidates the size ruled out
    bool too_large = false;     // some matching candidate was ruled out by the size
};

// `list` is one domain's exact or wildcard candidates, best first, all ranked below what was
// considered before; called only while there is no winner.
inline void RouteTable::consider(Choice& c, const Candidate* list, uint32_t count,
                                uint64_t size) {
    for (uint32_t i = 0; i < count; ++i) {
        if (size <= list[i].size_max) {
            c.winner = &list[i];
            return;
        }
        c.skipped_max = std::max(c.skipped_max, list[i].size_max);
        c.too_large = true;
    }
}

// Probes the domain's suffixes from the longest; fills `choice` from the address spaces, or
// returns the accepted domain that outranks them (kNoIndex when none does).
inline uint32_t RouteTable::choose_by_domain(const DomainBuffer& domain, uint64_t message_size,
                                             Choice& choice) const {
    Domains::Probe probes[kLabelCountMax];
    const Candidate* candidates = candidates_.data();
    for (uint32_t i = 0, count = domains_.hash_suffixes(domain, probes); i < count; ++i) {
        uint32_t k = probes[i].label;
        uint32_t id = domains_.find(domain, k, probes[i].hash);
        if (id == Domains::kNone) continue;
        const DomainRoutes& r = domains_.entry(id).payload;
        // The deepest accepted domain wins over everything; an exact one only at k == 0.
        uint32_t accepted = k == 0 && r.accepted_exact != kNoIndex ? r.accepted_exact
                                                                   : r.accepted_wild;
        if (accepted != kNoIndex) return accepted;
        if (choice.winner != nullptr) continue;   // looking further up for accepted domains only
        if (k == 0) consider(choice, candidates + r.exact_first, r.exact_count, message_size);
        if (choice.winner == nullptr) {
            consider(choice, candidates + r.wild_first, r.wild_count, message_size);
        }
        if (choice.winner != nullptr && !r.accepted_above) break;
    }
    return kNoIndex;
}

Route RouteTable::lookup(std::string_view domain, uint64_t message_size) const {
    SizeRange ignored;
    DomainBuffer buffer;
    DomainKind kind = normalize_domain(domain, buffer);
    return lookup_normalised(kind, buffer, message_size, ignored);
}

Route RouteTable::lookup(std::string_view domain, uint64_t message_size, SizeRange& valid) const {
    DomainBuffer buffer;
    DomainKind kind = normalize_domain(domain, buffer);
    return lookup_normalised(kind, buffer, message_size, valid);
}

Route RouteTable::lookup_normalised(DomainKind kind, const DomainBuffer& domain,
                                    uint64_t message_size, SizeRange& valid) const {
    Route route;
    if (kind == DomainKind::invalid) {
        valid = SizeRange{};
        route.no_route = NoRoute::invalid_domain;
        return route;
    }
    Choice choice;
    if (kind == DomainKind::name) {
        uint32_t accepted = choose_by_domain(domain, message_size, choice);
        if (accepted != kNoIndex) return accepted_route(accepted, message_size, valid);
    }
    if (choice.winner == nullptr) {
        consider(choice, candidates_.data() + any_first_, any_count_, message_size);
    }
    if (choice.winner == nullptr) {
        route.no_route = choice.too_large ? NoRoute::message_too_large : NoRoute::no_address_space;
        valid = SizeRange{choice.skipped_max, UINT64_MAX};
        return route;
    }
    route.connector = choice.winner->connector;
    route.matched = choice.winner->space;
    route.no_route = NoRoute::none;
    valid = SizeRange{choice.skipped_max, choice.winner->size_max};
    return route;
}

// An accepted domain never falls through to the address spaces, whatever its connector.
Route RouteTable::accepted_route(uint32_t accepted, uint64_t message_size,
                                 SizeRange& valid) const {
    Route route;
    route.matched = accepted;
    route.via_accepted_domain = true;
    const Connector& c = connectors_[accepted_[accepted].connector];
    valid = SizeRange{};
    if (!c.spec.enabled) {
        route.no_route = NoRoute::connector_disabled;
    } else if (message_size > c.size_max) {
        route.no_route = NoRoute::message_too_large;
        valid.size_above = c.size_max;
    } else {
        route.connector = accepted_[accepted].connector;
        route.no_route = NoRoute::none;
        valid.size_max = c.size_max;
    }
    return route;
}

uint32_t RouteTable::find_connector(std::string_view name) const {
    for (uint32_t i = 0; i < connectors_.size(); ++i) {
        if (connectors_[i].spec.name == name) return i;
    }
    return kNoIndex;
}

std::string_view RouteTable::matched_text(const Route& route) const {
    MTA_ASSERT(route.matched != kNoIndex);
    return route.via_accepted_domain ? accepted_.at(route.matched).domain.text
                                     : spaces_.at(route.matched).space.text;
}

uint32_t RouteTable::matched_cost(const Route& route) const {
    MTA_ASSERT(route.matched != kNoIndex);
    return route.via_accepted_domain ? 0 : spaces_.at(route.matched).space.cost;
}

size_t RouteTable::index_bytes() const {
    return domains_.memory_bytes() + candidates_.capacity() * sizeof(Candidate);
}

size_t RouteTable::memory_bytes() const {
    size_t bytes = sizeof(*this) + index_bytes() + spaces_.capacity() * sizeof(CompiledSpace) +
                   accepted_.capacity() * sizeof(AcceptedDomain) +
                   connectors_.capacity() * sizeof(Connector);
    // Heap-held text beyond the small-string buffer.
    auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
    for (const CompiledSpace& s : spaces_) bytes += heap(s.space.text) + heap(s.space.domain);
    for (const Connector& c : connectors_) {
        bytes += c.address_spaces.capacity() * sizeof(uint32_t) +
                 c.next_hops.capacity() * sizeof(NextHop);
    }
    return bytes;
}

}  // namespace ringmta::router
