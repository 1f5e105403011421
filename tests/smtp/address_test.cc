#include "mta/smtp/address.hh"

#include <gtest/gtest.h>

#include <string>

namespace ringmta::smtp {
namespace {

constexpr std::string_view kBadSender = "501 5.1.7 Bad sender address syntax";
constexpr std::string_view kBadRecipient = "501 5.1.3 Bad recipient address syntax";
constexpr std::string_view kNeedsUtf8 = "553 5.6.7 Address requires SMTPUTF8";

enum class Side { mail, rcpt, both };

struct Case {
    const char* label;
    std::string input;
    Side side;
    bool smtputf8;
    // Valid: the wanted local part and domain (mailbox is derived). Invalid: error names the
    // reply, "bad" standing for the side's syntax reply.
    std::string local = "";
    std::string domain = "";
    std::string_view error = "";
};

constexpr std::string_view bad = "bad";

std::string show(const base::Result<Path>& r) {
    if (!r) return "error \"" + r.error().message + "\"";
    return "local=\"" + r->local_part + "\" domain=\"" + r->domain + "\" mailbox=\"" + r->mailbox +
           "\"" + (r->is_null ? " null" : "");
}

void check(const Case& c, bool forward) {
    auto got =
        forward ? parse_forward_path(c.input, c.smtputf8) : parse_reverse_path(c.input, c.smtputf8);
    std::string want_error(c.error == bad ? (forward ? kBadRecipient : kBadSender) : c.error);
    const char* side = forward ? "RCPT" : "MAIL";
    if (!want_error.empty()) {
        EXPECT_TRUE(!got && got.error().message == want_error)
            << c.label << " (" << side << "): got " << show(got) << ", want error \"" << want_error
            << "\"";
        return;
    }
    std::string mailbox = c.domain.empty() ? c.local : c.local + "@" + c.domain;
    bool same = got && got->local_part == c.local && got->domain == c.domain &&
                got->mailbox == mailbox && !got->is_null;
    EXPECT_TRUE(same) << c.label << " (" << side << "): got " << show(got) << ", want local=\""
                      << c.local << "\" domain=\"" << c.domain << "\" mailbox=\"" << mailbox
                      << "\"";
}

TEST(Address, Table) {
    const std::string label63(63, 'a');
    const std::string local64(64, 'l');
    // 4 labels of 63 plus 3 dots = 255 octets.
    const std::string domain255 = label63 + "." + label63 + "." + label63 + "." + label63;
    const Case cases[] = {
        {"plain", "<user@example.com>", Side::both, false, "user", "example.com"},
        {"domain case folded, local kept", "<User.Name@Example.COM>", Side::both, false,
         "User.Name", "example.com"},
        {"trailing dot stripped", "<a@example.com.>", Side::both, false, "a", "example.com"},
        {"single label", "<root@localhost>", Side::both, false, "root", "localhost"},
        {"atext specials", "<a!#$%&'*+-/=?^_`{|}~@x.example>", Side::both, false,
         "a!#$%&'*+-/=?^_`{|}~", "x.example"},
        {"hyphen and digits", "<a@x-1.9y.example>", Side::both, false, "a", "x-1.9y.example"},
        {"quoted local part", "<\"john doe\"@example.com>", Side::both, false, "\"john doe\"",
         "example.com"},
        {"quoted with @ and quoted-pair", "<\"a@b\\\"c\\\\\"@example.com>", Side::both, false,
         "\"a@b\\\"c\\\\\"", "example.com"},
        {"empty quoted local part", "<\"\"@example.com>", Side::both, false, "\"\"", "example.com"},
        {"IPv4 literal", "<a@[192.0.2.1]>", Side::both, false, "a", "[192.0.2.1]"},
        {"IPv6 literal", "<a@[IPv6:2001:DB8::1]>", Side::both, false, "a", "[IPv6:2001:db8::1]"},
        {"IPv6 tag any case", "<a@[ipv6:::1]>", Side::both, false, "a", "[IPv6:::1]"},
        {"source route stripped", "<@a.example,@b.example:user@d.example>", Side::both, false,
         "user", "d.example"},
        {"one-hop source route", "<@relay.example:u@d.example>", Side::both, false, "u",
         "d.example"},
        {"local part of 64", "<" + local64 + "@x.example>", Side::both, false, local64,
         "x.example"},
        {"label of 63", "<a@" + label63 + ".example>", Side::both, false, "a",
         label63 + ".example"},
        {"UTF-8 local part with SMTPUTF8", "<j\xc3\xb6rg@example.com>", Side::both, true,
         "j\xc3\xb6rg", "example.com"},
        {"UTF-8 domain with SMTPUTF8",
         "<a@b\xc3\xbc"
         "cher.example>",
         Side::both, true, "a",
         "b\xc3\xbc"
         "cher.example"},
        {"UTF-8 quoted with SMTPUTF8", "<\"\xe2\x82\xac x\"@example.com>", Side::both, true,
         "\"\xe2\x82\xac x\"", "example.com"},
        {"postmaster for RCPT", "<Postmaster>", Side::rcpt, false, "Postmaster", ""},
        {"postmaster lower case", "<postmaster>", Side::rcpt, false, "postmaster", ""},
        {"postmaster with domain", "<postmaster@Example.com>", Side::both, false, "postmaster",
         "example.com"},

        {"postmaster for MAIL", "<postmaster>", Side::mail, false, "", "", bad},
        {"null path for RCPT", "<>", Side::rcpt, false, "", "", bad},
        {"no brackets", "user@example.com", Side::both, false, "", "", bad},
        {"no closing bracket", "<user@example.com", Side::both, false, "", "", bad},
        {"no opening bracket", "user@example.com>", Side::both, false, "", "", bad},
        {"trailing text", "<a@b.example>x", Side::both, false, "", "", bad},
        {"empty", "", Side::both, false, "", "", bad},
        {"no domain", "<user>", Side::both, false, "", "", bad},
        {"empty domain", "<user@>", Side::both, false, "", "", bad},
        {"empty local part", "<@example.com>", Side::both, false, "", "", bad},
        {"two @", "<a@b@c.example>", Side::both, false, "", "", bad},
        {"leading dot", "<.a@example.com>", Side::both, false, "", "", bad},
        {"trailing dot in local", "<a.@example.com>", Side::both, false, "", "", bad},
        {"double dot", "<a..b@example.com>", Side::both, false, "", "", bad},
        {"space in local", "<a b@example.com>", Side::both, false, "", "", bad},
        {"comma in local", "<a,b@example.com>", Side::both, false, "", "", bad},
        {"unterminated quote", "<\"ab@example.com>", Side::both, false, "", "", bad},
        {"text after quote", "<\"a\"b@example.com>", Side::both, false, "", "", bad},
        {"control char in quote", "<\"a\tb\"@example.com>", Side::both, false, "", "", bad},
        {"label starting with hyphen", "<a@-x.example>", Side::both, false, "", "", bad},
        {"label ending with hyphen", "<a@x-.example>", Side::both, false, "", "", bad},
        {"underscore in domain", "<a@x_y.example>", Side::both, false, "", "", bad},
        {"empty label", "<a@x..example>", Side::both, false, "", "", bad},
        {"two trailing dots", "<a@example.com..>", Side::both, false, "", "", bad},
        {"lone dot domain", "<a@.>", Side::both, false, "", "", bad},
        {"label of 64", "<a@" + label63 + "a.example>", Side::both, false, "", "", bad},
        {"local part of 65", "<" + local64 + "l@x.example>", Side::both, false, "", "", bad},
        {"domain of 256 (so also a path over 256)", "<a@" + domain255 + "a>", Side::both, false, "",
         "", bad},
        {"path over 256", "<" + local64 + "@" + domain255 + ">", Side::both, false, "", "", bad},
        {"bad IPv4 literal", "<a@[192.0.2.256]>", Side::both, false, "", "", bad},
        {"short IPv4 literal", "<a@[192.0.2]>", Side::both, false, "", "", bad},
        {"IPv6 without tag", "<a@[2001:db8::1]>", Side::both, false, "", "", bad},
        {"bad IPv6 literal", "<a@[IPv6:2001:db8:::1]>", Side::both, false, "", "", bad},
        {"general literal", "<a@[x400:abc]>", Side::both, false, "", "", bad},
        {"unclosed literal", "<a@[192.0.2.1>", Side::both, false, "", "", bad},
        {"route without colon", "<@a.example,user@d.example>", Side::both, false, "", "", bad},
        {"route with bad domain", "<@a_b:user@d.example>", Side::both, false, "", "", bad},
        {"route with empty hop", "<@a.example,:user@d.example>", Side::both, false, "", "", bad},
        {"route to postmaster", "<@a.example:postmaster>", Side::rcpt, false, "", "", bad},
        {"UTF-8 local without SMTPUTF8", "<j\xc3\xb6rg@example.com>", Side::both, false, "", "",
         kNeedsUtf8},
        {"UTF-8 domain without SMTPUTF8",
         "<a@b\xc3\xbc"
         "cher.example>",
         Side::both, false, "", "", kNeedsUtf8},
        {"malformed UTF-8 with SMTPUTF8", "<j\xc3rg@example.com>", Side::both, true, "", "", bad},
        {"overlong UTF-8", "<\xc0\xafx@example.com>", Side::both, true, "", "", bad},
        {"UTF-8 surrogate", "<\xed\xa0\x80x@example.com>", Side::both, true, "", "", bad},
    };
    for (const Case& c : cases) {
        if (c.side != Side::rcpt) check(c, false);
        if (c.side != Side::mail) check(c, true);
    }
}

TEST(Address, NullReversePath) {
    auto got = parse_reverse_path("<>", false);
    ASSERT_TRUE(got) << "got " << show(got) << ", want the null path";
    EXPECT_TRUE(got->is_null);
    EXPECT_EQ(got->mailbox, "");
    EXPECT_FALSE(parse_reverse_path("< >", false));
}

TEST(Address, Helpers) {
    struct {
        std::string_view input;
        bool smtputf8;
        bool want;
    } domains[] = {
        {"mx.example.com", false, true},
        {"a", false, true},
        {"", false, false},
        {"a.", false, false},
        {"-a.b", false, false},
        {"a b", false, false},
        {"\xc3\xbc.de", false, false},
        {"\xc3\xbc.de", true, true},
        {"[1.2.3.4]", false, false},
    };
    for (const auto& d : domains) {
        EXPECT_EQ(is_valid_domain(d.input, d.smtputf8), d.want)
            << "is_valid_domain(\"" << d.input << "\"): got " << !d.want << ", want " << d.want;
    }
    struct {
        std::string_view input;
        bool want;
    } literals[] = {
        {"[127.0.0.1]", true}, {"[IPv6:::1]", true}, {"[::1]", false},
        {"127.0.0.1", false},  {"[]", false},        {"[IPv6:]", false},
    };
    for (const auto& l : literals) {
        EXPECT_EQ(is_valid_address_literal(l.input), l.want)
            << "is_valid_address_literal(\"" << l.input << "\"): got " << !l.want << ", want "
            << l.want;
    }
    const std::string label63(63, 'a');
    const std::string domain255 = label63 + "." + label63 + "." + label63 + "." + label63;
    EXPECT_TRUE(is_valid_domain(domain255, false)) << "got invalid, want a 255-octet domain valid";
    EXPECT_FALSE(is_valid_domain(domain255 + "a", false)) << "got valid, want 256 octets refused";
    EXPECT_TRUE(is_valid_utf8("plain \xf0\x9f\x93\xa7"));
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
}

}  // namespace
}  // namespace ringmta::smtp
