// Segment naming, the append planner (reserve / rotate / fail) and oldest-first deletion.
#include <gtest/gtest.h>

#include "queue/segment_planner.hh"
#include "queue/segment_table.hh"

namespace ringmta::queue {
namespace {

TEST(SegmentName, FormatAndParse) {
    EXPECT_EQ(segment_file_name(1), "seg-0000000000000001.log");
    EXPECT_EQ(segment_file_name(0xABCDEF), "seg-0000000000ABCDEF.log");
    EXPECT_EQ(segment_path("/spool/shard-0", 2), "/spool/shard-0/seg-0000000000000002.log");
    EXPECT_EQ(parse_segment_file_name("seg-0000000000ABCDEF.log"),
              std::optional<uint64_t>(0xABCDEF));
    for (const char* bad : {"seg-0000000000ABCDEF.log.salvage", "seg-ABCDEF.log", "corrupt",
                            "xeg-0000000000000001.log", "seg-000000000000000Z.log"}) {
        EXPECT_FALSE(parse_segment_file_name(bad).has_value()) << bad << " accepted";
    }
}

TEST(SegmentPlanner, ReserveAndRotate) {
    struct Step {
        const char* label;
        uint64_t size;
        bool fail_before;  // fail(active) before this reserve
        Placement want;
    };
    const Step steps[] = {
        {"first batch opens the first segment", 64, false, {5, 0, true}},
        {"appends", 32, false, {5, 64, false}},
        {"fills exactly", 160, false, {5, 96, false}},
        {"crossing capacity rotates", 8, false, {6, 0, true}},
        {"appends again", 8, false, {6, 8, false}},
        {"oversize batch goes alone into a fresh segment", 1024, false, {7, 0, true}},
        {"after an oversize batch: rotate", 8, false, {8, 0, true}},
        {"a failed segment is abandoned", 8, true, {9, 0, true}},
        {"then appends there", 16, false, {9, 8, false}},
    };
    SegmentPlanner planner(5, 256);
    EXPECT_FALSE(planner.has_active());
    for (const Step& s : steps) {
        if (s.fail_before) planner.fail(planner.active_seq());
        Placement got = planner.reserve(s.size);
        EXPECT_EQ(got.segment_seq, s.want.segment_seq) << s.label;
        EXPECT_EQ(got.offset, s.want.offset) << s.label;
        EXPECT_EQ(got.opens_segment, s.want.opens_segment) << s.label;
    }
    EXPECT_EQ(planner.append_offset(), 24u);
    EXPECT_EQ(planner.next_seq(), 10u);
}

TEST(SegmentPlanner, FailOfAnOldSegmentDoesNotRotate) {
    SegmentPlanner planner(1, 1024);
    (void)planner.reserve(8);
    planner.fail(0);
    EXPECT_FALSE(planner.reserve(8).opens_segment);
}

TEST(SegmentTable, DeletesOldestFirstOnly) {
    SegmentTable table;
    for (uint64_t seq : {1, 2, 3, 4}) table.open(seq);
    table.add_message(1);
    table.add_message(3);
    // Segment 2 is empty, but 1 still has a live message: nothing may go.
    EXPECT_EQ(table.take_deletable(4), std::nullopt) << "deleted past a live older segment";
    table.release_message(1);
    EXPECT_EQ(table.take_deletable(4), std::optional<uint64_t>(1));
    EXPECT_EQ(table.take_deletable(4), std::optional<uint64_t>(2));
    EXPECT_EQ(table.take_deletable(4), std::nullopt) << "segment 3 still live";
    table.release_message(3);
    EXPECT_EQ(table.take_deletable(4), std::optional<uint64_t>(3));
    EXPECT_EQ(table.take_deletable(4), std::nullopt) << "the active segment was deleted";
    EXPECT_EQ(table.take_deletable(5), std::optional<uint64_t>(4));
    EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace ringmta::queue
