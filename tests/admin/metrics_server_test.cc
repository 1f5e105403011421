// MetricsServer on 127.0.0.1:0: /metrics serves exactly format_prometheus() of what the
// collector returns (fresh on every scrape) with the 0.0.4 content type; /healthz is 200 "ok";
// /readyz follows the probe (503 with the reason, then 200); other paths 404, other methods
// 405; HEAD has no body. Scraped with a raw socket and with curl when it is installed.
#include "mta/admin/metrics_server.hh"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "tests/admin/http_client.hh"

namespace ringmta::admin {
namespace {

using testing::body_of;
using testing::get_request;
using testing::http_exchange;
using testing::status_line;

class MetricsServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        sockaddr_in addr = testing::loopback_any_port();
        auto r = server_.start(
            reinterpret_cast<sockaddr*>(&addr), sizeof addr,
            [this] {
                MetricsSnapshot s;
                s.version = "test";
                s.totals.messages_accepted = ++scrapes_;
                return s;
            },
            [this] {
                std::lock_guard lock(m_);
                return readiness_;
            });
        ASSERT_TRUE(r.has_value()) << r.error().message;
    }
    void set_ready(bool ready, std::string detail) {
        std::lock_guard lock(m_);
        readiness_ = {ready, std::move(detail)};
    }
    std::string get(const std::string& target, const std::string& method = "GET") {
        return http_exchange(server_.port(), get_request(target, method));
    }

    MetricsServer server_;
    std::atomic<uint64_t> scrapes_{0};
    std::mutex m_;
    Readiness readiness_{false, "shard 1 starting"};
};

std::string expected_metrics(uint64_t accepted) {
    MetricsSnapshot s;
    s.version = "test";
    s.totals.messages_accepted = accepted;
    return format_prometheus(s);
}

TEST_F(MetricsServerTest, MetricsBodyIsTheFormattedSnapshot) {
    for (uint64_t scrape = 1; scrape <= 2; ++scrape) {
        std::string answer = get("/metrics");
        EXPECT_EQ(status_line(answer), "HTTP/1.1 200 OK");
        EXPECT_NE(answer.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
                  std::string::npos)
            << answer.substr(0, answer.find("\r\n\r\n"));
        EXPECT_NE(answer.find("\r\nConnection: close\r\n"), std::string::npos);
        EXPECT_EQ(body_of(answer), expected_metrics(scrape)) << "scrape " << scrape;
    }
}

TEST_F(MetricsServerTest, PathsAndMethods) {
    struct Case {
        const char* label;
        const char* method;
        const char* target;
        const char* want_status;
        const char* want_body;  // nullptr: not checked
    };
    const Case cases[] = {
        {"healthz", "GET", "/healthz", "HTTP/1.1 200 OK", "ok\n"},
        {"healthz with query", "GET", "/healthz?verbose=1", "HTTP/1.1 200 OK", "ok\n"},
        {"readyz while starting", "GET", "/readyz", "HTTP/1.1 503 Service Unavailable",
         "not ready: shard 1 starting\n"},
        {"root", "GET", "/", "HTTP/1.1 404 Not Found", nullptr},
        {"prefix of a path", "GET", "/metricsx", "HTTP/1.1 404 Not Found", nullptr},
        {"trailing slash", "GET", "/metrics/", "HTTP/1.1 404 Not Found", nullptr},
        {"POST", "POST", "/metrics", "HTTP/1.1 405 Method Not Allowed", nullptr},
        {"HEAD has no body", "HEAD", "/healthz", "HTTP/1.1 200 OK", ""},
    };
    for (const Case& c : cases) {
        std::string answer = get(c.target, c.method);
        EXPECT_EQ(status_line(answer), c.want_status)
            << c.label << ": got " << status_line(answer) << ", want " << c.want_status;
        if (c.want_body) {
            EXPECT_EQ(body_of(answer), c.want_body)
                << c.label << ": got " << body_of(answer) << ", want " << c.want_body;
        }
    }
    EXPECT_NE(get("/metrics", "DELETE").find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
}

TEST_F(MetricsServerTest, ReadyzFollowsTheProbe) {
    EXPECT_EQ(status_line(get("/readyz")), "HTTP/1.1 503 Service Unavailable");
    set_ready(true, "");
    std::string answer = get("/readyz");
    EXPECT_EQ(status_line(answer), "HTTP/1.1 200 OK");
    EXPECT_EQ(body_of(answer), "ready\n");
    set_ready(false, "stopping");
    EXPECT_EQ(body_of(get("/readyz")), "not ready: stopping\n");
}

TEST_F(MetricsServerTest, OversizeRequestGets431) {
    std::string request =
        "GET /metrics HTTP/1.1\r\nCookie: " + std::string(10000, 'c') + "\r\n\r\n";
    std::string answer = http_exchange(server_.port(), request);
    EXPECT_EQ(status_line(answer), "HTTP/1.1 431 Request Header Fields Too Large");
    EXPECT_EQ(scrapes_.load(), 0u) << "an oversize request must not reach the collector";
}

// curl: -w prints the status after the body; -sS quiet but errors shown.
std::string run_curl(const std::string& url) {
    std::string command = "curl -sS --max-time 5 -w '\\n%{http_code}' '" + url + "' 2>&1";
    FILE* p = popen(command.c_str(), "r");
    if (!p) return "<popen failed>";
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    return out;
}

TEST_F(MetricsServerTest, ScrapedWithCurl) {
    if (access("/usr/bin/curl", X_OK) != 0) GTEST_SKIP() << "curl not installed (Debian: curl)";
    std::string base = "http://127.0.0.1:" + std::to_string(server_.port());
    EXPECT_EQ(run_curl(base + "/metrics"), expected_metrics(1) + "\n200");
    EXPECT_EQ(run_curl(base + "/healthz"), "ok\n\n200");
    EXPECT_EQ(run_curl(base + "/readyz"), "not ready: shard 1 starting\n\n503");
    EXPECT_EQ(run_curl(base + "/other").substr(run_curl(base + "/other").size() - 3), "404");
}

}  // namespace
}  // namespace ringmta::admin
