// `ringmta route` output: the winner, every other matching candidate with why it lost, next
// hops, and the exact JSON shape of INTERFACE.md.
#include <gtest/gtest.h>

#include "router/route_explain.hh"
#include "tests/router/router_test_util.hh"

namespace ringmta::router::test {
namespace {

std::shared_ptr<const RouteTable> interface_example() {
    return must_build(
        {{"to-pgp-gateway", {"*;10"}, 0, true, {"pgp1.example.com:25", "pgp2.example.com"}},
         {"partners", {"partner.example", "*.partner.example;5"}},
         {"partners-backup", {"*.partner.example;5"}, 0, false},
         {"small", {"*.partner.example;1"}, 1000},
         {"to-exchange", {}, 0, true, {"[192.0.2.5]:25"}}},
        {{"example.com", "to-exchange"}});
}

TEST(RouteExplain, JsonHasTheInterfaceShape) {
    struct Case { const char* label; const char* address; uint64_t size; std::string want; };
    const Case cases[] = {
        {"exact space; others lose", "user@Partner.Example", 5000,
         R"({"connector": "partners", "address_space": "partner.example", "cost": 1, )"
         R"("next_hops": ["MX partner.example:25"], "candidates": [)"
         R"({"connector": "small", "address_space": "*.partner.example;1", "cost": 1, )"
         R"("lost_because": "message size 5000 exceeds max_message_size 1000"}, )"
         R"({"connector": "partners", "address_space": "*.partner.example;5", "cost": 5, )"
         R"("lost_because": "less specific than \"partner.example\""}, )"
         R"({"connector": "partners-backup", "address_space": "*.partner.example;5", )"
         R"("cost": 5, "lost_because": "connector disabled"}, )"
         R"({"connector": "to-pgp-gateway", "address_space": "*;10", "cost": 10, )"
         R"("lost_because": "less specific than \"partner.example\""}]})" "\n"},
        {"cost decides", "a.partner.example", 10,
         R"({"connector": "small", "address_space": "*.partner.example;1", "cost": 1, )"
         R"("next_hops": ["MX a.partner.example:25"], "candidates": [)"
         R"({"connector": "partners", "address_space": "*.partner.example;5", "cost": 5, )"
         R"("lost_because": "cost 5 is higher than 1"}, )"
         R"({"connector": "partners-backup", "address_space": "*.partner.example;5", )"
         R"("cost": 5, "lost_because": "connector disabled"}, )"
         R"({"connector": "to-pgp-gateway", "address_space": "*;10", "cost": 10, )"
         R"("lost_because": "less specific than \"*.partner.example;1\""}]})" "\n"},
        {"smart hosts", "<x@example.org>", 1,
         R"({"connector": "to-pgp-gateway", "address_space": "*;10", "cost": 10, )"
         R"("next_hops": ["pgp1.example.com:25", "pgp2.example.com:25"], "candidates": []})"
         "\n"},
        {"accepted domain", "ceo@example.com", 1,
         R"({"connector": "to-exchange", "address_space": "example.com", "cost": 0, )"
         R"("next_hops": ["[192.0.2.5]:25"], "candidates": [)"
         R"({"connector": "to-pgp-gateway", "address_space": "*;10", "cost": 10, )"
         R"("lost_because": "the domain is accepted (\"example.com\"); accepted domains never )"
         R"(use address spaces"}]})" "\n"},
        {"invalid", "user@a..b", 1,
         R"({"connector": null, "address_space": null, "cost": null, "next_hops": [], )"
         R"("candidates": []})" "\n"},
    };
    auto table = interface_example();
    for (const Case& c : cases) {
        std::string got = format_route_json(explain_route(*table, c.address, c.size));
        EXPECT_EQ(got, c.want) << c.label << "\ngot  " << got << "want " << c.want;
    }
}

TEST(RouteExplain, NoRouteStillListsWhatMatched) {
    auto table = must_build({{"small", {"*"}, 100}});
    RouteExplanation e = explain_route(*table, "a@b.example", 500);
    EXPECT_FALSE(e.route.found());
    EXPECT_EQ(format_route_json(e),
              R"({"connector": null, "address_space": null, "cost": null, "next_hops": [], )"
              R"("candidates": [{"connector": "small", "address_space": "*", "cost": 1, )"
              R"("lost_because": "message size 500 exceeds max_message_size 100"}]})" "\n");
    std::string text = format_route_text(e);
    EXPECT_NE(text.find("connector:     none (every matching connector's max_message_size is "
                        "below the message size)"), std::string::npos) << text;
}

TEST(RouteExplain, TextNamesWinnerHopsAndLosers) {
    auto table = interface_example();
    std::string got = format_route_text(explain_route(*table, "x@partner.example", 1));
    const char* want =
        "address:       x@partner.example\n"
        "domain:        partner.example\n"
        "message size:  1 bytes\n"
        "connector:     partners\n"
        "matched:       address space partner.example (cost 1)\n"
        "next hops:     MX partner.example:25\n"
        "other candidates:\n"
        "  small  *.partner.example;1 (cost 1): less specific than \"partner.example\"\n"
        "  partners  *.partner.example;5 (cost 5): less specific than \"partner.example\"\n"
        "  partners-backup  *.partner.example;5 (cost 5): connector disabled\n"
        "  to-pgp-gateway  *;10 (cost 10): less specific than \"partner.example\"\n";
    EXPECT_EQ(got, want) << "got\n" << got << "want\n" << want;
}

TEST(RouteExplain, JsonEscapesStrings) {
    auto table = must_build({{"we\"ird\\name\x01", {"*"}}});
    std::string got = format_route_json(explain_route(*table, "a@b.c", 1));
    EXPECT_NE(got.find(R"("connector": "we\"ird\\name\u0001")"), std::string::npos) << got;
}

TEST(RouteExplain, LiteralWithDnsRoutingIsItsOwnNextHop) {
    auto table = must_build({{"direct", {"*"}}});
    RouteExplanation e = explain_route(*table, "postmaster@[192.0.2.7]", 1);
    EXPECT_EQ(e.next_hops, std::vector<std::string>{"[192.0.2.7]:25"});
}

}  // namespace
}  // namespace ringmta::router::test
