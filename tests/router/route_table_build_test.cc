// Config validation and check-config warnings: every refused value yields one error that
// starts with its config path (and, under a connector, ends with its name); a refused config
// yields no table.
#include <gtest/gtest.h>

#include "router/route_table_build.hh"
#include "tests/router/router_test_util.hh"

namespace ringmta::router::test {
namespace {

struct BuildCase {
    const char* label;
    std::vector<ConnectorSpec> connectors;
    std::vector<AcceptedDomainSpec> accepted;
    std::vector<std::string> want;   // exact errors (or warnings), in order
};

ConnectorSpec dns(std::string name, std::vector<std::string> spaces) {
    return to_specs({C{std::move(name), std::move(spaces)}})[0];
}

ConnectorSpec with(ConnectorSpec c, void (*edit)(ConnectorSpec&)) {
    edit(c);
    return c;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += "\n  " + l;
    return out.empty() ? " (none)" : out;
}

TEST(RouteTableBuild, RefusesInvalidConfig) {
    const std::vector<BuildCase> cases = {
        {"*contoso.com", {dns("a", {"*"}), dns("b", {"*contoso.com"})}, {},
         {"connectors[1].address_spaces[0]: \"*contoso.com\" is not a valid address space "
          "(use \"*.contoso.com\" or \"contoso.com\") [connector \"b\"]"}},
        {"non-SMTP type", {dns("a", {"X400:c=US;a= ;p=Org"})}, {},
         {"connectors[0].address_spaces[0]: \"X400:c=US;a= ;p=Org\" has address space type "
          "\"X400\"; only SMTP is supported [connector \"a\"]"}},
        {"cost 0", {dns("a", {"example.com;0"})}, {},
         {"connectors[0].address_spaces[0]: \"example.com;0\": cost 0 is out of range (1-100)"
          " [connector \"a\"]"}},
        {"cost 101", {dns("a", {"SMTP:*;101"})}, {},
         {"connectors[0].address_spaces[0]: \"SMTP:*;101\": cost 101 is out of range (1-100)"
          " [connector \"a\"]"}},
        {"cost not a number", {dns("a", {"*;x"})}, {},
         {"connectors[0].address_spaces[0]: \"*;x\": cost \"x\" is not a number from 1 to 100"
          " [connector \"a\"]"}},
        {"not a domain", {dns("a", {"exa mple.com"})}, {},
         {"connectors[0].address_spaces[0]: \"exa mple.com\" is not a valid address space "
          "(not a domain name) [connector \"a\"]"}},
        {"wildcard in the middle", {dns("a", {"a.*.com"})}, {},
         {"connectors[0].address_spaces[0]: \"a.*.com\" is not a valid address space "
          "(not a domain name) [connector \"a\"]"}},
        {"literal space", {dns("a", {"[192.0.2.1]"})}, {},
         {"connectors[0].address_spaces[0]: \"[192.0.2.1]\" is not a valid address space "
          "(address literals match only \"*\") [connector \"a\"]"}},
        {"two wildcards", {dns("a", {"**.foo.com", "*.*.foo.com", "*a*.com"})}, {},
         {"connectors[0].address_spaces[0]: \"**.foo.com\" is not a valid address space "
          "(only one \"*\", as the whole first label) [connector \"a\"]",
          "connectors[0].address_spaces[1]: \"*.*.foo.com\" is not a valid address space "
          "(only one \"*\", as the whole first label) [connector \"a\"]",
          "connectors[0].address_spaces[2]: \"*a*.com\" is not a valid address space "
          "(only one \"*\", as the whole first label) [connector \"a\"]"}},
        {"two trailing dots", {dns("a", {"example.com.."})}, {},
         {"connectors[0].address_spaces[0]: \"example.com..\" is not a valid address space "
          "(not a domain name) [connector \"a\"]"}},
        {"smart hosts and dns_routing",
         {with(dns("a", {"*"}), [](ConnectorSpec& c) { c.smart_hosts = {"relay.example"}; })}, {},
         {"connectors[0].dns_routing: connector \"a\" has smart_hosts and dns_routing: true; "
          "use one"}},
        {"neither smart hosts nor dns_routing",
         {with(dns("a", {"*"}), [](ConnectorSpec& c) { c.dns_routing = false; })}, {},
         {"connectors[0].smart_hosts: connector \"a\" has neither smart_hosts nor "
          "dns_routing: true"}},
        {"duplicate names", {dns("a", {"*"}), dns("b", {}), dns("a", {})}, {},
         {"connectors[2].name: \"a\" is already the name of connectors[0]"}},
        {"missing name", {dns("", {})}, {}, {"connectors[0].name: missing"}},
        {"space listed twice", {dns("a", {"*.example.com;1", "x.org", "*.EXAMPLE.com;5"})}, {},
         {"connectors[0].address_spaces[2]: \"*.EXAMPLE.com;5\" repeats address_spaces[0] "
          "(\"*.example.com;1\") [connector \"a\"]"}},
        {"* listed twice", {dns("a", {"*", "SMTP:*;2"})}, {},
         {"connectors[0].address_spaces[1]: \"SMTP:*;2\" repeats address_spaces[0] (\"*\")"
          " [connector \"a\"]"}},
        {"trailing dot repeats", {dns("a", {"Example.com.", "example.com;4"})}, {},
         {"connectors[0].address_spaces[1]: \"example.com;4\" repeats address_spaces[0] "
          "(\"Example.com.\") [connector \"a\"]"}},
        {"bad smart host",
         {with(dns("a", {"*"}), [](ConnectorSpec& c) {
             c.dns_routing = false;
             c.smart_hosts = {"ok.example", "2001:db8::1"};
         })},
         {},
         {"connectors[0].smart_hosts[1]: \"2001:db8::1\" is not a valid smart host "
          "(IPv6 is written [IPv6:2001:db8::1]:25) [connector \"a\"]"}},
        {"port 0", {with(dns("a", {}), [](ConnectorSpec& c) { c.port = 0; })}, {},
         {"connectors[0].port: 0 is not a valid port [connector \"a\"]"}},
        {"auth without password file",
         {with(dns("a", {}), [](ConnectorSpec& c) { c.auth_username = "relay"; })}, {},
         {"connectors[0].auth.password_file: required with auth.username [connector \"a\"]"}},
        {"unknown accepted connector", {dns("a", {"*"})},
         {{"example.com", AcceptedDomainType::authoritative, "nope"}},
         {"accepted_domains[0].connector: \"nope\" is not the name of a connector"}},
        {"accepted without connector", {dns("a", {"*"})},
         {{"example.com", AcceptedDomainType::internal_relay, ""}},
         {"accepted_domains[0].connector: missing (the internal connector that carries mail "
          "for \"example.com\")"}},
        {"accepted *", {dns("a", {})}, {{"*", AcceptedDomainType::authoritative, "a"}},
         {"accepted_domains[0].domain: \"*\" cannot be an accepted domain"}},
        {"accepted bad wildcard", {dns("a", {})},
         {{"*example.com", AcceptedDomainType::authoritative, "a"}},
         {"accepted_domains[0].domain: \"*example.com\" is not a valid accepted domain "
          "(use \"*.example.com\" or \"example.com\")"}},
        {"accepted twice", {dns("a", {})},
         {{"example.com", AcceptedDomainType::authoritative, "a"},
          {"Example.com", AcceptedDomainType::internal_relay, "a"}},
         {"accepted_domains[1].domain: \"Example.com\" is already accepted_domains[0]"}},
        {"accepted twice, one with a trailing dot", {dns("a", {})},
         {{"*.example.com", AcceptedDomainType::authoritative, "a"},
          {"*.Example.com.", AcceptedDomainType::internal_relay, "a"}},
         {"accepted_domains[1].domain: \"*.Example.com.\" is already accepted_domains[0]"}},
        // Repeats are found with the other errors, not only once everything else is fixed.
        {"every error reported",
         {dns("a", {"*x", "y;0", "*.x.com", "SMTP:*.X.com;5"}), dns("a", {})},
         {{"example.org", AcceptedDomainType::authoritative, "a"},
          {"example.org", AcceptedDomainType::authoritative, "nope"}},
         {"connectors[0].address_spaces[0]: \"*x\" is not a valid address space "
          "(use \"*.x\" or \"x\") [connector \"a\"]",
          "connectors[0].address_spaces[1]: \"y;0\": cost 0 is out of range (1-100)"
          " [connector \"a\"]",
          "connectors[0].address_spaces[3]: \"SMTP:*.X.com;5\" repeats address_spaces[2] "
          "(\"*.x.com\") [connector \"a\"]",
          "connectors[1].name: \"a\" is already the name of connectors[0]",
          "accepted_domains[1].domain: \"example.org\" is already accepted_domains[0]",
          "accepted_domains[1].connector: \"nope\" is not the name of a connector"}},
    };
    for (const BuildCase& c : cases) {
        RouteTableBuild build = build_route_table(c.connectors, c.accepted, 1);
        EXPECT_EQ(build.errors, c.want)
            << c.label << ": got" << joined(build.errors) << "\nwant" << joined(c.want);
        EXPECT_EQ(build.table, nullptr) << c.label << ": a refused config built a table";
    }
}

TEST(RouteTableBuild, AcceptsInterfaceExample) {
    std::vector<ConnectorSpec> cs = to_specs({
        {"to-pgp-gateway", {"*;10"}, 0, true, {"pgp1.example.com:25", "pgp2.example.com"}},
        {"partners", {"partner.example", "*.partner.example;5"}},
        {"to-exchange", {}, 0, true, {"[192.0.2.5]:25"}},
    });
    RouteTableBuild build = build_route_table(
        cs, {{"example.com", AcceptedDomainType::authoritative, "to-exchange"}}, 7);
    EXPECT_EQ(build.errors, std::vector<std::string>{}) << joined(build.errors);
    EXPECT_EQ(build.warnings, std::vector<std::string>{}) << joined(build.warnings);
    ASSERT_TRUE(build.table);
    EXPECT_EQ(build.table->generation(), 7u);
}

// A config domain written with its trailing dot ("example.com.", as Exchange accepts) matches
// as if written without it: the dot is dropped, the text as written is kept for messages.
TEST(RouteTableBuild, TrailingDotInConfigIsDropped) {
    auto table = must_build({{"exact", {"Partner.Example."}},
                             {"wild", {"SMTP:*.sub.example.;5"}},
                             {"in", {}},
                             {"star", {"*"}}},
                            {{"corp.example.", "in"}, {"*.relay.example.", "in"}});
    ASSERT_TRUE(table);
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"partner.example", "exact (Partner.Example.)"},
        {"PARTNER.example.", "exact (Partner.Example.)"},
        {"www.partner.example", "star (*)"},
        {"sub.example", "wild (SMTP:*.sub.example.;5)"},
        {"a.b.sub.example", "wild (SMTP:*.sub.example.;5)"},
        {"corp.example", "in (corp.example.)"},
        {"mx.relay.example", "in (*.relay.example.)"},
    };
    for (const auto& [domain, want] : cases) {
        EXPECT_EQ(describe(*table, table->lookup(domain, 1000)), want) << domain;
    }
    EXPECT_EQ(table->address_spaces()[0].space.domain, "partner.example");
    EXPECT_EQ(table->accepted_domains()[0].domain.domain, "corp.example");
}

TEST(RouteTableBuild, WarnsAboutConflicts) {
    const std::vector<BuildCase> cases = {
        {"same space and cost",
         {dns("zeta", {"*.example.com;5"}), dns("alpha", {"x.org", "*.Example.com;5"})}, {},
         {"connectors[0].address_spaces[0]: \"*.example.com;5\" has the same address space and "
          "cost as connector \"alpha\" (connectors[1].address_spaces[1]), which wins by name; "
          "connector \"zeta\" never gets this mail"}},
        {"same space, other cost", {dns("a", {"*.example.com;5"}), dns("b", {"*.example.com;6"})},
         {}, {}},
        {"same cost, one disabled",
         {dns("a", {"*;1"}), with(dns("b", {"*;1"}), [](ConnectorSpec& c) { c.enabled = false; })},
         {}, {}},
        {"shadowed by accepted wildcard",
         {dns("in", {}), dns("ext", {"mail.corp.example"})},
         {{"*.corp.example", AcceptedDomainType::authoritative, "in"}},
         {"connectors[1].address_spaces[0]: \"mail.corp.example\" is shadowed by accepted "
          "domain \"*.corp.example\" (accepted_domains[0]); its mail goes to connector \"in\""}},
        {"overlaps accepted domain",
         {dns("in", {}), dns("ext", {"*.example.com"})},
         {{"example.com", AcceptedDomainType::authoritative, "in"}},
         {"connectors[1].address_spaces[0]: \"*.example.com\" overlaps accepted domain "
          "\"example.com\" (accepted_domains[0]); mail for \"example.com\" goes to connector "
          "\"in\""}},
        {"* is not a conflict", {dns("in", {}), dns("ext", {"*"})},
         {{"example.com", AcceptedDomainType::authoritative, "in"}}, {}},
        {"accepted connector disabled",
         {with(dns("in", {}), [](ConnectorSpec& c) { c.enabled = false; })},
         {{"example.com", AcceptedDomainType::authoritative, "in"}},
         {"accepted_domains[0].connector: connector \"in\" is disabled; mail for "
          "\"example.com\" has no route"}},
    };
    for (const BuildCase& c : cases) {
        RouteTableBuild build = build_route_table(c.connectors, c.accepted, 1);
        EXPECT_TRUE(build.errors.empty()) << c.label << ":" << joined(build.errors);
        EXPECT_EQ(build.warnings, c.want)
            << c.label << ": got" << joined(build.warnings) << "\nwant" << joined(c.want);
    }
}

}  // namespace
}  // namespace ringmta::router::test
