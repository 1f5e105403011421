// SegmentPlanner: where the next group-commit write goes. Tracks the active segment and its
// append offset, and says when to rotate (capacity reached, or the segment saw a failed write
// or sync). Pure bookkeeping: the caller does the I/O. Invariant: regions handed out never
// overlap and every offset is a multiple of 8.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringmta::queue {

inline constexpr uint64_t segment_capacity_default_bytes = uint64_t(64) << 20;

// "seg-<16 uppercase hex seq>.log"
std::string segment_file_name(uint64_t seq);
std::optional<uint64_t> parse_segment_file_name(std::string_view name);
std::string segment_path(const std::string& dir, uint64_t seq);

struct Placement {
    uint64_t segment_seq = 0;
    uint64_t offset = 0;
    // A new segment: create the file (optionally fallocate capacity_bytes), and fsync the
    // directory before acknowledging anything written to it, or the file's name may not
    // survive a crash even though its data was fdatasync'ed.
    bool opens_segment = false;
};

class SegmentPlanner {
public:
    // `first_seq`: RecoveryReport::next_segment_seq. No segment is active until reserve().
    explicit SegmentPlanner(uint64_t first_seq,
                            uint64_t capacity_bytes = segment_capacity_default_bytes);

    // Reserves `size_bytes` (a WriteBatch's size) at the append offset. Rotates first when the
    // batch would cross the capacity of a non-empty segment or the segment failed. A batch
    // larger than the capacity goes alone into a fresh segment.
    Placement reserve(uint64_t size_bytes);

    // A write or fdatasync into `segment_seq` failed. After EIO from fdatasync the kernel may
    // have dropped dirty pages and cleared the error, so the file's tail cannot be trusted:
    // never append there again. The next reserve() rotates.
    void fail(uint64_t segment_seq);

    bool has_active() const { return active_; }
    uint64_t active_seq() const { return seq_; }
    uint64_t append_offset() const { return offset_; }
    uint64_t capacity_bytes() const { return capacity_bytes_; }
    // The sequence the next rotation will use.
    uint64_t next_seq() const { return active_ ? seq_ + 1 : seq_; }

private:
    uint64_t capacity_bytes_;
    uint64_t seq_;
    uint64_t offset_ = 0;
    bool active_ = false;
    bool failed_ = false;
};

}  // namespace ringmta::queue
