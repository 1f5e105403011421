// Compact builders for routing configs in tests: a connector is a name, its address spaces and
// optionally a size limit or disabled flag; it delivers by DNS unless smart hosts are given.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "router/route_table_build.hh"

namespace ringmta::router::test {

struct C {
    std::string name;
    std::vector<std::string> spaces;
    uint64_t max_size = 0;
    bool enabled = true;
    std::vector<std::string> smart_hosts = {};
};

struct A {
    std::string domain;
    std::string connector;
};

inline std::vector<ConnectorSpec> to_specs(const std::vector<C>& cs) {
    std::vector<ConnectorSpec> specs;
    for (const C& c : cs) {
        ConnectorSpec s;
        s.name = c.name;
        s.address_spaces = c.spaces;
        s.max_message_size = c.max_size;
        s.enabled = c.enabled;
        s.smart_hosts = c.smart_hosts;
        s.dns_routing = c.smart_hosts.empty();
        specs.push_back(std::move(s));
    }
    return specs;
}

inline std::vector<AcceptedDomainSpec> to_specs(const std::vector<A>& as) {
    std::vector<AcceptedDomainSpec> specs;
    for (const A& a : as) {
        specs.push_back({a.domain, AcceptedDomainType::authoritative, a.connector});
    }
    return specs;
}

// Builds a table that must be valid; fails the test with the errors otherwise.
inline std::shared_ptr<const RouteTable> must_build(const std::vector<C>& cs,
                                                   const std::vector<A>& as = {},
                                                   uint64_t generation = 1) {
    RouteTableBuild build = build_route_table(to_specs(cs), to_specs(as), generation);
    for (const std::string& e : build.errors) ADD_FAILURE() << "build error: " << e;
    return build.table;
}

// "connector (space)" or "none: reason": one string to compare in table-driven cases.
inline std::string describe(const RouteTable& table, const Route& route) {
    if (!route.found()) return std::string("none: ") + no_route_text(route.no_route);
    return table.connector(route.connector).spec.name + " (" +
           std::string(table.matched_text(route)) + ")";
}

}  // namespace ringmta::router::test
