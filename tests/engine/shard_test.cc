// Engine tests on a real io_uring: accept, receive (provided buffers and the poll fallback),
// batched sends, pause/resume, close-after-send, outbound connect, graceful stop.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "tests/engine/engine_fixture.hh"

using namespace ringmta::engine;
using namespace ringmta::engine::testing;

namespace {

// Echoes each read back upper-cased; "pause" pauses receiving, "bye" closes after the reply.
class EchoHandler final : public ConnectionHandler {
public:
    explicit EchoHandler(Connection& c) : conn_(c) {}
    void on_receive(const char* data, size_t size) override {
        std::string in(data, size);
        for (char& ch : in) ch = char(toupper(static_cast<unsigned char>(ch)));
        conn_.output() += in;
        conn_.flush();
        if (in.find("PAUSE") != std::string::npos) conn_.pause_receive();
        if (in.find("BYE") != std::string::npos) conn_.close_after_send();
    }
    void on_tick(uint64_t) override {}
    void on_shutdown() override { conn_.close_after_send(); }

private:
    Connection& conn_;
};

std::string read_some(int fd, size_t want) {
    std::string got;
    char buf[4096];
    while (got.size() < want) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, size_t(n));
    }
    return got;
}

class ShardEcho : public ::testing::TestWithParam<bool> {};

TEST_P(ShardEcho, EchoPauseAndCloseAfterSend) {
    ShardOptions o;
    o.listeners.push_back(loopback_any_port());
    o.use_buffer_ring = GetParam();
    o.recv_buffer_count = 8;
    o.recv_buffer_size = 64;
    Connection* last = nullptr;  // written and read on the shard thread only
    RunningShard rs(o, [&last](Connection& c, AdmissionVerdict) {
        last = &c;
        return std::make_unique<EchoHandler>(c);
    });
    rs.start();
    uint16_t port = rs.shard().listener_port(0);
    ASSERT_NE(port, 0);
    int fd = connect_to(port);
    ASSERT_EQ(write(fd, "hello", 5), 5);
    EXPECT_EQ(read_some(fd, 5), "HELLO");
    // Larger than one receive buffer: arrives in several reads, all echoed in order.
    std::string big(1000, 'x');
    ASSERT_EQ(write(fd, big.data(), big.size()), ssize_t(big.size()));
    EXPECT_EQ(read_some(fd, big.size()), std::string(1000, 'X'));
    ASSERT_EQ(write(fd, "pause", 5), 5);
    EXPECT_EQ(read_some(fd, 5), "PAUSE");
    // Paused: this is not read (no echo within the timeout).
    ASSERT_EQ(write(fd, "later", 5), 5);
    timeval short_tv{0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &short_tv, sizeof short_tv);
    char buf[16];
    EXPECT_LT(read(fd, buf, sizeof buf), 0);
    // Resume on the shard thread: the waiting bytes are read and echoed.
    rs.run([&](Shard&) { last->resume_receive(); });
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    EXPECT_EQ(read_some(fd, 5), "LATER");
    close(fd);

    int fd2 = connect_to(port);
    ASSERT_EQ(write(fd2, "bye", 3), 3);
    EXPECT_EQ(read_some(fd2, 3), "BYE");
    EXPECT_EQ(read(fd2, buf, sizeof buf), 0) << "connection should be closed after the reply";
    close(fd2);
    EXPECT_TRUE(eventually([&] { return rs.shard().connection_count() == 0; }));
}

INSTANTIATE_TEST_SUITE_P(BufferRingAndPollFallback, ShardEcho, ::testing::Values(true, false));

class ConnectProbe final : public ConnectionHandler {
public:
    ConnectProbe(std::atomic<int>* result, std::string* received)
        : result_(result), received_(received) {}
    void on_receive(const char* data, size_t size) override { received_->append(data, size); }
    void on_tick(uint64_t) override {}
    void on_shutdown() override {}
    void on_connected(int result) override { result_->store(result); }

private:
    std::atomic<int>* result_;
    std::string* received_;
};

TEST(Shard, OutboundConnectSucceedsAndFails) {
    ShardOptions o;
    o.listeners.push_back(loopback_any_port());
    RunningShard rs(o, [](Connection& c, AdmissionVerdict) { return std::make_unique<EchoHandler>(c); });
    rs.start();
    uint16_t port = rs.shard().listener_port(0);

    auto address = [](uint16_t p) {
        sockaddr_storage ss{};
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(p);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return ss;
    };
    std::atomic<int> ok_result{1};
    std::string echoed;
    rs.run([&](Shard& s) {
        Connection* c = s.open_outbound(address(port), sizeof(sockaddr_in),
                                        std::make_unique<ConnectProbe>(&ok_result, &echoed), 2000);
        ASSERT_NE(c, nullptr);
        c->output() = "ping";
    });
    ASSERT_TRUE(eventually([&] { return ok_result.load() == 0; }));
    rs.run([](Shard&) {});
    ASSERT_TRUE(eventually([&] {
        std::string copy;
        rs.run([&](Shard&) { copy = echoed; });
        return copy == "PING";
    }));

    // A port nobody listens on: refused.
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a);
    getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
    uint16_t dead_port = ntohs(a.sin_port);
    close(probe);
    std::atomic<int> refused{1};
    std::string nothing;
    rs.run([&](Shard& s) {
        s.open_outbound(address(dead_port), sizeof(sockaddr_in),
                        std::make_unique<ConnectProbe>(&refused, &nothing), 2000);
    });
    ASSERT_TRUE(eventually([&] { return refused.load() == -ECONNREFUSED; })) << refused.load();
}

TEST(Shard, StopClosesIdleConnectionsAndExits) {
    ShardOptions o;
    o.listeners.push_back(loopback_any_port());
    o.shutdown_grace_ms = 2000;
    RunningShard rs(o, [](Connection& c, AdmissionVerdict) { return std::make_unique<EchoHandler>(c); });
    rs.start();
    int fd = connect_to(rs.shard().listener_port(0));
    ASSERT_EQ(write(fd, "x", 1), 1);
    EXPECT_EQ(read_some(fd, 1), "X");
    auto t0 = std::chrono::steady_clock::now();
    rs.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
    char buf[4];
    EXPECT_EQ(read(fd, buf, sizeof buf), 0);
    close(fd);
}

}  // namespace
