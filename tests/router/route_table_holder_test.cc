// Publication and reclamation: several reader threads look up while the main thread reloads
// over and over; every answer must be the one its own table gives (no failure, no mix), a
// refused config keeps the running table, and retired tables are freed once readers move on.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "router/route_cache.hh"
#include "router/route_table_holder.hh"
#include "tests/router/router_test_util.hh"

namespace ringmta::router::test {
namespace {

// Even generations route example.com to "even-N", odd ones to "odd-N", N = generation, so a
// reader can tell from the answer alone which table produced it.
std::vector<ConnectorSpec> config_for(uint64_t generation) {
    std::string tag = (generation % 2 ? "odd-" : "even-") + std::to_string(generation);
    std::vector<C> cs = {{tag, {"*.example.com"}}, {"star-" + std::to_string(generation), {"*"}}};
    if (generation % 2) cs.push_back({"org-" + std::to_string(generation), {"*.org;2"}});
    return to_specs(cs);
}

TEST(RouteTableHolder, ReadersSeeWholeTablesDuringReloads) {
    RouteTableHolder holder(build_route_table(config_for(1), {}, 1).table);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> lookups{0}, bad{0};
    auto reader_loop = [&] {
        RouteReader reader = holder.register_reader();
        RouteCache cache(64);
        while (!stop.load(std::memory_order_relaxed)) {
            const RouteTable& table = reader.refresh();
            uint64_t g = table.generation();
            std::string want_e = (g % 2 ? "odd-" : "even-") + std::to_string(g);
            std::string want_org = (g % 2 ? "org-" : "star-") + std::to_string(g);
            for (int i = 0; i < 50; ++i) {
                Route e = cache.lookup(table, i % 2 ? "a.example.com" : "B.Example.com", 1);
                Route o = table.lookup("x.org", 1);
                bool ok = e.found() && o.found() &&
                          table.connector(e.connector).spec.name == want_e &&
                          table.connector(o.connector).spec.name == want_org;
                bad.fetch_add(ok ? 0 : 1, std::memory_order_relaxed);
                lookups.fetch_add(2, std::memory_order_relaxed);
            }
        }
    };
    std::vector<std::thread> readers;
    for (int i = 0; i < 3; ++i) readers.emplace_back(reader_loop);
    for (uint64_t g = 2; g <= 300; ++g) {
        RouteTableBuild build = build_route_table(config_for(g), {}, holder.generation() + 1);
        ASSERT_TRUE(build.errors.empty());
        holder.publish(build.table);
        if (g % 50 == 0) {
            // A refused config leaves the running table in place.
            std::vector<C> bad_config = {{"bad", {"*bad.example"}}};
            RouteTableBuild refused =
                build_route_table(to_specs(bad_config), {}, holder.generation() + 1);
            EXPECT_FALSE(refused.errors.empty());
            EXPECT_EQ(refused.table, nullptr);
            EXPECT_EQ(holder.generation(), g);
        }
        std::this_thread::yield();
    }
    stop = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(bad.load(), 0u) << "of " << lookups.load() << " lookups";
    EXPECT_GT(lookups.load(), 1000u);
    EXPECT_EQ(holder.generation(), 300u);
    EXPECT_EQ(holder.reclaim(), 0u) << "retired tables outlived every reader";
}

TEST(RouteTableHolder, RetiredTableLivesUntilEveryReaderRefreshes) {
    auto first = build_route_table(config_for(1), {}, 1).table;
    std::weak_ptr<const RouteTable> watch = first;
    RouteTableHolder holder(std::move(first));
    RouteReader fast = holder.register_reader();
    RouteReader slow = holder.register_reader();
    holder.publish(build_route_table(config_for(2), {}, 2).table);
    EXPECT_EQ(fast.refresh().generation(), 2u);
    EXPECT_EQ(holder.reclaim(), 1u);
    EXPECT_FALSE(watch.expired()) << "freed while a reader could still hold it";
    EXPECT_EQ(slow.table().generation(), 1u);
    EXPECT_EQ(slow.refresh().generation(), 2u);
    EXPECT_EQ(holder.reclaim(), 0u);
    EXPECT_TRUE(watch.expired());
    EXPECT_EQ(holder.snapshot()->generation(), 2u);
}

}  // namespace
}  // namespace ringmta::router::test
