// Tests mta/dns/mx_plan.cc: MX ordering and shuffling, null MX, implicit MX, glue, host result
// building and the final MX assembly, from synthetic record sets.
#include "mta/dns/mx_plan.hh"

#include <gtest/gtest.h>

#include <set>

#include "tests/dns/dns_test_util.hh"

namespace ringmta::dns {
namespace {

using namespace testing;

std::string names(const std::vector<MxRecord>& records) {
    std::string s;
    for (const MxRecord& r : records)
        s += (s.empty() ? "" : " ") + r.exchange + ":" + std::to_string(r.preference);
    return s;
}

TEST(OrderMxRecords, Table) {
    struct Case {
        const char* label;
        std::vector<MxRecord> input;
        const char* want;
    };
    const Case cases[] = {
        {"sorted by preference", {{"c", 30, 1}, {"a", 10, 1}, {"b", 20, 1}}, "a:10 b:20 c:30"},
        {"duplicate keeps lowest preference",
         {{"a", 20, 1}, {"b", 15, 1}, {"a", 10, 1}},
         "a:10 b:15"},
        {"root target dropped beside real hosts", {{"", 0, 1}, {"a", 10, 1}}, "a:10"},
        {"preference 0 first", {{"z", 65535, 1}, {"y", 0, 1}}, "y:0 z:65535"},
        {"empty", {}, ""},
    };
    for (const Case& c : cases) {
        std::mt19937_64 rng(1);
        std::string got = names(order_mx_records(c.input, rng));
        EXPECT_EQ(got, c.want) << c.label << ": got " << got << ", want " << c.want;
    }
}

TEST(OrderMxRecords, EqualPreferencesAreShuffledBySeed) {
    const std::vector<MxRecord> input = {
        {"low", 5, 1}, {"a", 10, 1}, {"b", 10, 1}, {"c", 10, 1}, {"high", 20, 1}};
    std::set<std::string> orders;
    for (uint64_t seed = 1; seed <= 200; ++seed) {
        std::mt19937_64 rng(seed);
        std::string got = names(order_mx_records(input, rng));
        // Shuffling stays inside the run of equal preference.
        ASSERT_EQ(got.substr(0, 6), "low:5 ") << "seed " << seed << ": got " << got;
        ASSERT_EQ(got.substr(got.size() - 8), " high:20") << "seed " << seed << ": got " << got;
        orders.insert(got);
        // The same seed gives the same order whatever order the server listed the records in.
        std::vector<MxRecord> reversed(input.rbegin(), input.rend());
        std::mt19937_64 again(seed);
        std::string got_again = names(order_mx_records(reversed, again));
        ASSERT_EQ(got_again, got) << "seed " << seed;
    }
    EXPECT_EQ(orders.size(), 6u) << "got " << orders.size() << " of the 6 orders of a, b, c";
}

TEST(MxHostToTry, RotatesWithinTheBestPreference) {
    struct Case {
        const char* label;
        std::vector<uint16_t> preferences;
        uint64_t connection;
        std::vector<size_t> want;  // the hosts tried, k = 0, 1, ...
    };
    const Case cases[] = {
        {"one host", {10}, 7, {0}},
        {"two equal, first connection", {10, 10}, 0, {0, 1}},
        {"two equal, second connection", {10, 10}, 1, {1, 0}},
        {"two equal, third connection", {10, 10}, 2, {0, 1}},
        {"backup after the whole best group", {10, 10, 10, 20}, 1, {1, 2, 0, 3}},
        {"backups keep their order", {10, 10, 20, 20}, 3, {1, 0, 2, 3}},
        {"single best: no rotation", {5, 10, 10}, 1, {0, 1, 2}},
    };
    for (const Case& c : cases) {
        std::vector<size_t> got;
        for (size_t k = 0; k < c.preferences.size(); ++k)
            got.push_back(mx_host_to_try(c.preferences, c.connection, k));
        EXPECT_EQ(got, c.want) << c.label;
    }
}

TEST(IsNullMx, Table) {
    struct Case {
        const char* label;
        std::vector<MxRecord> input;
        bool want;
    };
    const Case cases[] = {
        {"RFC 7505 form", {{"", 0, 1}}, true},
        {"lone root at another preference", {{"", 10, 1}}, true},
        {"root beside a host", {{"", 0, 1}, {"mx.example", 10, 1}}, false},
        {"ordinary host", {{"mx.example", 0, 1}}, false},
        {"no records", {}, false},
    };
    for (const Case& c : cases)
        EXPECT_EQ(is_null_mx(c.input), c.want)
            << c.label << ": got " << !c.want << ", want " << c.want;
}

TEST(PlanMx, Table) {
    DnsReply soa_nx = reply(ReplyStatus::no_such_name);
    soa_nx.message.has_soa = true;
    soa_nx.message.negative_ttl_s = 60;
    struct Case {
        const char* label;
        DnsReply reply;
        FamilyOrder order;
        const char* want_final;  // status name, or "" when hosts are to be resolved
        const char* want_code;
        uint32_t want_ttl_s;
        const char* want_hosts;  // "name:pref" list
        const char* want_glue;   // per host: addresses or "-"
        bool want_implicit;
    };
    const Case cases[] = {
        {"NXDOMAIN without SOA", reply(ReplyStatus::no_such_name), FamilyOrder::ipv4_first,
         "permanent", "5.1.2", 300, "", "", false},
        {"NXDOMAIN with SOA minimum", soa_nx, FamilyOrder::ipv4_first, "permanent", "5.1.2", 60, "",
         "", false},
        {"timeout is a try later", reply(ReplyStatus::try_later), FamilyOrder::ipv4_first,
         "temporary", "4.4.3", 0, "", "", false},
        {"null MX", reply(ReplyStatus::answered, {mx("d.test", 0, "", 120)}),
         FamilyOrder::ipv4_first, "permanent", "5.1.10", 120, "", "", false},
        {"NODATA is an implicit MX", reply(ReplyStatus::no_data), FamilyOrder::ipv4_first, "", "",
         300, "d.test:0", "-", true},
        {"CNAME without MX is an implicit MX",
         reply(ReplyStatus::answered, {cname("d.test", "other.test")}), FamilyOrder::ipv4_first, "",
         "", 300, "d.test:0", "-", true},
        {"two MX, glue for one",
         reply(ReplyStatus::answered,
               {mx("d.test", 20, "mx2.d.test", 600), mx("d.test", 10, "mx1.d.test", 900)},
               {address("mx1.d.test", "::1"), address("mx1.d.test", "192.0.2.1"),
                address("other.test", "192.0.2.9")}),
         FamilyOrder::ipv4_first, "", "", 600, "mx1.d.test:10 mx2.d.test:20", "192.0.2.1 ::1|-",
         false},
        {"glue of an unwanted family is not used",
         reply(ReplyStatus::answered, {mx("d.test", 10, "mx1.d.test")},
               {address("mx1.d.test", "192.0.2.1")}),
         FamilyOrder::ipv6_only, "", "", 300, "mx1.d.test:10", "-", false},
        {"MX behind a CNAME of the domain",
         reply(ReplyStatus::answered,
               {cname("d.test", "real.test"), mx("real.test", 5, "mx.real.test")}),
         FamilyOrder::ipv4_first, "", "", 300, "mx.real.test:5", "-", false},
    };
    for (const Case& c : cases) {
        std::mt19937_64 rng(7);
        MxPlan plan = plan_mx("D.test.", c.reply, c.order, rng);
        std::string final_status = plan.final ? status_name(plan.final->outcome.status) : "";
        EXPECT_EQ(final_status, c.want_final)
            << c.label << ": got " << final_status << ", want " << c.want_final;
        EXPECT_EQ(plan.ttl_s, c.want_ttl_s)
            << c.label << ": got ttl " << plan.ttl_s << ", want " << c.want_ttl_s;
        if (plan.final) {
            expect_outcome(c.label, plan.final->outcome, c.want_final, c.want_code);
            continue;
        }
        std::string hosts = names(plan.hosts);
        EXPECT_EQ(hosts, c.want_hosts) << c.label << ": got " << hosts << ", want " << c.want_hosts;
        std::string glue;
        for (const auto& g : plan.glue)
            glue += (glue.empty() ? "" : "|") + (g ? join(g->addresses) : std::string("-"));
        EXPECT_EQ(glue, c.want_glue) << c.label << ": got " << glue << ", want " << c.want_glue;
        EXPECT_EQ(plan.implicit_mx, c.want_implicit) << c.label;
    }
}

TEST(FamilyAnswer, FollowsCnameChainAndTakesTheSmallestTtl) {
    DnsReply r = reply(
        ReplyStatus::answered,
        {cname("alias.test", "mid.test", 100), cname("mid.test", "host.test", 50),
         address("host.test", "192.0.2.7", 400), address("unrelated.test", "192.0.2.8", 400)});
    FamilyAnswer a = family_answer("Alias.Test", kTypeA, r);
    EXPECT_EQ(join(a.addresses), "192.0.2.7");
    EXPECT_EQ(a.ttl_s, 50u) << "got " << a.ttl_s << ", want 50";
    EXPECT_EQ(a.status, ReplyStatus::answered);

    FamilyAnswer none = family_answer("alias.test", kTypeAaaa, r);
    EXPECT_EQ(none.status, ReplyStatus::no_data) << "a chain without the type is NODATA";
    EXPECT_TRUE(none.addresses.empty());
}

FamilyAnswer fam(uint16_t type, ReplyStatus status, std::vector<const char*> addresses = {},
                 uint32_t ttl_s = 300) {
    FamilyAnswer a;
    a.type = type;
    a.status = status;
    a.ttl_s = ttl_s;
    if (status == ReplyStatus::try_later) a.detail = "timed out";
    for (const char* text : addresses) a.addresses.push_back(ip(text));
    return a;
}

TEST(BuildHostResult, Table) {
    const auto A = kTypeA;
    const auto AAAA = kTypeAaaa;
    const auto ok = ReplyStatus::answered;
    struct Case {
        const char* label;
        std::vector<FamilyAnswer> answers;
        const char* want_status;
        const char* want_code;
        const char* want_addresses;
        uint32_t want_ttl_s;
    };
    const Case cases[] = {
        {"A then AAAA",
         {fam(A, ok, {"192.0.2.1"}, 100), fam(AAAA, ok, {"2001:db8::1"}, 50)},
         "found",
         "",
         "192.0.2.1 2001:db8::1",
         50},
        {"IPv6 first keeps the given order",
         {fam(AAAA, ok, {"2001:db8::1"}), fam(A, ok, {"192.0.2.1"})},
         "found",
         "",
         "2001:db8::1 192.0.2.1",
         300},
        {"A only, AAAA NODATA",
         {fam(A, ok, {"192.0.2.1"}, 100), fam(AAAA, ReplyStatus::no_data, {}, 30)},
         "found",
         "",
         "192.0.2.1",
         100},
        {"duplicates dropped",
         {fam(A, ok, {"192.0.2.1", "192.0.2.1", "192.0.2.2"})},
         "found",
         "",
         "192.0.2.1 192.0.2.2",
         300},
        {"one family times out, the other answers",
         {fam(A, ReplyStatus::try_later), fam(AAAA, ok, {"2001:db8::1"})},
         "found",
         "",
         "2001:db8::1",
         300},
        {"NXDOMAIN in both",
         {fam(A, ReplyStatus::no_such_name, {}, 60), fam(AAAA, ReplyStatus::no_such_name)},
         "permanent",
         "5.1.2",
         "",
         60},
        {"NODATA in both",
         {fam(A, ReplyStatus::no_data), fam(AAAA, ReplyStatus::no_data, {}, 30)},
         "permanent",
         "5.4.4",
         "",
         30},
        {"NODATA and a timeout is a try later",
         {fam(A, ReplyStatus::no_data), fam(AAAA, ReplyStatus::try_later)},
         "temporary",
         "4.4.3",
         "",
         0},
        {"NXDOMAIN and a timeout is a try later",
         {fam(A, ReplyStatus::no_such_name), fam(AAAA, ReplyStatus::try_later)},
         "temporary",
         "4.4.3",
         "",
         0},
    };
    for (const Case& c : cases) {
        HostResult r = build_host_result("host.test", c.answers);
        expect_outcome(c.label, r.outcome, c.want_status, c.want_code);
        EXPECT_EQ(join(r.addresses), c.want_addresses) << c.label;
        EXPECT_EQ(r.ttl_s, c.want_ttl_s)
            << c.label << ": got ttl " << r.ttl_s << ", want " << c.want_ttl_s;
    }
}

HostResult found(std::vector<const char*> addresses, uint32_t ttl_s = 300) {
    HostResult h;
    h.outcome = LookupOutcome::ok();
    h.ttl_s = ttl_s;
    for (const char* text : addresses) h.addresses.push_back(ip(text));
    return h;
}

TEST(AssembleMxResult, Table) {
    MxPlan two;
    two.hosts = {{"mx1.d.test", 10, 300}, {"mx2.d.test", 20, 300}, {"mx3.d.test", 30, 300}};
    two.ttl_s = 900;
    MxPlan implicit;
    implicit.hosts = {{"d.test", 0, 300}};
    implicit.implicit_mx = true;
    implicit.ttl_s = 300;
    HostResult nx = build_host_result("x", {fam(kTypeA, ReplyStatus::no_such_name, {}, 60)});
    HostResult nodata = build_host_result("x", {fam(kTypeA, ReplyStatus::no_data, {}, 60)});
    HostResult later = build_host_result("x", {fam(kTypeA, ReplyStatus::try_later)});
    struct Case {
        const char* label;
        const MxPlan* plan;
        std::vector<HostResult> hosts;
        const char* want_status;
        const char* want_code;
        const char* want_hosts;
        uint32_t want_ttl_s;
    };
    const Case cases[] = {
        {"all resolve",
         &two,
         {found({"192.0.2.1"}, 600), found({"192.0.2.2", "::2"}, 100), found({"192.0.2.3"})},
         "found",
         "",
         "mx1.d.test:10[192.0.2.1] mx2.d.test:20[192.0.2.2 ::2] "
         "mx3.d.test:30[192.0.2.3]",
         100},
        {"failing hosts skipped",
         &two,
         {nx, found({"192.0.2.2"}), later},
         "found",
         "",
         "mx2.d.test:20[192.0.2.2]",
         300},
        {"address shared with a better host dropped",
         &two,
         {found({"192.0.2.1"}), found({"192.0.2.1", "192.0.2.2"}), found({"192.0.2.2"})},
         "found",
         "",
         "mx1.d.test:10[192.0.2.1] mx2.d.test:20[192.0.2.2]",
         300},
        {"no host resolves: try later, even for NXDOMAIN hosts",
         &two,
         {nx, nx, later},
         "temporary",
         "4.4.3",
         "",
         0},
        {"implicit MX found",
         &implicit,
         {found({"192.0.2.9"}, 50)},
         "found",
         "",
         "d.test:0[192.0.2.9]",
         50},
        {"implicit MX without address: bounce", &implicit, {nodata}, "permanent", "5.4.4", "", 60},
        {"implicit MX NXDOMAIN: bounce", &implicit, {nx}, "permanent", "5.1.2", "", 60},
        {"implicit MX timeout: try later", &implicit, {later}, "temporary", "4.4.3", "", 0},
    };
    for (const Case& c : cases) {
        MxResult r = assemble_mx_result("d.test", *c.plan, c.hosts);
        expect_outcome(c.label, r.outcome, c.want_status, c.want_code);
        std::string hosts = describe_hosts(r.hosts);
        EXPECT_EQ(hosts, c.want_hosts) << c.label << ": got " << hosts << ", want " << c.want_hosts;
        if (r.outcome.status != LookupStatus::temporary_failure) {
            EXPECT_EQ(r.ttl_s, c.want_ttl_s)
                << c.label << ": got ttl " << r.ttl_s << ", want " << c.want_ttl_s;
        }
        EXPECT_EQ(r.implicit_mx, c.plan->implicit_mx) << c.label;
    }
}

TEST(FamilyQueries, Table) {
    struct Case {
        FamilyOrder order;
        uint16_t first, second;
    };
    const Case cases[] = {{FamilyOrder::ipv4_first, kTypeA, kTypeAaaa},
                          {FamilyOrder::ipv6_first, kTypeAaaa, kTypeA},
                          {FamilyOrder::ipv4_only, kTypeA, 0},
                          {FamilyOrder::ipv6_only, kTypeAaaa, 0}};
    for (const Case& c : cases) {
        FamilyQueries q = family_queries(c.order);
        EXPECT_EQ(q.types[0], c.first) << "order " << int(c.order);
        EXPECT_EQ(q.types[1], c.second) << "order " << int(c.order);
    }
}

}  // namespace
}  // namespace ringmta::dns
