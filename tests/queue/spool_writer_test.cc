// Group commit under injected faults (ENOSPC, short writes, EIO on sync) and crashes: nothing
// acknowledged is lost, nothing refused comes back.
#include <gtest/gtest.h>

#include <cerrno>

#include "tests/queue/spool_fixture.hh"

namespace ringmta::queue {
namespace {

using namespace test::spool;
using Io = testing::MemorySpoolIo;

struct FaultCase {
    const char* label;
    void (*inject)(Io& io);
    bool want_commit_ok;
};

const FaultCase fault_cases[] = {
    {"no fault", [](Io&) {}, true},
    {"ENOSPC on write", [](Io& io) { io.fail_next_write(ENOSPC); }, false},
    {"EIO on write", [](Io& io) { io.fail_next_write(EIO); }, false},
    {"short write, then the rest", [](Io& io) { io.short_next_write(10); }, true},
    {"short write, then ENOSPC",
     [](Io& io) {
         io.short_next_write(10);
         io.fail_next_write(ENOSPC);  // write_all's second call
     },
     false},
    {"EIO on sync", [](Io& io) { io.fail_next_sync(EIO); }, false},
};

// Messages 1-2 acknowledged; 3-4 hit the fault; 5 written after it. Then a crash (or a clean
// stop), and recovery must show exactly what was acknowledged.
TEST(SpoolWriter, FaultsNeverLoseOrResurrect) {
    for (const FaultCase& c : fault_cases) {
        for (bool crash : {true, false}) {
            SCOPED_TRACE(std::string(c.label) + (crash ? ", crash" : ", clean stop"));
            SpoolFixture s;
            ASSERT_TRUE(s.commit({1, 2}));
            c.inject(s.io);
            bool ok = s.commit({3, 4});
            EXPECT_EQ(ok, c.want_commit_ok);
            ASSERT_TRUE(s.commit({5}));
            if (crash) s.io.crash();

            RecoveryReport r = s.recover();
            Ids want = ok ? Ids{1, 2, 3, 4, 5} : Ids{1, 2, 5};
            EXPECT_EQ(ids_in(r.index), want) << "got " << ids_text(ids_in(r.index));
            EXPECT_TRUE(s.writer.aborted_ids().empty()) << "removals not written";
            EXPECT_TRUE(r.damaged_segments.empty());
        }
    }
}

TEST(SpoolWriter, ShortWriteThenNoSpaceLeavesATornTailInAnOlderSegment) {
    SpoolFixture s;
    ASSERT_TRUE(s.commit({1}));
    s.io.short_next_write(10);
    s.io.fail_next_write(ENOSPC);
    EXPECT_FALSE(s.commit({2}));
    ASSERT_TRUE(s.commit({3}));
    EXPECT_EQ(s.planner.active_seq(), 2u) << "the failed segment was written again";
    // A clean stop (a crash would drop the unsynced bytes): segment 1 ends in 10 bytes of a
    // record that never completed, a torn tail although it is not the newest segment.
    RecoveryReport r = s.recover();
    EXPECT_EQ(ids_in(r.index), (Ids{1, 3})) << "got " << ids_text(ids_in(r.index));
    EXPECT_EQ(r.truncated_bytes, 10u);
    EXPECT_TRUE(r.damaged_segments.empty());
}

TEST(SpoolWriter, FailureAbandonsTheSegmentAndJournalsRemovals) {
    SpoolFixture s;
    ASSERT_TRUE(s.commit({1}));
    s.io.fail_next_sync(EIO);
    EXPECT_FALSE(s.commit({2, 3}));
    EXPECT_EQ(s.writer.aborted_ids(), (Ids{2, 3}));
    // A second failure keeps the earlier ids and adds its own.
    s.io.fail_next_write(ENOSPC);
    EXPECT_FALSE(s.commit({4}));
    EXPECT_EQ(s.writer.aborted_ids(), (Ids{2, 3, 4}));
    ASSERT_TRUE(s.commit({5}));
    EXPECT_TRUE(s.writer.aborted_ids().empty());
    EXPECT_EQ(s.planner.active_seq(), 3u) << "want one rotation per failure";
    RecoveryReport r = s.recover();  // clean stop: the EIO batch's bytes are still readable
    EXPECT_EQ(ids_in(r.index), (Ids{1, 5})) << "got " << ids_text(ids_in(r.index));
}

TEST(SpoolWriter, UnsyncedWritesVanishInACrash) {
    SpoolFixture s;
    ASSERT_TRUE(s.commit({1}));
    s.write_unsynced({2});
    s.io.crash();
    RecoveryReport r = s.recover();
    EXPECT_EQ(ids_in(r.index), (Ids{1}));
    EXPECT_EQ(r.truncated_bytes, 0u) << "the unsynced bytes should be gone entirely";
}

TEST(MemorySpoolIo, NewNameIsDurableOnlyAfterDirectorySync) {
    Io io;
    ASSERT_TRUE(io.make_dir("/d").has_value());
    uint8_t byte = 7;
    iovec v{&byte, 1};
    ASSERT_TRUE(io.write("/d/a", 0, std::span(&v, 1)).has_value());
    ASSERT_TRUE(io.sync("/d/a").has_value());
    io.crash();
    EXPECT_FALSE(io.exists("/d/a")) << "name survived without a directory sync";
    ASSERT_TRUE(io.write("/d/b", 0, std::span(&v, 1)).has_value());
    ASSERT_TRUE(io.sync("/d/b").has_value());
    ASSERT_TRUE(io.sync_dir("/d").has_value());
    io.crash();
    ASSERT_TRUE(io.exists("/d/b"));
    EXPECT_EQ(io.contents("/d/b"), std::vector<uint8_t>{7});
}

}  // namespace
}  // namespace ringmta::queue
