// The ringmta-bench command line (INTERFACE.md): options of `source` and `sink`, parsed into
// plain structs. A bad option is a usage error: parse returns the one line to print (exit 2).
// --help (or -h) anywhere sets `help` and skips the checks: the caller prints the usage, exit 0.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mta/base/result.hh"

namespace ringmta::bench {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    std::string text;
    const sockaddr* raw() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// "HOST:PORT" or "[V6]:PORT" with a numeric host ("localhost" is accepted as 127.0.0.1).
// `port_required`: false allows a bare address (source bind addresses, port 0).
base::Result<SocketAddress> parse_socket_address(const std::string& text, bool port_required);

struct SourceOptions {
    SocketAddress to;
    std::vector<SocketAddress> from_addresses;  // bound round-robin, port chosen at connect
    unsigned sessions = 10;
    uint64_t messages = 0;  // 0 with duration_s == 0 means 1000
    double duration_s = 0;
    size_t size_bytes = 1024;
    std::string eml_dir;
    unsigned rcpts = 1;
    bool pipelining = false;
    bool starttls = false;
    bool bdat = false;
    bool new_connection_per_message = false;
    double rate_per_s = 0;  // 0: flat out
    unsigned threads = 1;
    bool json = false;
    bool quiet = false;  // no progress line
    std::string helo = "ringmta-bench.invalid";
    std::string mail_from = "bench@source.example";
    std::string rcpt_to = "user@example.net";  // +k is added before '@' for recipient k > 0
    double timeout_s = 30;                     // a reply that takes longer closes the session
    // One connect that takes longer fails, and a session whose connections have failed this
    // long in a row gives up (under --duration at the end of the run at the latest). Not
    // given: 10 s, or --timeout when that is shorter.
    double connect_timeout_s = 0;
    bool help = false;
};

struct SinkOptions {
    SocketAddress listen;
    std::string store_dir;
    uint32_t latency_ms = 0;
    double tempfail = 0;  // shares in [0, 1]; "5%" is also accepted
    double permfail = 0;
    double drop = 0;
    bool fail_at_rcpt = false;  // --fail-at rcpt|data
    uint64_t max_per_conn = 0;  // 0: unlimited
    uint32_t max_conns = 0;     // 0: unlimited
    unsigned threads = 1;
    double report_interval_s = 0;  // 0: only at exit
    bool json = false;
    std::string tls_cert;
    std::string tls_key;
    uint64_t seed = 1;
    std::string hostname = "sink.ringmta-bench.invalid";
    bool help = false;
};

base::Result<SourceOptions> parse_source_options(const std::vector<std::string>& args);
base::Result<SinkOptions> parse_sink_options(const std::vector<std::string>& args);
// The short form of both subcommands (printed with a usage error), and the full help of each:
// every option with what it does and its default.
const char* bench_usage();
const char* source_help();
const char* sink_help();

}  // namespace ringmta::bench
