// Queue IDs: 64-bit, unique across shards and restarts, printed as 16 uppercase hex digits
// ("queued as 0005F3A1B2C3D401"). id = sequence << 8 | shard; each shard's sequence starts at
// max(wall clock in microseconds, highest sequence recovered for that shard + 1, persisted
// high-water mark + 1) and counts up by one per message, so ids also sort by arrival. Parsing
// rejects anything but 16 hex digits. The high-water mark file of a shard directory is here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mta/base/result.hh"

namespace ringmta::queue {

inline constexpr uint32_t queue_id_shard_count_max = 256;
inline constexpr size_t queue_id_text_size = 16;

constexpr uint64_t make_queue_id(uint64_t sequence, uint32_t shard) {
    return sequence << 8 | (shard & 0xFF);
}
constexpr uint32_t queue_id_shard(uint64_t id) { return uint32_t(id & 0xFF); }
constexpr uint64_t queue_id_sequence(uint64_t id) { return id >> 8; }

std::string format_queue_id(uint64_t id);
// Writes exactly 16 characters (no terminator) into out.
void format_queue_id(uint64_t id, char out[queue_id_text_size]);
// Accepts upper or lower case; the canonical form is upper case.
std::optional<uint64_t> parse_queue_id(std::string_view text);

// Uniqueness must not rest on the wall clock alone: ids that were issued and then deleted
// (all recipients final, segment removed) are not on disk any more, and a clock stepped back
// (or a shard that issued more than one id per microsecond and restarted at once) would meet
// them again. So each shard directory keeps a high-water mark, `queue_id_mark`, rewritten when
// the spool writer creates a segment: that is off the hot path (once per segment) and rides on
// the directory fsync the new segment needs anyway. It covers every id: an id issued after the
// last mark is in the active segment, or a later one, and the active segment is never deleted,
// so at the next start recovery sees it (a segment of an earlier run can only be deleted once
// this run has created a segment, which wrote a mark above all of that run's ids). The only ids
// that escape are ones answered 451 after the last mark, never stored nor acknowledged.
class QueueIdGenerator {
public:
    // `highest_recovered_id`: the highest id recovery saw for this shard, 0 if none;
    // `high_water_id`: the shard's persisted mark (read_queue_id_mark), 0 if none.
    QueueIdGenerator(uint32_t shard, uint64_t now_us, uint64_t highest_recovered_id,
                     uint64_t high_water_id = 0);
    uint64_t next();
    uint32_t shard() const { return shard_; }
    // At least every id issued so far: what write_queue_id_mark is given.
    uint64_t high_water() const { return make_queue_id(next_sequence_ - 1, shard_); }

private:
    uint32_t shard_;
    uint64_t next_sequence_;
};

inline constexpr const char* queue_id_mark_file_name = "queue_id_mark";
// The mark in `shard_dir`, 0 when there is none; an unreadable or malformed file is an error
// (starting without it could repeat ids).
base::Result<uint64_t> read_queue_id_mark(const std::string& shard_dir);
// Writes the mark (temp file, fdatasync, rename). Durable once the caller fsyncs the directory.
base::Result<void> write_queue_id_mark(const std::string& shard_dir, uint64_t id);

}  // namespace ringmta::queue
