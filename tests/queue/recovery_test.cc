// Recovery: replay, torn tails at every byte, damage in the middle with resync and salvage,
// zero tails, read-only mode.
#include <gtest/gtest.h>

#include "mta/base/crc32c.hh"
#include "queue/message_record.hh"
#include "queue/segment_scan.hh"
#include "tests/queue/spool_fixture.hh"

namespace ringmta::queue {
namespace {

using namespace test::spool;

// Reads a message back where the index says it is and checks it is the one written.
void expect_readable(SpoolFixture& s, const QueuedMessage& m) {
    auto raw = s.io.read_range(s.seg(m.segment_seq), m.offset, m.record_size);
    ASSERT_TRUE(raw.has_value());
    raw->resize(m.record_size);
    auto decoded = decode_message_record(*raw);
    ASSERT_TRUE(decoded.has_value()) << "id " << m.queue_id << ": " << decoded.error().message;
    EXPECT_EQ(decoded->envelope, test::sample_envelope(m.queue_id));
    std::string content(decoded->content.begin(), decoded->content.end());
    EXPECT_EQ(content, test::content_for(m.queue_id));
}

TEST(Recovery, EmptyOrMissingDirectory) {
    SpoolFixture s;
    RecoveryReport r = s.recover();
    EXPECT_EQ(r.index.size(), 0u);
    EXPECT_EQ(r.next_segment_seq, 1u);
    EXPECT_EQ(r.highest_queue_id, 0u);
    auto missing = recover_shard(s.io, "/spool/shard-9", RecoveryOptions{true, 10});
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->index.size(), 0u);
}

TEST(Recovery, ReplaysJournal) {
    SpoolFixture s(600);  // small segments: the journal lands in later segments
    ASSERT_TRUE(s.commit({10, 11}));
    ASSERT_TRUE(s.commit({12}, {{10, 0, Outcome::delivered, 1, 0, "250 ok"}}));
    ASSERT_TRUE(s.commit({}, {{10, 1, Outcome::failed, 1, 0, "550 no"},
                              {11, 0, Outcome::deferred, 2, 99, "451 later"}}));
    ASSERT_TRUE(s.commit({13}, {{12, 0, Outcome::delivered, 1, 0, ""}}));
    s.io.crash();  // everything was synced: nothing may be lost

    RecoveryReport r = s.recover();
    EXPECT_EQ(ids_in(r.index), (Ids{11, 12, 13})) << "got " << ids_text(ids_in(r.index));
    EXPECT_EQ(r.highest_queue_id, 13u);
    EXPECT_GE(r.next_segment_seq, 3u) << "the writer rotated at least once";
    EXPECT_EQ(r.next_segment_seq, s.planner.next_seq());
    EXPECT_TRUE(r.problems.empty()) << r.problems.front();
    const QueuedMessage* m11 = r.index.find(11);
    EXPECT_EQ(m11->recipients[0].state, RecipientState::deferred);
    EXPECT_EQ(m11->recipients[0].next_attempt_us, 99u);
    EXPECT_EQ(r.index.find(12)->recipients[0].state, RecipientState::delivered);
    for (uint64_t id : {11, 12, 13}) expect_readable(s, *r.index.find(id));
    // Live counts: message 10 is final, so its segment counts only message 11.
    uint32_t live = 0;
    for (const auto& [seq, count] : r.index.segments().live_counts()) live += count;
    EXPECT_EQ(live, 3u);
}

// A torn write of the last record, cut at every byte: the synced records survive, the torn
// one is either whole (then kept) or truncated away, and nothing is moved aside.
TEST(Recovery, TornTailAtEveryByteOfTheLastRecord) {
    SpoolFixture probe;
    ASSERT_TRUE(probe.commit({1, 2}));
    uint64_t synced_end = probe.planner.append_offset();
    uint64_t torn_size = probe.write_unsynced({3});
    auto frame = read_frame(std::span(probe.io.contents(probe.seg(1))).subspan(synced_end));
    ASSERT_EQ(frame.status, FrameStatus::ok);
    uint64_t unpadded = record_header_size + frame.payload.size();

    for (uint64_t keep = 0; keep <= torn_size; ++keep) {
        for (bool read_only : {false, true}) {
            SCOPED_TRACE("kept " + std::to_string(keep) + " of " + std::to_string(torn_size) +
                         (read_only ? " bytes, read-only" : " bytes"));
            SpoolFixture s;
            ASSERT_TRUE(s.commit({1, 2}));
            s.write_unsynced({3});
            s.io.crash_keeping_prefix(keep);
            uint64_t size_before = s.io.contents(s.seg(1)).size();

            RecoveryReport r = s.recover(read_only);
            bool whole = keep >= unpadded;
            Ids want = whole ? Ids{1, 2, 3} : Ids{1, 2};
            EXPECT_EQ(ids_in(r.index), want) << "got " << ids_text(ids_in(r.index));
            EXPECT_TRUE(r.damaged_segments.empty());
            EXPECT_FALSE(s.io.exists(s.dir + "/corrupt/" + segment_file_name(1)));
            uint64_t want_size = read_only || whole ? size_before : synced_end;
            EXPECT_EQ(s.io.contents(s.seg(1)).size(), want_size);
            EXPECT_EQ(r.truncated_bytes, whole ? 0 : keep);
            EXPECT_EQ(r.highest_queue_id, whole ? 3u : 2u);
        }
    }
}

TEST(Recovery, TornJournalRecordIsNotApplied) {
    SpoolFixture s;
    ASSERT_TRUE(s.commit({1}));
    s.write_unsynced({}, {{1, 0, Outcome::delivered, 1, 0, "250"}});
    s.io.crash_keeping_prefix(20);
    RecoveryReport r = s.recover();
    ASSERT_NE(r.index.find(1), nullptr);
    EXPECT_EQ(r.index.find(1)->recipients[0].state, RecipientState::pending);
    EXPECT_GT(r.truncated_bytes, 0u);
}

TEST(Recovery, ZeroFilledPreallocatedTailIsACleanEnd) {
    SpoolFixture s;
    ASSERT_TRUE(s.commit({1, 2}));
    auto& bytes = s.io.contents(s.seg(1));
    size_t end = bytes.size();
    bytes.resize(end + (1 << 20), 0);  // what fallocate leaves
    RecoveryReport r = s.recover();
    EXPECT_EQ(ids_in(r.index), (Ids{1, 2}));
    EXPECT_TRUE(r.problems.empty()) << r.problems.front();
    EXPECT_EQ(s.io.contents(s.seg(1)).size(), end + (1 << 20)) << "a zero tail was truncated";
}

struct DamageCase {
    const char* label;
    // Damages the bytes of message 2's record (at offset `at`, `size` bytes long).
    void (*damage)(std::vector<uint8_t>& bytes, size_t at, size_t size);
    FrameStatus want_cause;
};

const DamageCase damage_cases[] = {
    {"payload byte (header intact: skip by length)",
     [](auto& b, size_t at, size_t) { b[at + 60] ^= 0x10; }, FrameStatus::bad_crc},
    {"length field (resync by scanning)",
     [](auto& b, size_t at, size_t) { b[at + 5] ^= 0x7F; }, FrameStatus::bad_header},
    {"hole of zeros inside written data",
     [](auto& b, size_t at, size_t size) { std::fill_n(b.begin() + long(at), size, 0); },
     FrameStatus::end},
    {"garbage over the whole record",
     [](auto& b, size_t at, size_t size) { std::fill_n(b.begin() + long(at), size, 0xA5); },
     FrameStatus::bad_header},
};

// Message 2 of segment 1 is damaged; 1 (before) and 3 (after) and the journal that follows
// must all survive, in a salvage segment, with their recipient states.
TEST(Recovery, DamageInTheMiddleKeepsEveryValidRecord) {
    for (const DamageCase& c : damage_cases) {
        SCOPED_TRACE(c.label);
        SpoolFixture s;
        ASSERT_TRUE(s.commit({1}));
        uint64_t at = s.planner.append_offset();
        ASSERT_TRUE(s.commit({2}));
        uint64_t size = s.planner.append_offset() - at;
        ASSERT_TRUE(s.commit({3, 4}, {{1, 0, Outcome::delivered, 1, 0, "250"},
                                      {3, 1, Outcome::deferred, 1, 777, "451"},
                                      {4, 0, Outcome::delivered, 1, 0, "250"},
                                      {4, 1, Outcome::failed, 1, 0, "550"}}));
        c.damage(s.io.contents(s.seg(1)), at, size);

        SegmentScan scan = scan_segment(s.io.contents(s.seg(1)));
        ASSERT_EQ(scan.damage.size(), 1u);
        EXPECT_EQ(scan.damage[0].offset, at);
        EXPECT_EQ(scan.damage[0].size, size);
        EXPECT_EQ(scan.damage[0].cause, c.want_cause)
            << "got " << frame_status_name(scan.damage[0].cause);

        RecoveryReport r = s.recover();
        EXPECT_EQ(ids_in(r.index), (Ids{1, 3})) << "got " << ids_text(ids_in(r.index));
        EXPECT_EQ(r.damaged_segments, Ids{1});
        EXPECT_TRUE(s.io.exists(s.dir + "/corrupt/" + segment_file_name(1)))
            << "damaged segment not moved aside";
        EXPECT_FALSE(s.io.exists(s.seg(1)));
        EXPECT_EQ(r.next_segment_seq, 3u) << "salvage took seq 2";
        for (uint64_t id : {1, 3}) {
            EXPECT_EQ(r.index.find(id)->segment_seq, 2u);
            expect_readable(s, *r.index.find(id));
        }
        EXPECT_EQ(r.index.segments().live_count(2), 2u);
        EXPECT_FALSE(r.index.segments().contains(1));

        // The salvaged state survives a crash and a second recovery, with nothing to repair.
        s.io.crash();
        RecoveryReport again = s.recover();
        EXPECT_EQ(ids_in(again.index), (Ids{1, 3}));
        EXPECT_TRUE(again.problems.empty()) << again.problems.front();
        EXPECT_EQ(again.index.find(1)->recipients[0].state, RecipientState::delivered);
        EXPECT_EQ(again.index.find(3)->recipients[1].state, RecipientState::deferred);
        EXPECT_EQ(again.index.find(3)->recipients[1].next_attempt_us, 777u);
        // Message 4 was final and is gone with the damaged segment (see QueueIdGenerator XXX).
        EXPECT_GE(again.highest_queue_id, 3u);
    }
}

// Messages 1, 2, 3 in one segment, each its own batch (3 with `journal`); 2 is damaged.
void damage_message_2_of_3(SpoolFixture& s, const std::vector<OutcomeRecord>& journal = {}) {
    ASSERT_TRUE(s.commit({1}));
    uint64_t at = s.planner.append_offset();
    ASSERT_TRUE(s.commit({2}));
    ASSERT_TRUE(s.commit({3}, journal));
    s.io.contents(s.seg(1))[at + 40] ^= 1;
}

TEST(Recovery, ReadOnlyLeavesDamageInPlace) {
    SpoolFixture s;
    damage_message_2_of_3(s);
    std::vector<std::string> before = s.io.paths();
    RecoveryReport r = s.recover(true);
    EXPECT_EQ(ids_in(r.index), (Ids{1, 3}));
    EXPECT_EQ(r.damaged_segments, Ids{1});
    EXPECT_EQ(s.io.paths(), before) << "read-only recovery changed the directory";
    expect_readable(s, *r.index.find(3));
}

TEST(Recovery, UndecodableRecordMovesTheSegmentAside) {
    SpoolFixture s;
    ASSERT_TRUE(s.commit({1}));
    // A removal record with reason 0: framed and checksummed correctly, but meaningless.
    std::vector<uint8_t> bad(removal_record_size);
    encode_removal({1, RemovalReason::deleted}, bad);
    bad[record_header_size + 8] = 0;
    uint32_t crc = base::crc32c(record_crc_begin(RecordType::removal, 16),
                                bad.data() + record_header_size, 16);
    write_record_header(std::span(bad).first<record_header_size>(), RecordType::removal, 16, crc);
    auto& bytes = s.io.contents(s.seg(1));
    bytes.insert(bytes.end(), bad.begin(), bad.end());
    RecoveryReport r = s.recover();
    EXPECT_EQ(ids_in(r.index), (Ids{1}));
    EXPECT_EQ(r.damaged_segments, Ids{1});
    EXPECT_TRUE(s.io.exists(s.dir + "/corrupt/" + segment_file_name(1)));
}

TEST(Recovery, SalvageThatCannotBeWrittenLeavesTheSegment) {
    SpoolFixture s;
    damage_message_2_of_3(s);
    s.io.fail_next_write(ENOSPC);
    RecoveryReport r = s.recover();
    EXPECT_EQ(ids_in(r.index), (Ids{1, 3}));
    EXPECT_TRUE(s.io.exists(s.seg(1))) << "damaged segment moved although salvage failed";
    EXPECT_EQ(r.index.find(3)->segment_seq, 1u);
    expect_readable(s, *r.index.find(3));
    // The next start, with space again, salvages.
    RecoveryReport again = s.recover();
    EXPECT_EQ(ids_in(again.index), (Ids{1, 3}));
    EXPECT_FALSE(s.io.exists(s.seg(1)));
    expect_readable(s, *again.index.find(3));
}

TEST(Recovery, InterruptedSalvageConverges) {
    SpoolFixture s;
    damage_message_2_of_3(s, {{1, 1, Outcome::delivered, 1, 0, ""}});
    std::vector<uint8_t> damaged = s.io.contents(s.seg(1));
    ASSERT_TRUE(s.recover().damaged_segments == Ids{1});
    // As if the process died after the salvage rename but before the move to corrupt/.
    s.io.put_file(s.seg(1), damaged);
    s.io.put_file(s.seg(5) + ".salvage", {1, 2, 3});
    RecoveryReport r = s.recover();
    EXPECT_EQ(ids_in(r.index), (Ids{1, 3}));
    EXPECT_EQ(r.duplicate_messages, 2u);
    EXPECT_FALSE(s.io.exists(s.seg(5) + ".salvage"));
    EXPECT_EQ(r.index.find(1)->recipients[1].state, RecipientState::delivered);
    RecoveryReport settled = s.recover();
    EXPECT_EQ(ids_in(settled.index), (Ids{1, 3}));
    EXPECT_TRUE(settled.damaged_segments.empty());
}

TEST(Recovery, OrphanJournalRecordsAreCountedNotFatal) {
    SpoolFixture s;
    ASSERT_TRUE(s.commit({1}, {{42, 0, Outcome::delivered, 1, 0, ""}}));
    WriteBatch batch;
    batch.add_removal({43, RemovalReason::deleted});
    ASSERT_TRUE(s.writer.commit(batch).has_value());
    RecoveryReport r = s.recover();
    EXPECT_EQ(r.orphan_journal_records, 2u);
    EXPECT_TRUE(r.problems.empty());
    EXPECT_EQ(ids_in(r.index), (Ids{1}));
}

// `queue hold` and `queue release` survive a restart; the last record wins, and a salvage of
// a damaged segment keeps a message held.
TEST(Recovery, HoldRecordsReplayInOrder) {
    SpoolFixture s;
    ASSERT_TRUE(s.commit({1, 2, 3}));
    WriteBatch batch;
    batch.add_hold({1, true});
    batch.add_hold({2, true});
    batch.add_hold({2, false});
    batch.add_hold({99, true});  // a message no longer on disk
    ASSERT_TRUE(s.writer.commit(batch).has_value());
    RecoveryReport r = s.recover();
    EXPECT_TRUE(r.problems.empty()) << r.problems.front();
    EXPECT_TRUE(r.index.find(1)->held);
    EXPECT_FALSE(r.index.find(2)->held);
    EXPECT_FALSE(r.index.find(3)->held);
    EXPECT_EQ(r.orphan_journal_records, 1u);
    const QueuedMessage& m1 = *r.index.find(1);
    EXPECT_EQ(shown_state(m1, m1.recipients[0]), RecipientState::held);
    ListFilter held;
    held.state = RecipientState::held;
    std::vector<uint64_t> selected;
    for (const QueuedMessage* m : r.index.select(held)) selected.push_back(m->queue_id);
    EXPECT_EQ(selected, (std::vector<uint64_t>{1}));
}

TEST(Recovery, SalvageKeepsAMessageHeld) {
    SpoolFixture s;
    ASSERT_TRUE(s.commit({1}));
    uint64_t at = s.planner.append_offset();
    ASSERT_TRUE(s.commit({2}));
    WriteBatch batch;
    batch.add_hold({1, true});
    ASSERT_TRUE(s.writer.commit(batch).has_value());
    ASSERT_TRUE(s.commit({3}));
    s.io.contents(s.seg(1))[at + 40] ^= 1;  // message 2 damaged: segment 1 is salvaged
    RecoveryReport r = s.recover();
    ASSERT_EQ(r.damaged_segments, Ids{1});
    ASSERT_NE(r.index.find(1), nullptr);
    EXPECT_TRUE(r.index.find(1)->held);
    RecoveryReport again = s.recover();  // now read from the salvage segment alone
    EXPECT_TRUE(again.problems.empty()) << again.problems.front();
    EXPECT_TRUE(again.index.find(1)->held) << "salvage dropped the hold";
    EXPECT_FALSE(again.index.find(3)->held);
}

TEST(Recovery, IndexCapacityIsRaisedForWhatIsOnDisk) {
    SpoolFixture s;
    ASSERT_TRUE(s.commit({1, 2, 3, 4, 5}));
    auto r = recover_shard(s.io, s.dir, RecoveryOptions{false, 2});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->index.size(), 5u);
    EXPECT_FALSE(r->problems.empty());
}

}  // namespace
}  // namespace ringmta::queue
