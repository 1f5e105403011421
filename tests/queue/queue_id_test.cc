// Queue ids: text form, and uniqueness across shards and simulated restarts.
#include <gtest/gtest.h>

#include <set>

#include "mta/base/clock.hh"
#include "queue/queue_id.hh"

namespace ringmta::queue {
namespace {

TEST(QueueId, FormatAndParse) {
    struct Case {
        uint64_t id;
        const char* text;
    };
    const Case cases[] = {
        {0, "0000000000000000"},
        {0x0005F3A1B2C3D401, "0005F3A1B2C3D401"},
        {~uint64_t(0), "FFFFFFFFFFFFFFFF"},
        {make_queue_id(1'700'000'000'000'000, 3), "060A24181E400003"},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(format_queue_id(c.id), c.text) << "id " << c.id;
        auto back = parse_queue_id(c.text);
        ASSERT_TRUE(back.has_value()) << c.text;
        EXPECT_EQ(*back, c.id) << c.text;
    }
    EXPECT_EQ(parse_queue_id("0005f3a1b2c3d401"), std::optional<uint64_t>(0x0005F3A1B2C3D401));
    for (const char* bad : {"", "123", "0005F3A1B2C3D4011", "0005F3A1B2C3D40G", " 005F3A1B2C3D401",
                            "0x05F3A1B2C3D401"}) {
        EXPECT_FALSE(parse_queue_id(bad).has_value()) << "\"" << bad << "\" accepted";
    }
}

TEST(QueueId, UniqueAcrossShardsAndRestarts) {
    base::FakeClock clock;
    std::set<uint64_t> seen;
    std::vector<uint64_t> highest(4, 0);  // what recovery would report per shard
    // Five runs; between runs the clock sometimes goes backwards, but every id is still on
    // disk (recovered), so the generator must continue above it.
    const int64_t clock_step_us[] = {0, 10, -5'000'000, 0, -1};
    for (int64_t step : clock_step_us) {
        clock.wall_us_ = uint64_t(int64_t(clock.wall_us_) + step);
        for (uint32_t shard = 0; shard < 4; ++shard) {
            QueueIdGenerator gen(shard, clock.wall_us(), highest[shard]);
            for (int i = 0; i < 1000; ++i) {  // far faster than one per microsecond
                uint64_t id = gen.next();
                EXPECT_EQ(queue_id_shard(id), shard);
                EXPECT_TRUE(seen.insert(id).second) << "got duplicate id " << format_queue_id(id);
                EXPECT_GT(id, highest[shard]) << "ids of a shard must grow";
                highest[shard] = id;
            }
        }
    }
    EXPECT_EQ(seen.size(), 5u * 4u * 1000u);
}

TEST(QueueId, StartsAtTheClockWhenNothingIsRecovered) {
    QueueIdGenerator gen(7, 1'700'000'000'000'000, 0);
    uint64_t id = gen.next();
    EXPECT_EQ(queue_id_sequence(id), 1'700'000'000'000'000u);
    EXPECT_EQ(queue_id_shard(id), 7u);
    // The documented weakness: nothing recovered and the clock behind an old id.
    QueueIdGenerator later(7, 1'700'000'000'000'000, 0);
    EXPECT_EQ(later.next(), id) << "a clock reset without recovered ids repeats ids (XXX)";
}

}  // namespace
}  // namespace ringmta::queue
