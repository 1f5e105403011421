// The per-shard cache: answers like the table, misses after a newer table is published, keys
// on the message-size range, stays bounded, and skips domains too long to keep inline.
#include <gtest/gtest.h>

#include "router/route_cache.hh"
#include "tests/router/router_test_util.hh"

namespace ringmta::router::test {
namespace {

TEST(RouteCache, HitsRepeatsOfTheSameTable) {
    auto table = must_build({{"e", {"*.example.com"}}, {"star", {"*"}}});
    RouteCache cache(16);
    Route first = cache.lookup(*table, "a.example.com", 10);
    Route second = cache.lookup(*table, "a.example.com", 10);
    EXPECT_EQ(describe(*table, second), "e (*.example.com)");
    EXPECT_EQ(first, second);
    EXPECT_EQ(cache.misses(), 1u);
    EXPECT_EQ(cache.hits(), 1u);
}

TEST(RouteCache, NewGenerationMisses) {
    auto old_table = must_build({{"old", {"*"}}}, {}, 1);
    auto new_table = must_build({{"new", {"*"}}}, {}, 2);
    RouteCache cache(16);
    (void)cache.lookup(*old_table, "example.org", 1);
    Route got = cache.lookup(*new_table, "example.org", 1);
    EXPECT_EQ(describe(*new_table, got), "new (*)") << "a stale entry answered for a new table";
    EXPECT_EQ(cache.misses(), 2u);
}

TEST(RouteCache, SizeOutsideTheEntryRangeMisses) {
    auto table = must_build({{"small", {"*.example.com"}, 1000}, {"star", {"*"}}});
    RouteCache cache(16);
    struct Case { uint64_t size; const char* want; };
    for (Case c : {Case{10, "small (*.example.com)"}, Case{5000, "star (*)"},
                   Case{1000, "small (*.example.com)"}, Case{1001, "star (*)"}}) {
        std::string got = describe(*table, cache.lookup(*table, "a.example.com", c.size));
        EXPECT_EQ(got, c.want) << "size " << c.size << ": got " << got << ", want " << c.want;
    }
    EXPECT_EQ(cache.misses(), 2u) << "both size ranges should stay cached";
}

TEST(RouteCache, StaysBoundedAndCorrectUnderEviction) {
    auto table = must_build({{"e", {"*.example.com"}}, {"star", {"*"}}});
    RouteCache cache(8);
    EXPECT_EQ(cache.capacity(), 8u);
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 100; ++i) {
            std::string domain = "d" + std::to_string(i) + (i % 2 ? ".example.com" : ".org");
            std::string got = describe(*table, cache.lookup(*table, domain, 1));
            std::string want = i % 2 ? "e (*.example.com)" : "star (*)";
            ASSERT_EQ(got, want) << domain << ": got " << got << ", want " << want;
        }
    }
}

TEST(RouteCache, LongDomainsBypassTheCache) {
    auto table = must_build({{"e", {"*.example.com"}}});
    RouteCache cache(8);
    std::string domain = "sub.example.com";
    for (int i = 0; i < 8; ++i) domain = "abcdefghi." + domain;
    ASSERT_GT(domain.size(), RouteCache::kDomainInlineMax);
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(describe(*table, cache.lookup(*table, domain, 1)), "e (*.example.com)");
    }
    EXPECT_EQ(cache.hits(), 0u);
}

}  // namespace
}  // namespace ringmta::router::test
