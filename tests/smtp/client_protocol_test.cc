// ClientProtocol's connection setup as scripted dialogues: greeting, EHLO and the HELO
// fallback, STARTTLS under every policy, AUTH PLAIN and LOGIN, timeouts and lost connections.
// Each script is byte-exact for what the client writes (see mta/smtp/client_script.hh).
#include "mta/smtp/client_protocol.hh"

#include <gtest/gtest.h>

#include <string>

#include "mta/smtp/client_script.hh"

namespace ringmta::smtp {
namespace {

struct SetupCase {
    const char* label;
    TlsPolicy tls;
    bool auth;  // credentials relay / secret configured
    bool allow_plaintext;
    const char* script;
};

ClientConfig make_config(const SetupCase& c) {
    ClientConfig config;
    config.helo_name = "gw.example.com";
    config.peer_name = "mx.example.com";
    config.peer_address = "192.0.2.1";
    config.tls = c.tls;
    if (c.auth) {
        config.auth_username = "relay";
        config.auth_password = "secret";
    }
    config.auth_allow_plaintext = c.allow_plaintext;
    return config;
}

void run_cases(std::span<const SetupCase> cases) {
    for (const SetupCase& c : cases) {
        ClientProtocol protocol(make_config(c));
        std::string report = testing::run_client_script(protocol, {}, c.script);
        EXPECT_EQ(report, "") << c.label;
    }
}

// Greeting, EHLO offering STARTTLS, and the client asking for it.
#define STARTTLS_SENT                                                              \
    "S: 220 mx.example.com ESMTP\nC: EHLO gw.example.com\nS: 250-mx.example.com\n" \
    "S: 250 STARTTLS\nC: STARTTLS\n"
// The server agrees, the handshake completes, the client says EHLO again.
#define TLS_STARTED "S: 220 go ahead\n!tls\nC: EHLO gw.example.com\n"

TEST(ClientProtocol, GreetingAndEhlo) {
    const SetupCase cases[] = {
        {"greeting, EHLO, ready", TlsPolicy::none, false, false, R"(
W: greeting
S: 220 mx.example.com ESMTP
C: EHLO gw.example.com
= read
W: ehlo
S: 250-mx.example.com
S: 250-PIPELINING
S: 250 8BITMIME
= ready
W: none
F: none
T: 0
)"},
        {"multi-line greeting", TlsPolicy::none, false, false, R"(
S: 220-mx.example.com ESMTP
S: 220 please be nice
C: EHLO gw.example.com
S: 250 mx.example.com
= ready
)"},
        {"greeting one byte at a time", TlsPolicy::none, false, false, R"(
S~ 2
= read
S~ 20 m
S~ x\r
= read
S~ \n
C: EHLO gw.example.com
= read
)"},
        {"554 greeting: QUIT and try the next host", TlsPolicy::none, false, false, R"(
S: 554 5.7.1 mx.example.com no service for you
C: QUIT
= close
F: greeting 554 5.7.1
FD: host mx.example.com[192.0.2.1] refused to talk to me: 554 5.7.1 mx.example.com no service \
    for you
)"},
        {"450 greeting without enhanced code", TlsPolicy::none, false, false, R"(
S: 450 busy
C: QUIT
= close
F: greeting 450 4.0.0
)"},
        {"421 greeting: close without QUIT", TlsPolicy::none, false, false, R"(
S: 421 4.3.2 mx.example.com shutting down
= close
F: greeting 421 4.3.2
FD: host mx.example.com[192.0.2.1] refused to talk to me: 421 4.3.2 mx.example.com shutting down
)"},
        {"garbage greeting", TlsPolicy::none, false, false, R"(
S: SSH-2.0-OpenSSH_9.2
= close
F: protocol 0 4.5.0
FD: protocol error: malformed reply line from host mx.example.com[192.0.2.1] while receiving \
    the initial server greeting
)"},
        {"EHLO 502: HELO fallback", TlsPolicy::none, false, false, R"(
S: 220 mx.example.com SMTP
C: EHLO gw.example.com
S: 502 5.5.2 Error: command not recognized
C: HELO gw.example.com
= read
W: ehlo
S: 250 mx.example.com
= ready
)"},
        {"EHLO and HELO refused", TlsPolicy::none, false, false, R"(
S: 220 mx.example.com SMTP
C: EHLO gw.example.com
S: 500 what
C: HELO gw.example.com
S: 501 5.5.4 no
C: QUIT
= close
F: ehlo 501 5.5.4
FD: host mx.example.com[192.0.2.1] said: 501 5.5.4 no (in reply to HELO command)
)"},
        {"EHLO 451: no HELO fallback", TlsPolicy::none, false, false, R"(
S: 220 mx.example.com SMTP
C: EHLO gw.example.com
S: 451 4.3.0 try later
C: QUIT
= close
F: ehlo 451 4.3.0
)"},
        {"timeout waiting for the greeting", TlsPolicy::none, false, false, R"(
!timeout
= close
F: timeout 0 4.4.2
FD: conversation with mx.example.com[192.0.2.1] timed out while receiving the initial server \
    greeting
)"},
        {"connection lost during HELO", TlsPolicy::none, false, false, R"(
S: 220 mx.example.com
C: EHLO gw.example.com
S: 554 no
C: HELO gw.example.com
!lost Connection reset by peer
= close
F: connection_lost 0 4.4.2
FD: lost connection with mx.example.com[192.0.2.1] while performing the HELO handshake \
    (Connection reset by peer)
)"},
        {"unsolicited 421 while idle", TlsPolicy::none, false, false, R"(
S: 220 mx.example.com
C: EHLO gw.example.com
S: 250 mx.example.com
= ready
S: 421 4.4.2 idle timeout
= close
F: service_closing 421 4.4.2
FD: host mx.example.com[192.0.2.1] said: 421 4.4.2 idle timeout (unsolicited)
)"},
        {"unsolicited other reply while idle", TlsPolicy::none, false, false, R"(
S: 220 mx.example.com
C: EHLO gw.example.com
S: 250 mx.example.com
S: 250 extra
= close
F: protocol 250
)"},
        {"QUIT", TlsPolicy::none, false, false, R"(
S: 220 mx.example.com
C: EHLO gw.example.com
S: 250 mx.example.com
!quit
C: QUIT
= read
W: quit
S: 221 2.0.0 Bye
= close
F: none
)"},
        {"timeout after QUIT is no failure", TlsPolicy::none, false, false, R"(
S: 220 mx.example.com
C: EHLO gw.example.com
S: 250 mx.example.com
!quit
C: QUIT
!timeout
= close
F: none
)"},
    };
    run_cases(cases);
}

// The STARTTLS policy matrix: offered or not, under each of the four policies.
TEST(ClientProtocol, StarttlsPolicy) {
    const char* offered_handshake = R"(
S: 220 mx.example.com ESMTP
C: EHLO gw.example.com
S: 250-mx.example.com
S: 250-PIPELINING
S: 250 STARTTLS
C: STARTTLS
W: starttls
S: 220 2.0.0 Ready to start TLS
= start_tls
W: tls
!tls
C: EHLO gw.example.com
S: 250-mx.example.com
S: 250 PIPELINING
= ready
)";
    const char* offered_ignored = R"(
S: 220 mx.example.com ESMTP
C: EHLO gw.example.com
S: 250-mx.example.com
S: 250 STARTTLS
= ready
)";
    const char* not_offered_plain = R"(
S: 220 mx.example.com ESMTP
C: EHLO gw.example.com
S: 250-mx.example.com
S: 250 PIPELINING
= ready
)";
    const char* not_offered_fail = R"(
S: 220 mx.example.com ESMTP
C: EHLO gw.example.com
S: 250-mx.example.com
S: 250 PIPELINING
C: QUIT
= close
F: tls_not_offered 0 4.7.4
FD: TLS is required, but was not offered by host mx.example.com[192.0.2.1]
)";
    const SetupCase cases[] = {
        {"none, offered", TlsPolicy::none, false, false, offered_ignored},
        {"none, not offered", TlsPolicy::none, false, false, not_offered_plain},
        {"opportunistic, offered", TlsPolicy::opportunistic, false, false, offered_handshake},
        {"opportunistic, not offered", TlsPolicy::opportunistic, false, false, not_offered_plain},
        {"required, offered", TlsPolicy::required, false, false, offered_handshake},
        {"required, not offered", TlsPolicy::required, false, false, not_offered_fail},
        {"verify, offered", TlsPolicy::verify, false, false, offered_handshake},
        {"verify, not offered", TlsPolicy::verify, false, false, not_offered_fail},
        {"opportunistic, STARTTLS refused: plaintext", TlsPolicy::opportunistic, false, false,
         STARTTLS_SENT R"(
S: 454 4.7.0 TLS not available due to local problem
= ready
)"},
        {"required, STARTTLS refused", TlsPolicy::required, false, false, STARTTLS_SENT R"(
S: 454 4.7.0 TLS not available due to local problem
C: QUIT
= close
F: starttls 454 4.7.0
FD: host mx.example.com[192.0.2.1] said: 454 4.7.0 TLS not available due to local problem (in \
    reply to STARTTLS command)
)"},
        {"handshake failure", TlsPolicy::verify, false, false, STARTTLS_SENT R"(
S: 220 go ahead
= start_tls
!tlsfail certificate verify failed
= close
F: tls_handshake 0 4.7.5
FD: Cannot start TLS with host mx.example.com[192.0.2.1]: certificate verify failed
)"},
        // RFC 3207 4.2: a man in the middle appends a fake EHLO answer and half a line after
        // the 220; none of it may survive into the TLS session.
        {"bytes after the 220 are discarded", TlsPolicy::required, false, false, STARTTLS_SENT R"(
S~ 220 go ahead\r\n250-mx\r\n250 AUTH PLAIN\r\n421 half a li
= start_tls
X: 37
S~ 250 more plaintext\r\n
X: 57
!tls
C: EHLO gw.example.com
S: 250 mx.example.com
= ready
)"},
        {"a partial line with the 220 is discarded", TlsPolicy::required, false, false,
         STARTTLS_SENT R"(
S~ 220 go ahead\r\n25
= start_tls
!tls
C: EHLO gw.example.com
S: 250 mx.example.com
= ready
)"},
    };
    run_cases(cases);
}

TEST(ClientProtocol, Auth) {
    const SetupCase cases[] = {
        {"PLAIN over TLS", TlsPolicy::required, true, false, STARTTLS_SENT R"(
)" TLS_STARTED R"(
S: 250-mx.example.com
S: 250 AUTH LOGIN PLAIN
C: AUTH PLAIN AHJlbGF5AHNlY3JldA==
W: auth
S: 235 2.7.0 Authentication successful
= ready
)"},
        {"LOGIN over TLS", TlsPolicy::opportunistic, true, false, STARTTLS_SENT R"(
)" TLS_STARTED R"(
S: 250-mx.example.com
S: 250 AUTH=LOGIN
C: AUTH LOGIN
S: 334 VXNlcm5hbWU6
C: cmVsYXk=
S: 334 UGFzc3dvcmQ6
C: c2VjcmV0
S: 235 2.7.0 Authentication successful
= ready
)"},
        {"no credentials over plaintext", TlsPolicy::opportunistic, true, false, R"(
S: 220 mx.example.com ESMTP
C: EHLO gw.example.com
S: 250-mx.example.com
S: 250 AUTH PLAIN LOGIN
C: QUIT
= close
F: auth 0 4.7.0
FD: not sending credentials to host mx.example.com[192.0.2.1] without TLS (auth over plaintext \
    is not allowed)
)"},
        {"plaintext allowed", TlsPolicy::none, true, true, R"(
S: 220 mx.example.com ESMTP
C: EHLO gw.example.com
S: 250-mx.example.com
S: 250 AUTH PLAIN LOGIN
C: AUTH PLAIN AHJlbGF5AHNlY3JldA==
S: 235 2.7.0 ok
= ready
)"},
        {"credentials refused", TlsPolicy::none, true, true, R"(
S: 220 mx.example.com ESMTP
C: EHLO gw.example.com
S: 250-mx.example.com
S: 250 AUTH PLAIN
C: AUTH PLAIN AHJlbGF5AHNlY3JldA==
S: 535 5.7.8 Error: authentication failed: authentication failure
C: QUIT
= close
F: auth 535 5.7.8
FD: SASL authentication failed; server mx.example.com[192.0.2.1] said: 535 5.7.8 Error: \
    authentication failed: authentication failure
)"},
        {"LOGIN password refused", TlsPolicy::none, true, true, R"(
S: 220 mx.example.com ESMTP
C: EHLO gw.example.com
S: 250-mx.example.com
S: 250 AUTH LOGIN
C: AUTH LOGIN
S: 334 VXNlcm5hbWU6
C: cmVsYXk=
S: 334 UGFzc3dvcmQ6
C: c2VjcmV0
S: 535 5.7.8 no
C: QUIT
= close
F: auth 535
)"},
        {"no supported mechanism", TlsPolicy::none, true, true, R"(
S: 220 mx.example.com ESMTP
C: EHLO gw.example.com
S: 250-mx.example.com
S: 250 AUTH CRAM-MD5
C: QUIT
= close
F: auth 0 4.7.0
FD: SASL authentication failed; host mx.example.com[192.0.2.1] offers no supported mechanism \
    (PLAIN, LOGIN)
)"},
        {"334 to PLAIN with initial response", TlsPolicy::none, true, true, R"(
S: 220 mx.example.com ESMTP
C: EHLO gw.example.com
S: 250-mx.example.com
S: 250 AUTH PLAIN
C: AUTH PLAIN AHJlbGF5AHNlY3JldA==
S: 334
= close
F: protocol 334
)"},
    };
    run_cases(cases);
}

}  // namespace
}  // namespace ringmta::smtp
