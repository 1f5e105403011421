// Queue id formatting, parsing and per-shard generation.
#include "queue/queue_id.hh"

#include <algorithm>

#include "mta/base/assert.hh"

namespace ringmta::queue {

void format_queue_id(uint64_t id, char out[queue_id_text_size]) {
    static constexpr char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < queue_id_text_size; ++i) {
        out[queue_id_text_size - 1 - i] = digits[(id >> (4 * i)) & 0xF];
    }
}

std::string format_queue_id(uint64_t id) {
    std::string s(queue_id_text_size, '0');
    format_queue_id(id, s.data());
    return s;
}

std::optional<uint64_t> parse_queue_id(std::string_view text) {
    if (text.size() != queue_id_text_size) return std::nullopt;
    uint64_t id = 0;
    for (char c : text) {
        uint64_t d;
        if (c >= '0' && c <= '9') d = uint64_t(c - '0');
        else if (c >= 'A' && c <= 'F') d = uint64_t(c - 'A' + 10);
        else if (c >= 'a' && c <= 'f') d = uint64_t(c - 'a' + 10);
        else return std::nullopt;
        id = id << 4 | d;
    }
    return id;
}

QueueIdGenerator::QueueIdGenerator(uint32_t shard, uint64_t now_us, uint64_t highest_recovered_id)
    : shard_(shard) {
    MTA_ASSERT(shard < queue_id_shard_count_max);
    uint64_t after_recovered =
        highest_recovered_id ? queue_id_sequence(highest_recovered_id) + 1 : 0;
    next_sequence_ = std::max(now_us, after_recovered);
}

uint64_t QueueIdGenerator::next() {
    // 56 bits of microseconds last until the year 4253; running out is a bug, not a condition.
    MTA_ASSERT(next_sequence_ < (uint64_t(1) << 56));
    return make_queue_id(next_sequence_++, shard_);
}

}  // namespace ringmta::queue
