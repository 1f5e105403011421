// Publishes the current RouteTable to every shard. Readers never lock: a reload swaps one
// atomic pointer, so a reader sees the old table or the new one, never a mix. Reclamation is
// quiescent-state based: a retired table is freed only once every registered reader has
// refreshed to a newer generation, i.e. has promised it holds no reference to older tables.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "router/route_table_build.hh"

namespace ringmta::router {

class RouteTableHolder;

// One shard's registration. refresh() is the shard's quiescent point: call it at the top of
// each loop tick, and use only the table it returned (or table()) until the next call. A reader
// that stops refreshing keeps every later-retired table alive, so idle shards still tick.
class RouteReader {
public:
    RouteReader(RouteReader&& other) noexcept;
    RouteReader& operator=(RouteReader&&) = delete;
    RouteReader(const RouteReader&) = delete;
    ~RouteReader();

    // Wait-free: one atomic load, plus one release store when the table changed.
    const RouteTable& refresh() {
        const RouteTable* current = current_->load(std::memory_order_acquire);
        if (current != table_) {
            table_ = current;
            slot_->observed_generation.store(current->generation(), std::memory_order_release);
        }
        return *table_;
    }
    const RouteTable& table() const { return *table_; }

private:
    friend class RouteTableHolder;
    struct alignas(64) Slot {
        std::atomic<uint64_t> observed_generation{0};
    };
    RouteReader(RouteTableHolder* holder, Slot* slot, const RouteTable* table);

    RouteTableHolder* holder_;
    Slot* slot_;
    const std::atomic<const RouteTable*>* current_;
    const RouteTable* table_;
};

class RouteTableHolder {
public:
    explicit RouteTableHolder(std::shared_ptr<const RouteTable> initial);
    ~RouteTableHolder();   // every RouteReader must be gone first

    RouteTableHolder(const RouteTableHolder&) = delete;
    RouteTableHolder& operator=(const RouteTableHolder&) = delete;

    RouteReader register_reader();

    // Makes `table` current (its generation must exceed the current one), then reclaims. The
    // caller builds it (build_route_table, generation() + 1) and runs one reload at a time.
    void publish(std::shared_ptr<const RouteTable> table);


    // Frees retired tables that no registered reader can still hold; returns how many remain.
    size_t reclaim();

    // The current table, kept alive by the returned pointer: for control and CLI paths (locks).
    std::shared_ptr<const RouteTable> snapshot() const;
    uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
    size_t retired_count() const;

private:
    friend class RouteReader;
    void unregister(RouteReader::Slot* slot);
    size_t reclaim_locked();

    struct Retired {
        std::shared_ptr<const RouteTable> table;
        uint64_t replaced_by_generation;
    };

    std::atomic<const RouteTable*> current_;
    std::atomic<uint64_t> generation_;         // current_'s, readable without touching it
    mutable std::mutex mutex_;                 // writers, registration, reclamation
    std::shared_ptr<const RouteTable> current_owner_;
    std::vector<Retired> retired_;
    std::vector<std::unique_ptr<RouteReader::Slot>> slots_;
};

}  // namespace ringmta::router
