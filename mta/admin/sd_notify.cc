// The notify protocol is one AF_UNIX datagram per state change (sd_notify(3)). The socket is
// opened per call: notifications are rare (start, reload, stop), and no descriptor is left
// behind for the shards to inherit.
#include "mta/admin/sd_notify.hh"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace ringmta::admin {

base::Result<void> sd_notify_to(const std::string& socket_name, std::string_view state) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_name.size() < 2 || (socket_name[0] != '/' && socket_name[0] != '@'))
        return base::make_error(base::Errc::invalid,
                                "NOTIFY_SOCKET \"" + socket_name + "\" is not a socket path");
    if (socket_name.size() >= sizeof addr.sun_path)
        return base::make_error(base::Errc::invalid, "NOTIFY_SOCKET path too long");
    std::memcpy(addr.sun_path, socket_name.data(), socket_name.size());
    // An abstract name has no terminating NUL: its length is exactly the bytes given.
    socklen_t length = socklen_t(offsetof(sockaddr_un, sun_path) + socket_name.size());
    if (socket_name[0] == '@')
        addr.sun_path[0] = '\0';
    else
        length += 1;

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return base::errno_error(errno, "notify socket");
    ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), length);
    int err = errno;
    ::close(fd);
    if (n < 0) return base::errno_error(err, "notify " + socket_name);
    return {};
}

base::Result<void> sd_notify(std::string_view state) {
    const char* name = std::getenv("NOTIFY_SOCKET");
    if (name == nullptr || *name == '\0') return {};
    return sd_notify_to(name, state);
}

base::Result<void> notify_ready() { return sd_notify("READY=1"); }
base::Result<void> notify_stopping() { return sd_notify("STOPPING=1"); }
base::Result<void> notify_reloading() { return sd_notify("RELOADING=1"); }
base::Result<void> notify_status(std::string_view text) {
    return sd_notify("STATUS=" + std::string(text));
}

}  // namespace ringmta::admin
