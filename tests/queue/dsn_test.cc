// DSN content: the produced bounce is parsed back as MIME (RFC 2046 boundaries, RFC 6522
// parts, RFC 3464 fields) and checked field by field; NOTIFY/RET/SMTPUTF8 rules; line rules.
#include "queue/dsn.hh"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace ringmta::queue {
namespace {

const std::string original_content =
    "Received: from exchange.example.com ([192.0.2.10])\r\n"
    "\tby gw.example.com (ringmta) with ESMTP id 0005F3A1B2C3D401;\r\n"
    "\tTue, 14 Nov 2023 22:13:20 +0000\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: bob@dest.example\r\n"
    "Subject: quarterly numbers\r\n"
    "\r\n"
    "Body line one.\r\n"
    "Body line two.\r\n";

// ---- a small MIME reader, independent of the code under test ----

using Fields = std::vector<std::pair<std::string, std::string>>;  // unfolded, in order

Fields parse_fields(const std::string& block) {
    Fields out;
    size_t pos = 0;
    while (pos < block.size()) {
        size_t eol = block.find("\r\n", pos);
        if (eol == std::string::npos) eol = block.size();
        std::string line = block.substr(pos, eol - pos);
        pos = eol + 2;
        if (line.empty()) continue;
        if ((line[0] == ' ' || line[0] == '\t') && !out.empty()) {
            out.back().second += line;  // unfold: the CRLF goes, the white space stays
            continue;
        }
        size_t colon = line.find(':');
        std::string value = colon + 1 < line.size() ? line.substr(colon + 1) : "";
        while (!value.empty() && value[0] == ' ') value.erase(0, 1);
        out.emplace_back(line.substr(0, colon), value);
    }
    return out;
}

std::string field(const Fields& fields, const std::string& name) {
    for (const auto& [n, v] : fields) {
        if (n == name) return v;
    }
    return "<absent>";
}

struct MimePart {
    Fields headers;
    std::string body;
};

struct Mime {
    Fields headers;
    std::string boundary;
    std::vector<MimePart> parts;
};

Mime parse_mime(const std::string& content) {
    Mime m;
    size_t header_end = content.find("\r\n\r\n");
    EXPECT_NE(header_end, std::string::npos);
    m.headers = parse_fields(content.substr(0, header_end + 2));
    std::string type = field(m.headers, "Content-Type");
    size_t b = type.find("boundary=\"");
    EXPECT_NE(b, std::string::npos) << type;
    m.boundary = type.substr(b + 10, type.find('"', b + 10) - (b + 10));
    std::string delimiter = "\r\n--" + m.boundary;
    size_t pos = content.find(delimiter, header_end);
    while (pos != std::string::npos) {
        size_t start = pos + delimiter.size();
        if (content.compare(start, 2, "--") == 0) break;  // close delimiter
        start += 2;                                       // the CRLF after the delimiter
        size_t next = content.find(delimiter, start);
        if (next == std::string::npos) break;
        std::string part = content.substr(start, next - start);
        size_t split = part.find("\r\n\r\n");
        MimePart p;
        p.headers = parse_fields(part.substr(0, split + 2));
        p.body = part.substr(split + 4);
        m.parts.push_back(p);
        pos = next;
    }
    return m;
}

// Groups of delivery-status fields, separated by blank lines (RFC 3464 2.1).
std::vector<Fields> status_groups(const std::string& body) {
    std::vector<Fields> groups;
    size_t pos = 0;
    while (pos < body.size()) {
        size_t end = body.find("\r\n\r\n", pos);
        if (end == std::string::npos) end = body.size();
        groups.push_back(parse_fields(body.substr(pos, end - pos + 2)));
        pos = end + 4;
    }
    return groups;
}

// Every line ends in CRLF, nothing bare, nothing longer than 998 octets.
void expect_wire_clean(const std::string& s) {
    size_t line_start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            ASSERT_TRUE(i + 1 < s.size() && s[i + 1] == '\n') << "bare CR at " << i;
        } else if (s[i] == '\n') {
            ASSERT_TRUE(i > 0 && s[i - 1] == '\r') << "bare LF at " << i;
            ASSERT_LE(i - 1 - line_start, 998u) << "long line at " << line_start;
            line_start = i + 1;
        }
    }
    ASSERT_EQ(line_start, s.size()) << "content does not end with CRLF";
}

// ---- fixtures ----

Envelope envelope_with(std::vector<Recipient> recipients) {
    Envelope e;
    e.queue_id = 0x0005F3A1B2C3D401;
    e.arrival_us = 1'700'000'000'000'000;  // Tue, 14 Nov 2023 22:13:20 +0000
    e.sender = "alice@example.com";
    e.envid = "QQ+2B314";                  // xtext for "QQ+314"
    e.recipients = std::move(recipients);
    e.shard = 3;
    return e;
}

DsnRecipient failure(uint32_t index) {
    DsnRecipient r;
    r.index = index;
    r.action = DsnAction::failed;
    r.status = "5.1.1";
    r.remote_mta = "mx.dest.example";
    r.diagnostic = "550 5.1.1 user unknown";
    r.last_attempt_us = 1'700'000'060'000'000;
    return r;
}

DsnOptions options() {
    DsnOptions o;
    o.hostname = "gw.example.com";
    o.bounce_queue_id = 0x0005F3A1B2C3E501;
    o.now_us = 1'700'000'120'000'000;
    return o;
}

DsnMessage build_one(const Envelope& e, std::vector<DsnRecipient> recipients,
                     const std::string& content = original_content) {
    auto dsn = build_dsn(e, content, recipients, options());
    EXPECT_TRUE(dsn.has_value());
    return dsn ? *dsn : DsnMessage{};
}

// ---- tests ----

TEST(Dsn, FailureHasThreePartsAndRfc3464Fields) {
    Envelope e = envelope_with({{"bob@dest.example", notify_unset, "rfc822;bob+2Bx@dest.example"}});
    DsnMessage dsn = build_one(e, {failure(0)});
    expect_wire_clean(dsn.content);
    Mime m = parse_mime(dsn.content);

    const std::map<std::string, std::string> want_headers = {
        {"From", "MAILER-DAEMON@gw.example.com (Mail Delivery System)"},
        {"To", "alice@example.com"},
        {"Subject", "Undelivered Mail Returned to Sender"},
        {"Date", "Tue, 14 Nov 2023 22:15:20 +0000"},
        {"Message-ID", "<0005F3A1B2C3E501.dsn@gw.example.com>"},
        {"Auto-Submitted", "auto-replied"},
        {"MIME-Version", "1.0"},
    };
    for (const auto& [name, want] : want_headers) {
        EXPECT_EQ(field(m.headers, name), want) << name;
    }
    EXPECT_EQ(field(m.headers, "Content-Type").rfind("multipart/report; ", 0), 0u);
    EXPECT_NE(field(m.headers, "Content-Type").find("report-type=delivery-status"),
              std::string::npos);

    ASSERT_EQ(m.parts.size(), 3u);
    EXPECT_EQ(field(m.parts[0].headers, "Content-Type"), "text/plain; charset=us-ascii");
    EXPECT_EQ(field(m.parts[1].headers, "Content-Type"), "message/delivery-status");
    EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "message/rfc822");
    EXPECT_NE(m.parts[0].body.find("This is the mail system at host gw.example.com."),
              std::string::npos);
    EXPECT_NE(m.parts[0].body.find(
                  "<bob@dest.example>: host mx.dest.example said: 550 5.1.1 user unknown"),
              std::string::npos)
        << m.parts[0].body;
    EXPECT_EQ(m.parts[2].body, original_content) << "RET unset returns the full original";

    auto groups = status_groups(m.parts[1].body);
    ASSERT_EQ(groups.size(), 2u);
    const std::map<std::string, std::string> want_message = {
        {"Reporting-MTA", "dns; gw.example.com"},
        {"Original-Envelope-Id", "QQ+314"},
        {"Arrival-Date", "Tue, 14 Nov 2023 22:13:20 +0000"},
    };
    for (const auto& [name, want] : want_message) {
        EXPECT_EQ(field(groups[0], name), want) << name;
    }
    const std::map<std::string, std::string> want_recipient = {
        {"Final-Recipient", "rfc822; bob@dest.example"},
        {"Original-Recipient", "rfc822;bob+x@dest.example"},
        {"Action", "failed"},
        {"Status", "5.1.1"},
        {"Remote-MTA", "dns; mx.dest.example"},
        {"Diagnostic-Code", "smtp; 550 5.1.1 user unknown"},
        {"Last-Attempt-Date", "Tue, 14 Nov 2023 22:14:20 +0000"},
    };
    for (const auto& [name, want] : want_recipient) {
        EXPECT_EQ(field(groups[1], name), want) << name;
    }

    EXPECT_EQ(dsn.envelope.sender, "");
    ASSERT_EQ(dsn.envelope.recipients.size(), 1u);
    EXPECT_EQ(dsn.envelope.recipients[0].address, "alice@example.com");
    EXPECT_EQ(dsn.envelope.recipients[0].notify, notify_never);
    EXPECT_EQ(dsn.envelope.queue_id, options().bounce_queue_id);
    EXPECT_EQ(dsn.envelope.body_type, BodyType::seven_bit);
    EXPECT_EQ(dsn.envelope.shard, 3);
}

TEST(Dsn, ReturnedContentFollowsRet) {
    struct Case {
        const char* label;
        DsnRet ret;
        BodyType body;
        uint64_t max_bytes;
        const char* want_type;
        bool want_full;
    };
    const Case cases[] = {
        {"RET unset", DsnRet::none, BodyType::seven_bit, 0, "message/rfc822", true},
        {"RET=FULL", DsnRet::full, BodyType::seven_bit, 0, "message/rfc822", true},
        {"RET=HDRS", DsnRet::hdrs, BodyType::seven_bit, 0, "text/rfc822-headers", false},
        {"BINARYMIME", DsnRet::full, BodyType::binary_mime, 0, "text/rfc822-headers", false},
        {"over size limit", DsnRet::full, BodyType::seven_bit, 100, "text/rfc822-headers", false},
    };
    for (const Case& c : cases) {
        Envelope e = envelope_with({{"bob@dest.example", notify_unset, ""}});
        e.ret = c.ret;
        e.body_type = c.body;
        DsnOptions o = options();
        o.full_content_max_bytes = c.max_bytes;
        std::vector<DsnRecipient> rs = {failure(0)};
        auto dsn = build_dsn(e, original_content, rs, o);
        ASSERT_TRUE(dsn) << c.label;
        Mime m = parse_mime(dsn->content);
        ASSERT_EQ(m.parts.size(), 3u) << c.label;
        EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), c.want_type)
            << c.label << ": got " << field(m.parts[2].headers, "Content-Type") << ", want "
            << c.want_type;
        std::string want_body = c.want_full ? original_content
                                            : original_content.substr(
                                                  0, original_content.find("\r\n\r\n") + 2);
        EXPECT_EQ(m.parts[2].body, want_body) << c.label;
    }
}

TEST(Dsn, Smtputf8UsesGlobalTypes) {
    Envelope e = envelope_with({{"bjørn@dest.example", notify_unset, ""}});
    e.smtputf8 = true;
    e.body_type = BodyType::eight_bit_mime;
    e.sender = "ålice@example.com";
    std::string content = "Subject: grüße\r\n\r\nhej\r\n";
    DsnMessage dsn = build_one(e, {failure(0)}, content);
    expect_wire_clean(dsn.content);
    Mime m = parse_mime(dsn.content);
    ASSERT_EQ(m.parts.size(), 3u);
    EXPECT_EQ(field(m.parts[0].headers, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(field(m.parts[1].headers, "Content-Type"), "message/global-delivery-status");
    EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "message/global");
    EXPECT_EQ(field(m.parts[2].headers, "Content-Transfer-Encoding"), "8bit");
    EXPECT_EQ(m.parts[2].body, content);
    auto groups = status_groups(m.parts[1].body);
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(field(groups[1], "Final-Recipient"), "utf-8; bjørn@dest.example");
    EXPECT_EQ(field(m.headers, "To"), "ålice@example.com");
    EXPECT_TRUE(dsn.envelope.smtputf8);
    EXPECT_EQ(dsn.envelope.body_type, BodyType::eight_bit_mime);

    e.ret = DsnRet::hdrs;
    Mime h = parse_mime(build_one(e, {failure(0)}, content).content);
    ASSERT_EQ(h.parts.size(), 3u);
    EXPECT_EQ(field(h.parts[2].headers, "Content-Type"), "message/global-headers");
}

TEST(Dsn, NotifyDecidesPerRecipient) {
    struct Case {
        const char* label;
        uint8_t notify;
        DsnAction action;
        bool want;
    };
    const Case cases[] = {
        {"unset, failed", notify_unset, DsnAction::failed, true},
        {"unset, delayed", notify_unset, DsnAction::delayed, true},
        {"unset, delivered", notify_unset, DsnAction::delivered, false},
        {"NEVER, failed", notify_never, DsnAction::failed, false},
        {"NEVER, delayed", notify_never, DsnAction::delayed, false},
        {"FAILURE, failed", notify_failure, DsnAction::failed, true},
        {"FAILURE, delayed", notify_failure, DsnAction::delayed, false},
        {"DELAY, failed", notify_delay, DsnAction::failed, false},
        {"DELAY, delayed", notify_delay, DsnAction::delayed, true},
        {"SUCCESS, delivered", notify_success, DsnAction::delivered, true},
        {"SUCCESS, relayed", notify_success, DsnAction::relayed, true},
        {"SUCCESS, failed", notify_success, DsnAction::failed, false},
        {"SUCCESS,FAILURE, failed", notify_success | notify_failure, DsnAction::failed, true},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(dsn_wanted(c.notify, c.action), c.want)
            << c.label << ": got " << !c.want << ", want " << c.want;
    }

    // Only the recipients that want a DSN appear in it; none wanted means no DSN at all.
    Envelope e = envelope_with({{"never@dest.example", notify_never, ""},
                                {"fail@dest.example", notify_failure, ""},
                                {"unset@dest.example", notify_unset, ""}});
    DsnMessage dsn = build_one(e, {failure(0), failure(1), failure(2)});
    auto groups = status_groups(parse_mime(dsn.content).parts.at(1).body);
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_EQ(field(groups[1], "Final-Recipient"), "rfc822; fail@dest.example");
    EXPECT_EQ(field(groups[2], "Final-Recipient"), "rfc822; unset@dest.example");
    std::vector<DsnRecipient> only_never = {failure(0)};
    EXPECT_FALSE(build_dsn(e, original_content, only_never, options()));
}

TEST(Dsn, NullSenderNeverGetsOne) {
    Envelope e = envelope_with({{"bob@dest.example", notify_failure, ""}});
    e.sender = "";
    std::vector<DsnRecipient> rs = {failure(0)};
    EXPECT_FALSE(build_dsn(e, original_content, rs, options()));
}

TEST(Dsn, DelayWarningReturnsHeadersOnly) {
    Envelope e = envelope_with({{"bob@dest.example", notify_unset, ""}});
    e.ret = DsnRet::full;
    DsnRecipient r;
    r.index = 0;
    r.action = DsnAction::delayed;
    r.status = "4.2.0";
    r.remote_mta = "mx.dest.example";
    r.diagnostic = "450 4.2.0 mailbox busy";
    r.last_attempt_us = 1'700'014'400'000'000;
    r.will_retry_until_us = 1'700'172'800'000'000;
    DsnOptions o = options();
    o.now_us = 1'700'014'401'000'000;  // four hours after arrival
    std::vector<DsnRecipient> rs = {r};
    auto dsn = build_dsn(e, original_content, rs, o);
    ASSERT_TRUE(dsn);
    Mime m = parse_mime(dsn->content);
    EXPECT_EQ(field(m.headers, "Subject"), "Delayed Mail (still being retried)");
    ASSERT_EQ(m.parts.size(), 3u);
    EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "text/rfc822-headers");
    EXPECT_NE(m.parts[0].body.find("THIS IS A WARNING ONLY"), std::string::npos);
    EXPECT_NE(m.parts[0].body.find("for more than 4 hour(s)"), std::string::npos);
    EXPECT_NE(m.parts[0].body.find("until it is 2 day(s) old"), std::string::npos);
    auto groups = status_groups(m.parts[1].body);
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(field(groups[1], "Action"), "delayed");
    EXPECT_EQ(field(groups[1], "Status"), "4.2.0");
    EXPECT_EQ(field(groups[1], "Will-Retry-Until"), "Thu, 16 Nov 2023 22:13:20 +0000");
}

TEST(Dsn, ExpiryKeepsLastTemporaryStatus) {
    Envelope e = envelope_with({{"bob@dest.example", notify_unset, ""}});
    DsnRecipient r = failure(0);
    r.status = "4.4.1";
    r.remote_mta.clear();
    r.diagnostic.clear();
    r.reason = "connect to mx.dest.example: connection refused";
    r.expired = true;
    DsnMessage dsn = build_one(e, {r});
    Mime m = parse_mime(dsn.content);
    ASSERT_EQ(m.parts.size(), 3u);
    auto groups = status_groups(m.parts[1].body);
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(field(groups[1], "Action"), "failed");
    EXPECT_EQ(field(groups[1], "Status"), "4.4.1");
    EXPECT_EQ(field(groups[1], "Diagnostic-Code"),
              "X-Ringmta; connect to mx.dest.example: connection refused");
    EXPECT_EQ(field(groups[1], "Remote-MTA"), "<absent>");
    EXPECT_NE(m.parts[0].body.find("message delivery timed out"), std::string::npos);
    EXPECT_NE(m.parts[0].body.find("last error: connect to mx.dest.example"), std::string::npos);
}

TEST(Dsn, BoundaryNeverOccursInContent) {
    // The content carries the boundary the builder would try first, and the second one.
    std::string hostile = original_content + "--=_ringmta_0005F3A1B2C3E501_0\r\n" +
                          "=_ringmta_0005F3A1B2C3E501_1\r\n";
    Envelope e = envelope_with({{"bob@dest.example", notify_unset, ""}});
    DsnMessage dsn = build_one(e, {failure(0)}, hostile);
    Mime m = parse_mime(dsn.content);
    EXPECT_EQ(m.boundary, "=_ringmta_0005F3A1B2C3E501_2");
    ASSERT_EQ(m.parts.size(), 3u);
    EXPECT_EQ(m.parts[2].body, hostile);
    // Exactly four delimiter lines: three parts and the close.
    size_t count = 0;
    for (size_t p = dsn.content.find(m.boundary); p != std::string::npos;
         p = dsn.content.find(m.boundary, p + 1)) {
        ++count;
    }
    EXPECT_EQ(count, 5u) << "Content-Type parameter plus four delimiters";
}

TEST(Dsn, HostileTextCannotBreakLines) {
    Envelope e = envelope_with({{"bob@dest.example", notify_unset, ""}});
    DsnRecipient r = failure(0);
    r.diagnostic = "550 5.7.1 rejected\r\nX-Injected: yes\n" + std::string(2500, 'x') + " " +
                   std::string(300, 'y');
    std::string content = "Subject: bare\nnewlines\rhere\r\n\r\n" + std::string(1500, 'z');
    DsnMessage dsn = build_one(e, {r}, content);
    expect_wire_clean(dsn.content);
    EXPECT_EQ(dsn.content.find("\r\nX-Injected"), std::string::npos);
    Mime m = parse_mime(dsn.content);
    ASSERT_EQ(m.parts.size(), 3u);
    auto groups = status_groups(m.parts[1].body);
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(field(groups[1], "Diagnostic-Code").rfind("smtp; 550 5.7.1 rejected  X-Injected", 0),
              0u);
    EXPECT_EQ(m.parts[2].body.rfind("Subject: bare\r\nnewlines\r\nhere\r\n\r\n", 0), 0u);
}

TEST(Dsn, SuccessNoticeForNotifySuccess) {
    Envelope e = envelope_with({{"bob@dest.example", notify_success, ""}});
    DsnRecipient r;
    r.index = 0;
    r.action = DsnAction::relayed;
    r.remote_mta = "mx.dest.example";
    r.diagnostic = "250 2.0.0 Ok: queued as 123";
    DsnMessage dsn = build_one(e, {r});
    Mime m = parse_mime(dsn.content);
    EXPECT_EQ(field(m.headers, "Subject"), "Successful Mail Delivery Report");
    ASSERT_EQ(m.parts.size(), 3u);
    EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "text/rfc822-headers");
    auto groups = status_groups(m.parts[1].body);
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(field(groups[1], "Action"), "relayed");
    EXPECT_EQ(field(groups[1], "Status"), "2.0.0");
}

// What Delivery builds when a next hop without DSN took a NOTIFY=SUCCESS recipient (RFC 3461
// 5.2.2): "relayed", the remote's 250 as diagnostic, headers only, and nothing about
// recipients that did not ask.
TEST(Dsn, RelayedNoticeForNextHopWithoutDsn) {
    Envelope e = envelope_with({{"bob@dest.example", notify_success | notify_failure,
                                 "rfc822;bob+2Bx@dest.example"},
                                {"carol@dest.example", notify_failure, ""},
                                {"dave@dest.example", notify_unset, ""}});
    std::vector<DsnRecipient> relayed;
    for (uint32_t i = 0; i < 3; ++i) {
        DsnRecipient r = failure(i);  // same remote and attempt time; a success's fields
        r.action = DsnAction::relayed;
        r.status = "2.0.0";
        r.diagnostic = "250 2.0.0 Ok: queued as 4XyZ";
        relayed.push_back(r);
    }
    DsnMessage dsn = build_one(e, relayed);
    expect_wire_clean(dsn.content);
    Mime m = parse_mime(dsn.content);
    EXPECT_EQ(field(m.headers, "Subject"), "Successful Mail Delivery Report");
    EXPECT_EQ(field(m.headers, "To"), "alice@example.com");
    ASSERT_EQ(m.parts.size(), 3u);
    EXPECT_NE(m.parts[0].body.find("Your message was successfully delivered to the destination(s)"
                                   "\r\nlisted below."),
              std::string::npos)
        << m.parts[0].body;
    EXPECT_NE(m.parts[0].body.find("<bob@dest.example>: delivery via mx.dest.example: 250 2.0.0 "
                                   "Ok: queued as 4XyZ\r\n"),
              std::string::npos)
        << m.parts[0].body;
    EXPECT_EQ(dsn.content.find("carol@"), std::string::npos) << "carol asked for failures only";
    EXPECT_EQ(dsn.content.find("dave@"), std::string::npos) << "unset NOTIFY: no success report";
    EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "text/rfc822-headers");
    EXPECT_EQ(m.parts[2].body.find("Body line one."), std::string::npos) << "headers only";

    auto groups = status_groups(m.parts[1].body);
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(field(groups[0], "Original-Envelope-Id"), "QQ+314");
    const std::map<std::string, std::string> want = {
        {"Final-Recipient", "rfc822; bob@dest.example"},
        {"Original-Recipient", "rfc822;bob+x@dest.example"},
        {"Action", "relayed"},
        {"Status", "2.0.0"},
        {"Remote-MTA", "dns; mx.dest.example"},
        {"Diagnostic-Code", "smtp; 250 2.0.0 Ok: queued as 4XyZ"},
        {"Last-Attempt-Date", "Tue, 14 Nov 2023 22:14:20 +0000"},
    };
    for (const auto& [name, value] : want) {
        EXPECT_EQ(field(groups[1], name), value) << name;
    }
    // Nobody asked: no DSN at all.
    Envelope quiet = envelope_with({{"carol@dest.example", notify_failure, ""}});
    relayed.resize(1);
    EXPECT_FALSE(build_dsn(quiet, original_content, relayed, options()).has_value());
}

TEST(Dsn, XtextDecoding) {
    const std::pair<const char*, const char*> cases[] = {
        {"plain", "plain"}, {"a+2Bb", "a+b"}, {"+3D+3d", "=="}, {"bad+zz", "bad+zz"},
        {"end+4", "end+4"}, {"", ""},
    };
    for (const auto& [in, want] : cases) {
        EXPECT_EQ(decode_xtext_lenient(in), want) << "input " << in;
    }
}

}  // namespace
}  // namespace ringmta::queue
