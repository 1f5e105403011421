// Blocking accept loop on a Unix socket; words are separated by single spaces and may not
// contain newlines (the CLI passes argv words, which cannot).
#include "mta/admin/control_socket.hh"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mta/base/log.hh"

namespace ringmta::admin {
namespace {

bool fill_address(const std::string& path, sockaddr_un* addr) {
    if (path.size() >= sizeof addr->sun_path) return false;
    std::memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
    return true;
}

bool write_all(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += size_t(n);
    }
    return true;
}

}  // namespace

ControlServer::~ControlServer() { stop(); }

base::Result<void> ControlServer::start(const std::string& path, ControlHandler handler) {
    sockaddr_un addr;
    if (!fill_address(path, &addr))
        return base::make_error(base::Errc::invalid, path + ": control socket path too long");
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return base::errno_error(errno, "control socket");
    ::unlink(path.c_str());  // a stale socket of a dead instance (the spool lock says it is dead)
    mode_t old = umask(0177);  // owner-only: the socket controls the queue
    int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    umask(old);
    if (rc != 0 || listen(fd, 16) != 0) {
        int err = errno;
        ::close(fd);
        return base::errno_error(err, "control socket " + path);
    }
    chmod(path.c_str(), 0600);
    path_ = path;
    fd_ = fd;
    handler_ = std::move(handler);
    thread_ = std::thread([this] { serve(); });
    return {};
}

void ControlServer::stop() {
    if (fd_ < 0) return;
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
    ::unlink(path_.c_str());
    fd_ = -1;
}

void ControlServer::serve() {
    while (!stopping_) {
        pollfd p{fd_, POLLIN, 0};
        int ready = poll(&p, 1, 500);
        if (ready <= 0) continue;
        int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        timeval tv{5, 0};
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string line;
        char buf[1024];
        while (line.find('\n') == std::string::npos && line.size() < 8192) {
            ssize_t n = ::read(client, buf, sizeof buf);
            if (n <= 0) break;
            line.append(buf, size_t(n));
        }
        std::vector<std::string> words;
        size_t end = line.find('\n');
        if (end != std::string::npos) {
            std::string request = line.substr(0, end);
            size_t pos = 0;
            while (pos <= request.size()) {
                size_t sp = request.find(' ', pos);
                if (sp == std::string::npos) sp = request.size();
                if (sp > pos) words.push_back(request.substr(pos, sp - pos));
                pos = sp + 1;
            }
        }
        ControlReply reply = words.empty() ? ControlReply{2, "empty request\n"} : handler_(words);
        write_all(client, std::to_string(reply.exit_code) + "\n" + reply.output);
        ::close(client);
    }
}

base::Result<ControlReply> control_request(const std::string& path,
                                           const std::vector<std::string>& words) {
    sockaddr_un addr;
    if (!fill_address(path, &addr))
        return base::make_error(base::Errc::invalid, path + ": control socket path too long");
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return base::errno_error(errno, "control socket");
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        ::close(fd);
        return base::make_error(base::Errc::unavailable,
                                "cannot reach the running gateway at " + path + ": " +
                                    std::strerror(err));
    }
    std::string request;
    for (const auto& w : words) request += (request.empty() ? "" : " ") + w;
    request += '\n';
    if (!write_all(fd, request)) {
        ::close(fd);
        return base::errno_error(errno, "control socket write");
    }
    std::string response;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        response.append(buf, size_t(n));
    }
    ::close(fd);
    size_t nl = response.find('\n');
    if (nl == std::string::npos)
        return base::make_error(base::Errc::io, "the gateway closed the control socket");
    ControlReply reply;
    reply.exit_code = std::atoi(response.substr(0, nl).c_str());
    reply.output = response.substr(nl + 1);
    return reply;
}

}  // namespace ringmta::admin
