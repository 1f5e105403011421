// ClientProtocol's message transactions as scripted dialogues: parameters, PIPELINING or not,
// per-recipient results, transaction-level errors, 421 and timeouts mid-transaction, reuse with
// and without RSET, DATA dot-stuffing and BDAT chunking, byte for byte.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mta/smtp/client_protocol.hh"
#include "mta/smtp/client_script.hh"

namespace ringmta::smtp {
namespace {

// Three recipients; 40 octets of content in two pieces (Received header, body).
struct TestMessage {
    queue::Envelope envelope;
    std::vector<uint32_t> recipients = {0, 1, 2};
    std::vector<std::string_view> pieces = {"Received: from a\r\n", "Subject: hi\r\n\r\nhello\r\n"};

    TestMessage() {
        envelope.sender = "alice@example.org";
        for (const char* r : {"bob@example.com", "carol@example.com", "dave@example.com"}) {
            envelope.recipients.push_back(queue::Recipient{.address = r});
        }
    }
    ClientMessage message() const { return {&envelope, recipients, pieces}; }
};

struct TxnCase {
    const char* label;
    const char* ehlo;  // the extensions, "|"-separated, offered in the EHLO reply
    const char* script;
    TestMessage message = {};
    size_t bdat_chunk_bytes = 1 << 20;
    bool pipelining = true;
};

// The dialogue up to idle: greeting, EHLO, an EHLO reply offering c.ehlo.
std::string opening(const char* ehlo) {
    std::string out = "S: 220 mx.example.com ESMTP\nC: EHLO gw.example.com\n";
    std::string_view rest = ehlo;
    std::vector<std::string_view> lines = {"mx.example.com"};
    while (!rest.empty()) {
        size_t bar = std::min(rest.find('|'), rest.size());
        lines.push_back(rest.substr(0, bar));
        rest.remove_prefix(std::min(bar + 1, rest.size()));
    }
    for (size_t i = 0; i < lines.size(); ++i) {
        out += std::string("S: 250") + (i + 1 < lines.size() ? "-" : " ") + std::string(lines[i]);
        out += '\n';
    }
    return out + "= ready\n";
}

void run_cases(std::span<const TxnCase> cases) {
    for (const TxnCase& c : cases) {
        ClientConfig config;
        config.helo_name = "gw.example.com";
        config.peer_name = "mx.example.com";
        config.peer_address = "192.0.2.1";
        config.tls = TlsPolicy::none;
        config.bdat_chunk_bytes = c.bdat_chunk_bytes;
        config.pipelining = c.pipelining;
        ClientProtocol protocol(config);
        // The same message twice, for the reuse cases.
        std::vector<ClientMessage> messages = {c.message.message(), c.message.message()};
        bool binary = c.message.envelope.body_type == queue::BodyType::binary_mime;
        std::string report =
            testing::run_client_script(protocol, messages, opening(c.ehlo) + c.script, binary);
        EXPECT_EQ(report, "") << c.label;
    }
}

TestMessage with_dsn_and_utf8() {
    TestMessage m;
    m.envelope.smtputf8 = true;
    m.envelope.body_type = queue::BodyType::eight_bit_mime;
    m.envelope.ret = queue::DsnRet::hdrs;
    m.envelope.envid = "QQ+2B1";
    m.envelope.recipients[0].notify = queue::notify_success | queue::notify_failure;
    m.envelope.recipients[0].orcpt = "rfc822;bob@example.com";
    m.envelope.recipients[1].notify = queue::notify_never;
    m.recipients = {0, 1};
    return m;
}

TestMessage with_body(std::vector<std::string_view> pieces) {
    TestMessage m;
    m.recipients = {0};
    m.pieces = std::move(pieces);
    return m;
}

TestMessage binary_message() {
    TestMessage m = with_body({"bin\rary\n\r\n"});
    m.envelope.body_type = queue::BodyType::binary_mime;
    return m;
}

// The standard message sent pipelined: MAIL and its three RCPTs in one write.
#define SEND_THREE                                                            \
    "!send\nC: MAIL FROM:<alice@example.org>\nC: RCPT TO:<bob@example.com>\n" \
    "C: RCPT TO:<carol@example.com>\nC: RCPT TO:<dave@example.com>\n"
// The standard content as DATA puts it on the wire.
#define DATA_CONTENT "C: Received: from a\nC: Subject: hi\nC:\nC: hello\nC: .\n"

TEST(ClientTransaction, Pipelining) {
    const TxnCase cases[] = {
        {"pipelined: one write, replies in order", "PIPELINING", SEND_THREE R"(
C: DATA
= read
W: mail
T: 1
S: 250 2.1.0 Ok
W: rcpt
S: 250 2.1.5 Ok
S: 250 2.1.5 Ok
S: 250 2.1.5 Ok
W: data
S: 354 End data with <CR><LF>.<CR><LF>
)" DATA_CONTENT R"(
W: end_of_data
S: 250 2.0.0 Ok: queued as 4XyZ
= ready
R: 0 delivered 250 2.0.0
R: 2 delivered 250 2.0.0
D: 1 250 2.0.0 Ok: queued as 4XyZ
)"},
        {"not pipelined: one command at a time", "8BITMIME", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250 2.1.0 Ok
C: RCPT TO:<bob@example.com>
S: 250 2.1.5 Ok
C: RCPT TO:<carol@example.com>
S: 250 2.1.5 Ok
C: RCPT TO:<dave@example.com>
S: 250 2.1.5 Ok
C: DATA
S: 354 go
)" DATA_CONTENT R"(
S: 250 2.0.0 Ok
= ready
R: 1 delivered
)"},
        {"PIPELINING offered but disabled", "PIPELINING", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250 2.1.0 Ok
C: RCPT TO:<bob@example.com>
)",
         TestMessage{}, 1 << 20, false},
    };
    run_cases(cases);
}

TEST(ClientTransaction, Parameters) {
    const TxnCase cases[] = {
        {"SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY, ORCPT",
         "PIPELINING|SIZE 10000000|8BITMIME|SMTPUTF8|DSN", R"(
!send
C: MAIL FROM:<alice@example.org> SIZE=40 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2B1
C: RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.com
C: RCPT TO:<carol@example.com> NOTIFY=NEVER
C: DATA
)",
         with_dsn_and_utf8()},
        {"no DSN offered: no DSN parameters; no 8BITMIME: no BODY", "PIPELINING|SMTPUTF8|SIZE", R"(
!send
C: MAIL FROM:<alice@example.org> SIZE=40 SMTPUTF8
C: RCPT TO:<bob@example.com>
C: RCPT TO:<carol@example.com>
C: DATA
)",
         with_dsn_and_utf8()},
        {"SMTPUTF8 asked for, all ASCII, not offered: sent without it", "PIPELINING|8BITMIME|DSN",
         R"(
!send
C: MAIL FROM:<alice@example.org> BODY=8BITMIME RET=HDRS ENVID=QQ+2B1
C: RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.com
C: RCPT TO:<carol@example.com> NOTIFY=NEVER
C: DATA
)",
         with_dsn_and_utf8()},
        {"SMTPUTF8 needed (UTF-8 recipient), not offered: 5.6.7, nothing sent",
         "PIPELINING|8BITMIME|DSN", R"(
!send
= ready
T: 0
R: 0 failed 0 5.6.7
R: 1 failed 0 5.6.7
D: 1 SMTPUTF8 not supported by next hop: host mx.example.com[192.0.2.1] does not offer SMTPUTF8
)",
         [] {
             TestMessage m = with_dsn_and_utf8();
             m.envelope.recipients[1].address = "j\xc3\xb6rg@example.com";
             return m;
         }()},
        {"SMTPUTF8 needed (UTF-8 header), not offered: 5.6.7", "PIPELINING|8BITMIME", R"(
!send
= ready
R: 0 failed 0 5.6.7
)",
         [] {
             TestMessage m = with_dsn_and_utf8();
             m.pieces = {"Received: from a\r\n", "Subject: gr\xc3\xbc\xc3\x9f" "e\r\n\r\nhi\r\n"};
             return m;
         }()},
        {"larger than the server's SIZE: 5.3.4", "SIZE 39", R"(
!send
= ready
R: 0 failed 0 5.3.4
D: 0 message size 40 exceeds size limit 39 of server mx.example.com[192.0.2.1]
)"},
        {"exactly the server's SIZE", "SIZE 40", R"(
!send
C: MAIL FROM:<alice@example.org> SIZE=40
)"},
        {"null sender", "", R"(
!send
C: MAIL FROM:<>
)",
         [] {
             TestMessage m;
             m.envelope.sender = "";
             return m;
         }()},
    };
    run_cases(cases);
}

TEST(ClientTransaction, RecipientResults) {
    const TxnCase cases[] = {
        {"550, 250, 451 then DATA", "PIPELINING|ENHANCEDSTATUSCODES", SEND_THREE R"(
C: DATA
S: 250 2.1.0 Ok
S: 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown
S: 250 2.1.5 Ok
S: 451 4.3.0 <dave@example.com>: Temporary lookup failure
S: 354 go ahead
)" DATA_CONTENT R"(
S: 250 2.0.0 Ok: queued as ABC
= ready
R: 0 failed 550 5.1.1
D: 0 host mx.example.com[192.0.2.1] said: 550 5.1.1 <bob@example.com>: Recipient address \
    rejected: User unknown (in reply to RCPT TO command)
R: 1 delivered 250 2.0.0
R: 2 deferred 451 4.3.0
D: 2 host mx.example.com[192.0.2.1] said: 451 4.3.0 <dave@example.com>: Temporary lookup \
    failure (in reply to RCPT TO command)
)"},
        {"all refused, pipelined: DATA refused, no content", "PIPELINING", SEND_THREE R"(
C: DATA
S: 250 2.1.0 Ok
S: 550 5.1.1 no
S: 550 5.1.1 no
S: 450 4.2.1 later
S: 554 5.5.1 Error: no valid recipients
= ready
R: 0 failed 550
R: 2 deferred 450 4.2.1
)"},
        {"all refused, not pipelined: no DATA", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250 ok
C: RCPT TO:<bob@example.com>
S: 550 no
C: RCPT TO:<carol@example.com>
S: 550 no
C: RCPT TO:<dave@example.com>
S: 550 no
= ready
R: 2 failed 550 5.0.0
)"},
        {"354 with no recipient accepted: an empty message ends it", "PIPELINING", SEND_THREE R"(
C: DATA
S: 250 ok
S: 550 no
S: 550 no
S: 550 no
S: 354 go
C: .
S: 250 ok
= ready
R: 0 failed 550
)"},
        {"MAIL refused, pipelined: every recipient gets MAIL's reply", "PIPELINING", SEND_THREE R"(
C: DATA
S: 553 5.7.1 <alice@example.org>: Sender address rejected
S: 503 5.5.1 Error: need MAIL command
S: 503 5.5.1 Error: need MAIL command
S: 503 5.5.1 Error: need MAIL command
S: 503 5.5.1 Error: need MAIL command
= ready
R: 0 failed 553 5.7.1
D: 2 host mx.example.com[192.0.2.1] said: 553 5.7.1 <alice@example.org>: Sender address \
    rejected (in reply to MAIL FROM command)
)"},
        {"MAIL deferred, not pipelined", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 452 4.3.1 Insufficient system storage
= ready
R: 0 deferred 452 4.3.1
R: 2 deferred 452 4.3.1
)"},
        {"DATA refused", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250 ok
C: RCPT TO:<bob@example.com>
S: 550 no
C: RCPT TO:<carol@example.com>
S: 250 ok
C: RCPT TO:<dave@example.com>
S: 250 ok
C: DATA
S: 451 4.3.0 not now
= ready
R: 0 failed 550
R: 1 deferred 451 4.3.0
D: 2 host mx.example.com[192.0.2.1] said: 451 4.3.0 not now (in reply to DATA command)
)"},
    };
    run_cases(cases);
}

// The lines every pipelined three-recipient message opens with, all accepted, up to the 354.
#define ACCEPT_ALL \
    SEND_THREE "C: DATA\nS: 250 ok\nS: 250 ok\nS: 250 ok\nS: 250 ok\nS: 354 go\n" DATA_CONTENT

TEST(ClientTransaction, EndOfData) {
    const TxnCase cases[] = {
        {"452 after the content: accepted recipients deferred", "PIPELINING", ACCEPT_ALL R"(
S: 452 4.3.1 Insufficient system storage
= ready
R: 0 deferred 452 4.3.1
R: 2 deferred 452 4.3.1
D: 1 host mx.example.com[192.0.2.1] said: 452 4.3.1 Insufficient system storage (in reply to \
    end of DATA command)
)"},
        {"554 after the content: accepted recipients failed, refused keep theirs", "PIPELINING",
         SEND_THREE R"(
C: DATA
S: 250 ok
S: 250 ok
S: 451 4.2.0 greylisted
S: 250 ok
S: 354 go
)" DATA_CONTENT R"(
S: 554 5.7.1 Message rejected: spam
= ready
R: 0 failed 554 5.7.1
R: 1 deferred 451 4.2.0
R: 2 failed 554 5.7.1
)"},
        {"multi-line reply to end of data", "PIPELINING", ACCEPT_ALL R"(
S: 550-5.7.1 Message rejected
S: 550-5.7.1 see https://example.com/policy
S: 550 5.7.1 for details
= ready
D: 0 host mx.example.com[192.0.2.1] said: 550 5.7.1 Message rejected see \
    https://example.com/policy for details (in reply to end of DATA command)
)"},
        {"timeout after the content", "PIPELINING", ACCEPT_ALL R"(
W: end_of_data
!timeout
= close
R: 0 deferred 0 4.4.2
D: 1 conversation with mx.example.com[192.0.2.1] timed out while sending end of data -- message \
    may be sent more than once
F: timeout
)"},
    };
    run_cases(cases);
}

TEST(ClientTransaction, ConnectionLevelFailures) {
    const TxnCase cases[] = {
        {"421 at RCPT: every recipient not final deferred", "PIPELINING", SEND_THREE R"(
C: DATA
S: 250 ok
S: 550 5.1.1 no such user
S: 421 4.7.0 mx.example.com Error: too many errors
= close
R: 0 failed 550 5.1.1
R: 1 deferred 421 4.7.0
R: 2 deferred 421 4.7.0
D: 2 host mx.example.com[192.0.2.1] said: 421 4.7.0 mx.example.com Error: too many errors (in \
    reply to RCPT TO command)
F: service_closing 421 4.7.0
)"},
        {"lost during RCPT", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250 ok
C: RCPT TO:<bob@example.com>
S: 250 ok
C: RCPT TO:<carol@example.com>
!lost
= close
R: 0 deferred 0 4.4.2
D: 2 lost connection with mx.example.com[192.0.2.1] while sending RCPT TO
)"},
        {"malformed reply mid-transaction", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250 ok
C: RCPT TO:<bob@example.com>
S: 25 ok
= close
R: 0 deferred 0 4.5.0
F: protocol 0 4.5.0
FD: protocol error: malformed reply line from host mx.example.com[192.0.2.1] while sending RCPT TO
)"},
        {"mismatched codes in a multi-line reply", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250-ok
S: 251 ok
= close
F: protocol
)"},
        {"3xx to MAIL is unexpected", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 354 what
= close
F: protocol 354 4.5.0
R: 0 deferred 354 4.5.0
)"},
    };
    run_cases(cases);
}

TEST(ClientTransaction, Reuse) {
    const TxnCase cases[] = {
        {"after a clean transaction: MAIL directly", "PIPELINING", ACCEPT_ALL R"(
S: 250 2.0.0 Ok: queued as A
= ready
)" SEND_THREE R"(
C: DATA
T: 2
R: 0 pending
)"},
        {"after an error: RSET pipelined before MAIL", "PIPELINING", ACCEPT_ALL R"(
S: 451 4.3.0 try again
= ready
!send
C: RSET
C: MAIL FROM:<alice@example.org>
C: RCPT TO:<bob@example.com>
C: RCPT TO:<carol@example.com>
C: RCPT TO:<dave@example.com>
C: DATA
W: rset
S: 250 2.0.0 Ok
W: mail
)"},
        {"after an error, not pipelined: RSET, then MAIL", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 450 4.1.8 sender domain not found
= ready
!send
C: RSET
= read
S: 250 Ok
C: MAIL FROM:<alice@example.org>
S: 250 Ok
C: RCPT TO:<bob@example.com>
)"},
        {"RSET refused: not reusable, the new message deferred", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 450 no
!send
C: RSET
S: 554 5.5.1 go away
= close
F: rset 554 5.5.1
R: 0 deferred 554 4.5.1
D: 0 host mx.example.com[192.0.2.1] said: 554 5.5.1 go away (in reply to RSET command)
)"},
    };
    run_cases(cases);
}

TEST(ClientTransaction, DotStuffing) {
    const TxnCase cases[] = {
        {"lines beginning with a dot, a lone dot line, dots across pieces", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250 ok
C: RCPT TO:<bob@example.com>
S: 250 ok
C: DATA
S: 354 go
C: ..hidden
C: a.b
C: ..
C: ...
C: ..x
C: .
S: 250 ok
)",
         with_body({".hidden\r\na.b\r\n.\r\n..\r", "\n", ".x\r\n"})},
        {"content that is only a dot line", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250 ok
C: RCPT TO:<bob@example.com>
S: 250 ok
C: DATA
S: 354 go
C: ..
C: .
S: 250 ok
= ready
)",
         with_body({".\r\n"})},
        {"empty content", "", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250 ok
C: RCPT TO:<bob@example.com>
S: 250 ok
C: DATA
S: 354 go
C: .
S: 250 ok
= ready
)",
         with_body({})},
    };
    run_cases(cases);
}

TEST(ClientTransaction, Bdat) {
    const TxnCase cases[] = {
        {"pipelined chunks of 16 octets, never ending between CR and LF", "PIPELINING|CHUNKING",
         SEND_THREE R"(
S: 250 ok
S: 250 ok
S: 550 no
S: 250 ok
C~ BDAT 16\r\nReceived: from aBDAT 17\r\n\r\nSubject: hi\r\n\r\nBDAT 7 LAST\r\nhello\r\n
W: bdat
S: 250 2.0.0 16 octets received
S: 250 2.0.0 17 octets received
W: end_of_data
S: 250 2.0.0 Ok: 40 octets, queued as Q
= ready
R: 0 delivered 250
R: 1 failed 550
R: 2 delivered
)",
         TestMessage{}, 16},
        {"not pipelined: one chunk per reply; exact multiple", "CHUNKING", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250 ok
C: RCPT TO:<bob@example.com>
S: 250 ok
C: RCPT TO:<carol@example.com>
S: 250 ok
C: RCPT TO:<dave@example.com>
S: 250 ok
C~ BDAT 20\r\nReceived: from a\r\nSu
S: 250 ok
C~ BDAT 20 LAST\r\nbject: hi\r\n\r\nhello\r\n
S: 250 ok
= ready
)",
         TestMessage{}, 20},
        {"first chunk refused, pipelined: the rest consumed", "PIPELINING|CHUNKING", SEND_THREE R"(
S: 250 ok
S: 250 ok
S: 250 ok
S: 250 ok
C~ BDAT 31\r\nReceived: from a\r\nSubject: hi\r\nBDAT 9 LAST\r\n\r\nhello\r\n
S: 552 5.3.4 Message too big
S: 503 5.5.1 Error: BDAT after error
= ready
R: 0 failed 552 5.3.4
D: 0 host mx.example.com[192.0.2.1] said: 552 5.3.4 Message too big (in reply to BDAT command)
!send
C: RSET
C: MAIL FROM:<alice@example.org>
C: RCPT TO:<bob@example.com>
C: RCPT TO:<carol@example.com>
C: RCPT TO:<dave@example.com>
)",
         TestMessage{}, 30},
        {"all refused: no BDAT", "PIPELINING|CHUNKING", SEND_THREE R"(
S: 250 ok
S: 550 no
S: 550 no
S: 550 no
= ready
)"},
        {"empty content: BDAT 0 LAST", "CHUNKING", R"(
!send
C: MAIL FROM:<alice@example.org>
S: 250 ok
C: RCPT TO:<bob@example.com>
S: 250 ok
C: BDAT 0 LAST
S: 250 ok
= ready
R: 0 delivered
)",
         with_body({})},
        {"BINARYMIME over BDAT", "CHUNKING|BINARYMIME", R"(
!send
C: MAIL FROM:<alice@example.org> BODY=BINARYMIME
S: 250 ok
C: RCPT TO:<bob@example.com>
S: 250 ok
C~ BDAT 10 LAST\r\nbin\rary\n\r\n
S: 250 ok
= ready
)",
         binary_message()},
        {"BINARYMIME without BINARYMIME: 5.6.3", "CHUNKING|8BITMIME", R"(
!send
= ready
T: 0
R: 0 failed 0 5.6.3
D: 0 BINARYMIME content cannot be relayed: host mx.example.com[192.0.2.1] does not offer \
    CHUNKING and BINARYMIME
)",
         binary_message()},
    };
    run_cases(cases);
}

TEST(ClientScript, ReportsEveryDifference) {
    ClientConfig config;
    config.helo_name = "gw";
    ClientProtocol protocol(config);
    std::string got = testing::run_client_script(protocol, {}, "S: 220 mx\nC: EHLO gx\n= read\n");
    EXPECT_EQ(got, "line 2: client wrote: got \"EHLO gw\\r\\n\", want \"EHLO gx\\r\\n\"\n");
    EXPECT_TRUE(testing::has_bare_newline("a\nb"));
    EXPECT_TRUE(testing::has_bare_newline("a\r"));
    EXPECT_FALSE(testing::has_bare_newline("a\r\nb\r\n"));
}

TEST(ClientTransaction, Smtputf8Needed) {
    struct Case {
        const char* label;
        const char* sender;
        const char* recipient;  // the one recipient in the transaction
        std::vector<std::string_view> content;
        bool want;
    };
    const Case cases[] = {
        {"all ASCII", "a@example.org", "b@example.com", {"Subject: hi\r\n\r\nhi\r\n"}, false},
        {"UTF-8 sender", "j\xc3\xb6rg@example.org", "b@example.com", {"S: x\r\n\r\n"}, true},
        {"UTF-8 recipient", "a@example.org", "b@b\xc3\xbc" "cher.example", {"\r\n"}, true},
        {"UTF-8 header", "a@example.org", "b@example.com", {"Subject: \xc3\xa9\r\n\r\n"}, true},
        {"UTF-8 body only", "a@example.org", "b@example.com", {"S: x\r\n\r\n\xc3\xa9\r\n"},
         false},
        {"no header section: body from the start", "a@example.org", "b@example.com",
         {"\r\n\xc3\xa9\r\n"}, false},
        {"empty line split across pieces", "a@example.org", "b@example.com",
         {"S: x\r\n\r", "\n\xc3\xa9\r\n"}, false},
        {"header continues in the next piece", "a@example.org", "b@example.com",
         {"Received: x\r\n", "Subject: \xc3\xa9\r\n\r\nbody\r\n"}, true},
        {"no empty line at all", "a@example.org", "b@example.com", {"S: x\r\nT: \xc3\xa9\r\n"},
         true},
    };
    for (const Case& c : cases) {
        queue::Envelope e;
        e.sender = c.sender;
        e.recipients.push_back(queue::Recipient{.address = "ascii@example.com"});
        e.recipients.push_back(queue::Recipient{.address = c.recipient});
        const uint32_t recipients[] = {1};
        bool got = smtputf8_needed(e, recipients, c.content);
        EXPECT_EQ(got, c.want) << c.label << ": got " << got << ", want " << c.want;
    }
    // A UTF-8 recipient outside the transaction does not count.
    queue::Envelope e;
    e.sender = "a@example.org";
    e.recipients = {queue::Recipient{.address = "b@b\xc3\xbc" "cher.example"},
                    queue::Recipient{.address = "c@example.com"}};
    const uint32_t second[] = {1};
    const std::string_view content[] = {"S: x\r\n\r\n"};
    EXPECT_FALSE(smtputf8_needed(e, second, content));
}

}  // namespace
}  // namespace ringmta::smtp
