// QueueIndex: the in-memory queue of one shard, rebuilt by recovery and kept up to date by the
// engine. Maps queue id to where the record is and what is left to do. Invariant: a message is
// in the index exactly while some recipient is not final (delivered or failed), and it counts
// once in its segment's live count. Every update is a hash probe plus O(1) work (the segment
// count is a map over a few dozen segments); the size is capped at construction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mta/base/result.hh"
#include "queue/envelope.hh"
#include "queue/journal_record.hh"
#include "queue/segment_table.hh"

namespace ringmta::queue {

// `held` is never stored per recipient: it is how listings show the open recipients of a
// message the operator put on hold (shown_state below).
enum class RecipientState : uint8_t { pending, deferred, delivered, failed, held };

const char* recipient_state_name(RecipientState state);
std::optional<RecipientState> parse_recipient_state(std::string_view name);
constexpr bool is_final(RecipientState s) {
    return s == RecipientState::delivered || s == RecipientState::failed;
}

struct RecipientStatus {
    std::string address;
    RecipientState state = RecipientState::pending;
    uint32_t attempts = 0;
    uint64_t next_attempt_us = 0;  // deferred only
    std::string diagnostic;        // last outcome's text, bounded by outcome_diagnostic_max
    std::string status;            // last outcome's enhanced status; in memory only (not
                                   // journaled: empty after a restart)
};

struct QueuedMessage {
    uint64_t queue_id = 0;
    uint64_t segment_seq = 0;  // the record: read_range(segment_path(dir, seq), offset, size)
    uint64_t offset = 0;
    uint64_t record_size = 0;
    uint64_t arrival_us = 0;
    uint64_t size_bytes = 0;   // content size
    std::string sender;
    std::vector<RecipientStatus> recipients;
    uint32_t open_recipients = 0;  // not final
    bool held = false;             // `queue hold`: no delivery until `queue release`
};

// The state a listing shows: `held` for an open recipient of a held message, else the state.
inline RecipientState shown_state(const QueuedMessage& message, const RecipientStatus& r) {
    return message.held && !is_final(r.state) ? RecipientState::held : r.state;
}

// The summary kept in memory for a message record written at (seq, offset).
QueuedMessage summarize(const Envelope& envelope, uint64_t segment_seq, uint64_t offset,
                        uint64_t record_size, uint64_t content_size);

struct ListFilter {
    std::optional<RecipientState> state;  // some recipient is in this state
    std::string domain;                   // ... and (if set) has this domain, ASCII case-blind
};

class QueueIndex {
public:
    explicit QueueIndex(size_t capacity_messages);

    // The engine checks this before accepting a message (capacity reserved before work).
    bool has_room() const { return messages_.size() < capacity_; }
    // Errc::invalid on a duplicate id, Errc::no_space when full. The segment must be open in
    // segments(). A message with no open recipient is not kept (returns success).
    base::Result<void> insert(QueuedMessage message);

    enum class Applied {
        updated,            // recipient state changed, message still queued
        message_final,      // that was the last open recipient: message left the index
        unknown_message,    // no such id (already final, or never recovered): ignore
        unknown_recipient,  // index out of range: a bug or a damaged journal
        already_final,      // the recipient was delivered/failed before: no change
    };
    // `status` is the outcome's enhanced status when known (RecipientStatus::status).
    Applied apply(const OutcomeRecord& outcome, std::string_view status = {});
    // Removal record or operator delete. False if the id is unknown.
    bool remove(uint64_t queue_id);
    // Hold record or operator hold/release. False if the id is unknown.
    bool set_held(uint64_t queue_id, bool held);
    // Recovery moved the record to another segment.
    void relocate(uint64_t queue_id, uint64_t segment_seq, uint64_t offset);

    const QueuedMessage* find(uint64_t queue_id) const;
    size_t size() const { return messages_.size(); }
    size_t capacity() const { return capacity_; }
    void set_capacity(size_t capacity_messages) { capacity_ = capacity_messages; }
    SegmentTable& segments() { return segments_; }
    const SegmentTable& segments() const { return segments_; }

    // Matching messages ordered by queue id (ids grow with arrival within a shard). O(n log n):
    // for `queue list`, not for the delivery path.
    std::vector<const QueuedMessage*> select(const ListFilter& filter) const;

    template <typename F>
    void for_each(F&& f) const {
        for (const auto& [id, m] : messages_) f(m);
    }

private:
    void erase(std::unordered_map<uint64_t, QueuedMessage>::iterator it);

    size_t capacity_;
    std::unordered_map<uint64_t, QueuedMessage> messages_;
    SegmentTable segments_;
};

// For listings that merge shards.
bool matches(const QueuedMessage& message, const ListFilter& filter);
void sort_by_queue_id(std::vector<const QueuedMessage*>& messages);

}  // namespace ringmta::queue
