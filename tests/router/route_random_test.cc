// The compiled table (and the cache in front of it) against a brute-force reference written
// straight from the selection rules, on 100,000 random lookups over random tables. Labels come
// from a tiny alphabet so exact, wildcard, apex, cost and name ties collide often.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "router/route_cache.hh"
#include "tests/router/router_test_util.hh"

namespace ringmta::router::test {
namespace {

// A space as generated: kind and labels known, so the reference needs no parser.
struct RefSpace {
    int kind;                    // 0 exact, 1 wildcard, 2 "*"
    std::string domain;          // lower case
    uint32_t cost;
    uint32_t connector;
    uint32_t index;              // position in the table's address_spaces()
};

struct RefAccepted {
    bool wildcard;
    std::string domain;
    uint32_t connector;
};

struct RefTable {
    std::vector<C> connectors;
    std::vector<A> accepted;
    std::vector<RefSpace> spaces;
    std::vector<RefAccepted> accepted_ref;
};

bool covers(bool wildcard, const std::string& space, const std::string& domain) {
    if (domain == space) return true;
    return wildcard && domain.size() > space.size() + 1 &&
           domain.compare(domain.size() - space.size(), space.size(), space) == 0 &&
           domain[domain.size() - space.size() - 1] == '.';
}

uint32_t labels(const std::string& d) { return 1 + std::count(d.begin(), d.end(), '.'); }

// Specificity for a domain known to match: exact > wildcard of the same domain > shorter.
uint32_t rank(int kind, const std::string& d) {
    return kind == 2 ? 0 : 2 * labels(d) + (kind == 0);
}

Route reference(const RefTable& t, const std::string& domain, bool literal, uint64_t size) {
    Route best;
    uint32_t best_rank = 0;
    for (uint32_t i = 0; i < t.accepted_ref.size() && !literal; ++i) {
        const RefAccepted& a = t.accepted_ref[i];
        uint32_t r = rank(a.wildcard ? 1 : 0, a.domain);
        if (covers(a.wildcard, a.domain, domain) && (!best.via_accepted_domain || r > best_rank)) {
            best.via_accepted_domain = true;
            best.matched = i;
            best_rank = r;
        }
    }
    if (best.via_accepted_domain) {
        const C& c = t.connectors[t.accepted_ref[best.matched].connector];
        if (!c.enabled) best.no_route = NoRoute::connector_disabled;
        else if (c.max_size != 0 && size > c.max_size) best.no_route = NoRoute::message_too_large;
        else best.connector = t.accepted_ref[best.matched].connector, best.no_route = NoRoute::none;
        return best;
    }
    bool too_large = false;
    const RefSpace* winner = nullptr;
    for (const RefSpace& s : t.spaces) {
        const C& c = t.connectors[s.connector];
        bool matches = s.kind == 2 || (!literal && covers(s.kind == 1, s.domain, domain));
        if (!matches || !c.enabled) continue;
        if (c.max_size != 0 && size > c.max_size) {
            too_large = true;
            continue;
        }
        auto key = [&](const RefSpace& x) {
            return std::make_tuple(-int(rank(x.kind, x.domain)), x.cost,
                                   t.connectors[x.connector].name);
        };
        if (winner == nullptr || key(s) < key(*winner)) winner = &s;
    }
    if (winner == nullptr) {
        best.no_route = too_large ? NoRoute::message_too_large : NoRoute::no_address_space;
        return best;
    }
    best.connector = winner->connector;
    best.matched = winner->index;
    best.no_route = NoRoute::none;
    return best;
}

const char* const kLabels[] = {"a", "b", "ab", "com", "org", "x"};

std::string random_domain(std::mt19937_64& rng, int depth_max) {
    std::string d = kLabels[rng() % 6];
    int depth = 1 + int(rng() % depth_max);
    for (int i = 1; i < depth; ++i) d = std::string(kLabels[rng() % 6]) + "." + d;
    return d;
}

RefTable random_table(std::mt19937_64& rng) {
    RefTable t;
    const uint64_t sizes[] = {0, 0, 100, 1000, 10000};
    uint32_t connectors = 1 + rng() % 8;
    for (uint32_t i = 0; i < connectors; ++i) {
        C c{"c" + std::to_string(rng() % 100) + "-" + std::to_string(i), {}, sizes[rng() % 5],
            rng() % 10 != 0};
        uint32_t spaces = rng() % 7;
        for (uint32_t s = 0; s < spaces; ++s) {
            RefSpace r{int(rng() % 10 == 0 ? 2 : rng() % 2), random_domain(rng, 3),
                       uint32_t(1 + rng() % 3), i, 0};
            if (r.kind == 2) r.domain.clear();
            bool repeat = false;
            for (const RefSpace& o : t.spaces) {
                repeat |= o.connector == i && o.kind == r.kind && o.domain == r.domain;
            }
            if (repeat) continue;
            r.index = uint32_t(t.spaces.size());
            std::string text = r.kind == 2 ? "*" : (r.kind == 1 ? "*." : "") + r.domain;
            if (rng() % 2) text = "SMTP:" + text;
            c.spaces.push_back(text + ";" + std::to_string(r.cost));
            t.spaces.push_back(r);
        }
        t.connectors.push_back(c);
    }
    uint32_t accepted = rng() % 3;
    for (uint32_t i = 0; i < accepted; ++i) {
        RefAccepted a{rng() % 2 == 0, random_domain(rng, 2), uint32_t(rng() % connectors)};
        bool repeat = false;
        for (const RefAccepted& o : t.accepted_ref) {
            repeat |= o.wildcard == a.wildcard && o.domain == a.domain;
        }
        if (repeat) continue;
        t.accepted_ref.push_back(a);
        t.accepted.push_back({(a.wildcard ? "*." : "") + a.domain, t.connectors[a.connector].name});
    }
    return t;
}

// Upper case, a trailing dot, or a literal: what the reference sees is the normalised form.
std::string random_query(std::mt19937_64& rng, std::string& normalised, bool& literal) {
    literal = rng() % 20 == 0;
    if (literal) return normalised = "[192.0.2." + std::to_string(rng() % 4) + "]";
    normalised = random_domain(rng, 5);
    std::string raw = normalised;
    if (rng() % 4 == 0) for (char& ch : raw) ch = char(std::toupper(ch));
    if (rng() % 4 == 0) raw += '.';
    return raw;
}

std::string show(const RefTable& t, const Route& r) {
    std::string out = r.found() ? t.connectors[r.connector].name : "none";
    out += r.via_accepted_domain ? " accepted#" : " space#";
    out += (r.matched == kNoIndex ? "-" : std::to_string(r.matched)) + " reason " +
           no_route_text(r.no_route);
    return out;
}

// A fresh seed per run, so runs cover different tables; RINGMTA_TEST_SEED=N replays run N.
uint64_t test_seed() {
    if (const char* fixed = std::getenv("RINGMTA_TEST_SEED"); fixed != nullptr && *fixed) {
        char* end = nullptr;
        uint64_t seed = std::strtoull(fixed, &end, 0);
        if (*end == '\0') return seed;
        ADD_FAILURE() << "RINGMTA_TEST_SEED=" << fixed << " is not a number; using a random seed";
    }
    return std::random_device{}() | (uint64_t(std::random_device{}()) << 32);
}

TEST(RouteRandom, TableAndCacheAgreeWithBruteForce) {
    const uint64_t seed = test_seed();
    const std::string replay = "seed " + std::to_string(seed) + " (replay: RINGMTA_TEST_SEED=" +
                               std::to_string(seed) +
                               " router_test --gtest_filter=RouteRandom.*)";
    RecordProperty("seed", std::to_string(seed));   // in --gtest_output=xml even on success
    std::mt19937_64 rng(seed);
    const uint64_t sizes[] = {0, 50, 100, 101, 999, 1000, 5000, 10000, 10001, 20000};
    int lookups = 0, failures = 0;
    RouteCache cache(64);
    for (uint64_t table_index = 1; lookups < 100'000; ++table_index) {
        RefTable t = random_table(rng);
        auto table = must_build(t.connectors, t.accepted, table_index);
        ASSERT_TRUE(table) << replay;
        for (int q = 0; q < 100; ++q, ++lookups) {
            std::string normalised;
            bool literal;
            std::string raw = random_query(rng, normalised, literal);
            uint64_t size = sizes[rng() % 10];
            Route want = reference(t, normalised, literal, size);
            Route got = table->lookup(raw, size);
            Route cached = cache.lookup(*table, raw, size);
            if ((got != want || cached != want) && ++failures <= 5) {
                ADD_FAILURE() << replay << ", table " << table_index << ", lookup(\""
                              << raw << "\", " << size << "): got " << show(t, got)
                              << ", cached " << show(t, cached) << ", want " << show(t, want);
            }
        }
    }
    EXPECT_EQ(failures, 0) << replay;
    EXPECT_GT(cache.hits(), 2'000u) << "the cache should answer repeats";
}

}  // namespace
}  // namespace ringmta::router::test
