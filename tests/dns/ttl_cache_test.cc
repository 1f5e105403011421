// Tests mta/dns/ttl_cache.hh: expiry, least-recently-used eviction, replacement.
#include "mta/dns/ttl_cache.hh"

#include <gtest/gtest.h>

namespace ringmta::dns {
namespace {

std::shared_ptr<const int> value(int v) { return std::make_shared<const int>(v); }

int get(TtlCache<int>& cache, const char* key, uint64_t now_ms) {
    auto v = cache.find(key, now_ms);
    return v ? *v : -1;
}

TEST(TtlCache, ExpiresAtItsDeadline) {
    TtlCache<int> cache(4);
    cache.insert("a", value(1), 1000);
    EXPECT_EQ(get(cache, "a", 999), 1);
    EXPECT_EQ(get(cache, "a", 1000), -1) << "an entry is dead at its expiry time";
    EXPECT_EQ(cache.size(), 0u) << "an expired entry is dropped when seen";
}

TEST(TtlCache, EvictsLeastRecentlyUsed) {
    TtlCache<int> cache(3);
    cache.insert("a", value(1), 10'000);
    cache.insert("b", value(2), 10'000);
    cache.insert("c", value(3), 10'000);
    EXPECT_EQ(get(cache, "a", 0), 1);  // a becomes the most recently used
    cache.insert("d", value(4), 10'000);
    EXPECT_EQ(cache.size(), 3u);
    EXPECT_EQ(get(cache, "b", 0), -1) << "b was least recently used";
    EXPECT_EQ(get(cache, "a", 0), 1);
    EXPECT_EQ(get(cache, "c", 0), 3);
    EXPECT_EQ(get(cache, "d", 0), 4);
}

TEST(TtlCache, ReplacesAndKeepsValuesInUse) {
    TtlCache<int> cache(1);
    cache.insert("a", value(1), 10'000);
    auto held = cache.find("a", 0);
    cache.insert("a", value(2), 10'000);
    EXPECT_EQ(cache.size(), 1u);
    EXPECT_EQ(get(cache, "a", 0), 2);
    cache.insert("b", value(3), 10'000);
    EXPECT_EQ(get(cache, "a", 0), -1);
    EXPECT_EQ(*held, 1) << "a result handed out outlives its eviction";
}

TEST(TtlCache, ManyKeysStayBounded) {
    TtlCache<int> cache(64);
    for (int i = 0; i < 1000; ++i) cache.insert("k" + std::to_string(i), value(i), 10'000);
    EXPECT_EQ(cache.size(), 64u);
    EXPECT_EQ(get(cache, "k999", 0), 999);
    EXPECT_EQ(get(cache, "k935", 0), -1);
    EXPECT_EQ(get(cache, "k936", 0), 936);
}

}  // namespace
}  // namespace ringmta::dns
