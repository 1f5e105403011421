// Option parsing for ringmta-bench: one table walk per subcommand, numbers checked for range.
#include "bench/load/bench_options.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>

namespace ringmta::bench {

const char* bench_usage() {
    return "usage:\n"
           "  ringmta-bench source --to HOST:PORT [--sessions N] [--messages M | --duration S]\n"
           "      [--size BYTES | --eml DIR] [--rcpts R] [--pipelining] [--starttls] [--bdat]\n"
           "      [--new-connection-per-message] [--rate MSGS_PER_S] [--from-addresses A,B]\n"
           "      [--threads N] [--json] [--quiet] [--helo NAME] [--mail-from ADDR]\n"
           "      [--rcpt-to ADDR] [--timeout S] [--connect-timeout S]\n"
           "  ringmta-bench sink --listen HOST:PORT [--store DIR] [--latency-ms N]\n"
           "      [--tempfail P] [--permfail P] [--drop P] [--fail-at rcpt|data]\n"
           "      [--max-per-conn N] [--max-conns N] [--threads N] [--report-interval S]\n"
           "      [--json] [--tls-cert FILE --tls-key FILE] [--seed N] [--hostname NAME]\n"
           "  P is a share: 0.05 or 5%\n"
           "  ringmta-bench source --help, ringmta-bench sink --help: every option explained\n";
}

const char* source_help() {
    return "usage: ringmta-bench source --to HOST:PORT [options]\n"
           "Sends SMTP mail to HOST:PORT as fast as it is accepted (or at --rate) and reports\n"
           "the accept rate and the end-of-data -> reply latency. Exit 0: run completed\n"
           "(refusals are results); 1: set-up failed or some sessions gave up; 3: no\n"
           "connection could be kept up at all.\n"
           "  --to HOST:PORT        target; numeric IPv4, [IPv6] or localhost\n"
           "  --sessions N          concurrent SMTP sessions (connections) (10)\n"
           "  --messages M          send M messages in all (1000 when neither is given)\n"
           "  --duration S          or: start messages for S seconds, then finish and QUIT\n"
           "  --size BYTES          generated message size, headers included (1024)\n"
           "  --eml DIR             or: send the *.eml files of DIR in turn\n"
           "  --rcpts R             recipients per message (1)\n"
           "  --pipelining          send the envelope in one write (if PIPELINING is offered)\n"
           "  --starttls            STARTTLS first (the certificate is not verified)\n"
           "  --bdat                BDAT instead of DATA (if CHUNKING is offered)\n"
           "  --new-connection-per-message   QUIT and reconnect after every message\n"
           "  --rate MSGS_PER_S     pace the starts to this total rate (0: flat out)\n"
           "  --from-addresses A,B  bind the connections to these local addresses in turn\n"
           "  --threads N           worker threads, each with its own io_uring (1)\n"
           "  --json                final report as one JSON object\n"
           "  --quiet               no progress line every second on stderr\n"
           "  --helo NAME           EHLO name (ringmta-bench.invalid)\n"
           "  --mail-from ADDR      envelope sender (bench@source.example)\n"
           "  --rcpt-to ADDR        recipient; the k-th extra one is local+k@domain\n"
           "                        (user@example.net)\n"
           "  --timeout S           a reply that takes longer closes the session (30)\n"
           "  --connect-timeout S   a connect that takes longer fails; a session whose\n"
           "                        connections fail this long in a row gives up, with\n"
           "                        --duration at its end at the latest (10, or --timeout\n"
           "                        when shorter)\n";
}

const char* sink_help() {
    return "usage: ringmta-bench sink --listen HOST:PORT [options]\n"
           "An SMTP server that accepts and discards mail (a smart host for a gateway under\n"
           "test), with injected faults. Runs until SIGINT or SIGTERM, then prints its report.\n"
           "  --listen HOST:PORT    address to listen on\n"
           "  --store DIR           also write every accepted message to DIR/1, DIR/2, ...\n"
           "  --latency-ms N        delay every batch of replies by N ms (0)\n"
           "  --tempfail P          share of messages answered 451 4.3.0 (0)\n"
           "  --permfail P          share of messages answered 554 5.6.0 (0)\n"
           "  --drop P              share of messages whose connection is closed at the end\n"
           "                        of data, without a reply (0)\n"
           "  --fail-at rcpt|data   where --tempfail/--permfail strike: per recipient at\n"
           "                        RCPT (451 4.3.0 / 550 5.1.1) or per message at the end of\n"
           "                        data (data)\n"
           "  --max-per-conn N      421 4.7.0 and close at the MAIL after N messages\n"
           "  --max-conns N         greet connections beyond N open ones with 421 4.7.0\n"
           "  --threads N           worker threads, each with its own listener and io_uring (1)\n"
           "  --report-interval S   print the report every S seconds too (only at exit)\n"
           "  --json                reports as JSON objects, one a line\n"
           "  --tls-cert FILE --tls-key FILE   offer STARTTLS with this certificate\n"
           "  --seed N              seed of the fault draws, for repeatable runs (1)\n"
           "  --hostname NAME       name in the greeting and EHLO reply\n"
           "                        (sink.ringmta-bench.invalid)\n"
           "  P is a share: 0.05 or 5%\n";
}

base::Result<SocketAddress> parse_socket_address(const std::string& text, bool port_required) {
    SocketAddress a;
    a.text = text;
    std::string host = text;
    std::string port;
    if (!text.empty() && text[0] == '[') {
        size_t close = text.find(']');
        if (close == std::string::npos)
            return base::make_error(base::Errc::invalid, "bad address " + text);
        host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':')
                return base::make_error(base::Errc::invalid, "bad address " + text);
            port = text.substr(close + 2);
        }
    } else if (size_t colon = text.rfind(':');
               colon != std::string::npos && text.find(':') == colon) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host == "localhost") host = "127.0.0.1";
    long port_number = 0;
    if (!port.empty()) {
        char* end = nullptr;
        port_number = std::strtol(port.c_str(), &end, 10);
        if (*end != '\0' || port_number < 0 || port_number > 65535)
            return base::make_error(base::Errc::invalid, "bad port in " + text);
    }
    if (port_required && port_number == 0)
        return base::make_error(base::Errc::invalid, text + ": want HOST:PORT with a port");
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(uint16_t(port_number));
        a.length = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(uint16_t(port_number));
        a.length = sizeof(sockaddr_in6);
    } else {
        return base::make_error(base::Errc::invalid, text + ": want a numeric IPv4 or [IPv6] host");
    }
    return a;
}

namespace {

using Setter = std::function<std::string(const std::string&)>;  // returns an error or ""
struct Spec {
    bool takes_value;
    Setter set;
};

std::string parse_unsigned(const std::string& v, uint64_t min, uint64_t max, uint64_t* out) {
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || n < min || n > max || v[0] == '-')
        return "'" + v + "' is not a number in [" + std::to_string(min) + ", " +
               std::to_string(max) + "]";
    *out = n;
    return "";
}

std::string parse_double(const std::string& v, double min, double max, double* out) {
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !(d >= min && d <= max))
        return "'" + v + "' is not a number in [" + std::to_string(min) + ", " +
               std::to_string(max) + "]";
    *out = d;
    return "";
}

std::string parse_share(const std::string& v, double* out) {
    if (!v.empty() && v.back() == '%') {
        double percent = 0;
        std::string e = parse_double(v.substr(0, v.size() - 1), 0, 100, &percent);
        *out = percent / 100;
        return e;
    }
    return parse_double(v, 0, 1, out);
}

template <typename T>
Setter unsigned_into(T* field, uint64_t min, uint64_t max) {
    return [=](const std::string& v) {
        uint64_t n = 0;
        std::string e = parse_unsigned(v, min, max, &n);
        *field = T(n);
        return e;
    };
}

Setter flag(bool* field) {
    return [=](const std::string&) {
        *field = true;
        return std::string();
    };
}

Setter text_into(std::string* field) {
    return [=](const std::string& v) {
        *field = v;
        return std::string();
    };
}

Setter address_into(SocketAddress* field) {
    return [=](const std::string& v) {
        auto a = parse_socket_address(v, true);
        if (!a) return a.error().message;
        *field = *a;
        return std::string();
    };
}

// Stops at --help or -h (setting *help): what comes after it is not looked at, so
// "source --help --bogus" prints the help like "source --help" does.
base::Result<void> walk(const std::vector<std::string>& args,
                        const std::map<std::string, Spec>& specs, bool* help) {
    for (size_t i = 0; i < args.size(); ++i) {
        std::string name = args[i];
        if (name == "--help" || name == "-h") {
            *help = true;
            return {};
        }
        std::string value;
        bool inline_value = false;
        if (size_t eq = name.find('='); name.starts_with("--") && eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inline_value = true;
        }
        auto it = specs.find(name);
        if (it == specs.end())
            return base::make_error(base::Errc::invalid, "unknown option " + name);
        if (it->second.takes_value && !inline_value) {
            if (i + 1 >= args.size())
                return base::make_error(base::Errc::invalid, name + " needs a value");
            value = args[++i];
        }
        if (std::string e = it->second.set(value); !e.empty())
            return base::make_error(base::Errc::invalid, name + ": " + e);
    }
    return {};
}

}  // namespace

base::Result<SourceOptions> parse_source_options(const std::vector<std::string>& args) {
    SourceOptions o;
    bool have_to = false;
    std::string from_list;
    std::map<std::string, Spec> specs = {
        {"--to",
         {true,
          [&](const std::string& v) {
              have_to = true;
              return address_into(&o.to)(v);
          }}},
        {"--sessions", {true, unsigned_into(&o.sessions, 1, 100000)}},
        {"--messages", {true, unsigned_into(&o.messages, 1, UINT64_MAX / 2)}},
        {"--duration",
         {true, [&](const std::string& v) { return parse_double(v, 0.001, 1e7, &o.duration_s); }}},
        {"--size", {true, unsigned_into(&o.size_bytes, 1, uint64_t(1) << 30)}},
        {"--eml", {true, text_into(&o.eml_dir)}},
        {"--rcpts", {true, unsigned_into(&o.rcpts, 1, 1000)}},
        {"--pipelining", {false, flag(&o.pipelining)}},
        {"--starttls", {false, flag(&o.starttls)}},
        {"--bdat", {false, flag(&o.bdat)}},
        {"--new-connection-per-message", {false, flag(&o.new_connection_per_message)}},
        {"--rate",
         {true, [&](const std::string& v) { return parse_double(v, 0, 1e9, &o.rate_per_s); }}},
        {"--from-addresses", {true, text_into(&from_list)}},
        {"--threads", {true, unsigned_into(&o.threads, 1, 256)}},
        {"--json", {false, flag(&o.json)}},
        {"--quiet", {false, flag(&o.quiet)}},
        {"--helo", {true, text_into(&o.helo)}},
        {"--mail-from", {true, text_into(&o.mail_from)}},
        {"--rcpt-to", {true, text_into(&o.rcpt_to)}},
        {"--timeout",
         {true, [&](const std::string& v) { return parse_double(v, 0.01, 1e6, &o.timeout_s); }}},
        {"--connect-timeout",
         {true,
          [&](const std::string& v) { return parse_double(v, 0.01, 1e6, &o.connect_timeout_s); }}},
    };
    if (auto r = walk(args, specs, &o.help); !r) return r.error();
    if (o.help) return o;
    // Postfix's smtp_connect_timeout is 30 s, for hosts across the internet; a load target is
    // on the local network, and one that refuses connections for 10 s is down.
    if (o.connect_timeout_s == 0) o.connect_timeout_s = std::min(10.0, o.timeout_s);
    if (!have_to) return base::make_error(base::Errc::invalid, "source needs --to HOST:PORT");
    if (o.messages != 0 && o.duration_s != 0)
        return base::make_error(base::Errc::invalid,
                                "--messages and --duration exclude each other");
    if (o.messages == 0 && o.duration_s == 0) o.messages = 1000;
    if (o.rcpt_to.find('@') == std::string::npos)
        return base::make_error(base::Errc::invalid, "--rcpt-to: want local@domain");
    if (o.threads > o.sessions) o.threads = o.sessions;
    size_t start = 0;
    while (start < from_list.size()) {
        size_t comma = from_list.find(',', start);
        if (comma == std::string::npos) comma = from_list.size();
        auto a = parse_socket_address(from_list.substr(start, comma - start), false);
        if (!a)
            return base::make_error(base::Errc::invalid, "--from-addresses: " + a.error().message);
        o.from_addresses.push_back(*a);
        start = comma + 1;
    }
    return o;
}

base::Result<SinkOptions> parse_sink_options(const std::vector<std::string>& args) {
    SinkOptions o;
    bool have_listen = false;
    std::map<std::string, Spec> specs = {
        {"--listen",
         {true,
          [&](const std::string& v) {
              have_listen = true;
              return address_into(&o.listen)(v);
          }}},
        {"--store", {true, text_into(&o.store_dir)}},
        {"--latency-ms", {true, unsigned_into(&o.latency_ms, 0, 600000)}},
        {"--tempfail", {true, [&](const std::string& v) { return parse_share(v, &o.tempfail); }}},
        {"--permfail", {true, [&](const std::string& v) { return parse_share(v, &o.permfail); }}},
        {"--drop", {true, [&](const std::string& v) { return parse_share(v, &o.drop); }}},
        {"--fail-at",
         {true,
          [&](const std::string& v) {
              if (v != "rcpt" && v != "data") return std::string("want rcpt or data");
              o.fail_at_rcpt = (v == "rcpt");
              return std::string();
          }}},
        {"--max-per-conn", {true, unsigned_into(&o.max_per_conn, 1, UINT64_MAX)}},
        {"--max-conns", {true, unsigned_into(&o.max_conns, 1, 10000000)}},
        {"--threads", {true, unsigned_into(&o.threads, 1, 256)}},
        {"--report-interval",
         {true,
          [&](const std::string& v) { return parse_double(v, 0.01, 1e6, &o.report_interval_s); }}},
        {"--json", {false, flag(&o.json)}},
        {"--tls-cert", {true, text_into(&o.tls_cert)}},
        {"--tls-key", {true, text_into(&o.tls_key)}},
        {"--seed", {true, unsigned_into(&o.seed, 0, UINT64_MAX)}},
        {"--hostname", {true, text_into(&o.hostname)}},
    };
    if (auto r = walk(args, specs, &o.help); !r) return r.error();
    if (o.help) return o;
    if (!have_listen) return base::make_error(base::Errc::invalid, "sink needs --listen HOST:PORT");
    if (o.tls_cert.empty() != o.tls_key.empty())
        return base::make_error(base::Errc::invalid, "--tls-cert and --tls-key go together");
    if (o.tempfail + o.permfail > 1)
        return base::make_error(base::Errc::invalid, "--tempfail + --permfail exceed 1");
    return o;
}

}  // namespace ringmta::bench
