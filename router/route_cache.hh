// A shard's bounded domain → route cache in front of RouteTable::lookup. Entries are tagged
// with the table generation (a newer table makes them all misses, with no flush) and carry the
// message-size range their answer holds for. Not thread-safe: one cache per shard.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "router/route_table.hh"

namespace ringmta::router {

class RouteCache {
public:
    // Holds up to `capacity` domains (rounded up to a power of two, at least kWays). Domains
    // longer than kDomainInlineMax bytes are looked up every time.
    explicit RouteCache(size_t capacity = 4096);

    static constexpr size_t kDomainInlineMax = 78;
    static constexpr size_t kWays = 8;

    // Same answer as table.lookup(domain, message_size); `domain` as the recipient wrote it.
    Route lookup(const RouteTable& table, std::string_view domain, uint64_t message_size);

    uint64_t hits() const { return hits_; }
    uint64_t misses() const { return misses_; }
    size_t capacity() const { return (mask_ + 1) * kWays; }

private:
    // 8-way sets: a probe reads one 64-byte line of hashes, then only the entry whose hash
    // matches. Eight ways keep hot domains from evicting each other at realistic loads.
    struct alignas(64) Entry {
        uint64_t generation;
        SizeRange range;
        Route route;
        uint8_t size;                         // 0: empty
        char domain[kDomainInlineMax + 8];
    };
    static_assert(sizeof(Entry) == 128);

    [[gnu::noinline]] Route fill(const RouteTable& table, std::string_view domain,
                                 uint64_t message_size, uint64_t hash);

    std::unique_ptr<uint64_t[]> hashes_;      // per entry; 0: empty
    std::unique_ptr<Entry[]> entries_;
    std::unique_ptr<uint8_t[]> next_way_;     // per set: FIFO replacement
    size_t mask_;                             // sets - 1
    uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace ringmta::router
