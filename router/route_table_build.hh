// Validates the routing config and compiles it into an immutable RouteTable. Any error refuses
// the whole config (the caller keeps its running table); warnings are the conflicts that
// `ringmta check-config` reports but that do not stop the gateway.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "router/connector_spec.hh"
#include "router/route_table.hh"

namespace ringmta::router {

struct RouteTableBuild {
    std::shared_ptr<const RouteTable> table;   // null when errors is non-empty
    // One line per problem, each starting with its config path, e.g.
    // `connectors[1].address_spaces[0]: "*contoso.com" is not a valid address space (...)`.
    std::vector<std::string> errors;
    // Same address space and cost on two connectors; an address space an accepted domain
    // shadows; an accepted domain whose connector is disabled.
    std::vector<std::string> warnings;
};

// `generation` tags the table (and cache entries made from it); each publish needs a larger one.
RouteTableBuild build_route_table(const std::vector<ConnectorSpec>& connectors,
                                  const std::vector<AcceptedDomainSpec>& accepted_domains,
                                  uint64_t generation);

}  // namespace ringmta::router
