// SegmentTable: per-segment live-message counts and the rule for deleting segments. Invariant:
// a segment is deleted only when it and every older segment hold no live message, so no
// journal record in a surviving segment can be separated from an older message it refers to.
// Bookkeeping only; a count going below zero is a bug and asserts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace ringmta::queue {

// RULE: delete oldest-first. A journal record (outcome, removal) lives in its message's
// segment or a later one. Deleting a later segment while an older one still has live messages
// could drop the journal records saying some of those messages' recipients are done, and a
// restart would deliver them again. So only the oldest segment may go, and only when it holds
// no live message (and is not being written).
//
// XXX Head-of-line blocking: one message deferred for days (queue_lifetime_s) pins its segment
// and every newer segment on disk, even when all of those are final. Disk use is bounded by
// the arrival rate times the queue lifetime. Compaction would lift this: copy the few live
// messages of old segments, with their current recipient states as journal records, into the
// active segment (recovery's salvage already does exactly this), then delete the old ones.
class SegmentTable {
public:
    // A segment that exists on disk: created by rotation or found by recovery.
    void open(uint64_t seq);
    // A segment moved aside or deleted by hand; its messages must already be elsewhere.
    void forget(uint64_t seq);
    void add_message(uint64_t seq);
    void release_message(uint64_t seq);

    // The oldest segment if it may be deleted now: no live message and seq < keep_from_seq,
    // where keep_from_seq is the active segment, or the oldest segment that still has a write
    // in flight (its messages are not in the index yet). Removes it from the table; call again
    // until nullopt. Deleting the file is the caller's job; an fsync of the directory after a
    // round of deletions keeps a crash from bringing back an old segment without a newer one.
    std::optional<uint64_t> take_deletable(uint64_t keep_from_seq);

    bool contains(uint64_t seq) const { return live_.count(seq) != 0; }
    uint32_t live_count(uint64_t seq) const;
    size_t size() const { return live_.size(); }
    const std::map<uint64_t, uint32_t>& live_counts() const { return live_; }

private:
    // Ordered by seq; a few dozen entries, so a map costs about what a deque would.
    std::map<uint64_t, uint32_t> live_;
};

}  // namespace ringmta::queue
