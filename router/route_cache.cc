// Per-shard route cache: two-way set-associative, keyed by the domain bytes as written (so a
// hit skips normalisation too). An entry answers only for its table generation and size range.
#include "router/route_cache.hh"

#include <bit>
#include <cstring>

namespace ringmta::router {
namespace {

uint64_t hash_bytes(std::string_view s) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ s.size();
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        h = trie_detail::mix(h ^ w) * 0x9e3779b97f4a7c15ull;
    }
    if (i < s.size()) {
        uint64_t w = 0;
        std::memcpy(&w, s.data() + i, s.size() - i);
        h = trie_detail::mix(h ^ w) * 0x9e3779b97f4a7c15ull;
    }
    return trie_detail::mix(h);
}

}  // namespace

RouteCache::RouteCache(size_t capacity) {
    size_t sets = std::bit_ceil(capacity < 2 ? size_t{1} : (capacity + 1) / 2);
    entries_ = std::make_unique<Entry[]>(sets * 2);
    for (size_t i = 0; i < sets * 2; ++i) entries_[i].size = 0;
    mask_ = sets - 1;
}

Route RouteCache::lookup(const RouteTable& table, std::string_view domain, uint64_t message_size) {
    if (domain.empty() || domain.size() > kDomainInlineMax) {
        ++misses_;
        return table.lookup(domain, message_size);
    }
    uint64_t h = hash_bytes(domain);
    Entry* set = &entries_[(h & mask_) * 2];
    uint64_t generation = table.generation();
    for (int way = 0; way < 2; ++way) {
        const Entry& e = set[way];
        if (e.hash == h && e.size == domain.size() && e.generation == generation &&
            e.range.contains(message_size) && std::memcmp(e.domain, domain.data(), e.size) == 0) {
            ++hits_;
            return e.route;
        }
    }
    ++misses_;
    SizeRange range;
    Route route = table.lookup(domain, message_size, range);
    // Newest entry in way 0; the older one moves to way 1 unless way 0 is free to reuse.
    bool way0_free = set[0].size == 0 || set[0].generation != generation;
    if (!way0_free) set[1] = set[0];
    Entry& e = set[0];
    e.hash = h;
    e.generation = generation;
    e.range = range;
    e.route = route;
    e.size = static_cast<uint8_t>(domain.size());
    std::memcpy(e.domain, domain.data(), domain.size());
    return route;
}

}  // namespace ringmta::router
