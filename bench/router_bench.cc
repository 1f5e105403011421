// Route lookup micro-benchmarks: uncached and cached lookups and table builds for 10, 1,000
// and 100,000 address spaces, with the table's memory per address space as counters. The
// query mix hits exact spaces, subdomains under wildcards, and misses that fall to "*".
// The *Counted variants run a fixed number of lookups for callgrind instruction counts;
// *Spread cycles through queries for every configured space, so no part of the table stays hot.
#include <benchmark/benchmark.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define ROUTER_BENCH_HAS_CALLGRIND 1
#endif

#include <algorithm>
#include <bit>
#include <random>
#include <string>
#include <vector>

#include "router/route_cache.hh"
#include "router/route_table_build.hh"

namespace ringmta::router {
namespace {

constexpr uint32_t kConnectors = 50;
constexpr size_t kQueries = 4096;   // power of two

const char* const kTlds[] = {"com", "net", "org", "de", "co.uk", "example", "io", "fr"};

std::string word(std::mt19937_64& rng) {
    static const char* const syllables[] = {"ka", "lo", "mer", "tin", "sa", "ve", "dor", "qui"};
    std::string w;
    for (int i = 0, n = 2 + int(rng() % 3); i < n; ++i) w += syllables[rng() % 8];
    return w;
}

struct Workload {
    std::vector<ConnectorSpec> connectors;
    std::vector<std::string> queries;
};

std::string miss_query(std::mt19937_64& rng) {
    return "smtp." + word(rng) + "-x." + kTlds[rng() % 8];
}

// `spaces` address spaces spread over kConnectors connectors, half exact, half wildcard, with
// costs 1-3, plus one "*" connector; and kQueries lookups over them (40% under a wildcard, 30%
// exact, 30% misses), drawn at random, so at 100,000 spaces only about 3,000 entries are hot.
// `spread`: instead, a power of two of at least kQueries lookups, 70% of them going through
// every space in turn (each one at least once; a subdomain for a wildcard) and 30% misses,
// shuffled: a working set of the whole table, as a gateway routing to many domains sees.
Workload make_workload(int64_t spaces, bool spread = false) {
    std::mt19937_64 rng(42);
    Workload w;
    w.connectors.resize(kConnectors + 1);
    for (uint32_t c = 0; c <= kConnectors; ++c) {
        w.connectors[c].name = "connector-" + std::to_string(c);
        w.connectors[c].dns_routing = true;
    }
    w.connectors[kConnectors].address_spaces.push_back("*;100");
    std::vector<std::string> exact, wild;
    for (int64_t i = 0; i < spaces; ++i) {
        std::string domain = word(rng) + std::to_string(i) + "." + kTlds[rng() % 8];
        bool wildcard = i % 2 == 1;
        (wildcard ? wild : exact).push_back(domain);
        w.connectors[rng() % kConnectors].address_spaces.push_back(
            (wildcard ? "*." : "") + domain + ";" + std::to_string(1 + rng() % 3));
    }
    if (spread) {
        // The order is shuffled before the strings are made, so they are allocated in the
        // order they are read: the query text streams in as a just-parsed recipient would be
        // in cache, and only the table's own misses are measured.
        size_t count = std::bit_ceil(std::max(kQueries, size_t(spaces) * 10 / 7 + 1));
        std::vector<size_t> order(count);   // a space's index, or >= spaces: a miss
        for (size_t q = 0; q < count; ++q) {
            order[q] = q < count * 7 / 10 ? q % size_t(spaces) : SIZE_MAX;
        }
        std::shuffle(order.begin(), order.end(), rng);
        for (size_t s : order) {   // spaces alternate exact, wildcard
            w.queries.push_back(s == SIZE_MAX ? miss_query(rng)
                                : s % 2 == 0  ? exact[s / 2]
                                              : "mail." + word(rng) + "." + wild[s / 2]);
        }
        return w;
    }
    for (size_t q = 0; q < kQueries; ++q) {
        uint64_t pick = rng() % 10;
        if (pick < 4 && !wild.empty()) {
            w.queries.push_back("mail." + word(rng) + "." + wild[rng() % wild.size()]);
        } else if (pick < 7 && !exact.empty()) {
            w.queries.push_back(exact[rng() % exact.size()]);
        } else {
            w.queries.push_back(miss_query(rng));
        }
    }
    return w;
}

std::shared_ptr<const RouteTable> build(const Workload& w) {
    RouteTableBuild b = build_route_table(w.connectors, {}, 1);
    if (!b.errors.empty()) std::abort();
    return b.table;
}

void add_memory_counters(benchmark::State& state, const RouteTable& table) {
    auto spaces = double(state.range(0));
    state.counters["bytes_per_space"] = double(table.memory_bytes()) / spaces;
    state.counters["index_bytes_per_space"] = double(table.index_bytes()) / spaces;
}

// Under `valgrind --tool=callgrind --collect-atstart=no` only the code between two toggles is
// counted, so the collected instructions of a *Counted run divided by its fixed iteration
// count are the cost of one lookup. Outside valgrind the toggle is a no-op.
void toggle_instruction_count() {
#ifdef ROUTER_BENCH_HAS_CALLGRIND
    CALLGRIND_TOGGLE_COLLECT;
#endif
}

// The timed loop shared by every lookup benchmark: the workload's queries (a power of two of
// them) in a fixed cycle.
template <typename Lookup>
void run_lookups(benchmark::State& state, const Workload& w, Lookup lookup) {
    size_t i = 0;
    const size_t mask = w.queries.size() - 1;
    toggle_instruction_count();
    for (auto _ : state) {
        Route r = lookup(w.queries[i++ & mask]);
        benchmark::DoNotOptimize(r);
    }
    toggle_instruction_count();
    state.SetItemsProcessed(int64_t(state.iterations()));
}

void BM_LookupUncached(benchmark::State& state) {
    Workload w = make_workload(state.range(0));
    auto table = build(w);
    run_lookups(state, w, [&](const std::string& q) { return table->lookup(q, 1000); });
    add_memory_counters(state, *table);
}

void BM_LookupUncachedSpread(benchmark::State& state) {
    Workload w = make_workload(state.range(0), true);
    auto table = build(w);
    run_lookups(state, w, [&](const std::string& q) { return table->lookup(q, 1000); });
    state.counters["queries"] = double(w.queries.size());
}

void BM_LookupCached(benchmark::State& state) {
    Workload w = make_workload(state.range(0));
    auto table = build(w);
    RouteCache cache(4 * kQueries);   // 16,384 entries: 2 MiB, queries fill a quarter
    for (const std::string& q : w.queries) benchmark::DoNotOptimize(cache.lookup(*table, q, 1000));
    uint64_t hits_before = cache.hits(), misses_before = cache.misses();
    run_lookups(state, w, [&](const std::string& q) { return cache.lookup(*table, q, 1000); });
    double hits = double(cache.hits() - hits_before);
    state.counters["hit_ratio"] = hits / (hits + double(cache.misses() - misses_before));
}

void BM_Build(benchmark::State& state) {
    Workload w = make_workload(state.range(0));
    for (auto _ : state) {
        auto table = build(w);
        benchmark::DoNotOptimize(table.get());
    }
    state.counters["spaces"] = double(state.range(0));
}

BENCHMARK(BM_LookupUncached)->Arg(10)->Arg(1000)->Arg(100000);
BENCHMARK(BM_LookupUncachedSpread)->Arg(1000)->Arg(100000);
BENCHMARK(BM_LookupCached)->Arg(10)->Arg(1000)->Arg(100000);
BENCHMARK(BM_Build)->Arg(10)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

// For callgrind: exactly kCountedLookups lookups (every query 25 times), run once.
constexpr int64_t kCountedLookups = 25 * int64_t(kQueries);
BENCHMARK(BM_LookupUncached)->Name("BM_LookupUncachedCounted")->Arg(1000)->Arg(100000)
    ->Iterations(kCountedLookups);
BENCHMARK(BM_LookupCached)->Name("BM_LookupCachedCounted")->Arg(100000)
    ->Iterations(kCountedLookups);

}  // namespace
}  // namespace ringmta::router
