// Exchange selection rules, one table-driven case per rule: specificity, apex matching, cost,
// name, disabled connectors, size limits, accepted domains, normalisation and literals.
#include <gtest/gtest.h>

#include "router/route_table.hh"
#include "tests/router/router_test_util.hh"

namespace ringmta::router::test {
namespace {

struct LookupCase {
    const char* label;
    std::vector<C> connectors;
    std::vector<A> accepted;
    const char* domain;
    uint64_t size;
    std::string want;   // "connector (space as written)" or "none: <no_route_text>"
};

std::string none(NoRoute reason) { return std::string("none: ") + no_route_text(reason); }

const std::vector<C> kLayers = {
    {"exact", {"sub.example.com"}}, {"parent", {"*.example.com"}}, {"star", {"*"}}};

std::vector<LookupCase> cases() {
    return {
        {"exact beats *.parent", kLayers, {}, "sub.example.com", 1, "exact (sub.example.com)"},
        {"*.parent beats *", kLayers, {}, "other.example.com", 1, "parent (*.example.com)"},
        {"* takes the rest", kLayers, {}, "example.org", 1, "star (*)"},
        {"*.parent matches its apex", kLayers, {}, "example.com", 1, "parent (*.example.com)"},
        {"exact apex beats wildcard apex", {{"w", {"*.example.com"}}, {"e", {"example.com"}}}, {},
         "example.com", 1, "e (example.com)"},
        {"exact does not match subdomains", {{"e", {"example.com"}}, {"s", {"*"}}}, {},
         "a.example.com", 1, "s (*)"},
        {"deeper wildcard beats shallower",
         {{"shallow", {"*.example.com"}}, {"deep", {"*.sub.example.com"}}}, {},
         "x.sub.example.com", 1, "deep (*.sub.example.com)"},
        {"deeper wildcard owns its apex",
         {{"shallow", {"*.example.com"}}, {"deep", {"*.sub.example.com"}}}, {},
         "sub.example.com", 1, "deep (*.sub.example.com)"},
        {"sibling stays with shallower",
         {{"shallow", {"*.example.com"}}, {"deep", {"*.sub.example.com"}}}, {},
         "other.example.com", 1, "shallow (*.example.com)"},
        {"same specificity: lower cost", {{"a", {"*.example.com;5"}}, {"b", {"*.example.com;2"}}},
         {}, "x.example.com", 1, "b (*.example.com;2)"},
        {"same cost: first name", {{"b", {"*.example.com;3"}}, {"a", {"SMTP:*.example.com;3"}}},
         {}, "x.example.com", 1, "a (SMTP:*.example.com;3)"},
        {"names compare bytewise", {{"b", {"*"}}, {"B", {"*"}}}, {}, "x.org", 1, "B (*)"},
        {"cost never beats specificity",
         {{"cheap", {"*.example.com;1"}}, {"dear", {"sub.example.com;100"}}}, {},
         "sub.example.com", 1, "dear (sub.example.com;100)"},
        {"disabled connector is skipped",
         {{"off", {"*.example.com"}, 0, false}, {"star", {"*"}}}, {}, "x.example.com", 1,
         "star (*)"},
        {"size filter moves a large message to *",
         {{"small", {"*.example.com"}, 1000}, {"star", {"*"}}}, {}, "x.example.com", 2000,
         "star (*)"},
        {"size limit is inclusive", {{"small", {"*.example.com"}, 1000}, {"star", {"*"}}}, {},
         "x.example.com", 1000, "small (*.example.com)"},
        {"size filter skips to the next cost",
         {{"a", {"*.example.com;1"}, 1000}, {"b", {"*.example.com;9"}}}, {}, "x.example.com",
         5000, "b (*.example.com;9)"},
        {"size filter skips a deeper space",
         {{"deep", {"*.sub.example.com"}, 100}, {"shallow", {"*.example.com"}}}, {},
         "x.sub.example.com", 200, "shallow (*.example.com)"},
        {"too large for every match", {{"small", {"*"}, 1000}}, {}, "x.org", 2000,
         none(NoRoute::message_too_large)},
        {"accepted domain beats *", {{"internal", {}}, {"star", {"*"}}},
         {{"example.com", "internal"}},
         "example.com", 1, "internal (example.com)"},
        {"accepted exact domain covers only itself", {{"internal", {}}, {"star", {"*"}}},
         {{"example.com", "internal"}}, "sub.example.com", 1, "star (*)"},
        {"accepted wildcard covers subdomains", {{"internal", {}}, {"star", {"*"}}},
         {{"*.corp.example", "internal"}}, "a.b.corp.example", 1, "internal (*.corp.example)"},
        {"accepted beats a more specific space",
         {{"internal", {}}, {"ext", {"mail.corp.example"}}}, {{"*.corp.example", "internal"}},
         "mail.corp.example", 1, "internal (*.corp.example)"},
        {"deeper accepted domain wins",
         {{"i1", {}}, {"i2", {}}}, {{"*.corp.example", "i1"}, {"eu.corp.example", "i2"}},
         "eu.corp.example", 1, "i2 (eu.corp.example)"},
        {"accepted with disabled connector never falls to *",
         {{"internal", {}, 0, false}, {"star", {"*"}}}, {{"example.com", "internal"}},
         "example.com", 1, none(NoRoute::connector_disabled)},
        {"accepted with small connector never falls to *",
         {{"internal", {}, 100}, {"star", {"*"}}}, {{"example.com", "internal"}}, "example.com",
         101, none(NoRoute::message_too_large)},
        {"mixed case", kLayers, {}, "Sub.EXAMPLE.Com", 1, "exact (sub.example.com)"},
        {"mixed case in config", {{"m", {"*.Example.COM"}}}, {}, "a.example.com", 1,
         "m (*.Example.COM)"},
        {"trailing dot", kLayers, {}, "sub.example.com.", 1, "exact (sub.example.com)"},
        {"two trailing dots", kLayers, {}, "sub.example.com..", 1, none(NoRoute::invalid_domain)},
        {"IDN query, A-label space", {{"idn", {"*.xn--bcher-kva.example"}}}, {},
         "shop.b\xc3\xbc" "cher.example", 1, "idn (*.xn--bcher-kva.example)"},
        {"IDN upper case query", {{"idn", {"*.xn--bcher-kva.example"}}}, {},
         "B\xc3\x9c" "CHER.example", 1, "idn (*.xn--bcher-kva.example)"},
        {"IDN space, A-label query", {{"idn", {"b\xc3\xbc" "cher.example"}}}, {},
         "xn--bcher-kva.example", 1, "idn (b\xc3\xbc" "cher.example)"},
        {"address literal matches only *", kLayers, {}, "[192.0.2.1]", 1, "star (*)"},
        {"IPv6 literal matches only *", kLayers, {}, "[IPv6:2001:db8::1]", 1, "star (*)"},
        {"literal without *", {{"e", {"*.example.com"}}}, {}, "[192.0.2.1]", 1,
         none(NoRoute::no_address_space)},
        {"same ending letters are not a subdomain", kLayers, {}, "badexample.com", 1, "star (*)"},
        {"no * and no match", {{"e", {"*.example.com"}}}, {}, "example.org", 1,
         none(NoRoute::no_address_space)},
        {"empty label", kLayers, {}, "a..example.com", 1, none(NoRoute::invalid_domain)},
        {"empty domain", kLayers, {}, "", 1, none(NoRoute::invalid_domain)},
        {"connector with two spaces", {{"p", {"partner.example", "*.partner.example;5"}}}, {},
         "x.partner.example", 1, "p (*.partner.example;5)"},
        {"no connectors at all", {}, {}, "example.com", 1, none(NoRoute::no_address_space)},
        {"accepted wildcard above a deeper wildcard space",
         {{"internal", {}}, {"ext", {"*.a.corp.example"}}}, {{"*.corp.example", "internal"}},
         "x.a.corp.example", 1, "internal (*.corp.example)"},
        {"accepted wildcard elsewhere leaves a space alone",
         {{"internal", {}}, {"ext", {"*.a.corp.example"}}}, {{"*.other.example", "internal"}},
         "x.a.corp.example", 1, "ext (*.a.corp.example)"},
        {"domain over 32 bytes, exact",
         {{"long", {"a-rather-long-label-for-tests.example.com"}}, {"star", {"*"}}}, {},
         "A-Rather-Long-Label-For-Tests.example.com", 1,
         "long (a-rather-long-label-for-tests.example.com)"},
        {"domain over 32 bytes, differs after byte 32",
         {{"long", {"a-rather-long-label-for-tests.example.com"}}, {"star", {"*"}}}, {},
         "a-rather-long-label-for-tests.example.org", 1, "star (*)"},
        {"wildcard over 32 bytes", {{"long", {"*.a-rather-long-label-for-tests.example.com"}}}, {},
         "mx.a-rather-long-label-for-tests.example.com", 1,
         "long (*.a-rather-long-label-for-tests.example.com)"},
        {"query deeper than any space", {{"e", {"*.example.com"}}}, {},
         "a.b.c.d.e.f.g.h.example.com", 1, "e (*.example.com)"},
        {"label of 63 bytes",
         {{"e", {"*.example.com"}}}, {},
         "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc.example.com", 1,
         "e (*.example.com)"},
    };
}

TEST(RouteLookup, ExchangeSelectionRules) {
    for (const LookupCase& c : cases()) {
        auto table = must_build(c.connectors, c.accepted);
        ASSERT_TRUE(table) << c.label;
        std::string got = describe(*table, table->lookup(c.domain, c.size));
        EXPECT_EQ(got, c.want) << c.label << ": lookup(\"" << c.domain << "\", " << c.size
                               << "): got " << got << ", want " << c.want;
    }
}

TEST(RouteLookup, SizeRangeBoundsTheAnswer) {
    auto table = must_build({{"a", {"*.example.com"}, 1000}, {"b", {"*"}, 5000}});
    struct Case { uint64_t size; uint64_t above, max; };
    for (Case c : {Case{10, 0, 1000}, Case{1500, 1000, 5000}, Case{9000, 5000, UINT64_MAX}}) {
        SizeRange range;
        (void)table->lookup("x.example.com", c.size, range);
        EXPECT_EQ(range.size_above, c.above) << "size " << c.size;
        EXPECT_EQ(range.size_max, c.max) << "size " << c.size;
    }
}

TEST(RouteLookup, NextHopsAreParsedSmartHosts) {
    auto table = must_build(
        {{"gw", {"*"}, 0, true,
          {"pgp1.example.com:2525", "[192.0.2.5]", "[IPv6:2001:db8::1]:26"}}});
    Route route = table->lookup("example.org", 1);
    ASSERT_TRUE(route.found());
    const auto& hops = table->connector(route.connector).next_hops;
    ASSERT_EQ(hops.size(), 3u);
    EXPECT_EQ(hops[0], (NextHop{"pgp1.example.com", 2525, false, false}));
    EXPECT_EQ(hops[1], (NextHop{"192.0.2.5", 25, true, false}));
    EXPECT_EQ(hops[2], (NextHop{"2001:db8::1", 26, true, true}));
}

}  // namespace
}  // namespace ringmta::router::test
