// HttpServer: request-head parsing and response formatting (tables), then the live limits on a
// loopback port: a request head over the size limit gets 431 and the connection is closed, a
// client that sends too slowly gets 408, a malformed request line gets 400.
#include "mta/admin/http_server.hh"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>

#include "tests/admin/http_client.hh"

namespace ringmta::admin {
namespace {

using testing::get_request;
using testing::http_exchange;
using testing::status_line;

const char* head_status_name(HttpHeadStatus s) {
    switch (s) {
        case HttpHeadStatus::complete:
            return "complete";
        case HttpHeadStatus::incomplete:
            return "incomplete";
        case HttpHeadStatus::malformed:
            return "malformed";
    }
    return "?";
}

TEST(HttpRequestParse, Table) {
    struct Case {
        const char* label;
        std::string data;
        HttpHeadStatus want;
        const char* method;
        const char* path;
        const char* query;
    };
    const Case cases[] = {
        {"plain GET", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", HttpHeadStatus::complete, "GET",
         "/metrics", ""},
        {"query split off", "GET /metrics?name[]=x HTTP/1.1\r\n\r\n", HttpHeadStatus::complete,
         "GET", "/metrics", "name[]=x"},
        {"HTTP/1.0 with bare LF", "HEAD /healthz HTTP/1.0\n\n", HttpHeadStatus::complete, "HEAD",
         "/healthz", ""},
        {"head not finished", "GET /metrics HTTP/1.1\r\nHost: x\r\n", HttpHeadStatus::incomplete,
         "", "", ""},
        {"nothing yet", "", HttpHeadStatus::incomplete, "", "", ""},
        {"target not absolute", "GET metrics HTTP/1.1\r\n\r\n", HttpHeadStatus::malformed, "", "",
         ""},
        {"lower-case method", "get / HTTP/1.1\r\n\r\n", HttpHeadStatus::malformed, "", "", ""},
        {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HttpHeadStatus::malformed, "", "",
         ""},
        {"HTTP/0.9", "GET /\r\n\r\n", HttpHeadStatus::malformed, "", "", ""},
        {"empty method", " / HTTP/1.1\r\n\r\n", HttpHeadStatus::malformed, "", "", ""},
        {"SMTP on the wrong port", "EHLO x\r\n\r\n", HttpHeadStatus::malformed, "", "", ""},
    };
    for (const Case& c : cases) {
        HttpRequest r;
        HttpHeadStatus got = parse_http_request(c.data, &r);
        EXPECT_EQ(got, c.want) << c.label << ": got " << head_status_name(got) << ", want "
                               << head_status_name(c.want);
        if (got != HttpHeadStatus::complete) continue;
        EXPECT_EQ(r.method, c.method) << c.label;
        EXPECT_EQ(r.path, c.path) << c.label;
        EXPECT_EQ(r.query, c.query) << c.label;
    }
}

TEST(HttpResponseFormat, Table) {
    struct Case {
        const char* label;
        HttpResponse response;
        bool head_only;
        std::string want;
    };
    const Case cases[] = {
        {"200 with body",
         {200, "text/plain", "ok\n", ""},
         false,
         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
         "Connection: close\r\n\r\nok\n"},
        {"HEAD keeps the length, drops the body",
         {200, "text/plain", "ok\n", ""},
         true,
         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
         "Connection: close\r\n\r\n"},
        {"405 carries Allow",
         {405, "text/plain", "", "GET, HEAD"},
         false,
         "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n"
         "Allow: GET, HEAD\r\nConnection: close\r\n\r\n"},
        {"503",
         {503, "text/plain", "x", ""},
         false,
         "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n"
         "Connection: close\r\n\r\nx"},
    };
    for (const Case& c : cases) {
        std::string got = format_http_response(c.response, c.head_only);
        EXPECT_EQ(got, c.want) << c.label << ": got\n" << got << "\nwant\n" << c.want;
    }
}

class HttpServerLive : public ::testing::Test {
  protected:
    void start(HttpServerOptions options) {
        sockaddr_in addr = testing::loopback_any_port();
        auto r = server_.start(
            reinterpret_cast<sockaddr*>(&addr), sizeof addr,
            [this](const HttpRequest& req) {
                ++calls_;
                return HttpResponse{200, "text/plain", req.method + " " + req.path + "\n", ""};
            },
            options);
        ASSERT_TRUE(r.has_value()) << r.error().message;
        ASSERT_NE(server_.port(), 0);
    }
    HttpServer server_;
    std::atomic<int> calls_{0};
};

TEST_F(HttpServerLive, AnswersAndCloses) {
    start({});
    std::string answer = http_exchange(server_.port(), get_request("/x?y"));
    EXPECT_EQ(answer,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n"
              "Connection: close\r\n\r\nGET /x\n");
}

TEST_F(HttpServerLive, OversizeHeadGets431AndClose) {
    start({});
    std::string request =
        "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(9000, 'a') + "\r\n\r\n";
    std::string answer = http_exchange(server_.port(), request);
    EXPECT_EQ(status_line(answer), "HTTP/1.1 431 Request Header Fields Too Large")
        << "got " << answer.substr(0, 200);
    EXPECT_EQ(calls_.load(), 0) << "the handler must not see an oversize request";
    // The server is still serving afterwards.
    EXPECT_EQ(status_line(http_exchange(server_.port(), get_request("/"))), "HTTP/1.1 200 OK");
}

TEST_F(HttpServerLive, HeadExactlyAtLimitIsServed) {
    HttpServerOptions options;
    options.request_size_max_bytes = 64;
    start(options);
    std::string request = "GET / HTTP/1.1\r\nX: ";
    request += std::string(64 - request.size() - 4, 'b') + "\r\n\r\n";
    ASSERT_EQ(request.size(), 64u);
    EXPECT_EQ(status_line(http_exchange(server_.port(), request)), "HTTP/1.1 200 OK");
    request.insert(20, "b");
    EXPECT_EQ(status_line(http_exchange(server_.port(), request)),
              "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST_F(HttpServerLive, SlowClientGets408) {
    HttpServerOptions options;
    options.read_timeout_ms = 300;
    start(options);
    int fd = testing::connect_loopback(server_.port());
    ASSERT_GE(fd, 0);
    // Dribbling bytes does not extend the deadline: it covers the whole head.
    auto t0 = std::chrono::steady_clock::now();
    for (const char* part : {"GET ", "/metrics ", "HTTP/1.1\r\n"}) {
        ASSERT_GT(::send(fd, part, strlen(part), MSG_NOSIGNAL), 0);
        usleep(120 * 1000);
    }
    std::string answer = testing::read_until_close(fd);
    auto waited_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    ::close(fd);
    EXPECT_EQ(status_line(answer), "HTTP/1.1 408 Request Timeout");
    EXPECT_LT(waited_ms, 2000) << "got " << waited_ms << " ms, want about 300";
    EXPECT_EQ(calls_.load(), 0);
}

TEST_F(HttpServerLive, MalformedGets400) {
    start({});
    EXPECT_EQ(status_line(http_exchange(server_.port(), "EHLO client.example\r\n\r\n")),
              "HTTP/1.1 400 Bad Request");
}

TEST_F(HttpServerLive, StopClosesTheListener) {
    start({});
    uint16_t port = server_.port();
    server_.stop();
    EXPECT_EQ(server_.port(), 0);
    EXPECT_LT(testing::connect_loopback(port), 0) << "the port still accepts after stop()";
}

TEST(HttpServer, BindFailureIsAnError) {
    HttpServer first;
    sockaddr_in addr = testing::loopback_any_port();
    ASSERT_TRUE(first
                    .start(reinterpret_cast<sockaddr*>(&addr), sizeof addr,
                           [](const HttpRequest&) { return HttpResponse{}; })
                    .has_value());
    addr.sin_port = htons(first.port());
    HttpServer second;
    auto r = second.start(reinterpret_cast<sockaddr*>(&addr), sizeof addr,
                          [](const HttpRequest&) { return HttpResponse{}; });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, base::Errc::io);
}

}  // namespace
}  // namespace ringmta::admin
