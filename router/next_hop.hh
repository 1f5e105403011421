// A connector's smart host parsed from "host[:port]", "[192.0.2.1]:25" or
// "[IPv6:2001:db8::1]:25". A literal (any IP address) is used as is; an FQDN is resolved by the
// engine. Parsing refuses anything else with a message quoting the value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mta/base/result.hh"

namespace ringmta::router {

struct NextHop {
    std::string host;          // lower-case FQDN, or the bare address of a literal
    uint16_t port = 25;
    bool is_literal = false;   // an IP address: no DNS lookup
    bool is_ipv6 = false;

    bool operator==(const NextHop&) const = default;
};

base::Result<NextHop> parse_smart_host(std::string_view text, uint16_t default_port);

// "mx.example.com:25", "[192.0.2.1]:25", "[IPv6:2001:db8::1]:25": parse_smart_host reads it back.
std::string format_next_hop(const NextHop& hop);

}  // namespace ringmta::router
