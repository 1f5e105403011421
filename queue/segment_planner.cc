// Segment naming and append-offset planning.
#include "queue/segment_planner.hh"

#include "mta/base/assert.hh"
#include "queue/queue_id.hh"
#include "queue/record_format.hh"

namespace ringmta::queue {

namespace {
constexpr std::string_view prefix = "seg-";
constexpr std::string_view suffix = ".log";
}  // namespace

std::string segment_file_name(uint64_t seq) {
    // Same 16-digit form as queue ids, so names sort by sequence.
    return std::string(prefix) + format_queue_id(seq) + std::string(suffix);
}

std::optional<uint64_t> parse_segment_file_name(std::string_view name) {
    if (name.size() != prefix.size() + 16 + suffix.size()) return std::nullopt;
    if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
    if (name.substr(name.size() - suffix.size()) != suffix) return std::nullopt;
    return parse_queue_id(name.substr(prefix.size(), 16));
}

std::string segment_path(const std::string& dir, uint64_t seq) {
    return dir + "/" + segment_file_name(seq);
}

SegmentPlanner::SegmentPlanner(uint64_t first_seq, uint64_t capacity_bytes)
    : capacity_bytes_(capacity_bytes), seq_(first_seq) {
    MTA_ASSERT(capacity_bytes_ > 0);
}

Placement SegmentPlanner::reserve(uint64_t size_bytes) {
    MTA_ASSERT(size_bytes % record_alignment == 0);
    Placement p;
    bool rotate = !active_ || failed_ || (offset_ > 0 && offset_ + size_bytes > capacity_bytes_);
    if (rotate) {
        if (active_) ++seq_;
        active_ = true;
        failed_ = false;
        offset_ = 0;
        p.opens_segment = true;
    }
    p.segment_seq = seq_;
    p.offset = offset_;
    offset_ += size_bytes;
    return p;
}

void SegmentPlanner::fail(uint64_t segment_seq) {
    if (active_ && segment_seq == seq_) failed_ = true;
}

}  // namespace ringmta::queue
