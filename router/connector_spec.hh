// The routing part of the config as plain data: send connectors and accepted domains, exactly
// as written by the operator. mta/config fills these from JSON; build_route_table validates
// and compiles them. Nothing here is checked or normalised yet.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringmta::router {

enum class TlsMode { none, opportunistic, required, verify };

struct PoolSpec {
    uint32_t max_connections_per_host = 20;
    uint32_t max_messages_per_connection = 1000;
    uint32_t idle_timeout_s = 30;
};

struct ConnectorSpec {
    std::string name;
    bool enabled = true;
    std::vector<std::string> address_spaces;   // Exchange syntax as written: "[SMTP:]space[;cost]"
    std::vector<std::string> smart_hosts;      // "host[:port]", "[192.0.2.1]:25", "[IPv6:..]:25"
    bool dns_routing = false;
    uint16_t port = 25;
    uint64_t max_message_size = 0;             // 0: no limit of its own
    TlsMode tls_mode = TlsMode::opportunistic;
    std::string tls_ca_file, tls_name;
    std::string auth_username, auth_password_file;
    bool auth_allow_plaintext = false;
    PoolSpec pool;
};

enum class AcceptedDomainType { authoritative, internal_relay };

struct AcceptedDomainSpec {
    std::string domain;                        // "example.com" (only itself) or "*.example.com"
    AcceptedDomainType type = AcceptedDomainType::authoritative;
    std::string connector;                     // the internal connector that carries its mail
};

}  // namespace ringmta::router
