// Blocking accept loop (poll with a 500 ms tick so stop() is prompt) and a per-connection read
// bounded in size and in total time. Answers are written with MSG_NOSIGNAL: a scraper that went
// away must not kill the process. Before closing, unread input is drained briefly so the reply
// is not lost to a TCP reset.
#include "mta/admin/http_server.hh"

#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace ringmta::admin {
namespace {

const char* reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 431:
            return "Request Header Fields Too Large";
        case 503:
            return "Service Unavailable";
        default:
            return "Internal Server Error";
    }
}

bool is_token_char(char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }

void send_all(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        off += size_t(n);
    }
}

// Half-closes, then reads and discards what the client still sends, for up to 200 ms or 64 KiB.
void drain_and_close(int fd) {
    ::shutdown(fd, SHUT_WR);
    char buf[4096];
    for (size_t total = 0; total < 65536;) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0) break;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        total += size_t(n);
    }
    ::close(fd);
}

HttpResponse error_response(int status) {
    HttpResponse r;
    r.status = status;
    r.body = std::string(reason_phrase(status)) + "\n";
    return r;
}

}  // namespace

HttpHeadStatus parse_http_request(std::string_view data, HttpRequest* out) {
    // Clients send CRLF; a bare LF ending the head is tolerated (RFC 9112 section 2.2).
    size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) end = data.find("\n\n");
    if (end == std::string_view::npos) return HttpHeadStatus::incomplete;
    std::string_view line = data.substr(0, data.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) return HttpHeadStatus::malformed;
    size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return HttpHeadStatus::malformed;
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    for (char c : method)
        if (!is_token_char(c)) return HttpHeadStatus::malformed;
    if (target.empty() || target[0] != '/') return HttpHeadStatus::malformed;
    if (version != "HTTP/1.1" && version != "HTTP/1.0") return HttpHeadStatus::malformed;

    out->method = std::string(method);
    size_t q = target.find('?');
    out->path = std::string(target.substr(0, q));
    out->query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
    return HttpHeadStatus::complete;
}

std::string format_http_response(const HttpResponse& r, bool head_only) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) +
                      "\r\nContent-Type: " + r.content_type +
                      "\r\nContent-Length: " + std::to_string(r.body.size());
    if (!r.allow.empty()) out += "\r\nAllow: " + r.allow;
    out += "\r\nConnection: close\r\n\r\n";
    if (!head_only) out += r.body;
    return out;
}

HttpServer::~HttpServer() { stop(); }

base::Result<void> HttpServer::start(const sockaddr* address, socklen_t length, HttpHandler handler,
                                     HttpServerOptions options) {
    MTA_ASSERT(fd_ < 0);
    int fd = socket(address->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return base::errno_error(errno, "metrics socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, address, length) != 0 || listen(fd, 16) != 0) {
        int err = errno;
        ::close(fd);
        return base::errno_error(err, "metrics listener");
    }
    sockaddr_storage bound{};
    socklen_t bound_length = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
    port_ = bound.ss_family == AF_INET6
                ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
    fd_ = fd;
    handler_ = std::move(handler);
    options_ = options;
    stopping_ = false;
    thread_ = std::thread([this] { serve(); });
    return {};
}

void HttpServer::stop() {
    if (fd_ < 0) return;
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
    fd_ = -1;
    port_ = 0;
}

void HttpServer::serve() {
    while (!stopping_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 500) <= 0) continue;
        int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        serve_client(client);
    }
}

void HttpServer::serve_client(int fd) {
    using std::chrono::steady_clock;
    auto deadline = steady_clock::now() + std::chrono::milliseconds(options_.read_timeout_ms);
    std::string data;
    HttpRequest request;
    HttpHeadStatus status = HttpHeadStatus::incomplete;
    int error_status = 0;
    char buf[2048];
    while (status == HttpHeadStatus::incomplete) {
        if (data.size() >= options_.request_size_max_bytes) {
            error_status = 431;
            break;
        }
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || poll(&p, 1, int(left.count())) <= 0) {
            error_status = 408;
            break;
        }
        size_t room = options_.request_size_max_bytes - data.size();
        ssize_t n = ::read(fd, buf, std::min(room, sizeof buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {  // the client went away before finishing its request
            ::close(fd);
            return;
        }
        data.append(buf, size_t(n));
        status = parse_http_request(data, &request);
    }
    if (status == HttpHeadStatus::malformed) error_status = 400;
    HttpResponse response = error_status ? error_response(error_status) : handler_(request);
    send_all(fd, format_http_response(response, !error_status && request.method == "HEAD"));
    drain_and_close(fd);
}

}  // namespace ringmta::admin
