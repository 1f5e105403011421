// ringmta-bench option parsing: the INTERFACE.md forms, defaults, --help, and the usage errors.
#include "bench/load/bench_options.hh"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace ringmta::bench {
namespace {

TEST(BenchOptions, SourceFullForm) {
    auto o = parse_source_options({"--to", "127.0.0.1:2525", "--sessions", "50", "--duration",
                                   "2.5", "--eml", "/x", "--rcpts", "3", "--pipelining",
                                   "--starttls", "--bdat", "--rate=1000", "--from-addresses",
                                   "127.0.0.2,127.0.0.3", "--threads", "2", "--json"});
    ASSERT_TRUE(o.has_value()) << o.error().message;
    EXPECT_EQ(o->to.text, "127.0.0.1:2525");
    EXPECT_EQ(o->sessions, 50u);
    EXPECT_EQ(o->messages, 0u);
    EXPECT_DOUBLE_EQ(o->duration_s, 2.5);
    EXPECT_EQ(o->rcpts, 3u);
    EXPECT_TRUE(o->pipelining && o->starttls && o->bdat && o->json);
    EXPECT_DOUBLE_EQ(o->rate_per_s, 1000);
    ASSERT_EQ(o->from_addresses.size(), 2u);
    EXPECT_EQ(o->from_addresses[1].text, "127.0.0.3");
    EXPECT_EQ(o->threads, 2u);
}

TEST(BenchOptions, SourceDefaults) {
    auto o = parse_source_options({"--to", "[::1]:25"});
    ASSERT_TRUE(o.has_value()) << o.error().message;
    EXPECT_EQ(o->messages, 1000u) << "neither --messages nor --duration: 1000 messages";
    EXPECT_EQ(o->sessions, 10u);
    EXPECT_EQ(o->size_bytes, 1024u);
    EXPECT_EQ(o->to.storage.ss_family, AF_INET6);
}

TEST(BenchOptions, SinkForm) {
    auto o =
        parse_sink_options({"--listen", "127.0.0.1:2526", "--store", "/tmp/s", "--latency-ms", "5",
                            "--tempfail", "5%", "--permfail", "0.01", "--drop", "0",
                            "--max-per-conn", "100", "--max-conns", "10", "--fail-at", "rcpt"});
    ASSERT_TRUE(o.has_value()) << o.error().message;
    EXPECT_DOUBLE_EQ(o->tempfail, 0.05);
    EXPECT_DOUBLE_EQ(o->permfail, 0.01);
    EXPECT_EQ(o->max_per_conn, 100u);
    EXPECT_EQ(o->max_conns, 10u);
    EXPECT_TRUE(o->fail_at_rcpt);
    EXPECT_EQ(o->latency_ms, 5u);
}

TEST(BenchOptions, ConnectTimeoutDefault) {
    struct Case {
        const char* label;
        std::vector<std::string> args;
        double want_s;
    };
    const Case cases[] = {
        {"default", {"--to", "127.0.0.1:1"}, 10},
        {"shorter --timeout", {"--to", "127.0.0.1:1", "--timeout", "0.5"}, 0.5},
        {"longer --timeout", {"--to", "127.0.0.1:1", "--timeout", "60"}, 10},
        {"given", {"--to", "127.0.0.1:1", "--connect-timeout", "2", "--timeout", "1"}, 2},
    };
    for (const Case& c : cases) {
        auto o = parse_source_options(c.args);
        ASSERT_TRUE(o.has_value()) << c.label << ": " << o.error().message;
        EXPECT_DOUBLE_EQ(o->connect_timeout_s, c.want_s) << c.label;
    }
}

// --help wins over the checks that would make the same line a usage error (no --to, no
// --listen, an unknown option after it); an error before it is still an error.
TEST(BenchOptions, Help) {
    struct Case {
        const char* label;
        bool source;
        std::vector<std::string> args;
        bool want_help;
    };
    const Case cases[] = {
        {"source --help", true, {"--help"}, true},
        {"source -h", true, {"-h"}, true},
        {"source after options", true, {"--to", "127.0.0.1:1", "--sessions", "2", "--help"}, true},
        {"source before a bad option", true, {"--help", "--bogus"}, true},
        {"source value named --help", true, {"--to", "127.0.0.1:1", "--helo", "--help"}, false},
        {"sink --help", false, {"--help"}, true},
        {"sink -h", false, {"-h"}, true},
        {"sink after options", false, {"--listen", "127.0.0.1:1", "--help"}, true},
        {"sink without", false, {"--listen", "127.0.0.1:1"}, false},
    };
    for (const Case& c : cases) {
        bool help = false;
        if (c.source) {
            auto o = parse_source_options(c.args);
            ASSERT_TRUE(o.has_value()) << c.label << ": " << o.error().message;
            help = o->help;
        } else {
            auto o = parse_sink_options(c.args);
            ASSERT_TRUE(o.has_value()) << c.label << ": " << o.error().message;
            help = o->help;
        }
        EXPECT_EQ(help, c.want_help) << c.label;
    }
    auto bad_first = parse_source_options({"--bogus", "--help"});
    ASSERT_FALSE(bad_first.has_value());
    EXPECT_EQ(bad_first.error().message, "unknown option --bogus");
}

// Every option of the short usage is explained in its subcommand's help, and every option the
// help explains is one the parser takes.
TEST(BenchOptions, HelpExplainsEveryOption) {
    std::string usage = bench_usage();
    size_t sink_at = usage.find("ringmta-bench sink");
    ASSERT_NE(sink_at, std::string::npos);
    const std::regex option("--[a-z][a-z-]*");
    struct Part {
        const char* label;
        std::string usage;
        std::string help;
        bool source;
    };
    const Part parts[] = {
        {"source", usage.substr(0, sink_at), source_help(), true},
        {"sink", usage.substr(sink_at), sink_help(), false},
    };
    for (const Part& p : parts) {
        size_t seen = 0;
        for (std::sregex_iterator it(p.usage.begin(), p.usage.end(), option), end; it != end;
             ++it) {
            std::string name = it->str();
            if (name == "--help") continue;
            ++seen;
            EXPECT_NE(p.help.find(" " + name + " "), std::string::npos)
                << p.label << " help does not explain " << name;
        }
        EXPECT_GT(seen, 15u) << p.label;
        for (std::sregex_iterator it(p.help.begin(), p.help.end(), option), end; it != end;
             ++it) {
            std::string name = it->str();
            std::vector<std::string> args = {p.source ? "--to" : "--listen", "127.0.0.1:1", name};
            std::string error;
            if (p.source) {
                if (auto o = parse_source_options(args); !o) error = o.error().message;
            } else {
                if (auto o = parse_sink_options(args); !o) error = o.error().message;
            }
            EXPECT_NE(error, "unknown option " + name)
                << p.label << " help names " << name << ", which the parser does not take";
        }
    }
}

TEST(BenchOptions, UsageErrors) {
    struct Case {
        const char* label;
        bool source;
        std::vector<std::string> args;
        std::string want_in_error;
    };
    const Case cases[] = {
        {"no --to", true, {"--sessions", "2"}, "--to"},
        {"both modes",
         true,
         {"--to", "127.0.0.1:1", "--messages", "1", "--duration", "1"},
         "exclude"},
        {"port 0", true, {"--to", "127.0.0.1:0"}, "port"},
        {"host name", true, {"--to", "example.com:25"}, "numeric"},
        {"zero sessions", true, {"--to", "127.0.0.1:1", "--sessions", "0"}, "--sessions"},
        {"unknown", true, {"--to", "127.0.0.1:1", "--bogus"}, "unknown option --bogus"},
        {"missing value", true, {"--to"}, "needs a value"},
        {"share above 1", false, {"--listen", "127.0.0.1:1", "--tempfail", "1.5"}, "--tempfail"},
        {"shares sum above 1",
         false,
         {"--listen", "127.0.0.1:1", "--tempfail", "0.6", "--permfail", "0.6"},
         "exceed"},
        {"cert without key", false, {"--listen", "127.0.0.1:1", "--tls-cert", "c"}, "together"},
        {"fail-at", false, {"--listen", "127.0.0.1:1", "--fail-at", "mail"}, "rcpt or data"},
    };
    for (const Case& c : cases) {
        std::string error;
        if (c.source) {
            auto o = parse_source_options(c.args);
            ASSERT_FALSE(o.has_value()) << c.label;
            error = o.error().message;
        } else {
            auto o = parse_sink_options(c.args);
            ASSERT_FALSE(o.has_value()) << c.label;
            error = o.error().message;
        }
        EXPECT_NE(error.find(c.want_in_error), std::string::npos)
            << c.label << ": got '" << error << "', want it to mention '" << c.want_in_error << "'";
    }
}

}  // namespace
}  // namespace ringmta::bench
