// ServerSession on a real shard and loopback socket: what a client pipelines after STARTTLS is
// discarded, never executed (RFC 3207 4.2), whether it arrives in the read that carries the
// STARTTLS line or the STARTTLS line itself was split over several reads; HELP and STARTTLS.
#include "mta/smtp/server_session.hh"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "mta/tls/tls_context.hh"
#include "tests/engine/engine_fixture.hh"

using namespace ringmta;
using namespace ringmta::engine;
using namespace ringmta::engine::testing;

namespace {

constexpr const char* kHost = "mx.test.example";

// A self-signed P-256 certificate for kHost, written as PEM files into `dir`.
void write_self_signed(const std::string& dir, std::string* cert, std::string* key) {
    *cert = dir + "/cert.pem";
    *key = dir + "/key.pem";
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    ASSERT_NE(pkey, nullptr);
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(kHost), -1, -1, 0);
    X509_set_issuer_name(x, name);
    ASSERT_GT(X509_sign(x, pkey, EVP_sha256()), 0);
    FILE* f = std::fopen(cert->c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(key->c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
}

// The blocking client side: plaintext reads and writes, then TLS on the same socket.
class Client {
public:
    explicit Client(uint16_t port) : fd_(connect_to(port)) {
        int one = 1;  // each write() is its own segment, so the server sees separate reads
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~Client() {
        if (ssl_) SSL_free(ssl_);
        if (ctx_) SSL_CTX_free(ctx_);
        close(fd_);
    }
    void send(const std::string& s) {
        if (ssl_) {
            ASSERT_EQ(SSL_write(ssl_, s.data(), int(s.size())), int(s.size()));
        } else {
            ASSERT_EQ(write(fd_, s.data(), s.size()), ssize_t(s.size()));
        }
    }
    // Reads until the buffer holds one complete reply (its last line is "NNN text"), byte by
    // byte in plaintext so nothing after the reply is taken off the socket.
    std::string reply() {
        std::string got;
        while (!complete(got)) {
            char ch;
            int n = ssl_ ? SSL_read(ssl_, &ch, 1) : int(read(fd_, &ch, 1));
            if (n <= 0) break;
            got.push_back(ch);
        }
        return got;
    }
    // True when the server sent anything within `ms` (it must not, before the handshake).
    bool readable_within(int ms) {
        pollfd p{fd_, POLLIN, 0};
        return poll(&p, 1, ms) > 0;
    }
    std::string read_rest() {
        std::string got;
        char buf[4096];
        for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;) got.append(buf, size_t(n));
        return got;
    }
    bool start_tls() {
        ctx_ = SSL_CTX_new(TLS_client_method());
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        return SSL_connect(ssl_) == 1;
    }

private:
    static bool complete(const std::string& s) {
        if (s.size() < 6 || s.compare(s.size() - 2, 2, "\r\n") != 0) return false;
        size_t start = s.rfind("\r\n", s.size() - 3);
        start = start == std::string::npos ? 0 : start + 2;
        return s.size() - start >= 4 && s[start + 3] == ' ';
    }
    int fd_ = -1;
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
};

class ServerSessionTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/ringmta-session-test.XXXXXX";
        dir_ = mkdtemp(tmpl);
        std::string cert, key;
        write_self_signed(dir_, &cert, &key);
        ASSERT_TRUE(tls_.init_server(cert, key).has_value());
        auto loaded = config::load_config("");
        ASSERT_TRUE(loaded.errors.empty());
        loaded.config.server.hostname = kHost;
        context_.config = std::make_shared<const config::Config>(std::move(loaded.config));
        context_.memory = &memory_;
        context_.listener_tls = {&tls_};
        context_.is_accepted_domain = [](std::string_view) { return false; };
        context_.next_queue_id = [] { return uint64_t(1); };
        context_.queue_has_room = [] { return true; };
        ShardOptions o;
        o.listeners.push_back(loopback_any_port());
        shard_ = std::make_unique<RunningShard>(o, [this](Connection& c, AdmissionVerdict v) {
            return std::make_unique<smtp::ServerSession>(c, context_, v);
        });
        context_.shard = &shard_->shard();
        shard_->start();
    }
    void TearDown() override {
        shard_->stop();
        std::system(("rm -rf " + dir_).c_str());
    }
    uint16_t port() { return shard_->shard().listener_port(0); }

    std::string dir_;
    tls::TlsContext tls_;
    smtp::MemoryBudget memory_{1 << 20};
    smtp::ServerContext context_;
    std::unique_ptr<RunningShard> shard_;
};

const std::string kGreeting = std::string("220 ") + kHost + " ESMTP ringmta\r\n";
const std::string kReady = "220 2.0.0 Ready to start TLS\r\n";

struct DiscardCase {
    const char* name;
    // Written one after the other with a pause between, so they arrive as separate reads.
    std::vector<std::string> writes;
};

class StartTlsDiscard : public ServerSessionTest,
                        public ::testing::WithParamInterface<DiscardCase> {};

TEST_P(StartTlsDiscard, PipelinedCommandsAreNeverExecuted) {
    Client c(port());
    ASSERT_EQ(c.reply(), kGreeting);
    c.send("EHLO client.test.example\r\n");
    std::string ehlo = c.reply();
    ASSERT_NE(ehlo.find("250-STARTTLS\r\n"), std::string::npos) << ehlo;
    for (const std::string& w : GetParam().writes) {
        c.send(w);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(c.reply(), kReady);
    EXPECT_FALSE(c.readable_within(100)) << "plaintext after the 220 to STARTTLS";
    ASSERT_TRUE(c.start_tls());
    // Had the pipelined EHLO and MAIL run after the reset, RCPT would find a transaction.
    c.send("RCPT TO:<y@example.net>\r\n");
    EXPECT_EQ(c.reply(), "503 5.5.1 Error: need MAIL command\r\n");
    c.send("MAIL FROM:<a@example.org>\r\n");
    EXPECT_EQ(c.reply(), "503 5.5.1 Error: send HELO/EHLO first\r\n");
    c.send("EHLO client.test.example\r\n");
    std::string again = c.reply();
    EXPECT_EQ(again.find("STARTTLS"), std::string::npos) << again;
    c.send("MAIL FROM:<a@example.org>\r\n");
    EXPECT_EQ(c.reply(), "250 2.1.0 Ok\r\n");
}

const std::string kInjected = "EHLO evil.example\r\nMAIL FROM:<a@b>\r\n";

INSTANTIATE_TEST_SUITE_P(
    Splits, StartTlsDiscard,
    ::testing::Values(DiscardCase{"one_read", {"STARTTLS\r\n" + kInjected}},
                      DiscardCase{"split_in_verb", {"STAR", "TTLS\r\n" + kInjected}},
                      DiscardCase{"split_before_lf", {"STARTTLS\r", "\n" + kInjected}},
                      DiscardCase{"byte_by_byte_verb", {"S", "T", "A", "R", "T", "T", "L", "S",
                                                        "\r", "\n" + kInjected}}),
    [](const ::testing::TestParamInfo<DiscardCase>& p) { return std::string(p.param.name); });

// Pipelined in front of STARTTLS, commands run and their replies go out with the 220.
TEST_F(ServerSessionTest, CommandsBeforeStartTlsRunAndShareItsWrite) {
    Client c(port());
    ASSERT_EQ(c.reply(), kGreeting);
    c.send("NOOP\r\nSTARTTLS\r\nMAIL FROM:<a@b>\r\n");
    EXPECT_EQ(c.reply(), "250 2.0.0 Ok\r\n");
    EXPECT_EQ(c.reply(), kReady);
    EXPECT_FALSE(c.readable_within(100)) << "plaintext after the 220 to STARTTLS";
}

// Bytes in a later read than the STARTTLS line are the client's handshake as far as the server
// can tell: plaintext commands there fail the handshake and close, they are not executed.
TEST_F(ServerSessionTest, CommandsInALaterReadFailTheHandshake) {
    Client c(port());
    ASSERT_EQ(c.reply(), kGreeting);
    c.send("EHLO client.test.example\r\n");
    c.reply();
    c.send("STARTTLS\r\n");
    EXPECT_EQ(c.reply(), kReady);
    c.send(kInjected);
    std::string rest = c.read_rest();
    EXPECT_EQ(rest.find("250"), std::string::npos) << rest;
    EXPECT_EQ(rest.find("503"), std::string::npos) << rest;
}

const std::string kHelp =
    "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP";

// HELP names STARTTLS exactly where EHLO offers it.
TEST_F(ServerSessionTest, HelpListsStartTlsOnlyWhenOffered) {
    {
        Client c(port());
        ASSERT_EQ(c.reply(), kGreeting);
        c.send("HELP\r\n");
        EXPECT_EQ(c.reply(), kHelp + " STARTTLS\r\n");
        c.send("STARTTLS\r\n");
        EXPECT_EQ(c.reply(), kReady);
        ASSERT_TRUE(c.start_tls());
        c.send("HELP\r\n");
        EXPECT_EQ(c.reply(), kHelp + "\r\n") << "under TLS";
    }
    shard_->run([&](Shard&) { context_.listener_tls[0] = nullptr; });
    Client c(port());
    ASSERT_EQ(c.reply(), kGreeting);
    c.send("HELP\r\n");
    EXPECT_EQ(c.reply(), kHelp + "\r\n") << "listener without TLS";
}

}  // namespace
