// Config loading: defaults, every section's keys, and the exact error lines for bad input.
#include "mta/config/config.hh"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

using ringmta::config::parse_config;

namespace {
std::string errors_of(const std::string& json) {
    auto r = parse_config(json, "test.json");
    std::string all;
    for (const auto& e : r.errors) all += e + "\n";
    return all;
}
}  // namespace

TEST(Config, EmbeddedDefaultMatchesInterface) {
    auto r = ringmta::config::load_config("");
    ASSERT_TRUE(r.errors.empty()) << r.errors[0];
    const auto& c = r.config;
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].address.text, "127.0.0.1:2525");
    EXPECT_EQ(c.server.spool_dir, "./spool");
    ASSERT_EQ(c.connectors.size(), 1u);
    EXPECT_EQ(c.connectors[0].name, "default");
    EXPECT_EQ(c.connectors[0].address_spaces, std::vector<std::string>{"*"});
    EXPECT_EQ(c.connectors[0].smart_hosts, std::vector<std::string>{"127.0.0.1:2526"});
    EXPECT_EQ(c.limits.message_size_max, 26214400u);
    EXPECT_EQ(c.limits.recipients_per_message_max, 1000u);
    EXPECT_EQ(c.limits.connections_max, 10000u);
    EXPECT_EQ(c.limits.connections_per_ip_max, 100u);
    EXPECT_EQ(c.limits.command_timeout_s, 300u);
    EXPECT_EQ(c.limits.data_timeout_s, 600u);
    EXPECT_EQ(c.limits.errors_per_session_max, 10u);
    EXPECT_EQ(c.relay.network_texts, (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));
    EXPECT_EQ(c.server.control_socket, "./spool/control.sock");
    EXPECT_EQ(c.delivery.retry.initial_s, 60u);
    EXPECT_EQ(c.delivery.queue_lifetime_s, 172800u);
    EXPECT_EQ(c.delivery.helo_timeout_s, 300u);
}

TEST(Config, InterfaceExampleParses) {
    const char* json = R"({
      "server": { "hostname": "gw.example.com", "threads": 0, "spool_dir": "/var/spool/ringmta",
                  "control_socket": "/run/ringmta/control.sock" },
      "listeners": [ { "address": "0.0.0.0:25",
          "tls": { "cert_file": "/etc/ringmta/cert.pem", "key_file": "/etc/ringmta/key.pem" } } ],
      "limits": { "message_size_max": 26214400, "recipients_per_message_max": 1000,
                  "connections_max": 10000, "connections_per_ip_max": 100,
                  "command_timeout_s": 300, "data_timeout_s": 600, "errors_per_session_max": 10 },
      "relay": { "networks": ["127.0.0.0/8", "::1/128"], "bare_newline": "normalize" },
      "accepted_domains": [ { "domain": "example.com", "type": "authoritative",
                              "connector": "to-exchange" } ],
      "connectors": [
        { "name": "to-pgp-gateway", "address_spaces": ["*;10"],
          "smart_hosts": ["pgp1.example.com:25", "pgp2.example.com"],
          "tls": { "mode": "verify", "ca_file": "/etc/ringmta/ca.pem", "name": "pgp.example.com" },
          "auth": { "username": "relay", "password_file": "/etc/ringmta/pgp.pass" },
          "max_message_size": 0,
          "pool": { "max_connections_per_host": 20, "max_messages_per_connection": 1000,
                    "idle_timeout_s": 30 } },
        { "name": "partners", "address_spaces": ["partner.example", "*.partner.example;5"],
          "dns_routing": true, "tls": { "mode": "required" } },
        { "name": "to-exchange", "address_spaces": [], "smart_hosts": ["[192.0.2.5]:25"] }
      ],
      "delivery": { "retry": { "initial_s": 60, "max_s": 3600 }, "queue_lifetime_s": 172800,
                    "delay_warning_s": 14400, "recipients_per_transaction_max": 100 },
      "dns": { "servers": ["127.0.0.1:5353"] },
      "metrics": { "address": "127.0.0.1:9025" },
      "log": { "format": "text", "file": "" }
    })";
    auto r = parse_config(json, "example.json");
    ASSERT_TRUE(r.errors.empty()) << r.errors[0];
    const auto& c = r.config;
    EXPECT_EQ(c.server.hostname, "gw.example.com");
    EXPECT_EQ(c.listeners[0].tls_cert_file, "/etc/ringmta/cert.pem");
    ASSERT_EQ(c.connectors.size(), 3u);
    EXPECT_EQ(c.connectors[0].tls_mode, ringmta::router::TlsMode::verify);
    EXPECT_EQ(c.connectors[0].auth_username, "relay");
    EXPECT_EQ(c.connectors[0].pool.max_connections_per_host, 20u);
    EXPECT_TRUE(c.connectors[1].dns_routing);
    EXPECT_EQ(c.connectors[1].tls_mode, ringmta::router::TlsMode::required);
    EXPECT_EQ(c.accepted_domains[0].connector, "to-exchange");
    EXPECT_EQ(c.dns.servers[0], "127.0.0.1:5353");
    EXPECT_EQ(c.log.burst_max, 100u);  // the default
}

TEST(Config, DeliveryHeloTimeout) {
    auto r = parse_config(R"({"delivery": {"helo_timeout_s": 2}})", "test.json");
    ASSERT_TRUE(r.errors.empty()) << r.errors[0];
    EXPECT_EQ(r.config.delivery.helo_timeout_s, 2u);
    r = parse_config(R"({"delivery": {"helo_timeout_s": 0}})", "test.json");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("delivery.helo_timeout_s"), std::string::npos) << r.errors[0];
}

TEST(Config, LogBurstMax) {
    auto r = parse_config(R"({"log": {"format": "json", "burst_max": 0}})", "test.json");
    ASSERT_TRUE(r.errors.empty()) << r.errors[0];
    EXPECT_EQ(r.config.log.burst_max, 0u) << "0 turns the limit off";
    EXPECT_EQ(r.config.log.format, "json");
}

TEST(Config, ErrorsNameFileKeyAndExpectation) {
    struct Case {
        const char* label;
        const char* json;
        const char* want;
    };
    const Case cases[] = {
        {"unknown top-level key", R"({"sever": {}})", "test.json: sever: unknown key\n"},
        {"unknown nested key", R"({"limits": {"message_size": 5}})",
         "test.json: limits.message_size: unknown key\n"},
        {"wrong type", R"({"limits": {"message_size_max": "big"}})",
         "test.json: limits.message_size_max: expected a non-negative integer, got a string\n"},
        {"negative", R"({"limits": {"connections_max": -1}})",
         "test.json: limits.connections_max: expected a non-negative integer, got a negative "
         "number\n"},
        {"port zero", R"({"listeners": [{"address": "127.0.0.1:0"}]})",
         "test.json: listeners[0].address: \"127.0.0.1:0\" has no valid port (expected 1 to "
         "65535)\n"},
        {"bad cidr", R"({"relay": {"networks": ["10.0.0.0/33"]}})",
         "test.json: relay.networks[0]: \"10.0.0.0/33\" is not a CIDR (expected e.g. "
         "\"10.0.0.0/8\" or \"::1/128\")\n"},
        {"bad bare_newline", R"({"relay": {"bare_newline": "fix"}})",
         "test.json: relay.bare_newline: expected \"normalize\" or \"reject\", got \"fix\"\n"},
        {"connector list item type", R"({"connectors": [{"name": "a", "smart_hosts": [5]}]})",
         "test.json: connectors[0].smart_hosts[0]: expected a string, got a number\n"},
        {"tls mode", R"({"connectors": [{"name": "a", "tls": {"mode": "strict"}}]})",
         "test.json: connectors[0].tls.mode: expected \"none\", \"opportunistic\", \"required\" "
         "or \"verify\", got \"strict\"\n"},
        {"not json", "{", "test.json: not valid JSON: "},
        {"top level not object", "[]", "test.json: (top level): expected an object, got an array\n"},
        {"retry order", R"({"delivery": {"retry": {"initial_s": 100, "max_s": 10}}})",
         "test.json: delivery.retry.max_s: expected a value no smaller than "
         "delivery.retry.initial_s\n"},
        {"duplicate nested key", R"({"limits":{"connections_max":5,"connections_max":6}})",
         "test.json: limits.connections_max: duplicate key\n"},
        {"duplicate top-level key", R"({"limits": {}, "limits": {}})",
         "test.json: limits: duplicate key\n"},
        {"duplicate key in a list item", R"({"connectors": [{"name": "a", "name": "b"}]})",
         "test.json: connectors[0].name: duplicate key\n"},
        {"log burst_max too big", R"({"log": {"burst_max": 2000000}})",
         "test.json: log.burst_max: expected an integer from 0 to 1000000, got 2000000\n"},
    };
    for (const auto& c : cases) {
        std::string got = errors_of(c.json);
        EXPECT_EQ(got.substr(0, std::string(c.want).size()), c.want)
            << c.label << ": got " << got << " want " << c.want;
    }
}

TEST(Config, SocketAddresses) {
    ringmta::config::SocketAddress a;
    std::string why;
    ASSERT_TRUE(ringmta::config::parse_socket_address("[::1]:2525", &a, &why)) << why;
    EXPECT_EQ(a.storage.ss_family, AF_INET6);
    ASSERT_TRUE(ringmta::config::parse_socket_address("127.0.0.2:25", &a, &why)) << why;
    EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port), 25);
    EXPECT_FALSE(ringmta::config::parse_socket_address("127.0.0.1", &a, &why));
    EXPECT_FALSE(ringmta::config::parse_socket_address("mail.example.com:25", &a, &why));
    EXPECT_FALSE(ringmta::config::parse_socket_address("::1:25", &a, &why));
}

// The metrics endpoint has no authentication: any address other hosts can reach is allowed
// but warned about, never silently accepted.
TEST(Config, MetricsOffLoopbackWarns) {
    const std::string warning = "\" is reachable from the network and the metrics endpoint has "
                                "no authentication; bind it to a loopback address or firewall "
                                "the port";
    struct Case { const char* address; bool warns; };
    const Case cases[] = {
        {"127.0.0.1:9025", false}, {"127.8.9.10:9025", false}, {"[::1]:9025", false},
        {"localhost:9025", false}, {"[::ffff:127.0.0.1]:9025", false},
        {"0.0.0.0:9025", true},    {"192.0.2.10:9025", true},  {"[::]:9025", true},
        {"[2001:db8::1]:9025", true}, {"[::ffff:192.0.2.1]:9025", true},
    };
    for (const Case& c : cases) {
        auto r = parse_config(std::string(R"({"metrics": {"address": ")") + c.address + "\"}}",
                              "test.json");
        EXPECT_TRUE(r.errors.empty()) << c.address;
        std::vector<std::string> want;
        if (c.warns) {
            want.push_back(std::string("test.json: warning: metrics.address: \"") + c.address +
                           warning);
        }
        EXPECT_EQ(r.warnings, want) << c.address;
    }
    EXPECT_TRUE(parse_config(R"({"metrics": {}})", "test.json").warnings.empty());
}

TEST(Config, CidrMatching) {
    auto r = parse_config(R"({"relay": {"networks": ["10.1.0.0/16", "2001:db8::/32"]}})", "t");
    ASSERT_TRUE(r.errors.empty());
    const auto& nets = r.config.relay.networks;
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    inet_pton(AF_INET, "10.1.200.3", &v4.sin_addr);
    EXPECT_TRUE(nets[0].contains(reinterpret_cast<sockaddr*>(&v4)));
    inet_pton(AF_INET, "10.2.0.1", &v4.sin_addr);
    EXPECT_FALSE(nets[0].contains(reinterpret_cast<sockaddr*>(&v4)));
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8:5::1", &v6.sin6_addr);
    EXPECT_TRUE(nets[1].contains(reinterpret_cast<sockaddr*>(&v6)));
    inet_pton(AF_INET6, "::ffff:10.1.0.9", &v6.sin6_addr);  // v4-mapped client on a v6 socket
    EXPECT_TRUE(nets[0].contains(reinterpret_cast<sockaddr*>(&v6)));
}
