// Tests mta/dns/dns_message.cc and the c-ares status mapping in ares_channel.cc: wire-format
// decoding (sections, compression, SOA negative TTL, malformed packets).
#include "mta/dns/dns_message.hh"

#include <ares.h>
#include <gtest/gtest.h>

#include "mta/dns/ares_channel.hh"
#include "tests/dns/dns_test_util.hh"

namespace ringmta::dns {
namespace {

using namespace testing;

std::vector<uint8_t> mx_reply_packet() {
    WireWriter w;
    w.header(0, 1, 3, 1, 3).question("Example.TEST", kTypeMx);
    // MX 10 with a compressed exchange: "mx1" + pointer to the question name at offset 12.
    w.rr("example.test", kTypeMx, 600).u16(8).u16(10).raw({3, 'm', 'x', '1', 0xc0, 12});
    w.rr("example.test", kTypeMx, 300).u16(2 + 18).u16(20).name("mx2.example.test.");
    w.rr("example.test", 16 /* TXT */, 300).u16(3).raw({2, 'h', 'i'});
    // Authority: an SOA (negative TTL = min(TTL 900, MINIMUM 120)).
    w.rr("example.test", kTypeSoa, 900).u16(2 + 20).raw({0, 0});
    w.u32(1).u32(2).u32(3).u32(4).u32(120);
    w.rr("mx1.example.test", kTypeA, 60).u16(4).raw({192, 0, 2, 1});
    w.rr("mx1.example.test", kTypeAaaa, 70)
        .u16(16)
        .raw({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    w.rr("mx1.example.test", 16, 60).u16(1).raw({0});
    return w.bytes();
}

TEST(ParseDnsMessage, MxReplyWithGlueAndSoa) {
    std::vector<uint8_t> p = mx_reply_packet();
    auto m = parse_dns_message(p.data(), int(p.size()));
    ASSERT_TRUE(m.has_value()) << m.error().message;
    ASSERT_EQ(m->answers.size(), 2u) << "the TXT answer is dropped";
    EXPECT_EQ(m->answers[0].target, "mx1.example.test");
    EXPECT_EQ(m->answers[0].preference, 10);
    EXPECT_EQ(m->answers[0].ttl_s, 600u);
    EXPECT_EQ(m->answers[1].target, "mx2.example.test");
    ASSERT_EQ(m->additionals.size(), 2u);
    EXPECT_EQ(m->additionals[0].address.to_string(), "192.0.2.1");
    EXPECT_EQ(m->additionals[1].address.to_string(), "2001:db8::1");
    EXPECT_TRUE(m->has_soa);
    EXPECT_EQ(m->negative_ttl_s, 120u) << "got " << m->negative_ttl_s << ", want 120";
    EXPECT_EQ(m->answers_for("EXAMPLE.test.", kTypeMx).size(), 2u);
}

TEST(ParseDnsMessage, RejectsMalformedPackets) {
    std::vector<uint8_t> good = mx_reply_packet();
    struct Case {
        const char* label;
        std::vector<uint8_t> packet;
    };
    std::vector<Case> cases = {
        {"shorter than a header", {0x12, 0x34, 0x81}},
        {"cut inside the answers", std::vector<uint8_t>(good.begin(), good.begin() + 45)},
        {"cut one byte short", std::vector<uint8_t>(good.begin(), good.end() - 1)},
    };
    WireWriter bad_a;
    bad_a.header(0, 0, 1, 0, 0).rr("x.test", kTypeA, 1).u16(3).raw({1, 2, 3});
    cases.push_back({"A with 3 bytes", bad_a.bytes()});
    WireWriter loop;
    loop.header(0, 1, 0, 0, 0).raw({0xc0, 12}).u16(1).u16(1);
    cases.push_back({"name pointing at itself", loop.bytes()});
    for (const Case& c : cases) {
        auto m = parse_dns_message(c.packet.data(), int(c.packet.size()));
        EXPECT_FALSE(m.has_value()) << c.label << ": got a message, want an error";
    }
}

TEST(ParseDnsMessage, RcodeAndRootTarget) {
    WireWriter w;
    w.header(3, 1, 1, 0, 0).question("null.test", kTypeMx);
    w.rr("null.test", kTypeMx, 30).u16(3).u16(0).raw({0});
    auto m = parse_dns_message(w.bytes().data(), int(w.bytes().size()));
    ASSERT_TRUE(m.has_value()) << m.error().message;
    EXPECT_EQ(m->rcode, 3u);
    ASSERT_EQ(m->answers.size(), 1u);
    EXPECT_EQ(m->answers[0].target, "") << "the root is the empty name";
}

TEST(DnsMessage, CanonicalNameStopsOnLoops) {
    DnsMessage m;
    m.answers = {cname("a.test", "b.test"), cname("b.test", "a.test")};
    std::string got = m.canonical_name("a.test");
    EXPECT_TRUE(got == "a.test" || got == "b.test") << "got " << got;
}

TEST(MakeReply, MapsAresStatuses) {
    struct Case {
        int status;
        ReplyStatus want;
        const char* want_detail;
    };
    const Case cases[] = {
        {ARES_ESERVFAIL, ReplyStatus::try_later, "server failure (SERVFAIL)"},
        {ARES_EREFUSED, ReplyStatus::try_later, "query refused (REFUSED)"},
        {ARES_ETIMEOUT, ReplyStatus::try_later, "timed out"},
        {ARES_ECONNREFUSED, ReplyStatus::try_later, "no DNS server could be reached"},
        {ARES_ECANCELLED, ReplyStatus::try_later, "resolver stopped"},
        {ARES_ENOTFOUND, ReplyStatus::no_such_name, ""},
        {ARES_ENODATA, ReplyStatus::no_data, ""},
        {ARES_SUCCESS, ReplyStatus::try_later, "empty reply"},
    };
    for (const Case& c : cases) {
        DnsReply r = make_reply(c.status, nullptr, 0);
        EXPECT_EQ(int(r.status), int(c.want)) << ares_strerror(c.status) << ": got status "
                                              << int(r.status) << ", want " << int(c.want);
        EXPECT_EQ(r.detail, c.want_detail) << ares_strerror(c.status);
    }
    std::vector<uint8_t> p = mx_reply_packet();
    DnsReply ok = make_reply(ARES_SUCCESS, p.data(), int(p.size()));
    EXPECT_EQ(ok.status, ReplyStatus::answered);
    EXPECT_EQ(ok.message.answers.size(), 2u);
    DnsReply garbage = make_reply(ARES_SUCCESS, p.data(), 20);
    EXPECT_EQ(garbage.status, ReplyStatus::try_later) << "a reply we cannot read is not final";
}

TEST(IpAddress, ParseTable) {
    struct Case {
        const char* input;
        const char* want;
    };
    const Case cases[] = {
        {"192.0.2.1", "192.0.2.1"},
        {"[192.0.2.1]", "192.0.2.1"},
        {"::1", "::1"},
        {"[IPv6:2001:db8::1]", "2001:db8::1"},
        {"[::1]", "::1"},
        {"mx.example.com", "(none)"},
        {"", "(none)"},
        {"192.0.2.300", "(none)"},
    };
    for (const Case& c : cases) {
        std::string got = IpAddress::parse(c.input).to_string();
        EXPECT_EQ(got, c.want) << c.input << ": got " << got << ", want " << c.want;
    }
}

}  // namespace
}  // namespace ringmta::dns
