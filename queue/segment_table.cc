// Per-segment live counts and oldest-first deletion (see the rule in segment_table.hh).
#include "queue/segment_table.hh"

#include "mta/base/assert.hh"

namespace ringmta::queue {

void SegmentTable::open(uint64_t seq) { live_.try_emplace(seq, 0); }

void SegmentTable::forget(uint64_t seq) {
    auto it = live_.find(seq);
    if (it == live_.end()) return;
    MTA_ASSERT(it->second == 0);
    live_.erase(it);
}

void SegmentTable::add_message(uint64_t seq) {
    auto it = live_.find(seq);
    MTA_ASSERT(it != live_.end());
    ++it->second;
}

void SegmentTable::release_message(uint64_t seq) {
    auto it = live_.find(seq);
    MTA_ASSERT(it != live_.end() && it->second > 0);
    --it->second;
}

std::optional<uint64_t> SegmentTable::take_deletable(uint64_t keep_from_seq) {
    if (live_.empty()) return std::nullopt;
    auto oldest = live_.begin();
    if (oldest->first >= keep_from_seq || oldest->second != 0) return std::nullopt;
    uint64_t seq = oldest->first;
    live_.erase(oldest);
    return seq;
}

uint32_t SegmentTable::live_count(uint64_t seq) const {
    auto it = live_.find(seq);
    return it == live_.end() ? 0 : it->second;
}

}  // namespace ringmta::queue
