// Route lookup: one walk down the reversed-label trie, choosing as it goes. Lists are visited
// from least to most specific, so a later winner always outranks an earlier one; the SizeRange
// is narrowed by every better-ranked candidate that the message size ruled out.
#include "router/route_table.hh"

#include <algorithm>

namespace ringmta::router {
namespace {

// Tracks the best candidate seen so far and the sizes for which it stays the answer.
class Chooser {
public:
    explicit Chooser(uint64_t size) : size_(size) {}

    // `list` is one node's candidates, best first; it outranks everything chosen before.
    void consider(const RouteTable::Candidate* list, uint32_t count) {
        uint64_t skipped_max = 0;
        for (uint32_t i = 0; i < count; ++i) {
            if (size_ <= list[i].size_max) {
                route_.connector = list[i].connector;
                route_.matched = list[i].space;
                range_ = SizeRange{skipped_max, list[i].size_max};
                return;
            }
            skipped_max = std::max(skipped_max, list[i].size_max);
        }
        if (count != 0) {
            too_large_ = true;
            range_.size_above = std::max(range_.size_above, skipped_max);
        }
    }

    Route finish(SizeRange& valid) {
        if (!route_.found()) route_.no_route = too_large_ ? NoRoute::message_too_large
                                                          : NoRoute::no_address_space;
        else route_.no_route = NoRoute::none;
        valid = range_;
        return route_;
    }

private:
    uint64_t size_;
    Route route_;
    SizeRange range_;
    bool too_large_ = false;
};

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

Route RouteTable::lookup(std::string_view domain, uint64_t message_size) const {
    SizeRange ignored;
    return lookup(domain, message_size, ignored);
}

Route RouteTable::lookup(std::string_view domain, uint64_t message_size, SizeRange& valid) const {
    DomainBuffer buffer;
    DomainKind kind = normalize_domain(domain, buffer);
    return lookup_normalised(kind, buffer, message_size, valid);
}

Route RouteTable::lookup_normalised(DomainKind kind, const DomainBuffer& domain,
                                    uint64_t message_size, SizeRange& valid) const {
    if (kind == DomainKind::invalid) {
        valid = SizeRange{};
        Route none;
        none.no_route = NoRoute::invalid_domain;
        return none;
    }
    Chooser chooser(message_size);
    const Candidate* candidates = candidates_.data();
    const NodeRoutes& root = trie_.node(Trie::kRoot).payload;
    chooser.consider(candidates + root.wild_first, root.wild_count);
    uint32_t accepted = kNoIndex;
    if (kind == DomainKind::name) {
        // Top label first; stop at the first label the trie does not know.
        uint64_t hashes[kLabelCountMax];
        uint32_t first = trie_.hash_labels(domain, hashes);
        uint32_t node = Trie::kRoot;
        for (uint32_t k = domain.label_count; k-- > first;) {
            node = trie_.find_child(node, domain, k, hashes[k]);
            if (node == Trie::kNone) break;
            const NodeRoutes& r = trie_.node(node).payload;
            if (r.accepted_wild != kNoIndex) accepted = r.accepted_wild;
            chooser.consider(candidates + r.wild_first, r.wild_count);
            if (k == 0) {
                if (r.accepted_exact != kNoIndex) accepted = r.accepted_exact;
                chooser.consider(candidates + r.exact_first, r.exact_count);
            }
        }
    }
    if (accepted == kNoIndex) return chooser.finish(valid);

    // An accepted domain never falls through to the address spaces, whatever its connector.
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
    return trie_.memory_bytes() + candidates_.capacity() * sizeof(Candidate);
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
                 c.next_hops.capacity() * sizeof(NextHop) +
                 c.spec.address_spaces.capacity() * sizeof(std::string);
        for (const std::string& s : c.spec.address_spaces) bytes += heap(s);
    }
    return bytes;
}

}  // namespace ringmta::router
