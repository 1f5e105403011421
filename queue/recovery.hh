// Start-up recovery of one shard's spool directory: reads every segment oldest first, checks
// every record, replays journal records over message records to rebuild the QueueIndex, and
// repairs what a crash or bad disk left behind. Fails (Result error) only when the directory
// or a segment cannot be listed or read at all; damage in the data is repaired and reported.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mta/base/result.hh"
#include "queue/queue_index.hh"
#include "queue/spool_io.hh"

namespace ringmta::queue {

struct RecoveryOptions {
    // Offline `queue list` while the gateway is stopped: nothing is truncated, salvaged, moved
    // or removed, and a missing directory is an empty queue.
    bool read_only = false;
    // The index's capacity; raised (with a problem line) if more messages are on disk.
    size_t index_capacity = 1'000'000;
};

struct RecoveryReport {
    explicit RecoveryReport(size_t capacity) : index(capacity) {}

    QueueIndex index;               // messages with recipients not final, segment live counts
    uint64_t next_segment_seq = 1;  // SegmentPlanner's first_seq: above every segment seen
    uint64_t highest_queue_id = 0;  // QueueIdGenerator's highest_recovered_id (0 if none)
    uint64_t records = 0;           // valid records read
    uint64_t orphan_journal_records = 0;  // about messages no longer on disk (normal)
    uint64_t duplicate_messages = 0;      // second copy of an id (left by an interrupted salvage)
    uint64_t truncated_bytes = 0;         // torn tails cut off (or, read-only, that would be)
    std::vector<uint64_t> damaged_segments;  // moved to corrupt/ (or left in place, see problems)
    std::vector<std::string> problems;       // one line each; each also logged as a warning
};

// WHAT RECOVERY DOES WITH EACH KIND OF DAMAGE (segment_scan.hh says how it is found)
//
// - Torn tail (non-zero bytes after the last valid record, no valid record after them): the
//   tail of a write that never completed, hence never acknowledged. The file is truncated to
//   the end of its last valid record and synced. Nothing valid is lost. This holds for any
//   segment, not only the newest: a write that failed just before a rotation leaves one.
// - Zero tail: a preallocated, unwritten end. Left alone.
// - Damage with valid records after it (a damaged record, or a hole of zeros inside written
//   data): the segment is "damaged". Every valid record in it, before and after the damage,
//   is replayed as usual. Then the live messages whose record is in a damaged segment are
//   SALVAGED: each one's record is copied byte for byte into a new segment (next_segment_seq)
//   followed by outcome records stating each recipient's current state, written as
//   seg-X.log.salvage, synced, renamed to seg-X.log; only then is each damaged segment moved
//   to <dir>/corrupt/ with a log line, for a person to inspect. Journal records of a damaged
//   segment are not copied: their effect is in the salvaged states. What is lost is only what
//   was unreadable: the damaged bytes themselves.
// - A record with good CRCs that does not decode (written by a newer version, or a bug) marks
//   its segment damaged the same way, so the bytes are kept in corrupt/.
// - If salvage cannot be written (disk full), the damaged segment stays where it is and the
//   index keeps pointing into it (its valid records are still readable at their offsets);
//   the next start tries again.
// - Left-over *.salvage files (a salvage interrupted before its rename) are removed: the
//   damaged segments they were copied from are still in place.
//
// The engine starts a fresh segment at next_segment_seq rather than appending to the newest
// one: its tail may hold a preallocated region or a truncated torn write.
base::Result<RecoveryReport> recover_shard(SpoolIo& io, const std::string& dir,
                                           const RecoveryOptions& options);

}  // namespace ringmta::queue
