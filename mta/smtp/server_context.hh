// What an SMTP server session needs from its shard: the spool, the settings in force, TLS, the
// shared memory budget and the policy lookups. Owned by the shard's ShardState (mta/server);
// sessions only borrow it, and it outlives every session of the shard.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "mta/config/config.hh"

namespace ringmta::engine {
class Shard;
class SpoolWriter;
}  // namespace ringmta::engine
namespace ringmta::tls {
class TlsContext;
}

namespace ringmta::smtp {

// Bytes of message content held in memory by all sessions of all shards (limits.memory_max).
// A session that cannot charge what it needs answers 452 4.3.1 instead of growing.
class MemoryBudget {
public:
    explicit MemoryBudget(uint64_t max_bytes) : max_bytes_(max_bytes) {}
    bool charge(uint64_t bytes) {
        uint64_t now = used_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
        if (now <= max_bytes_.load(std::memory_order_relaxed)) return true;
        used_.fetch_sub(bytes, std::memory_order_relaxed);
        return false;
    }
    void refund(uint64_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }
    uint64_t used() const { return used_.load(std::memory_order_relaxed); }
    void set_max(uint64_t max_bytes) { max_bytes_ = max_bytes; }

private:
    std::atomic<uint64_t> used_{0};
    std::atomic<uint64_t> max_bytes_;
};

// Why a message or recipient was refused; the order matches admin::RejectReason, which the
// metrics endpoint labels them with.
enum class Refusal : uint8_t {
    relay_denied, size, recipients, bare_newline, line_length, policy, storage, other, count_
};

struct ServerCounters {
    uint64_t connections = 0;
    uint64_t messages_accepted = 0;
    uint64_t messages_rejected = 0;
    uint64_t bytes_accepted = 0;
    uint64_t refused[size_t(Refusal::count_)] = {};
    void refuse(Refusal why) { ++refused[size_t(why)]; }
};

struct ServerContext {
    engine::Shard* shard = nullptr;
    engine::SpoolWriter* spool = nullptr;
    // The settings in force; replaced (never mutated) on reload, so a session keeps a reference
    // to the snapshot it started with.
    std::shared_ptr<const config::Config> config;
    // Indexed by listener; null where the listener has no certificate (no STARTTLS).
    std::vector<tls::TlsContext*> listener_tls;
    MemoryBudget* memory = nullptr;
    // True when `domain` (lower-case, no trailing dot) is one of our accepted domains.
    std::function<bool(std::string_view domain)> is_accepted_domain;
    std::function<uint64_t()> next_queue_id;
    // False when the shard's queue (limits.queue_messages_max) has no room for one more message.
    std::function<bool()> queue_has_room;
    // End of DATA to 250, for the accept latency histogram (optional).
    std::function<void(uint64_t latency_us)> observe_accept_latency;
    ServerCounters counters;
};

}  // namespace ringmta::smtp
