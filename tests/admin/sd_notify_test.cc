// sd_notify: each notification arrives as one datagram with the exact state text, at a socket
// path and at an abstract name ('@'), as systemd would receive it; unset NOTIFY_SOCKET is a
// no-op; bad names and absent sockets are errors, not crashes.
#include "mta/admin/sd_notify.hh"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <functional>
#include <string>

namespace ringmta::admin {
namespace {

// A datagram socket bound where the test says, standing in for systemd's notify socket.
class NotifyReceiver {
  public:
    // `name`: a path, or '@' + an abstract name.
    explicit NotifyReceiver(const std::string& name) : name_(name) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, name.data(), name.size());
        socklen_t length = socklen_t(offsetof(sockaddr_un, sun_path) + name.size());
        if (name[0] == '@')
            addr.sun_path[0] = '\0';
        else
            length += 1;
        bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), length) == 0;
    }
    ~NotifyReceiver() {
        ::close(fd_);
        if (name_[0] == '/') ::unlink(name_.c_str());
    }
    bool bound() const { return bound_; }
    // The next datagram, or "<none>" after 1 s.
    std::string receive() {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0) return "<none>";
        char buf[512];
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        return n < 0 ? "<error>" : std::string(buf, size_t(n));
    }

  private:
    std::string name_;
    int fd_ = -1;
    bool bound_ = false;
};

struct EnvGuard {
    explicit EnvGuard(const std::string& value) { setenv("NOTIFY_SOCKET", value.c_str(), 1); }
    ~EnvGuard() { unsetenv("NOTIFY_SOCKET"); }
};

struct NotifyCase {
    const char* label;
    std::function<base::Result<void>()> send;
    const char* want;
};

const NotifyCase kCases[] = {
    {"ready", notify_ready, "READY=1"},
    {"stopping", notify_stopping, "STOPPING=1"},
    {"reloading", notify_reloading, "RELOADING=1"},
    {"status", [] { return notify_status("3 shards, 12 queued"); }, "STATUS=3 shards, 12 queued"},
    {"raw", [] { return sd_notify("READY=1\nSTATUS=up"); }, "READY=1\nSTATUS=up"},
};

void expect_each_case_arrives(NotifyReceiver& receiver) {
    for (const NotifyCase& c : kCases) {
        auto r = c.send();
        ASSERT_TRUE(r.has_value()) << c.label << ": " << r.error().message;
        std::string got = receiver.receive();
        EXPECT_EQ(got, c.want) << c.label << ": got " << got << ", want " << c.want;
    }
}

TEST(SdNotify, PathSocket) {
    char dir[] = "/tmp/ringmta-notify-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string path = std::string(dir) + "/notify";
    {
        NotifyReceiver receiver(path);
        ASSERT_TRUE(receiver.bound());
        EnvGuard env(path);
        expect_each_case_arrives(receiver);
    }
    rmdir(dir);
}

TEST(SdNotify, AbstractSocket) {
    std::string name = "@ringmta-notify-test-" + std::to_string(getpid());
    NotifyReceiver receiver(name);
    ASSERT_TRUE(receiver.bound());
    EnvGuard env(name);
    expect_each_case_arrives(receiver);
}

TEST(SdNotify, UnsetIsANoOp) {
    unsetenv("NOTIFY_SOCKET");
    EXPECT_TRUE(notify_ready().has_value());
    EnvGuard empty("");
    EXPECT_TRUE(notify_stopping().has_value());
}

TEST(SdNotify, BadNamesAreErrors) {
    struct Case {
        const char* label;
        std::string name;
        base::Errc want;
    };
    const Case cases[] = {
        {"relative path", "run/notify", base::Errc::invalid},
        {"just @", "@", base::Errc::invalid},
        {"too long", "/" + std::string(200, 'x'), base::Errc::invalid},
        {"nobody listens", "/nonexistent-dir-ringmta/notify", base::Errc::not_found},
    };
    for (const Case& c : cases) {
        auto r = sd_notify_to(c.name, "READY=1");
        ASSERT_FALSE(r.has_value()) << c.label << ": got success, want an error";
        EXPECT_EQ(int(r.error().code), int(c.want)) << c.label << ": " << r.error().message;
    }
}

}  // namespace
}  // namespace ringmta::admin
