// The ringmta command line (INTERFACE.md): serve, check-config, route, queue, reload, status.
// Exit codes: 0 ok, 1 bad input or config, 2 usage, 3 cannot reach the running instance.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "mta/admin/control_socket.hh"
#include "mta/base/clock.hh"
#include "mta/base/log.hh"
#include "mta/config/config.hh"
#include "mta/server/gateway.hh"
#include "mta/tls/tls_context.hh"
#include "queue/posix_spool_io.hh"
#include "queue/queue_id.hh"
#include "queue/queue_inspect.hh"
#include "queue/queue_listing.hh"
#include "queue/spool_snapshot.hh"
#include "router/route_explain.hh"
#include "router/route_table_build.hh"

namespace {

using namespace ringmta;

constexpr int kExitOk = 0, kExitBadInput = 1, kExitUsage = 2, kExitUnreachable = 3;

const char* const kUsage = R"(usage:
  ringmta [serve] [-c FILE] [--threads N] [--log-format text|json]
                                               run the gateway (foreground; logs to stderr or
                                               log.file; --log-format overrides log.format)
  ringmta check-config [-c FILE]               validate; exit 0, or 1 with one line per error
  ringmta route ADDRESS [--size BYTES] [--json] [-c FILE]
                                               which connector and next hops, and why
  ringmta queue list|summary [--json] [--state S] [--domain D] [--connector NAME] [-c FILE]
  ringmta queue show ID [--json] [-c FILE]     envelope, headers, each recipient's state and
                                               attempt history
  ringmta queue flush [ID | --connector NAME | --domain D] [-c FILE]
  ringmta queue hold|release|delete|bounce ID [-c FILE]
  ringmta reload | status [-c FILE]            talk to the running instance (control socket)
  ringmta --version | --help
Without -c the embedded default configuration is used (listener 127.0.0.1:2525, spool ./spool,
one connector "default" for "*" via 127.0.0.1:2526).
)";

struct Args {
    std::string command = "serve";
    std::string config_path;
    unsigned threads = 0;
    std::string log_format;  // empty: the config's log.format
    bool json = false;
    uint64_t size = 0;
    std::vector<std::string> positional;  // after the command
    std::vector<std::string> passthrough; // filters for queue commands
};

int usage_error(const std::string& why) {
    std::fprintf(stderr, "ringmta: %s\n%s", why.c_str(), kUsage);
    return kExitUsage;
}

bool parse_uint(const char* text, uint64_t* out) {
    if (*text == '\0') return false;
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || text[0] == '-') return false;
    *out = v;
    return true;
}

// Loads and validates the config (including route semantics); prints errors.
bool load(const std::string& path, config::Config* out, std::vector<std::string>* warnings) {
    auto loaded = config::load_config(path);
    if (loaded.errors.empty()) config::check_connector_files(loaded);
    std::vector<std::string> errors = loaded.errors;
    if (errors.empty()) {
        auto built = router::build_route_table(loaded.config.connectors,
                                               loaded.config.accepted_domains, 1);
        for (const auto& e : built.errors) errors.push_back(loaded.config.source + ": " + e);
        if (warnings) {
            *warnings = loaded.warnings;
            for (const auto& w : built.warnings)
                warnings->push_back(loaded.config.source + ": warning: " + w);
        }
        for (size_t i = 0; i < loaded.config.listeners.size(); ++i) {
            const auto& l = loaded.config.listeners[i];
            if (l.tls_cert_file.empty()) continue;
            auto r = tls::TlsContext::check_server_files(l.tls_cert_file, l.tls_key_file);
            if (!r)
                errors.push_back(loaded.config.source + ": listeners[" + std::to_string(i) +
                                 "].tls: " + r.error().message);
        }
    }
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    if (!errors.empty()) return false;
    *out = std::move(loaded.config);
    return true;
}

int cmd_serve(const Args& args) {
    config::Config c;
    std::vector<std::string> warnings;
    if (!load(args.config_path, &c, &warnings)) return kExitBadInput;
    const std::string& format = args.log_format.empty() ? c.log.format : args.log_format;
    base::log_configure(2, format == "json" ? base::LogFormat::json : base::LogFormat::text,
                        base::LogLevel::info);
    base::log_set_burst_max(c.log.burst_max);
    if (!c.log.file.empty()) {
        if (auto r = base::log_open_file(c.log.file); !r) {
            std::fprintf(stderr, "%s: log.file: %s\n", c.source.c_str(), r.error().message.c_str());
            return kExitBadInput;
        }
    }
    for (const auto& w : warnings) MTA_LOG_WARN("%s", w.c_str());
    server::block_signals();
    server::Gateway gateway(std::make_shared<const config::Config>(std::move(c)), args.config_path,
                            args.threads);
    if (auto r = gateway.start(); !r) {
        base::log_report_suppressed(true);
        std::fprintf(stderr, "ringmta: %s\n", r.error().message.c_str());
        return kExitBadInput;
    }
    int rc = gateway.wait();
    base::log_report_suppressed(true);  // counts still waiting for their window to pass
    return rc;
}

int cmd_check_config(const Args& args) {
    config::Config c;
    std::vector<std::string> warnings;
    if (!load(args.config_path, &c, &warnings)) return kExitBadInput;
    for (const auto& w : warnings) std::printf("%s\n", w.c_str());
    std::printf("%s: ok (%zu connectors, %zu accepted domains, %zu listeners)\n", c.source.c_str(),
                c.connectors.size(), c.accepted_domains.size(), c.listeners.size());
    return kExitOk;
}

int cmd_route(const Args& args) {
    if (args.positional.size() != 1) return usage_error("route needs exactly one ADDRESS");
    config::Config c;
    if (!load(args.config_path, &c, nullptr)) return kExitBadInput;
    auto built = router::build_route_table(c.connectors, c.accepted_domains, 1);
    auto explanation = router::explain_route(*built.table, args.positional[0], args.size);
    std::string out = args.json ? router::format_route_json(explanation)
                                : router::format_route_text(explanation);
    std::fwrite(out.data(), 1, out.size(), stdout);
    if (!out.empty() && out.back() != '\n') std::fputc('\n', stdout);
    return explanation.connector.empty() ? kExitBadInput : kExitOk;
}

// The connector each recipient of `m` would take with the configured routes (offline view).
std::vector<std::string> connectors_of(const router::RouteTable& table, const queue::QueuedMessage& m) {
    std::vector<std::string> out;
    for (const auto& r : m.recipients)
        out.push_back(queue::is_final(r.state)
                          ? std::string() : router::explain_route(table, r.address, m.size_bytes).connector);
    return out;
}

// `queue list|summary|show` while the gateway is stopped: read the spool files without
// changing them. Changing the queue needs the running gateway (it owns the spool).
int queue_offline(const config::Config& c, const Args& args) {
    const std::string& verb = args.positional[0];
    if (verb != "list" && verb != "summary" && verb != "show") {
        std::fprintf(stderr, "ringmta: queue %s needs the running gateway, and none answers at %s\n",
                     verb.c_str(), c.server.control_socket.c_str());
        return kExitUnreachable;
    }
    queue::ListFilter filter;
    std::string connector;
    for (size_t i = 0; i + 1 < args.passthrough.size(); i += 2) {
        const std::string& name = args.passthrough[i];
        const std::string& value = args.passthrough[i + 1];
        if (name == "--state") {
            // As the running gateway answers: a summary counts every state already.
            if (verb == "summary") {
                std::fprintf(stderr, "unexpected argument \"--state\"\n");
                return kExitUsage;
            }
            filter.state = queue::parse_recipient_state(value);
            if (!filter.state) return usage_error("unknown state " + value);
        } else if (name == "--domain") {
            filter.domain = value;
        } else if (name == "--connector") {
            connector = value;
        }
    }
    queue::PosixSpoolIo io;
    auto snapshot = queue::SpoolSnapshot::read(io, c.server.spool_dir);
    if (!snapshot) {
        std::fprintf(stderr, "ringmta: %s\n", snapshot.error().message.c_str());
        return kExitBadInput;
    }
    auto built = router::build_route_table(c.connectors, c.accepted_domains, 1);
    if (!built.table) {  // the listing names each message's connector: it needs the routes
        for (const auto& e : built.errors) std::fprintf(stderr, "%s: %s\n", c.source.c_str(), e.c_str());
        return kExitBadInput;
    }
    const auto& table = built.table;
    std::string out;
    if (verb == "show") {
        if (args.positional.size() != 2) return usage_error("queue show needs one queue ID");
        auto id = queue::parse_queue_id(args.positional[1]);
        if (!id) return usage_error("\"" + args.positional[1] + "\" is not a queue id");
        const queue::QueuedMessage* m = snapshot->find(*id);
        if (m == nullptr) {
            std::fprintf(stderr, "%s: no such message in the queue\n", args.positional[1].c_str());
            return kExitBadInput;
        }
        queue::MessageDetail detail;
        detail.entry = *m;
        detail.connectors = connectors_of(*table, *m);
        queue::load_message_record(io, snapshot->shard_of(*id)->dir, detail);
        queue::load_attempt_history(io, snapshot->shard_of(*id)->dir, detail);
        out = args.json ? queue::format_show_json(detail) : queue::format_show_text(detail);
    } else {
        std::vector<const queue::QueuedMessage*> view;
        for (const queue::QueuedMessage* m : snapshot->select(filter)) {
            std::vector<std::string> connectors = connectors_of(*table, *m);
            if (connector.empty() ||
                std::find(connectors.begin(), connectors.end(), connector) != connectors.end())
                view.push_back(m);
        }
        if (verb == "summary") {
            // XXX Agrees with the running gateway's summary but for one thing: recipients
            // waiting for a destination that is down are deferred there and pending here, since
            // the down state is in the gateway's memory only (a restart tries them at once).
            // Postfix journals the suspension ("delivery temporarily suspended" into the
            // deferred queue); doing that would make the two agree.
            queue::QueueSummary summary;
            uint64_t now_us = base::realtime_us();
            for (const queue::QueuedMessage* m : view)
                summary.add_message(*m, connectors_of(*table, *m), now_us);
            out = args.json ? summary.format_json() : summary.format_text();
        } else {
            std::sort(view.begin(), view.end(), [](const auto* a, const auto* b) {
                return a->arrival_us != b->arrival_us ? a->arrival_us < b->arrival_us
                                                      : a->queue_id < b->queue_id;
            });
            out = args.json ? queue::format_listing_json(view) : queue::format_listing_text(view);
        }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
}

int cmd_control(const Args& args) {
    config::Config c;
    if (args.command == "reload") {
        // Checked here first as check-config would, so the errors are printed where the
        // operator typed the command; the gateway checks again (SIGHUP reaches only it).
        if (!load(args.config_path, &c, nullptr)) {
            std::fprintf(stderr, "ringmta: reload refused: the configuration has errors; the "
                                 "running gateway keeps the configuration it has\n");
            return kExitBadInput;
        }
    } else {
        // status and queue need only the control socket's path: a file whose routes or
        // certificates are broken (say, mid-edit) must not lock the operator out.
        auto loaded = config::load_config(args.config_path);
        for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
        if (!loaded.errors.empty()) return kExitBadInput;
        c = std::move(loaded.config);
    }
    std::vector<std::string> words = {args.command};
    for (const auto& p : args.positional) words.push_back(p);
    if (args.json) words.push_back("--json");
    for (const auto& p : args.passthrough) words.push_back(p);
    auto reply = admin::control_request(c.server.control_socket, words);
    if (!reply) {
        if (args.command == "queue" && reply.error().code == base::Errc::unavailable)
            return queue_offline(c, args);
        std::fprintf(stderr, "ringmta: %s\n", reply.error().message.c_str());
        return kExitUnreachable;
    }
    std::fwrite(reply->output.data(), 1, reply->output.size(),
                reply->exit_code == 0 ? stdout : stderr);
    return reply->exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    Args args;
    int i = 1;
    if (i < argc && argv[i][0] != '-') args.command = argv[i++];
    for (; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) return nullptr;
            (void)name;
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return kExitOk;
        } else if (a == "--version") {
            std::printf("ringmta %s\n", RINGMTA_VERSION);
            return kExitOk;
        } else if (a == "-c" || a == "--config") {
            const char* v = value("-c");
            if (!v) return usage_error("-c needs a FILE");
            args.config_path = v;
        } else if (a == "--threads") {
            const char* v = value("--threads");
            uint64_t n = 0;
            if (!v || !parse_uint(v, &n) || n == 0 || n > 256)
                return usage_error("--threads needs a number from 1 to 256");
            args.threads = unsigned(n);
        } else if (a == "--log-format") {
            const char* v = value("--log-format");
            if (!v || (std::strcmp(v, "text") != 0 && std::strcmp(v, "json") != 0))
                return usage_error("--log-format needs text or json");
            args.log_format = v;
        } else if (a == "--json") {
            args.json = true;
        } else if (a == "--size") {
            const char* v = value("--size");
            if (!v || !parse_uint(v, &args.size)) return usage_error("--size needs BYTES");
        } else if (a == "--state" || a == "--domain" || a == "--connector") {
            const char* v = value(a.c_str());
            if (!v) return usage_error(a + " needs a value");
            args.passthrough.push_back(a);
            args.passthrough.push_back(v);
        } else if (!a.empty() && a[0] == '-') {
            return usage_error("unknown option " + a);
        } else {
            args.positional.push_back(a);
        }
    }
    if (args.command == "serve") {
        if (!args.positional.empty()) return usage_error("serve takes no arguments");
        return cmd_serve(args);
    }
    if (args.command == "check-config") return cmd_check_config(args);
    if (args.command == "route") return cmd_route(args);
    if (args.command == "queue") {
        if (args.positional.empty()) return usage_error("queue needs a subcommand");
        return cmd_control(args);
    }
    if (args.command == "reload" || args.command == "status") return cmd_control(args);
    return usage_error("unknown command " + args.command);
}
