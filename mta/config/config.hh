// The gateway's configuration: one JSON file (INTERFACE.md is the contract), every key with a
// default. load_config() refuses unknown keys, wrong types and bad values with one error line
// per problem: "FILE: key.path: what was expected". Connector semantics are validated by the
// router when the route table is built.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "router/connector_spec.hh"

namespace ringmta::config {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    std::string text;  // as written: "127.0.0.1:2525", "[::1]:25"
};

struct ListenerConfig {
    SocketAddress address;
    std::string tls_cert_file;  // both empty: no STARTTLS on this listener
    std::string tls_key_file;
};

struct ServerConfig {
    std::string hostname;       // default: the machine's host name
    uint32_t threads = 0;       // 0: one shard per online CPU
    std::string spool_dir = "./spool";
    std::string control_socket; // default: <spool_dir>/control.sock
    uint64_t spool_segment_size = 64ull << 20;  // bytes preallocated per segment file
    uint32_t shutdown_grace_s = 30;             // SIGTERM: how long transactions may finish
};

struct LimitsConfig {
    uint64_t message_size_max = 26214400;
    uint32_t recipients_per_message_max = 1000;
    uint32_t connections_max = 10000;
    uint32_t connections_per_ip_max = 100;
    uint32_t command_timeout_s = 300;
    uint32_t data_timeout_s = 600;
    uint32_t errors_per_session_max = 10;
    // Extensions to INTERFACE.md's list; defaults follow Postfix where it has one.
    uint32_t command_line_length_max = 2048;  // bytes incl. CRLF (Postfix line_length_limit)
    uint32_t text_line_length_max = 65536;    // bytes per message line incl. CRLF
    uint64_t memory_max = 1ull << 30;         // all message buffers in flight, all shards
    uint32_t tls_handshake_timeout_s = 60;
    uint64_t queue_messages_max = 1000000;    // messages queued; each shard holds an equal
                                              // share, then answers 452 4.3.1
    // A client that sends without reading its replies: past this many unsent reply bytes the
    // session reads no more input until the client catches up, so it cannot grow our memory.
    uint32_t unread_reply_bytes_max = 65536;
    // How long a session that is closing (421, 221) waits for the client to take its last
    // reply before the connection is closed regardless (Postfix: smtpd_timeout on writes).
    uint32_t final_reply_timeout_s = 10;
};

enum class BareNewline { normalize, reject };

struct Cidr {
    int family = AF_INET;
    unsigned char bytes[16] = {};
    unsigned prefix = 0;
    bool contains(const sockaddr* addr) const;
};

struct RelayConfig {
    std::vector<Cidr> networks;  // default: 127.0.0.0/8, ::1/128
    std::vector<std::string> network_texts;
    BareNewline bare_newline = BareNewline::normalize;
};

struct RetryConfig {
    uint32_t initial_s = 60;
    uint32_t max_s = 3600;
};

struct DeliveryConfig {
    RetryConfig retry;
    uint32_t queue_lifetime_s = 172800;
    uint32_t delay_warning_s = 14400;
    uint32_t recipients_per_transaction_max = 100;
    // Outbound: the wait for the greeting, the EHLO/HELO reply and the STARTTLS reply
    // (Postfix smtp_helo_timeout); a host that stalls there is skipped like a dead one.
    uint32_t helo_timeout_s = 300;
};

struct DnsConfig {
    std::vector<std::string> servers;  // empty: /etc/resolv.conf
};

struct MetricsConfig {
    std::string address;  // empty: no metrics listener
};

struct LogConfig {
    std::string format = "text";  // text | json
    std::string file;             // empty: stderr
    // Lines a second each warning/error call site may write before the rest are counted and
    // reported as "N similar messages suppressed"; 0: no limit. Info lines are never limited.
    uint32_t burst_max = 100;
};

struct Config {
    std::string source;  // file name, or "<embedded default>"
    ServerConfig server;
    std::vector<ListenerConfig> listeners;
    LimitsConfig limits;
    RelayConfig relay;
    std::vector<router::AcceptedDomainSpec> accepted_domains;
    std::vector<router::ConnectorSpec> connectors;
    DeliveryConfig delivery;
    DnsConfig dns;
    MetricsConfig metrics;
    LogConfig log;
};

// The configuration used when no -c is given (INTERFACE.md): listener 127.0.0.1:2525,
// spool ./spool, one connector "default" with address space "*" and smart host 127.0.0.1:2526.
extern const char* const kEmbeddedDefaultConfig;

struct LoadResult {
    Config config;
    std::vector<std::string> errors;  // each "FILE: path: message"; empty when the file is valid
    std::vector<std::string> warnings;  // each "FILE: warning: path: message"; never fatal
};

// Reads and validates `path` (or the embedded default when path is empty). Route semantics
// (address spaces, smart hosts) are checked by the router's table builder, not here.
LoadResult load_config(const std::string& path);
// Adds an error for each file a connector names (tls.ca_file, auth.password_file) that cannot
// be read. For what runs the gateway (serve, check-config, reload); `status` and `queue` need
// only the control socket's path and skip it.
void check_connector_files(LoadResult& result);
LoadResult parse_config(const std::string& json_text, const std::string& source_name);

// "host:port" or "[v6]:port" → socket address; port 0 is refused.
bool parse_socket_address(const std::string& text, SocketAddress* out, std::string* why);

}  // namespace ringmta::config
