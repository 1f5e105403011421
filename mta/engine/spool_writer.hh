// The io_uring side of the spool: group commit. Appends collected during a loop tick are laid
// out as one WriteBatch, written with linked WRITEV SQEs and made durable by one linked
// fdatasync; each append's callback runs only after that sync completed (or failed). One batch
// is in flight at a time; appends that arrive meanwhile form the next batch. A failed write or
// sync fails every append in the batch and moves the writer to a fresh segment file.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mta/base/result.hh"
#include "mta/engine/completion.hh"
#include "queue/segment_planner.hh"
#include "queue/write_batch.hh"

namespace ringmta::engine {

class Shard;

// Embedded in the object that owns the message (the SMTP session); must stay alive, and its
// content unchanged, until `done` runs.
struct SpoolAppend {
    const queue::Envelope* envelope = nullptr;
    std::array<queue::ContentSpan, 2> content{};  // e.g. the Received header, then the body
    size_t content_count = 0;
    void (*done)(SpoolAppend* self, bool durable) = nullptr;
    void* owner = nullptr;
    // Set before `done` when durable: where the record sits.
    uint64_t segment_seq = 0;
    uint64_t offset = 0;
    uint64_t record_size = 0;
};

struct SpoolStats {
    uint64_t batches = 0;
    uint64_t messages = 0;
    uint64_t bytes = 0;
    uint64_t failures = 0;
    int last_error = 0;  // errno of the last failed batch
};

class SpoolWriter {
public:
    SpoolWriter(Shard& shard, std::string dir, uint64_t segment_size_bytes);
    ~SpoolWriter();
    SpoolWriter(const SpoolWriter&) = delete;
    SpoolWriter& operator=(const SpoolWriter&) = delete;

    // Opens a new active segment numbered `next_seq` (recovery says which numbers are taken).
    base::Result<void> open(uint64_t next_seq);

    void append(SpoolAppend* a) { pending_.push_back(a); }
    // Journal records ride in the next batch; they are not acknowledged individually.
    void append_outcome(const queue::OutcomeRecord& r) { outcomes_.push_back(r); }
    void append_removal(const queue::RemovalRecord& r) { removals_.push_back(r); }
    void append_hold(const queue::HoldRecord& r) { holds_.push_back(r); }

    // End-of-tick hook: starts a batch if there is work and none is in flight. Returns true
    // while a batch is in flight or work is pending (the shard waits for it before exiting).
    bool on_tick();

    // Called after a batch became durable, once per message, before the append's callback
    // (the queue index records where the message lives).
    std::function<void(const SpoolAppend&)> on_durable;
    // Called when a new segment file has been created (and its name made durable).
    std::function<void(uint64_t seq)> on_segment_created;
    // When set, each new segment also rewrites the queue id high-water mark with this value
    // (see queue_id.hh), made durable by the directory fsync the segment needs anyway.
    std::function<uint64_t()> queue_id_high_water;

    const SpoolStats& stats() const { return stats_; }
    // Messages appended whose callback has not run yet.
    size_t messages_in_flight() const {
        return pending_.size() + (in_flight_ ? batch_appends_.size() : 0);
    }
    uint64_t active_segment_seq() const { return segment_seq_; }
    // The sequence number the next new segment will get.
    uint64_t next_segment_seq() const { return planner_ ? planner_->next_seq() : 0; }
    const std::string& dir() const { return dir_; }

    // Test hook: in the next batch, completion `step` (0, 1, ...: the chain's WRITEVs in order;
    // kSyncStep: the fdatasync) reports `result` (-errno, or a byte count for a short write)
    // instead of what the kernel returned. Set several to model the kernel cancelling the rest
    // of a broken link chain (-ECANCELED).
    static constexpr unsigned kSyncStep = 32;
    void override_next_result(unsigned step, int result) {
        overrides_.push_back({step, result});
    }

private:
    static void on_complete(Completion* c, int result, uint32_t flags);
    void start_batch();
    void finish_batch();
    base::Result<void> create_segment(uint64_t seq, uint64_t capacity_bytes);

    Shard& shard_;
    std::string dir_;
    uint64_t segment_size_bytes_;
    std::optional<queue::SegmentPlanner> planner_;
    int fd_ = -1;              // the active segment, numbered segment_seq_
    uint64_t segment_seq_ = 0;

    std::vector<SpoolAppend*> pending_;
    std::vector<queue::OutcomeRecord> outcomes_;
    std::vector<queue::RemovalRecord> removals_;
    std::vector<queue::HoldRecord> holds_;  // in command order: hold then release stays so

    // The batch in flight.
    queue::WriteBatch batch_;
    std::vector<SpoolAppend*> batch_appends_;
    std::vector<queue::BatchRecord> batch_records_;
    uint64_t batch_offset_ = 0;
    static constexpr size_t kChainMax = 32;  // WRITEV SQEs per batch (each <= IOV_MAX iovecs)
    static_assert(kSyncStep == kChainMax);
    std::array<Completion, kChainMax + 1> completions_{};  // the WRITEVs, then the sync
    std::array<uint64_t, kChainMax> write_bytes_{};        // what each WRITEV must write
    unsigned outstanding_ = 0;
    bool batch_failed_ = false;
    int batch_error_ = 0;
    bool in_flight_ = false;
    struct Override {
        unsigned step;
        int result;
    };
    std::vector<Override> overrides_;        // for the next batch (test hook)
    std::vector<Override> batch_overrides_;  // for the batch in flight
    SpoolStats stats_;
};

}  // namespace ringmta::engine
