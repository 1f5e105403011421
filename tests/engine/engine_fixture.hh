// A shard running on its own thread for engine tests, with helpers to run code on it and wait.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <future>
#include <thread>

#include "mta/engine/shard.hh"

namespace ringmta::engine::testing {

inline ListenSpec loopback_any_port() {
    ListenSpec spec;
    auto* a = reinterpret_cast<sockaddr_in*>(&spec.address);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = 0;
    spec.length = sizeof(sockaddr_in);
    spec.text = "127.0.0.1:0";
    return spec;
}

// A blocking client socket connected to 127.0.0.1:`port`, reads time out after 5 s.
inline int connect_to(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
}

class RunningShard {
public:
    RunningShard(ShardOptions options, HandlerFactory factory)
        : admission_(100, 100), shard_(std::move(options), admission_, std::move(factory)) {}
    ~RunningShard() { stop(); }

    // Starts the thread; `setup` runs on the shard thread after init, before the loop.
    void start(std::function<void(Shard&)> setup = {}) {
        std::promise<bool> ready;
        auto f = ready.get_future();
        thread_ = std::thread([&] {
            bool ok = shard_.init().has_value();
            if (ok && setup) setup(shard_);
            ready.set_value(ok);
            if (ok) shard_.run();
        });
        ASSERT_TRUE(f.get()) << "shard init failed";
    }
    void stop() {
        if (!thread_.joinable()) return;
        shard_.request_stop();
        thread_.join();
    }
    // Runs `fn` on the shard thread and waits for it.
    template <typename Fn>
    void run(Fn fn) {
        std::promise<void> done;
        shard_.post([&] {
            fn(shard_);
            done.set_value();
        });
        done.get_future().wait();
    }
    Shard& shard() { return shard_; }

private:
    Admission admission_;
    Shard shard_;
    std::thread thread_;
};

// Polls `cond` for up to `ms` milliseconds.
template <typename Cond>
bool eventually(Cond cond, int ms = 5000) {
    for (int i = 0; i < ms / 5; ++i) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return cond();
}

}  // namespace ringmta::engine::testing
