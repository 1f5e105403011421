// Queue IDs: 64-bit, unique across shards and restarts, printed as 16 uppercase hex digits
// ("queued as 0005F3A1B2C3D401"). id = sequence << 8 | shard; each shard's sequence starts at
// max(wall clock in microseconds, highest sequence recovered for that shard + 1) and counts up
// by one per message, so ids also sort by arrival. Parsing rejects anything but 16 hex digits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

// XXX Uniqueness rests on the wall clock. Ids of one shard never repeat within a run, and a
// restart continues above every id still on disk. The one hole: ids that were issued, then
// deleted (all recipients final, segment removed), are not on disk any more; if the wall
// clock at the next start is behind the last issued sequence (clock stepped back, or a shard
// that issued more than one id per microsecond for a while and restarted at once), the new
// sequence can meet those old ids again. Nothing on disk can clash (recovery saw it all), only
// log lines and remote "queued as" references. Persisting a high-water mark at shutdown and
// on each segment rotation would close it.
class QueueIdGenerator {
public:
    // `highest_recovered_id`: the highest id recovery saw for this shard, 0 if none.
    QueueIdGenerator(uint32_t shard, uint64_t now_us, uint64_t highest_recovered_id);
    uint64_t next();
    uint32_t shard() const { return shard_; }

private:
    uint32_t shard_;
    uint64_t next_sequence_;
};

}  // namespace ringmta::queue
