// WriteBatch: arena for heads and journal records, references for content.
#include "queue/write_batch.hh"

#include <cstring>

namespace ringmta::queue {

std::span<uint8_t> WriteBatch::grow_arena(size_t size) {
    size_t at = arena_.size();
    arena_.resize(at + size);
    add_piece(nullptr, at, size);
    return std::span<uint8_t>(arena_).subspan(at, size);
}

void WriteBatch::add_piece(const uint8_t* external, size_t offset, size_t size) {
    if (size == 0) return;
    // Consecutive arena pieces become one iovec.
    if (!external && !pieces_.empty() && !pieces_.back().data &&
        pieces_.back().offset + pieces_.back().size == offset) {
        pieces_.back().size += size;
    } else {
        pieces_.push_back(Piece{external, offset, size});
    }
    size_bytes_ += size;
}

base::Result<BatchRecord> WriteBatch::add_message(const Envelope& envelope,
                                                  std::span<const ContentSpan> content) {
    BatchRecord rec{size_bytes_, 0};
    size_t head_size = message_head_size(envelope);
    size_t arena_at = arena_.size();
    arena_.resize(arena_at + head_size);
    auto head =
        encode_message_head(envelope, content, std::span<uint8_t>(arena_).subspan(arena_at));
    if (!head) {
        arena_.resize(arena_at);
        return head.error();
    }
    add_piece(nullptr, arena_at, head_size);
    for (ContentSpan s : content) add_piece(s.data(), 0, s.size());
    std::memset(grow_arena(head->padding_size).data(), 0, head->padding_size);
    rec.record_size = head->record_size;
    MTA_ASSERT(size_bytes_ == rec.offset + rec.record_size);
    message_ids_.push_back(envelope.queue_id);
    return rec;
}

BatchRecord WriteBatch::add_outcome(const OutcomeRecord& record) {
    BatchRecord rec{size_bytes_, outcome_record_size(record)};
    encode_outcome(record, grow_arena(rec.record_size));
    return rec;
}

BatchRecord WriteBatch::add_removal(const RemovalRecord& record) {
    BatchRecord rec{size_bytes_, removal_record_size};
    encode_removal(record, grow_arena(rec.record_size));
    return rec;
}

BatchRecord WriteBatch::add_hold(const HoldRecord& record) {
    BatchRecord rec{size_bytes_, hold_record_size};
    encode_hold(record, grow_arena(rec.record_size));
    return rec;
}

BatchRecord WriteBatch::add_raw_record(std::span<const uint8_t> record) {
    MTA_ASSERT(record.size() % record_alignment == 0);
    BatchRecord rec{size_bytes_, record.size()};
    std::memcpy(grow_arena(record.size()).data(), record.data(), record.size());
    return rec;
}

std::span<const iovec> WriteBatch::iovecs() {
    // Built on demand: arena pointers are only stable once no more records are added.
    iovecs_.clear();
    for (const Piece& p : pieces_) {
        const uint8_t* base = p.data ? p.data : arena_.data() + p.offset;
        iovecs_.push_back(iovec{const_cast<uint8_t*>(base), p.size});
    }
    return iovecs_;
}

void WriteBatch::clear() {
    arena_.clear();
    pieces_.clear();
    iovecs_.clear();
    message_ids_.clear();
    size_bytes_ = 0;
}

}  // namespace ringmta::queue
