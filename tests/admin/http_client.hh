// A raw loopback HTTP client for the admin endpoint tests: bytes out exactly as given, the whole
// answer read until the server closes. Fails the test (empty answer) on connect errors.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace ringmta::admin::testing {

inline sockaddr_in loopback_any_port() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

inline int connect_loopback(uint16_t port) {
    sockaddr_in addr = loopback_any_port();
    addr.sin_port = htons(port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Reads until EOF or `timeout_ms` of silence.
inline std::string read_until_close(int fd, int timeout_ms = 5000) {
    std::string out;
    char buf[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) break;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, size_t(n));
    }
    return out;
}

inline std::string http_exchange(uint16_t port, const std::string& request) {
    int fd = connect_loopback(port);
    if (fd < 0) return "";
    size_t off = 0;
    while (off < request.size()) {
        ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += size_t(n);
    }
    std::string answer = read_until_close(fd);
    ::close(fd);
    return answer;
}

inline std::string get_request(const std::string& target, const std::string& method = "GET") {
    return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n";
}

inline std::string status_line(const std::string& answer) {
    return answer.substr(0, answer.find("\r\n"));
}

inline std::string body_of(const std::string& answer) {
    size_t end = answer.find("\r\n\r\n");
    return end == std::string::npos ? "" : answer.substr(end + 4);
}

}  // namespace ringmta::admin::testing
