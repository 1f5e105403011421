// The process-wide cap of a connector's pool.max_connections_per_host: one slot counter per
// next hop (connector, and recipient domain for MX routing), shared by every shard. A shard
// takes a slot before it opens a connection and gives it back when the connection closes;
// reusing a pooled connection touches nothing shared. Counters are created under a mutex on
// first use and live as long as the process (as the pools using them), so references stay valid.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ringmta::server {

class ConnectionBudget {
public:
    struct Slot {
        std::atomic<uint32_t> open{0};
        std::atomic<uint32_t> max{1};
        // Shards with mail for this next hop but no connection to it, that could not get a
        // slot. While any is, the others take no new slot and hand over a pooled connection
        // at their next chance, so nobody waits for long (see DestinationPool::hand_over).
        std::atomic<uint32_t> starving{0};
    };

    // The slot of `key`; `max` (at least 1) becomes its cap, as a reload may change it.
    Slot& slot(const std::string& key, uint32_t max);

    // False when `max` connections are open already.
    static bool try_acquire(Slot& slot);
    static void release(Slot& slot);

private:
    std::mutex mutex_;
    std::unordered_map<std::string, std::unique_ptr<Slot>> slots_;
};

}  // namespace ringmta::server
