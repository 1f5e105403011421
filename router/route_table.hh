// The compiled, immutable route table: connectors, address spaces and accepted domains, with
// their domains compiled into a table probed by suffix. Selection is Exchange's: accepted
// domains first, then the most specific space among enabled connectors that admit the size,
// then lowest cost, then connector name. Lookups never allocate (except for IDN input) or lock.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "router/address_space.hh"
#include "router/connector_spec.hh"
#include "router/domain_name.hh"
#include "router/next_hop.hh"
#include "router/suffix_table.hh"

namespace ringmta::router {

inline constexpr uint32_t kNoIndex = UINT32_MAX;

struct Connector {
    ConnectorSpec spec;                    // as configured, but spec.address_spaces is empty:
                                           // the compiled spaces keep their text as written
    std::vector<NextHop> next_hops;        // parsed smart hosts; empty with dns_routing
    std::vector<uint32_t> address_spaces;  // indices into RouteTable::address_spaces()
    uint64_t size_max = UINT64_MAX;        // spec.max_message_size, with 0 meaning no limit
};

struct CompiledSpace {
    AddressSpace space;
    uint32_t connector;
    uint32_t position;                     // index in the connector's spec.address_spaces
};

struct AcceptedDomain {
    AddressSpace domain;                   // kind exact or wildcard, cost unused
    AcceptedDomainType type;
    uint32_t connector;
    uint32_t position;                     // index in the accepted_domains config list
};

enum class NoRoute : uint8_t {
    none,                 // a route was found
    invalid_domain,       // the recipient domain is not a domain name or literal
    no_address_space,     // no enabled connector claims the domain
    message_too_large,    // connectors claim it, but none admits the message size
    connector_disabled,   // an accepted domain's connector is disabled
};

const char* no_route_text(NoRoute reason);

// A lookup's answer: indices into the table that produced it (valid only with that table).
struct Route {
    uint32_t connector = kNoIndex;
    uint32_t matched = kNoIndex;           // address-space index, or accepted-domain index
    bool via_accepted_domain = false;
    NoRoute no_route = NoRoute::no_address_space;

    bool found() const { return connector != kNoIndex; }
    bool operator==(const Route&) const = default;
};

// The message sizes (size_above, size_max] for which a lookup gives the same Route; lets the
// per-shard cache keep one entry per domain whatever the size.
struct SizeRange {
    uint64_t size_above = 0;
    uint64_t size_max = UINT64_MAX;
    bool contains(uint64_t size) const { return size > size_above && size <= size_max; }
};

class RouteTable {
public:
    // One configured domain's routes: candidate ranges sorted best first, accepted-domain
    // indices, and whether an accepted wildcard domain covers a parent domain (so a lookup
    // that found a route here must still look further up for it).
    struct DomainRoutes {
        uint32_t exact_first = 0;
        uint16_t exact_count = 0;
        uint16_t wild_count = 0;
        uint32_t wild_first = 0;
        uint32_t accepted_exact = kNoIndex;
        uint32_t accepted_wild = kNoIndex;
        bool accepted_above = false;
    };
    struct Candidate {
        uint32_t connector;
        uint32_t space;
        uint64_t size_max;
    };
    using Domains = SuffixTable<DomainRoutes>;

    // The route for a recipient domain (any case, trailing dot, UTF-8 or literal).
    Route lookup(std::string_view domain, uint64_t message_size) const;
    Route lookup(std::string_view domain, uint64_t message_size, SizeRange& valid) const;
    Route lookup_normalised(DomainKind kind, const DomainBuffer& domain, uint64_t message_size,
                            SizeRange& valid) const;

    uint64_t generation() const { return generation_; }
    const std::vector<Connector>& connectors() const { return connectors_; }
    const Connector& connector(uint32_t index) const { return connectors_.at(index); }
    const std::vector<CompiledSpace>& address_spaces() const { return spaces_; }
    const std::vector<AcceptedDomain>& accepted_domains() const { return accepted_; }
    uint32_t find_connector(std::string_view name) const;   // kNoIndex when absent

    // The matched space's (or accepted domain's) text as written, and its cost (0 for an
    // accepted domain). Route must be from this table and have matched != kNoIndex.
    std::string_view matched_text(const Route& route) const;
    uint32_t matched_cost(const Route& route) const;

    // Bytes held by the compiled lookup structures (domain table, candidates) and by all of it.
    size_t index_bytes() const;
    size_t memory_bytes() const;

private:
    friend class RouteTableCompiler;

    struct Choice;
    static void consider(Choice& choice, const Candidate* list, uint32_t count, uint64_t size);
    uint32_t choose_by_domain(const DomainBuffer& domain, uint64_t message_size,
                              Choice& choice) const;
    Route accepted_route(uint32_t accepted, uint64_t message_size, SizeRange& valid) const;

    uint64_t generation_ = 0;
    std::vector<Connector> connectors_;
    std::vector<CompiledSpace> spaces_;
    std::vector<AcceptedDomain> accepted_;
    std::vector<Candidate> candidates_;
    uint32_t any_first_ = 0;    // the "*" spaces' candidates
    uint32_t any_count_ = 0;
    Domains domains_;
};

}  // namespace ringmta::router
