// Delivery for one shard: routes every queued recipient to a destination (connector + next
// hop), lets the Scheduler decide what goes when, keeps a pool of reusable SMTP connections per
// destination, journals each outcome to the spool, bounces what fails, and deletes spool
// segments once every message in them is final. Runs on the shard thread only.
// Failure handling: a try-later (DNS, connect, 4xx) defers, never bounces; only a permanent
// answer or the end of the queue lifetime bounces.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "mta/base/clock.hh"
#include "mta/config/config.hh"
#include "mta/dns/resolver.hh"
#include "mta/engine/shard.hh"
#include "mta/engine/spool_reader.hh"
#include "mta/engine/spool_writer.hh"
#include "mta/tls/tls_context.hh"
#include "queue/queue_id.hh"
#include "queue/dsn.hh"
#include "queue/queue_index.hh"
#include "queue/retry_policy.hh"
#include "queue/scheduler.hh"
#include "router/route_cache.hh"
#include "router/route_table_holder.hh"

namespace ringmta::server {

class ConnectionBudget;
class DestinationPool;

// A message whose envelope and content are in memory, shared by the transactions using it.
struct LoadedMessage {
    uint64_t queue_id = 0;
    queue::Envelope envelope;
    std::string content;  // as stored: our Received header, then the message
    uint32_t users = 0;   // transactions holding it
};

struct DeliveryStats {
    uint64_t delivered = 0;
    uint64_t deferred = 0;
    uint64_t failed = 0;
    uint64_t bounces = 0;
    uint64_t connections_opened = 0;
    uint64_t transactions = 0;
    uint64_t spool_reads = 0;
    uint64_t segments_deleted = 0;
    uint64_t connections_reused = 0;  // transactions started on an already used connection
};

// What the pool knows of one attempt besides the results: for the delays= of the log line
// (Postfix's b, c and d; a is the rest of delay=) and for NOTIFY=SUCCESS.
struct AttemptTimes {
    double connect_s = 0;   // connection setup, DNS included (0 on a reused connection)
    double setup_s = 0;     // greeting, EHLO, STARTTLS and AUTH (0 on a reused connection)
    double transfer_s = 0;  // MAIL to the reply after the content
    bool next_hop_dsn = true;  // the next hop offered DSN, so NOTIFY went on with the RCPT
};

class Delivery {
public:
    struct Deps {
        engine::Shard* shard = nullptr;
        engine::SpoolWriter* spool = nullptr;
        engine::SpoolReader* reader = nullptr;
        queue::QueueIndex* index = nullptr;
        queue::QueueIdGenerator* ids = nullptr;
        dns::Resolver* resolver = nullptr;
        router::RouteReader* routes = nullptr;
        router::RouteCache* route_cache = nullptr;
        unsigned shard_count = 1;
        ConnectionBudget* connections = nullptr;  // shared by every shard's Delivery
    };
    Delivery(Deps deps, std::shared_ptr<const config::Config> config);
    ~Delivery();

    // Queues every recovered message (called once, on the shard thread, before traffic).
    void start();
    // A message just became durable (accepted, or a bounce we generated).
    void admit_new(const engine::SpoolAppend& append);
    // End-of-tick hook: timers, then hand ready transactions to their pools. Returns true
    // while transactions are in flight and the shard is stopping (it waits for them).
    bool on_tick();
    // A pool starts (or stops) waiting for a connection slot held by another shard.
    void slot_wanted(DestinationPool& pool, bool wanted) {
        if (wanted)
            slot_waiters_.insert(&pool);
        else
            slot_waiters_.erase(&pool);
    }
    // Once a second: pools waiting for a connection slot try again, and pools hand over idle
    // connections that another shard waits for.
    void on_second();
    void set_config(std::shared_ptr<const config::Config> config);
    // For listings: recipients the journal calls pending but that wait for a destination
    // that is down are shown as deferred until the destination's next probe (as Postfix shows
    // "delivery temporarily suspended").
    void describe_held(queue::QueuedMessage& message) const;
    const DeliveryStats& stats() const { return stats_; }
    // Arrival to delivery, per delivered recipient (optional; for the metrics histogram).
    std::function<void(uint64_t latency_us)> observe_delivery_latency;
    // Outbound connections open and idle now, over all pools.
    void pool_gauges(uint64_t* open, uint64_t* idle) const;
    // Recipients per (connector, state) for the queue-depth metric, by describe_held's rule:
    // ready ones of a destination that is down count as deferred.
    void queue_depth(std::vector<std::pair<std::string, std::string>>* keys,
                     std::vector<uint64_t>* counts) const;
    const queue::Scheduler& scheduler() const { return scheduler_; }

    // Operator actions (`ringmta queue ...`), on the shard thread. Each returns an empty string
    // when done, else why not ("no such message", "not held", ...). Their journal records ride
    // in the next group commit, a few milliseconds later; a crash in between forgets the action,
    // never a message.
    std::string hold(uint64_t queue_id);     // no attempts (nor expiry) until released
    std::string release(uint64_t queue_id);  // back in the queue, every recipient due now
    std::string remove(uint64_t queue_id);   // gone for good, no DSN (logged)
    std::string bounce_now(uint64_t queue_id, const std::string& reason);  // fail all, DSN
    // Deferred recipients become due now, and the destinations they wait for that are down
    // (or hosts skipped after a failed connect) are tried at once.
    std::string flush(uint64_t queue_id);
    // The connector a recipient is queued for: its destination's, or (held, not scheduled) the
    // one the current routes give; "" when none routes it.
    std::string connector_of(const queue::QueuedMessage& message, uint32_t index);

    // --- used by DestinationPool ---
    const config::Config& config() const { return *config_; }
    engine::Shard& shard() { return *deps_.shard; }
    dns::Resolver& resolver() { return *deps_.resolver; }
    queue::Scheduler& scheduler_mut() { return scheduler_; }
    DeliveryStats& stats_mut() { return stats_; }
    SSL_CTX* tls_context(bool verify, const std::string& ca_file);
    // Calls `ready(message)` when the message is in memory (at once if cached), or
    // `ready(nullptr)` when it cannot be read. The caller must release() what it got.
    void acquire(uint64_t queue_id, std::function<void(LoadedMessage*)> ready);
    void release(LoadedMessage* message);
    // The results of one transaction (or of one that could not run): journal, bounce, log.
    void complete(const queue::Transaction& t, std::span<const queue::RecipientResult> results,
                  std::span<const std::string> diagnostics, std::span<const std::string> statuses,
                  const std::string& relay, const LoadedMessage* message,
                  const AttemptTimes& attempt = {});

private:
    struct Loading;
    struct BounceWrite;
    void admit(const queue::QueuedMessage& m);
    void reroute_queue();
    bool reroute_if_idle(uint64_t queue_id);
    std::optional<queue::DestinationId> destination_for(const router::RouteTable& table,
                                                         std::string_view address,
                                                         uint64_t size, std::string* why);
    DestinationPool& pool(queue::DestinationId id);
    // `status`, `connector` and `relay` ("none" or "" when no server answered) go into the
    // record for `queue show`'s attempt history, with the time.
    void journal(uint64_t queue_id, uint32_t index, queue::Outcome outcome, uint32_t attempts,
                 uint64_t next_attempt_us, const std::string& diagnostic,
                 const std::string& status = {}, const std::string& connector = {},
                 const std::string& relay = {});
    void message_final(uint64_t queue_id);
    void delete_final_segments();
    void bounce(const LoadedMessage& message, std::vector<queue::DsnRecipient> recipients);
    void bounce_later(uint64_t queue_id, std::vector<queue::DsnRecipient> recipients);
    void on_notice(const queue::Notice& notice);
    void wake_destination(queue::DestinationId id);
    void wake_destinations_of(uint64_t queue_id);  // those its ready recipients wait for
    void cache_put(const engine::SpoolAppend& append);
    void evict_if_over_budget();
    static void on_read(engine::SpoolRead* read, int result);

    Deps deps_;
    std::shared_ptr<const config::Config> config_;
    base::SystemClock clock_;
    queue::SplitMix64 jitter_;
    queue::Scheduler scheduler_;
    // Pools to pump at every tick. Declared before pools_: a pool leaves it in its destructor.
    std::unordered_set<DestinationPool*> slot_waiters_;
    std::unordered_map<queue::DestinationId, std::unique_ptr<DestinationPool>> pools_;
    std::unordered_map<uint64_t, std::unique_ptr<LoadedMessage>> cache_;
    uint64_t cache_bytes_ = 0;
    uint64_t cache_bytes_max_ = 0;
    std::unordered_map<uint64_t, std::unique_ptr<Loading>> loading_;
    std::unordered_map<std::string, std::unique_ptr<tls::TlsContext>> tls_contexts_;
    std::vector<queue::Notice> notices_;
    std::vector<queue::RecipientDecision> decisions_;
    uint64_t routed_generation_ = 0;  // the route table the scheduled recipients were routed by
    std::unordered_set<uint64_t> reroute_after_transaction_;
    DeliveryStats stats_;
};

}  // namespace ringmta::server
