// Segment scanning: splits a segment file's bytes into valid records, damaged ranges and the
// tail, without deciding what to do about them (recovery.hh does). Pure; never fails. Every
// byte of the input ends up in exactly one of: a record, a damaged range, the tail.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "queue/record_format.hh"

namespace ringmta::queue {

struct ScannedRecord {
    uint64_t offset = 0;
    RecordType type = RecordType::end;
    uint64_t record_size = 0;
    std::span<const uint8_t> payload;
    uint8_t version = 0;  // the payload layout (record_format.hh)
};

// Bytes between two valid records that are not a valid record themselves.
struct DamagedRange {
    uint64_t offset = 0;
    uint64_t size = 0;
    FrameStatus cause = FrameStatus::bad_header;  // what the first frame of the range showed
};

struct SegmentScan {
    std::vector<ScannedRecord> records;
    std::vector<DamagedRange> damage;
    uint64_t valid_end = 0;  // just past the last valid record (or its padding); 0 if none
    // The tail is [valid_end, file end). Zeros are a clean end (preallocated, never written);
    // anything else, with no valid record after it, is a torn tail: a write that did not
    // complete, or a record damaged after it was written (the two cannot be told apart).
    bool torn_tail = false;
};

// RESYNC. When the frame at some offset is not valid the scan looks for the next one:
// - bad_crc (the header checked, so its length is trusted): from just after that record;
// - anything else (the length is not trusted): from the next 8-byte boundary on.
// A candidate is accepted only if magic, header CRC and record CRC all check. If one is found,
// the bytes in between are a DamagedRange; if none, they are the tail.
//
// XXX A message's content is arbitrary bytes and could itself contain an 8-aligned, validly
// framed record (someone mailing a spool file). Normal scanning never looks inside content;
// only resync after damage can land there. Keeping the length of bad_crc records narrows that
// to damaged headers, and the segment is moved aside for a person to look at anyway.
SegmentScan scan_segment(std::span<const uint8_t> bytes);

}  // namespace ringmta::queue
