// format_prometheus: the exact text for one snapshot (tests/admin/metrics_golden.prom, every
// field a distinct value so a swapped field shows), label and HELP escaping, cumulative
// histogram buckets ending in +Inf, queue rows merged and sorted, and a structural check that
// every sample follows its family's HELP and TYPE lines.
#include "mta/admin/metrics.hh"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace ringmta::admin {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// Every field distinct, so a value printed under the wrong name cannot match by accident.
MetricsSnapshot sample_snapshot() {
    MetricsSnapshot s;
    s.version = "0.1.0";
    s.shards = 2;
    s.shards_running = 2;
    s.route_table_generation = 3;
    s.memory_buffered_bytes = 4096;
    ShardMetrics& t = s.totals;
    t.connections_open = 5;
    t.connections_accepted = 101;
    t.messages_accepted = 1000;
    t.bytes_accepted = 2048000;
    for (size_t i = 0; i < kRejectReasonCount; ++i) t.messages_rejected[i] = 10 + i;
    t.recipients_delivered = 1200;
    t.recipients_deferred = 30;
    t.recipients_bounced = 7;
    t.dsn_sent = 6;
    t.queue_messages = 42;
    s.connectors = {"partners", "idle", "to-pgp"};  // "idle": nothing queued, every state at 0
    t.queue_depth = {{"to-pgp", "ready", 12},
                     {"partners", "deferred", 8},
                     {"to-pgp", "deferred", 4},
                     {"partners", "in_flight", 1}};
    t.spool_commits = 250;
    t.spool_messages_committed = 1006;
    t.spool_bytes_written = 2100000;
    t.spool_commit_failures = 1;
    t.spool_bytes = 67108864;
    t.pool_connections_open = 9;
    t.pool_connections_idle = 3;
    t.pool_connections_opened = 20;
    t.pool_connections_reused = 980;
    t.dns_lookups = 17;
    t.dns_cache_hits = 170;
    for (uint64_t us : {400, 800, 3000, 3000, 12'000'000}) t.accept_latency_us.observe(us);
    for (uint64_t us : {20'000ull, 700'000ull, 7'200'000'000ull}) t.delivery_latency_us.observe(us);
    return s;
}

TEST(FormatPrometheus, GoldenOutput) {
    std::string path = std::string(ADMIN_TEST_DATA_DIR) + "/metrics_golden.prom";
    std::ifstream file(path);
    ASSERT_TRUE(file) << "cannot read " << path;
    std::stringstream want;
    want << file.rdbuf();
    std::string got = format_prometheus(sample_snapshot());
    std::vector<std::string> g = lines_of(got), w = lines_of(want.str());
    for (size_t i = 0; i < std::min(g.size(), w.size()); ++i)
        ASSERT_EQ(g[i], w[i]) << "line " << i + 1 << ": got\n  " << g[i] << "\nwant\n  " << w[i];
    EXPECT_EQ(g.size(), w.size()) << "got " << g.size() << " lines, want " << w.size();
    EXPECT_EQ(got.back(), '\n') << "the exposition must end with a newline";
}

TEST(EscapeLabelValue, Table) {
    struct Case {
        std::string in, want;
    };
    const Case cases[] = {
        {"plain", "plain"},
        {"a\"b", "a\\\"b"},
        {"back\\slash", "back\\\\slash"},
        {"two\nlines", "two\\nlines"},
        {"\\\"\n", "\\\\\\\"\\n"},
        {"tab\tand utf-8 é", "tab\tand utf-8 é"},
        {"", ""},
    };
    for (const Case& c : cases)
        EXPECT_EQ(escape_label_value(c.in), c.want)
            << "in " << c.in << ": got " << escape_label_value(c.in) << ", want " << c.want;
}

TEST(EscapeHelp, QuotesStayAndBackslashNewlineEscape) {
    EXPECT_EQ(escape_help("say \"hi\"\\now\nplease"), "say \"hi\"\\\\now\\nplease");
}

TEST(FormatPrometheus, LabelValuesEscapedInOutput) {
    MetricsSnapshot s;
    s.version = "1.0 \"beta\"";
    s.totals.queue_depth = {{"odd\"name\\with\nnewline", "ready", 3}};
    std::string text = format_prometheus(s);
    for (const char* want : {"ringmta_build_info{version=\"1.0 \\\"beta\\\"\"} 1\n",
                             "ringmta_queue_recipients{connector=\"odd\\\"name\\\\with\\nnewline\","
                             "state=\"ready\"} 3\n"})
        EXPECT_NE(text.find(want), std::string::npos) << "want line " << want;
}

TEST(FormatPrometheus, HistogramBucketsCumulativeEndingInInf) {
    MetricsSnapshot s;
    for (uint64_t us : {100, 100, 7'000, 60'000, 99'000'000})
        s.totals.accept_latency_us.observe(us);
    std::string text = format_prometheus(s);
    const std::string prefix = "ringmta_accept_latency_seconds_bucket{le=\"";
    uint64_t previous = 0;
    std::vector<std::string> les;
    for (const std::string& line : lines_of(text)) {
        if (line.rfind(prefix, 0) != 0) continue;
        size_t close = line.find("\"} ", prefix.size());
        ASSERT_NE(close, std::string::npos) << line;
        std::string le = line.substr(prefix.size(), close - prefix.size());
        uint64_t v = std::stoull(line.substr(close + 3));
        EXPECT_GE(v, previous) << "bucket le=" << le << " got " << v << ", below previous "
                               << previous;
        previous = v;
        les.push_back(le);
    }
    ASSERT_EQ(les.size(), kAcceptLatencyBoundsUs.size() + 1);
    EXPECT_EQ(les.front(), "0.0005");
    EXPECT_EQ(les.back(), "+Inf");
    EXPECT_EQ(previous, 5u) << "+Inf bucket got " << previous << ", want the count 5";
    for (const char* want : {"ringmta_accept_latency_seconds_bucket{le=\"0.01\"} 3\n",
                             "ringmta_accept_latency_seconds_bucket{le=\"10\"} 4\n",
                             "ringmta_accept_latency_seconds_sum 99.0672\n",
                             "ringmta_accept_latency_seconds_count 5\n"})
        EXPECT_NE(text.find(want), std::string::npos) << "want line " << want << "in\n" << text;
}

bool is_metric_name(std::string_view n) {
    if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
    for (char c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
    return true;
}

// One sample line: name, optional {label="value",...} with escaped values, a space, a number.
// Returns what is wrong, or "" for a well-formed line; `name` gets the metric name.
std::string check_sample(const std::string& line, std::string* name) {
    size_t end = line.find_first_of("{ ");
    if (end == std::string::npos) return "no value";
    *name = line.substr(0, end);
    if (!is_metric_name(*name)) return "bad metric name";
    size_t pos = end;
    if (line[pos] == '{') {
        ++pos;
        while (line[pos] != '}') {
            size_t eq = line.find("=\"", pos);
            if (eq == std::string::npos || !is_metric_name(line.substr(pos, eq - pos)))
                return "bad label name";
            pos = eq + 2;
            while (pos < line.size() && line[pos] != '"') {
                if (line[pos] == '\\' &&
                    (pos + 1 >= line.size() ||
                     std::string("\\\"n").find(line[pos + 1]) == std::string::npos))
                    return "bad escape in a label value";
                pos += line[pos] == '\\' ? 2 : 1;
            }
            if (pos >= line.size()) return "unterminated label value";
            ++pos;
            if (line[pos] == ',') ++pos;
        }
        ++pos;
    }
    if (pos >= line.size() || line[pos] != ' ') return "no space before the value";
    std::string value = line.substr(pos + 1);
    char* parsed_end = nullptr;
    std::strtod(value.c_str(), &parsed_end);
    if (value.empty() || *parsed_end != '\0') return "value is not a number";
    return "";
}

// Families: HELP then TYPE then samples whose names belong to the family; names and values
// well formed; no family twice; every reject reason present even at zero.
TEST(FormatPrometheus, StructureIsValidExposition) {
    MetricsSnapshot s = sample_snapshot();
    s.totals.queue_depth.push_back({"a\"b\\c\nd", "ready", 1});
    std::string family, family_type, pending_help;
    std::set<std::string> seen;
    int reasons = 0;
    for (const std::string& line : lines_of(format_prometheus(s))) {
        if (line.rfind("# HELP ", 0) == 0) {
            pending_help = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(is_metric_name(pending_help)) << line;
            EXPECT_TRUE(seen.insert(pending_help).second) << "family twice: " << pending_help;
        } else if (line.rfind("# TYPE ", 0) == 0) {
            size_t sp = line.find(' ', 7);
            family = line.substr(7, sp - 7);
            family_type = line.substr(sp + 1);
            EXPECT_EQ(family, pending_help) << "TYPE without its HELP: " << line;
            EXPECT_TRUE(family_type == "counter" || family_type == "gauge" ||
                        family_type == "histogram")
                << line;
            EXPECT_EQ(family_type == "counter", family.ends_with("_total")) << line;
        } else {
            std::string name;
            std::string wrong = check_sample(line, &name);
            EXPECT_EQ(wrong, "") << "not an exposition line: " << line;
            bool ok = name == family || (family_type == "histogram" &&
                                         (name == family + "_bucket" || name == family + "_sum" ||
                                          name == family + "_count"));
            EXPECT_TRUE(ok) << "sample " << name << " under family " << family;
            if (name == "ringmta_messages_rejected_total") ++reasons;
        }
    }
    EXPECT_EQ(reasons, int(kRejectReasonCount));
}

TEST(CheckSample, CatchesMalformedLines) {
    const char* bad[] = {
        "1abc 3", "x{le=\"1} 2", "x{le=\"a\\qb\"} 1", "x 1 2", "x{a=\"b\"}1", "x{9=\"b\"} 1", "x"};
    for (const char* line : bad) {
        std::string name;
        EXPECT_NE(check_sample(line, &name), "") << "accepted " << line;
    }
    std::string name;
    EXPECT_EQ(check_sample("x_bucket{le=\"+Inf\",c=\"q\\\"\\n\"} 7", &name), "");
    EXPECT_EQ(name, "x_bucket");
}

TEST(ShardMetrics, AddSumsCountersHistogramsAndQueueRows) {
    ShardMetrics a, b;
    a.connections_open = 1;
    b.connections_open = 2;
    a.messages_rejected[size_t(RejectReason::relay_denied)] = 4;
    b.messages_rejected[size_t(RejectReason::relay_denied)] = 5;
    b.messages_rejected[size_t(RejectReason::storage)] = 1;
    a.spool_commits = 10;
    b.spool_commits = 20;
    a.dns_cache_hits = 7;
    b.pool_connections_reused = 8;
    a.queue_depth = {{"x", "ready", 1}, {"y", "ready", 2}};
    b.queue_depth = {{"y", "ready", 3}, {"x", "deferred", 4}};
    a.accept_latency_us.observe(100);
    b.accept_latency_us.observe(200);
    b.delivery_latency_us.observe(1);
    a.add(b);
    EXPECT_EQ(a.connections_open, 3u);
    EXPECT_EQ(a.messages_rejected[size_t(RejectReason::relay_denied)], 9u);
    EXPECT_EQ(a.messages_rejected[size_t(RejectReason::storage)], 1u);
    EXPECT_EQ(a.spool_commits, 30u);
    EXPECT_EQ(a.dns_cache_hits, 7u);
    EXPECT_EQ(a.pool_connections_reused, 8u);
    EXPECT_EQ(a.accept_latency_us.count(), 2u);
    EXPECT_EQ(a.accept_latency_us.sum(), 300u);
    EXPECT_EQ(a.delivery_latency_us.count(), 1u);
    std::map<std::pair<std::string, std::string>, uint64_t> rows;
    for (const QueueDepth& d : a.queue_depth) {
        EXPECT_TRUE(rows.emplace(std::make_pair(d.connector, d.state), d.recipients).second)
            << "row twice: " << d.connector << "/" << d.state;
    }
    std::map<std::pair<std::string, std::string>, uint64_t> want = {
        {{"x", "ready"}, 1}, {{"y", "ready"}, 5}, {{"x", "deferred"}, 4}};
    EXPECT_EQ(rows, want);
}

TEST(RejectReason, NamesAreLabelValues) {
    const char* want[] = {"relay_denied", "size",   "recipients", "bare_newline",
                          "line_length",  "policy", "storage",    "other"};
    ASSERT_EQ(std::size(want), kRejectReasonCount);
    for (size_t i = 0; i < kRejectReasonCount; ++i)
        EXPECT_STREQ(reject_reason_name(RejectReason(i)), want[i]) << "reason " << i;
}

}  // namespace
}  // namespace ringmta::admin
