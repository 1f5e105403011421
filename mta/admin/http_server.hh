// A minimal HTTP/1.1 server for the admin endpoints: one blocking thread, one request per
// connection (`Connection: close`), GET and HEAD only. Not on the hot path. Invariant: a client
// can hold the thread for at most read_timeout_ms and make it buffer at most
// request_size_max_bytes; beyond that it gets 408 or 431 and the connection is closed.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "mta/base/result.hh"

namespace ringmta::admin {

struct HttpRequest {
    std::string method;  // "GET", "HEAD", ...
    std::string path;    // "/metrics" (no query)
    std::string query;   // after '?', may be empty
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::string allow;  // the Allow header of a 405; empty: none
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
    size_t request_size_max_bytes = 8192;  // request line and headers
    uint32_t read_timeout_ms = 5000;       // for the whole request head, not per read
};

enum class HttpHeadStatus { complete, incomplete, malformed };

// Parses the head of a request read so far. `complete` fills `out`; `incomplete` means the
// blank line ending the head has not arrived; `malformed` means a bad request line.
HttpHeadStatus parse_http_request(std::string_view data, HttpRequest* out);

// Status line, Content-Type, Content-Length, Connection: close, then the body unless head_only.
std::string format_http_response(const HttpResponse& response, bool head_only);

class HttpServer {
  public:
    HttpServer() = default;
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and listens on `address` (IPv4 or IPv6; port 0 picks a free port) and starts the
    // thread. Errc::io when the address cannot be bound.
    base::Result<void> start(const sockaddr* address, socklen_t length, HttpHandler handler,
                             HttpServerOptions options = {});
    // Stops accepting and joins the thread (waits for a request being answered).
    void stop();
    // The bound port (useful after binding port 0); 0 before start.
    uint16_t port() const { return port_; }

  private:
    void serve();
    void serve_client(int fd);

    int fd_ = -1;
    uint16_t port_ = 0;
    HttpHandler handler_;
    HttpServerOptions options_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
};

}  // namespace ringmta::admin
