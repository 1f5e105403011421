// What `ringmta route ADDRESS` shows: the chosen connector, the address space and cost that
// matched, every other matching space or accepted domain and why it lost, and the next hops.
// Pure data plus text and JSON formatters; the winner always comes from RouteTable::lookup.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "router/route_table.hh"

namespace ringmta::router {

struct RouteCandidate {
    std::string connector;
    std::string address_space;   // as written, or the accepted domain
    uint32_t cost = 0;           // 0 for an accepted domain
    std::string lost_because;
};

struct RouteExplanation {
    std::string address;                 // as given
    std::string domain;                  // normalised; empty when invalid
    uint64_t message_size = 0;
    Route route;
    std::string connector;               // empty when no route
    std::string address_space;           // what matched (even when its connector cannot take it)
    uint32_t cost = 0;
    bool via_accepted_domain = false;
    std::vector<std::string> next_hops;  // "host:port", "[192.0.2.1]:25", "MX example.com:25"
    std::vector<RouteCandidate> candidates;
};

// `address` is "user@domain", "<user@domain>" or a bare domain.
RouteExplanation explain_route(const RouteTable& table, std::string_view address,
                               uint64_t message_size);

// The next hops of a found route for `domain` (normalised): the connector's smart hosts, or
// with dns_routing "MX <domain>:<port>" (an address literal is its own next hop).
std::vector<std::string> describe_next_hops(const Connector& connector, std::string_view domain);

// Human-readable, several lines ending in '\n'.
std::string format_route_text(const RouteExplanation& explanation);

// {"connector": NAME|null, "address_space": TEXT|null, "cost": N|null, "next_hops": [...],
//  "candidates": [{"connector", "address_space", "cost", "lost_because"}]} and a '\n'.
std::string format_route_json(const RouteExplanation& explanation);

}  // namespace ringmta::router
