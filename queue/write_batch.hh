// WriteBatch: the records of one group commit laid out as one gather write. Heads and journal
// records go into an owned arena; message content is referenced, never copied, and must stay
// valid (and unchanged) until the write completes. Invariant: size_bytes() is a multiple of 8
// and equals the sum of the iovec lengths. Oversized messages fail with Errc::invalid.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <vector>

#include "mta/base/result.hh"
#include "queue/envelope.hh"
#include "queue/journal_record.hh"
#include "queue/message_record.hh"

namespace ringmta::queue {

// Where a record sits inside the batch; add the batch's file offset to get the segment offset.
struct BatchRecord {
    uint64_t offset = 0;
    uint64_t record_size = 0;
};

class WriteBatch {
public:
    WriteBatch() = default;
    WriteBatch(const WriteBatch&) = delete;
    WriteBatch& operator=(const WriteBatch&) = delete;

    base::Result<BatchRecord> add_message(const Envelope& envelope,
                                          std::span<const ContentSpan> content);
    BatchRecord add_outcome(const OutcomeRecord& record);
    BatchRecord add_removal(const RemovalRecord& record);
    BatchRecord add_hold(const HoldRecord& record);
    // A whole record already framed (recovery copies records this way); copied into the arena.
    BatchRecord add_raw_record(std::span<const uint8_t> record);

    // The gather list for writev / io_uring (IORING_OP_WRITEV). Adjacent arena pieces are merged.
    // Valid until the next add or clear. Split it yourself if it exceeds IOV_MAX (1024).
    std::span<const iovec> iovecs();
    uint64_t size_bytes() const { return size_bytes_; }
    bool empty() const { return size_bytes_ == 0; }
    // Queue ids of the message records, in order: on a failed write or sync the engine answers
    // 451 for each and journals a removal (RemovalReason::write_aborted) in a later batch.
    std::span<const uint64_t> message_ids() const { return message_ids_; }
    void clear();

private:
    // A piece is either arena_[offset, offset + size) or external memory at `data`.
    struct Piece {
        const uint8_t* data;
        size_t offset;
        size_t size;
    };
    std::span<uint8_t> grow_arena(size_t size);
    void add_piece(const uint8_t* external, size_t offset, size_t size);

    std::vector<uint8_t> arena_;
    std::vector<Piece> pieces_;
    std::vector<iovec> iovecs_;
    std::vector<uint64_t> message_ids_;
    uint64_t size_bytes_ = 0;
};

}  // namespace ringmta::queue
