// What the metrics endpoint exposes: a plain-data snapshot of the gateway's counters and its
// Prometheus text rendering (exposition format 0.0.4). Shards keep their own ShardMetrics and
// never share writes; a collector sums them on read. format_prometheus() is pure: the same
// snapshot always renders to the same bytes, every series present even when zero.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mta/admin/metrics_histogram.hh"

namespace ringmta::admin {

// Why an inbound message was refused (label reason= on ringmta_messages_rejected_total).
enum class RejectReason : uint8_t {
    relay_denied,  // 554 5.7.1: not from relay.networks and not for an accepted domain
    size,          // 552 5.3.4
    recipients,    // 452 4.5.3
    bare_newline,  // 550 5.6.0 under relay.bare_newline = reject
    line_length,   // 500 5.5.2
    policy,        // any other policy refusal
    storage,       // 451 4.3.0 / 452 4.3.1: spool write failed, queue or memory full
    other,
};
inline constexpr size_t kRejectReasonCount = size_t(RejectReason::other) + 1;
const char* reject_reason_name(RejectReason reason);

// Recipients waiting for one connector in one state ("ready", "deferred", "in_flight").
// Every state of every connector named is rendered, at 0 when no row gives it a count.
inline constexpr const char* kQueueDepthStates[] = {"ready", "deferred", "in_flight"};
struct QueueDepth {
    std::string connector;
    std::string state;
    uint64_t recipients = 0;
};

// One shard's counters (or the sum of several). Counters only grow; gauges are "now".
struct ShardMetrics {
    // Inbound SMTP.
    uint64_t connections_open = 0;      // gauge
    uint64_t connections_accepted = 0;  // counter
    uint64_t messages_accepted = 0;
    uint64_t bytes_accepted = 0;
    std::array<uint64_t, kRejectReasonCount> messages_rejected{};  // by RejectReason
    // Delivery, per recipient.
    uint64_t recipients_delivered = 0;
    uint64_t recipients_deferred = 0;
    uint64_t recipients_bounced = 0;  // failed for good (5xx, expired, unroutable)
    uint64_t dsn_sent = 0;            // non-delivery notifications generated
    // Queue.
    uint64_t queue_messages = 0;          // gauge: messages not yet final
    std::vector<QueueDepth> queue_depth;  // gauges; add() merges equal (connector, state)
    // Spool group commit: messages_committed / commits = messages per fdatasync.
    uint64_t spool_commits = 0;
    uint64_t spool_messages_committed = 0;
    uint64_t spool_bytes_written = 0;
    uint64_t spool_commit_failures = 0;
    uint64_t spool_bytes = 0;  // gauge: segment files on disk (read off the shard thread)
    // Outbound connection pools.
    uint64_t pool_connections_open = 0;  // gauge
    uint64_t pool_connections_idle = 0;  // gauge
    uint64_t pool_connections_opened = 0;
    uint64_t pool_connections_reused = 0;  // transactions started on an already used connection
    // DNS.
    uint64_t dns_lookups = 0;  // lookups started (not joined, not answered from cache)
    uint64_t dns_cache_hits = 0;
    // Latency, in microseconds.
    MetricsHistogram accept_latency_us{kAcceptLatencyBoundsUs};
    MetricsHistogram delivery_latency_us{kDeliveryLatencyBoundsUs};

    void add(const ShardMetrics& other);
};

// The whole process: the shards' sum plus what belongs to no shard.
struct MetricsSnapshot {
    std::string version;          // ringmta_build_info{version=...}
    uint32_t shards = 0;          // configured
    uint32_t shards_running = 0;  // started and not stopping
    uint64_t route_table_generation = 0;
    uint64_t memory_buffered_bytes = 0;  // message content held in memory (limits.memory_max)
    std::vector<std::string> connectors;  // configured: their queue series exist from the start
    ShardMetrics totals;
};

// Built by the gateway: posts to every shard, copies its ShardMetrics there, sums the copies.
// Runs on the metrics server's thread, once per scrape.
using MetricsCollector = std::function<MetricsSnapshot()>;

// Prometheus text exposition format 0.0.4 (Content-Type: text/plain; version=0.0.4).
std::string format_prometheus(const MetricsSnapshot& snapshot);

// Exposition-format escaping: label values escape \ " and newline; HELP text \ and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view text);

}  // namespace ringmta::admin
