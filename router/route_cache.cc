// Per-shard route cache: eight-way set-associative, keyed by the domain bytes as written (so a
// hit skips normalisation too). An entry answers only for its table generation and size range.
#include "router/route_cache.hh"
#include "router/text_hash.hh"

#include <bit>
#include <cstring>

namespace ringmta::router {
namespace {

using text_hash::load8;

// Sixteen bytes per multiplication. The last words overlap earlier ones rather than calling
// memcpy with a variable size; the length is mixed in first, so overlaps cannot alias.
uint64_t hash_bytes(std::string_view s) {
    using text_hash::fold_multiply;
    const char* p = s.data();
    size_t n = s.size();
    uint64_t h = text_hash::kSeed ^ n;
    if (n < 8) {
        uint64_t w = 0;
        std::memcpy(&w, p, n);
        return fold_multiply(h ^ w, text_hash::kWord1);
    }
    const char* end = p + n;
    for (; end - p > 16; p += 16) {
        h = fold_multiply(load8(p) ^ h ^ text_hash::kWord0, load8(p + 8) ^ text_hash::kWord1);
    }
    // 1..16 bytes left, and at least 8 in all: the last two words, overlapping what came before.
    const char* last = n >= 16 ? end - 16 : s.data();
    return fold_multiply(load8(last) ^ h ^ text_hash::kWord0,
                         load8(end - 8) ^ text_hash::kLast);
}

// Equal-length byte comparison in words, same overlapping tail.
bool same_bytes(const char* a, const char* b, size_t n) {
    if (n < 8) return std::memcmp(a, b, n) == 0;
    uint64_t diff = 0;
    size_t i = 0;
    for (; i + 8 < n; i += 8) diff |= load8(a + i) ^ load8(b + i);
    return (diff | (load8(a + n - 8) ^ load8(b + n - 8))) == 0;
}

}  // namespace

RouteCache::RouteCache(size_t capacity) {
    size_t sets = std::bit_ceil(capacity < kWays ? size_t{1} : (capacity + kWays - 1) / kWays);
    hashes_ = std::make_unique<uint64_t[]>(sets * kWays);     // zeroed: all empty
    entries_ = std::make_unique<Entry[]>(sets * kWays);
    next_way_ = std::make_unique<uint8_t[]>(sets);
    mask_ = sets - 1;
}

Route RouteCache::lookup(const RouteTable& table, std::string_view domain, uint64_t message_size) {
    if (domain.empty() || domain.size() > kDomainInlineMax) {
        ++misses_;
        return table.lookup(domain, message_size);
    }
    uint64_t h = hash_bytes(domain) | 1;   // never 0, the empty mark
    size_t set = (h >> 7) & mask_;
    const uint64_t* hashes = &hashes_[set * kWays];
    uint64_t generation = table.generation();
    for (size_t way = 0; way < kWays; ++way) {
        if (hashes[way] != h) continue;
        const Entry& e = entries_[set * kWays + way];
        if (e.size == domain.size() && e.generation == generation &&
            e.range.contains(message_size) && same_bytes(e.domain, domain.data(), e.size)) {
            ++hits_;
            return e.route;
        }
    }
    return fill(table, domain, message_size, h);
}

// The miss path, out of line so that a hit saves and restores fewer registers.
Route RouteCache::fill(const RouteTable& table, std::string_view domain, uint64_t message_size,
                       uint64_t h) {
    ++misses_;
    size_t set = (h >> 7) & mask_;
    SizeRange range;
    Route route = table.lookup(domain, message_size, range);
    size_t way = next_way_[set]++ % kWays;
    hashes_[set * kWays + way] = h;
    Entry& e = entries_[set * kWays + way];
    e.generation = table.generation();
    e.range = range;
    e.route = route;
    e.size = static_cast<uint8_t>(domain.size());
    std::memcpy(e.domain, domain.data(), domain.size());
    return route;
}

}  // namespace ringmta::router
