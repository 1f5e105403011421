// Queue ids: text form, uniqueness across shards and simulated restarts, the high-water mark.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

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
    EXPECT_EQ(gen.high_water(), id);
    // Nothing recovered and the clock behind an old id: the persisted mark keeps them apart.
    QueueIdGenerator later(7, 1'700'000'000'000'000, 0, gen.high_water());
    EXPECT_EQ(later.next(), make_queue_id(1'700'000'000'000'001, 7));
}

class QueueIdMark : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/ringmta-mark-test.XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    void put(const std::string& text) {
        std::ofstream(dir_ + "/" + queue_id_mark_file_name, std::ios::binary) << text;
    }
    std::string dir_;
};

TEST_F(QueueIdMark, WrittenMarkReadsBackAndMissingIsZero) {
    auto none = read_queue_id_mark(dir_);
    ASSERT_TRUE(none.has_value()) << none.error().message;
    EXPECT_EQ(*none, 0u);
    for (uint64_t id : {uint64_t(0x0005F3A1B2C3D401), uint64_t(0x0005F3A1B2C3D501)}) {
        ASSERT_TRUE(write_queue_id_mark(dir_, id).has_value());
        auto back = read_queue_id_mark(dir_);
        ASSERT_TRUE(back.has_value()) << back.error().message;
        EXPECT_EQ(*back, id);
    }
    std::ifstream in(dir_ + "/" + queue_id_mark_file_name, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "0005F3A1B2C3D501\n");
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/" + queue_id_mark_file_name + ".tmp"));
}

TEST_F(QueueIdMark, MalformedMarkIsAnError) {
    for (const char* bad : {"", "\n", "0005F3A1B2C3D401", "0005F3A1B2C3D40G\n",
                            "0005F3A1B2C3D401\nX", "5F3A1B2C3D401\n"}) {
        put(bad);
        auto r = read_queue_id_mark(dir_);
        EXPECT_FALSE(r.has_value()) << "\"" << bad << "\" accepted";
    }
}

// Restarts on an empty spool (every message delivered, every segment removed) while the clock
// steps back: only the mark, rewritten at each new segment, keeps the ids unique.
TEST_F(QueueIdMark, UniqueAcrossRestartsOnAnEmptySpoolWithTheClockSteppedBack) {
    base::FakeClock clock;
    std::set<uint64_t> seen;
    const int64_t clock_step_us[] = {0, -1, -5'000'000, 0, -60'000'000};
    for (int64_t step : clock_step_us) {
        clock.wall_us_ = uint64_t(int64_t(clock.wall_us_) + step);
        auto mark = read_queue_id_mark(dir_);
        ASSERT_TRUE(mark.has_value());
        QueueIdGenerator gen(2, clock.wall_us(), 0, *mark);
        for (int segment = 0; segment < 3; ++segment) {
            // A new segment records everything issued so far, then ids go into it.
            ASSERT_TRUE(write_queue_id_mark(dir_, gen.high_water()).has_value());
            for (int i = 0; i < 500; ++i) {
                uint64_t id = gen.next();
                EXPECT_TRUE(seen.insert(id).second) << "duplicate id " << format_queue_id(id);
            }
        }
        // The active segment can go only after a later run recovered its ids and wrote a mark
        // above them at its own first segment: modelled by writing that mark here.
        ASSERT_TRUE(write_queue_id_mark(dir_, gen.high_water()).has_value());
    }
    EXPECT_EQ(seen.size(), 5u * 3u * 500u);
}

}  // namespace
}  // namespace ringmta::queue
