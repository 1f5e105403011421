// Log lines as a pipeline reads them (exact text and JSON, every JSON line parsed back), the
// per-call-site rate limit on a fake clock, and reopening the file after a rename.
#include "mta/base/log.hh"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace ringmta::base;

std::atomic<uint64_t> g_now_us{1'700'000'000'123'456};  // 2023-11-14T22:13:20.123Z
uint64_t fake_clock() { return g_now_us.load(); }
void set_second(uint64_t s) { g_now_us = s * 1'000'000 + 500'000; }

class LogTest : public ::testing::Test {
protected:
    void SetUp() override {
        file_ = std::tmpfile();
        ASSERT_NE(file_, nullptr);
        g_now_us = 1'700'000'000'123'456;
        log_configure(fileno(file_), LogFormat::json, LogLevel::info);
        log_set_clock(&fake_clock);
        log_set_burst_max(100);
    }
    void TearDown() override {
        log_report_suppressed(true);  // leaves no count behind for the next test
        log_configure(2, LogFormat::text, LogLevel::info);
        log_set_clock(nullptr);
        log_set_burst_max(100);
        std::fclose(file_);
    }

    // Every line written so far (without the newline); each call returns only new lines.
    std::vector<std::string> lines() {
        struct stat st;
        fstat(fileno(file_), &st);
        std::string all(size_t(st.st_size) - read_, '\0');
        ssize_t n = pread(fileno(file_), all.data(), all.size(), off_t(read_));
        EXPECT_EQ(size_t(n), all.size());
        read_ += all.size();
        std::vector<std::string> out;
        size_t pos = 0;
        while (pos < all.size()) {
            size_t end = all.find('\n', pos);
            EXPECT_NE(end, std::string::npos) << "a line without its newline: " << all.substr(pos);
            if (end == std::string::npos) break;
            out.push_back(all.substr(pos, end - pos));
            pos = end + 1;
        }
        return out;
    }

    std::string pid_text() const { return std::to_string(getpid()); }

    FILE* file_ = nullptr;
    size_t read_ = 0;
};

// Parses one line as a JSON object; fails the test if it is not one.
simdjson::dom::object parse(simdjson::dom::parser& parser, const std::string& line) {
    simdjson::dom::object obj;
    auto error = parser.parse(line).get(obj);
    EXPECT_EQ(error, simdjson::SUCCESS) << "not a JSON object: " << line;
    return obj;
}

std::string field(simdjson::dom::object obj, const char* key) {
    std::string_view v;
    if (obj[key].get(v) != simdjson::SUCCESS) return "<missing>";
    return std::string(v);
}

TEST_F(LogTest, JsonEventHasQueueIdAndEventFields) {
    MTA_LOG_EVENT("0005F3A1B2C3D401", "delivered",
                  "to=<%s>, relay=%s, delay=%.2f, dsn=2.0.0, status=sent (250 ok)", "a@b",
                  "host[127.0.0.1]:25", 0.12);
    auto got = lines();
    ASSERT_EQ(got.size(), 1u);
    std::string want = "{\"time\":\"2023-11-14T22:13:20.123Z\",\"level\":\"info\",\"pid\":" +
                       pid_text() +
                       ",\"queue_id\":\"0005F3A1B2C3D401\",\"event\":\"delivered\",\"message\":"
                       "\"to=<a@b>, relay=host[127.0.0.1]:25, delay=0.12, dsn=2.0.0, status=sent "
                       "(250 ok)\"}";
    EXPECT_EQ(got[0], want) << "got " << got[0] << "\nwant " << want;
    simdjson::dom::parser parser;
    auto obj = parse(parser, got[0]);
    EXPECT_EQ(field(obj, "queue_id"), "0005F3A1B2C3D401");
    EXPECT_EQ(field(obj, "event"), "delivered");
    int64_t pid = 0;
    EXPECT_EQ(obj["pid"].get(pid), simdjson::SUCCESS);
    EXPECT_EQ(pid, getpid());
}

TEST_F(LogTest, JsonPlainLineAndEventWithoutQueueIdOmitThoseFields) {
    MTA_LOG_INFO("ringmta started: %u shards", 2u);
    MTA_LOG_EVENT({}, "connect", "connect from [%s]", "192.0.2.1");
    auto got = lines();
    ASSERT_EQ(got.size(), 2u);
    simdjson::dom::parser parser;
    auto plain = parse(parser, got[0]);
    EXPECT_EQ(field(plain, "queue_id"), "<missing>");
    EXPECT_EQ(field(plain, "event"), "<missing>");
    EXPECT_EQ(field(plain, "message"), "ringmta started: 2 shards");
    auto connect = parse(parser, got[1]);
    EXPECT_EQ(field(connect, "queue_id"), "<missing>");
    EXPECT_EQ(field(connect, "event"), "connect");
    EXPECT_EQ(field(connect, "message"), "connect from [192.0.2.1]");
}

TEST_F(LogTest, JsonEscapesQuotesControlCharactersAndInvalidUtf8) {
    struct Case {
        const char* label;
        std::string input;
        std::string want_escaped;  // as it appears between the quotes
        std::string want_decoded;  // what a JSON parser gives back
    };
    const Case cases[] = {
        {"quote and backslash", "say \"hi\" \\o/", "say \\\"hi\\\" \\\\o/", "say \"hi\" \\o/"},
        {"CR LF tab", "a\r\nb\tc", "a\\u000d\\u000ab\\u0009c", "a\r\nb\tc"},
        {"other controls", std::string("\x01\x1f\x7f", 3), "\\u0001\\u001f\\u007f",
         std::string("\x01\x1f\x7f", 3)},
        {"valid UTF-8 kept", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"stray byte", "a\xff" "b", "a\\ufffdb", "a\xef\xbf\xbd" "b"},
        {"lone continuation", "\x80", "\\ufffd", "\xef\xbf\xbd"},
        {"truncated sequence", "\xe2\x82", "\\ufffd\\ufffd", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"overlong slash", "\xc0\xaf", "\\ufffd\\ufffd", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"surrogate", "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd",
         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"above U+10FFFF", "\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd",
         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    };
    simdjson::dom::parser parser;
    for (const auto& c : cases) {
        MTA_LOG_EVENT("0005F3A1B2C3D401", "queued", "from=<%s>", c.input.c_str());
        auto got = lines();
        ASSERT_EQ(got.size(), 1u) << c.label;
        std::string want = "\"message\":\"from=<" + c.want_escaped + ">\"}";
        EXPECT_NE(got[0].find(want), std::string::npos)
            << c.label << ": got " << got[0] << ", want it to end " << want;
        auto obj = parse(parser, got[0]);
        EXPECT_EQ(field(obj, "message"), "from=<" + c.want_decoded + ">") << c.label;
    }
}

TEST_F(LogTest, JsonLineCutShortStaysValid) {
    // Every byte becomes a six-byte escape: far more than a line holds.
    std::string controls(2000, '\x01');
    MTA_LOG_EVENT("0005F3A1B2C3D401", "queued", "%s", controls.c_str());
    auto got = lines();
    ASSERT_EQ(got.size(), 1u);
    simdjson::dom::parser parser;
    auto obj = parse(parser, got[0]);
    EXPECT_EQ(field(obj, "event"), "queued");
    EXPECT_GT(field(obj, "message").size(), 500u);
}

TEST_F(LogTest, TextIsPostfixStyle) {
    log_configure(fileno(file_), LogFormat::text, LogLevel::info);
    MTA_LOG_EVENT("0005F3A1B2C3D401", "queued", "client=[%s], from=<%s>, nrcpt=1, size=%d, queued",
                  "127.0.0.1", "a@b", 300);
    MTA_LOG_WARN("shard %u: accept: %s", 1u, "Too many open files");
    MTA_LOG_EVENT("0005F3A1B2C3D401", "bounced", "to=<%s>, status=bounced (%s)", "x@y",
                  "550 no\r\n2023-01-01T00:00:00.000Z ringmta[1]: forged");
    auto got = lines();
    ASSERT_EQ(got.size(), 3u);
    std::string prefix = "2023-11-14T22:13:20.123Z ringmta[" + pid_text() + "]: ";
    const std::string want[] = {
        prefix + "0005F3A1B2C3D401: client=[127.0.0.1], from=<a@b>, nrcpt=1, size=300, queued",
        prefix + "warning: shard 1: accept: Too many open files",
        // A CR or LF from the network cannot start a line of its own.
        prefix + "0005F3A1B2C3D401: to=<x@y>, status=bounced (550 no??2023-01-01T00:00:00.000Z "
                 "ringmta[1]: forged)",
    };
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(got[i], want[i]) << "line " << i;
}

TEST_F(LogTest, TimestampFollowsTheClock) {
    log_configure(fileno(file_), LogFormat::text, LogLevel::info);
    g_now_us = 1'700'000'000'999'000;
    MTA_LOG_INFO("a");
    g_now_us = 1'700'000'001'007'000;  // next second: the cached date must be redone
    MTA_LOG_INFO("b");
    g_now_us = 1'704'067'199'000'000;  // 2023-12-31T23:59:59
    MTA_LOG_INFO("c");
    auto got = lines();
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].substr(0, 24), "2023-11-14T22:13:20.999Z");
    EXPECT_EQ(got[1].substr(0, 24), "2023-11-14T22:13:21.007Z");
    EXPECT_EQ(got[2].substr(0, 24), "2023-12-31T23:59:59.000Z");
}

// ---------------------------------------------------------------- the rate limit

TEST(LogSite, WindowAdmitsBurstThenCountsAndReportsOnce) {
    LogSite site(LogLevel::warning, "connect to %s: refused");
    struct Step {
        const char* label;
        uint64_t now_s;
        bool want_admitted;
        uint64_t want_passed;  // suppressed count handed over by this call
    };
    const Step steps[] = {
        {"1st in window 10", 10, true, 0},  {"2nd", 10, true, 0},
        {"3rd", 10, true, 0},               {"4th: over the burst", 10, false, 0},
        {"5th", 10, false, 0},              {"new window reports 2", 11, true, 2},
        {"same window", 11, true, 0},       {"window 12: nothing held back", 12, true, 0},
        {"clock stepped back", 9, true, 0},
    };
    for (const auto& s : steps) {
        uint64_t passed = 99;
        bool admitted = site.admit(s.now_s, 3, &passed);
        EXPECT_EQ(admitted, s.want_admitted) << s.label;
        EXPECT_EQ(passed, s.want_passed) << s.label;
    }
}

TEST(LogSite, TakeSuppressedWaitsForTheWindowToPass) {
    LogSite site(LogLevel::error, "spool: %s");
    uint64_t passed = 0;
    for (int i = 0; i < 10; ++i) (void)site.admit(50, 4, &passed);
    EXPECT_EQ(site.take_suppressed(50), 0u) << "window 50 still open";
    EXPECT_EQ(site.take_suppressed(51), 6u);
    EXPECT_EQ(site.take_suppressed(52), 0u) << "counted once";
    for (int i = 0; i < 10; ++i) (void)site.admit(60, 4, &passed);
    EXPECT_EQ(site.take_suppressed(UINT64_MAX), 6u) << "at exit, open windows too";
    EXPECT_TRUE(site.admit(61, 4, &passed));
    EXPECT_EQ(passed, 0u) << "already reported at exit";
}

TEST_F(LogTest, BurstOfWarningsIsLimitedAndReported) {
    log_set_burst_max(5);
    set_second(100);
    for (int i = 0; i < 20; ++i) MTA_LOG_WARN("connect to %s: Connection refused", "192.0.2.9");
    auto got = lines();
    EXPECT_EQ(got.size(), 5u) << "burst_max lines in the window";
    log_report_suppressed();
    EXPECT_EQ(lines().size(), 0u) << "the window has not passed";

    set_second(101);
    log_report_suppressed();
    got = lines();
    ASSERT_EQ(got.size(), 1u);
    simdjson::dom::parser parser;
    auto obj = parse(parser, got[0]);
    EXPECT_EQ(field(obj, "level"), "warning");
    EXPECT_EQ(field(obj, "event"), "suppressed");
    EXPECT_EQ(field(obj, "message"),
              "15 similar messages suppressed: connect to %s: Connection refused");
    uint64_t n = 0;
    EXPECT_EQ(obj["suppressed"].get(n), simdjson::SUCCESS);
    EXPECT_EQ(n, 15u);
}

TEST_F(LogTest, NextWindowReportsBeforeItsFirstLine) {
    log_configure(fileno(file_), LogFormat::text, LogLevel::info);
    log_set_burst_max(2);
    // One call site: 7 calls in second 200, then one in second 201.
    for (int i = 0; i < 8; ++i) {
        set_second(i < 7 ? 200 : 201);
        MTA_LOG_ERROR("spool: write failed (%d)", i);
    }
    auto got = lines();
    ASSERT_EQ(got.size(), 4u);
    EXPECT_NE(got[1].find("error: spool: write failed (1)"), std::string::npos) << got[1];
    EXPECT_NE(got[2].find("error: 5 similar messages suppressed: spool: write failed (%d)"),
              std::string::npos)
        << got[2];
    EXPECT_NE(got[3].find("error: spool: write failed (7)"), std::string::npos) << got[3];
}

TEST_F(LogTest, PendingCountsAreReportedAtExit) {
    log_set_burst_max(1);
    set_second(300);
    for (int i = 0; i < 4; ++i) MTA_LOG_EVENT_WARN({}, "connect_refused", "refused %d", i);
    EXPECT_EQ(lines().size(), 1u);
    log_report_suppressed(true);
    auto got = lines();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].find("\"suppressed\":3,"), std::string::npos) << got[0];
}

TEST_F(LogTest, InfoEventsAreNeverLimited) {
    log_set_burst_max(1);
    set_second(400);
    for (int i = 0; i < 50; ++i) MTA_LOG_EVENT("0005F3A1B2C3D401", "queued", "n=%d", i);
    for (int i = 0; i < 50; ++i) MTA_LOG_INFO("plain %d", i);
    EXPECT_EQ(lines().size(), 100u);
}

TEST_F(LogTest, ZeroBurstMaxMeansNoLimit) {
    log_set_burst_max(0);
    set_second(500);
    for (int i = 0; i < 300; ++i) MTA_LOG_WARN("unlimited %d", i);
    EXPECT_EQ(lines().size(), 300u);
}

TEST_F(LogTest, ThreadsShareASiteWithoutLosingCounts) {
    constexpr int kThreads = 4, kEach = 5000;
    log_set_burst_max(100);
    set_second(600);
    auto burst = [] {
        for (int i = 0; i < kEach; ++i) MTA_LOG_WARN("shard burst %d", i);
    };
    burst();  // opens the window, so the threads below all count in one window
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) threads.emplace_back(burst);
    for (auto& t : threads) t.join();
    set_second(601);
    log_report_suppressed();
    auto got = lines();
    ASSERT_EQ(got.size(), 101u) << "100 lines, then one report";
    simdjson::dom::parser parser;
    uint64_t suppressed = 0;
    EXPECT_EQ(parse(parser, got.back())["suppressed"].get(suppressed), simdjson::SUCCESS);
    EXPECT_EQ(100 + suppressed, uint64_t(kThreads + 1) * kEach) << "every call accounted for";
}

// ---------------------------------------------------------------- the file

TEST_F(LogTest, ReopenAfterRenameWritesToTheNewFile) {
    char dir_template[] = "/tmp/ringmta-log-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    std::string dir = dir_template, path = dir + "/ringmta.log", rotated = path + ".1";
    ASSERT_TRUE(log_open_file(path).has_value());
    MTA_LOG_INFO("before rotation");
    ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
    MTA_LOG_INFO("after rename, before reopen");
    ASSERT_TRUE(log_reopen().has_value());
    MTA_LOG_INFO("after reopen");
    log_configure(fileno(file_), LogFormat::json, LogLevel::info);  // closes the file

    auto read = [](const std::string& p) {
        std::string out;
        if (FILE* f = std::fopen(p.c_str(), "r")) {
            char buf[4096];
            size_t n;
            while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
            std::fclose(f);
        }
        return out;
    };
    std::string old_file = read(rotated), new_file = read(path);
    EXPECT_NE(old_file.find("before rotation"), std::string::npos) << old_file;
    EXPECT_NE(old_file.find("after rename, before reopen"), std::string::npos) << old_file;
    EXPECT_EQ(old_file.find("after reopen"), std::string::npos) << old_file;
    EXPECT_NE(new_file.find("after reopen"), std::string::npos) << new_file;
    EXPECT_EQ(new_file.find("before"), std::string::npos) << new_file;

    auto missing = log_open_file(dir + "/no/such/dir/x.log");
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
    EXPECT_TRUE(log_reopen().has_value()) << "no file: nothing to reopen";

    std::remove(path.c_str());
    std::remove(rotated.c_str());
    rmdir(dir.c_str());
}

}  // namespace
