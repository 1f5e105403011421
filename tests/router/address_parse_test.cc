// Parsing of address spaces, smart hosts and recipient domains, table-driven.
#include <gtest/gtest.h>

#include "router/address_space.hh"
#include "router/domain_name.hh"
#include "router/next_hop.hh"

namespace ringmta::router {
namespace {

TEST(AddressSpace, ParsesExchangeSyntax) {
    struct Case { const char* text; SpaceKind kind; const char* domain; uint32_t cost; };
    const Case cases[] = {
        {"*", SpaceKind::any, "", 1},
        {"SMTP:*;100", SpaceKind::any, "", 100},
        {"smtp:example.com;7", SpaceKind::exact, "example.com", 7},
        {"*.Example.COM", SpaceKind::wildcard, "example.com", 1},
        {"*.b\xc3\xbc" "cher.example;2", SpaceKind::wildcard, "xn--bcher-kva.example", 2},
        {"mail_in.example", SpaceKind::exact, "mail_in.example", 1},
        // One trailing dot (the absolute form) is dropped, as from recipient domains.
        {"Example.com.", SpaceKind::exact, "example.com", 1},
        {"SMTP:*.example.com.;3", SpaceKind::wildcard, "example.com", 3},
    };
    for (const Case& c : cases) {
        auto got = parse_address_space(c.text);
        ASSERT_TRUE(got) << c.text << ": " << got.error().message;
        EXPECT_EQ(got->kind, c.kind) << c.text;
        EXPECT_EQ(got->domain, c.domain) << c.text << ": got " << got->domain;
        EXPECT_EQ(got->cost, c.cost) << c.text;
        EXPECT_EQ(got->text, c.text);
    }
}

TEST(AddressSpace, RefusesWhatExchangeRefuses) {
    for (const char* text : {"", "*contoso.com", "**", "*.", "*.*.example.com", "example.com..",
                             "X400:c=US", "SMTP:", "a;", "a;-1", "a;1x", "a..b", ".a",
                             "[192.0.2.1]", "ex ample.com", "a;0", "a;101", ".", "*..",
                             "**.example.com", "*a*.com"}) {
        auto got = parse_address_space(text);
        EXPECT_FALSE(got) << "\"" << text << "\": got a space, want an error";
    }
}

TEST(AddressSpace, MatchesOnLabelBoundaries) {
    struct Case { const char* space; const char* domain; bool want; };
    const Case cases[] = {
        {"*.example.com", "example.com", true},    {"*.example.com", "a.b.example.com", true},
        {"*.example.com", "badexample.com", false}, {"example.com", "a.example.com", false},
        {"example.com", "example.com", true},       {"*", "anything.org", true},
        {"*.example.com", "example.co", false},     {"*.example.com", "com", false},
    };
    for (const Case& c : cases) {
        AddressSpace space = *parse_address_space(c.space);
        bool got = space_matches(space, DomainKind::name, c.domain);
        EXPECT_EQ(got, c.want) << c.space << " vs " << c.domain << ": got " << got;
    }
}

TEST(DomainName, HostnameSyntax) {
    struct Case { std::string text; bool want; };
    const std::string label63(63, 'a');
    const Case cases[] = {
        {"example.com", true},        {"mail_in.ex-ample.com", true}, {"a", true},
        {"", false},                  {".example.com", false},        {"example.com.", false},
        {"a..b", false},              {"Example.com", false},         {"ex ample.com", false},
        {"ex*ample.com", false},      {label63 + ".com", true},       {label63 + "a.com", false},
        {"b\xc3\xbc" "cher.example", false},
    };
    for (const Case& c : cases) {
        bool got = is_hostname_syntax(c.text);
        EXPECT_EQ(got, c.want) << "is_hostname_syntax(\"" << c.text << "\"): got " << got
                               << ", want " << c.want;
    }
}

TEST(SmartHost, ParsesHostsAndLiterals) {
    struct Case { const char* text; NextHop want; const char* formatted; };
    const Case cases[] = {
        {"pgp1.Example.com", {"pgp1.example.com", 587, false, false}, "pgp1.example.com:587"},
        {"pgp1.example.com:25", {"pgp1.example.com", 25, false, false}, "pgp1.example.com:25"},
        {"192.0.2.1", {"192.0.2.1", 587, true, false}, "[192.0.2.1]:587"},
        {"192.0.2.1:26", {"192.0.2.1", 26, true, false}, "[192.0.2.1]:26"},
        {"[192.0.2.1]:25", {"192.0.2.1", 25, true, false}, "[192.0.2.1]:25"},
        {"[IPv6:2001:db8::1]:25", {"2001:db8::1", 25, true, true}, "[IPv6:2001:db8::1]:25"},
        {"[ipv6:::1]", {"::1", 587, true, true}, "[IPv6:::1]:587"},
    };
    for (const Case& c : cases) {
        auto got = parse_smart_host(c.text, 587);
        ASSERT_TRUE(got) << c.text << ": " << got.error().message;
        EXPECT_EQ(*got, c.want) << c.text << ": got " << format_next_hop(*got);
        EXPECT_EQ(format_next_hop(*got), c.formatted);
    }
    for (const char* text : {"", "host:0", "host:65536", "host:x", "[192.0.2.1", "[300.1.1.1]",
                             "[IPv6:zz]", "[2001:db8::1]", "2001:db8::1", "a..b", "[1.2.3.4]x",
                             "ho st"}) {
        EXPECT_FALSE(parse_smart_host(text, 25)) << "\"" << text << "\": want an error";
    }
}

TEST(DomainName, Normalises) {
    struct Case { const char* in; DomainKind kind; const char* out; };
    const Case cases[] = {
        {"Example.COM", DomainKind::name, "example.com"},
        {"example.com.", DomainKind::name, "example.com"},
        {"example.com..", DomainKind::invalid, ""},
        {".example.com", DomainKind::invalid, ""},
        {"", DomainKind::invalid, ""},
        {".", DomainKind::invalid, ""},
        {"B\xc3\xbc" "cher.Example", DomainKind::name, "xn--bcher-kva.example"},
        {"[192.0.2.1]", DomainKind::literal, "[192.0.2.1]"},
        {"[IPv6:2001:DB8::1]", DomainKind::literal, "[ipv6:2001:db8::1]"},
        {"[]", DomainKind::invalid, ""},
        {"[192.0.2.1", DomainKind::invalid, ""},
    };
    for (const Case& c : cases) {
        DomainBuffer buffer;
        DomainKind kind = normalize_domain(c.in, buffer);
        EXPECT_EQ(kind, c.kind) << c.in;
        if (kind != DomainKind::invalid) {
            EXPECT_EQ(buffer.view(), c.out) << c.in << ": got " << buffer.view();
        }
    }
    std::string label63(63, 'a'), label64(64, 'a');
    DomainBuffer buffer;
    EXPECT_EQ(normalize_domain(label63 + ".com", buffer), DomainKind::name);
    EXPECT_EQ(normalize_domain(label64 + ".com", buffer), DomainKind::invalid);
    std::string long_name;
    while (long_name.size() < 250) long_name += "abcdefghi.";
    EXPECT_EQ(normalize_domain(long_name + "com", buffer), DomainKind::name);   // 253 bytes
    long_name += "a";
    EXPECT_EQ(normalize_domain(long_name + "com", buffer), DomainKind::invalid);
}

TEST(DomainName, DomainOfAddress) {
    EXPECT_EQ(domain_of_address("user@Example.com"), "Example.com");
    EXPECT_EQ(domain_of_address("<\"a@b\"@example.com>"), "example.com");
    EXPECT_EQ(domain_of_address("user@[192.0.2.1]"), "[192.0.2.1]");
    EXPECT_EQ(domain_of_address("example.org"), "example.org");
}

}  // namespace
}  // namespace ringmta::router
