// Segment scanning and resynchronisation (see segment_scan.hh).
#include "queue/segment_scan.hh"

#include <algorithm>

namespace ringmta::queue {
namespace {

constexpr uint64_t not_found = ~uint64_t(0);

// The first offset >= from, 8-aligned, where a valid record starts.
uint64_t find_next_record(std::span<const uint8_t> bytes, uint64_t from) {
    uint64_t p = (from + record_alignment - 1) & ~uint64_t(record_alignment - 1);
    for (; p + record_header_size <= bytes.size(); p += record_alignment) {
        // Cheap magic test first: preallocated tails are megabytes of zeros.
        if (bytes[p] != uint8_t(record_magic) || bytes[p + 1] != uint8_t(record_magic >> 8)) {
            continue;
        }
        if (read_frame(bytes.subspan(p)).status == FrameStatus::ok) return p;
    }
    return not_found;
}

}  // namespace

SegmentScan scan_segment(std::span<const uint8_t> bytes) {
    SegmentScan scan;
    uint64_t pos = 0;
    while (pos < bytes.size()) {
        Frame f = read_frame(bytes.subspan(pos));
        if (f.status == FrameStatus::ok) {
            scan.records.push_back(ScannedRecord{pos, f.type, f.record_size, f.payload, f.version});
            pos += f.record_size;
            scan.valid_end = std::min<uint64_t>(pos, bytes.size());
            continue;
        }
        uint64_t resume = f.status == FrameStatus::bad_crc ? pos + f.record_size : pos + 1;
        uint64_t next = find_next_record(bytes, resume);
        if (next == not_found) {
            auto tail = bytes.subspan(pos);
            scan.torn_tail = std::any_of(tail.begin(), tail.end(), [](uint8_t b) { return b; });
            break;
        }
        scan.damage.push_back(DamagedRange{pos, next - pos, f.status});
        pos = next;
    }
    return scan;
}

}  // namespace ringmta::queue
