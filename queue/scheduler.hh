// Scheduler: one shard's delivery plan. Holds every recipient that is not final, grouped per
// message and destination into transactions, in per-destination FIFO ready queues and a timer
// heap of deferred ones; gates destinations by their health. Single-threaded, no I/O, time from
// the injected Clock. Invariant: a recipient is in exactly one phase (ready, deferred, in
// flight) and counted once in its destination's counters; every operation is O(1) or O(log n)
// amortised (plus the size of the transaction it builds). Capacity is fixed: submit fails with
// Errc::no_space when messages_max messages are held.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "mta/base/clock.hh"
#include "mta/base/result.hh"
#include "queue/destination_health.hh"
#include "queue/retry_policy.hh"

namespace ringmta::queue {

using DestinationId = uint32_t;

// Where a recipient goes, as the caller computed it from the router: connector index plus a
// next-hop key ("[192.0.2.5]:25", "pgp1.example.com:25", or the MX domain). Opaque here.
struct DestinationKey {
    uint32_t connector = 0;
    std::string next_hop;

    bool operator==(const DestinationKey&) const = default;
};

struct DestinationConfig {
    uint32_t connections_max = 20;                 // transactions in flight at once
    uint32_t recipients_per_transaction_max = 100;
};

struct SchedulerConfig {
    RetryConfig retry;
    HealthConfig health;
    size_t messages_max = 1'000'000;
};

struct SubmitRecipient {
    uint32_t index = 0;              // position in Envelope::recipients
    DestinationId destination = 0;
    uint32_t attempts = 0;           // from the journal (0 for a new message)
    uint64_t next_attempt_us = 0;    // wall clock; 0 or past: ready now
};

// One SMTP transaction's worth: recipients of one message for one destination.
struct Transaction {
    uint64_t queue_id = 0;
    DestinationId destination = 0;
    bool probe = false;               // the one attempt allowed at the end of a down window
    std::vector<uint32_t> recipients; // envelope indices, ascending
    uint32_t message_slot = 0;        // the scheduler's own bookkeeping: pass back unchanged
    uint32_t message_epoch = 0;
};

enum class RecipientResult : uint8_t {
    delivered,
    failed,         // permanent (5xx)
    deferred,       // temporary (4xx, timeout, connect failure): counts as an attempt
    not_attempted,  // e.g. a pooled connection dropped before the transaction: requeue as is
};

// What complete() decided per recipient; the caller journals it (and bounces failures).
enum class Verdict : uint8_t {
    delivered,  // journal delivered (final)
    failed,     // journal failed (final), DSN with the reply
    retry,      // journal deferred with attempts and next_attempt_us
    expired,    // journal failed (final), DSN as RetryPolicy describes expiry
    requeued,   // not attempted: nothing to journal
};

const char* verdict_name(Verdict verdict);

struct RecipientDecision {
    uint32_t index = 0;
    Verdict verdict = Verdict::retry;
    uint32_t attempts = 0;
    uint64_t next_attempt_us = 0;  // wall clock, retry only
};

// Produced by advance() for work that falls due without a delivery result.
struct Notice {
    enum class Kind : uint8_t {
        delay_warning,  // send a "delayed" DSN for `recipients` (once per message)
        expired,        // `recipients` failed for good (lifetime over while held or deferred):
                        // journal failed and bounce as RetryPolicy describes
    };
    Kind kind = Kind::delay_warning;
    uint64_t queue_id = 0;
    std::vector<uint32_t> recipients;  // envelope indices, ascending
};

enum class RecipientPhase : uint8_t { ready, deferred, in_flight, delivered, failed };

const char* recipient_phase_name(RecipientPhase phase);

struct RecipientView {
    RecipientPhase phase = RecipientPhase::ready;
    DestinationId destination = 0;
    uint32_t attempts = 0;
    uint64_t next_attempt_ms = 0;  // monotonic, deferred only
};

struct DestinationStats {
    DestinationId id = 0;
    const DestinationKey* key = nullptr;
    DestinationHealth::State state = DestinationHealth::State::up;
    uint64_t down_until_ms = 0;
    uint32_t consecutive_failures = 0;
    uint32_t ready = 0;           // recipients waiting (held while the destination is down)
    uint32_t deferred = 0;        // recipients waiting for their retry time
    uint32_t in_flight = 0;       // recipients in transactions handed out
    uint32_t transactions_in_flight = 0;
};

// qshape: per destination, not-final recipients by age (bucket i holds ages below
// bounds_s[i] and at or above bounds_s[i-1]; the last bucket holds the rest).
struct ShapeRow {
    DestinationId destination = 0;
    std::vector<uint32_t> counts;
};

class Scheduler {
public:
    Scheduler(const SchedulerConfig& config, const base::Clock& clock, JitterSource& jitter);

    // The id of a destination, created on first use; a later call updates its config.
    // XXX Destinations are never dropped: with MX routing their number grows with the set of
    // domains seen. Bounded in practice by the route cache; a sweep of idle ones is future work.
    DestinationId destination(const DestinationKey& key, const DestinationConfig& config);

    // A message's recipients that are not final. Errc::invalid for a known id, Errc::no_space
    // when full. arrival_us (wall clock) starts the queue lifetime and the delay warning.
    base::Result<void> submit(uint64_t queue_id, uint64_t arrival_us,
                              std::span<const SubmitRecipient> recipients);

    // A transaction for this destination if it has ready recipients and its health and
    // concurrency allow one now; the recipients become in flight.
    std::optional<Transaction> next_ready(DestinationId destination);
    // The same, round-robin over every destination that can start one now.
    std::optional<Transaction> next();

    // Results in the order of t.recipients. Fills `out` (cleared first) with one decision per
    // recipient. A transaction of a cancelled message only frees its concurrency slot.
    void complete(const Transaction& t, std::span<const RecipientResult> results,
                  std::vector<RecipientDecision>& out);

    void report_connect_failure(DestinationId destination);
    void report_success(DestinationId destination);

    // Moves due deferred recipients to ready, ends down windows, and appends delay warnings
    // and lifetime expiries to `out`. Call on every loop tick or timer expiry.
    void advance(std::vector<Notice>& out);
    // Monotonic time of the earliest pending timer, UINT64_MAX if none.
    uint64_t next_wakeup_ms() const;

    // Operator actions. cancel: forget the message (delete/bounce); in-flight transactions of
    // it complete as no-ops. flush: its deferred recipients become ready now.
    bool cancel(uint64_t queue_id);
    bool flush(uint64_t queue_id);
    // flush for a destination: its down window (if any) ends now, so it probes at once.
    void wake(DestinationId destination);

    // Queries.
    size_t message_count() const { return by_id_.size(); }
    std::optional<RecipientView> find_recipient(uint64_t queue_id, uint32_t index) const;
    DestinationStats stats(DestinationId destination) const;
    std::vector<DestinationStats> all_stats() const;
    std::vector<ShapeRow> shape(std::span<const uint32_t> bounds_s) const;  // O(recipients)

private:
    struct Slot {
        uint64_t due_ms = 0;        // deferred: next attempt
        uint32_t index = 0;         // envelope index
        DestinationId destination = 0;
        uint32_t run_begin = 0;     // slots [run_begin, run_end) share this destination
        uint32_t run_end = 0;
        uint32_t attempts = 0;
        uint32_t generation = 0;    // bumped on every phase change: stale timers are skipped
        RecipientPhase phase = RecipientPhase::ready;
        bool run_queued = false;    // in slots[run_begin]: the run is in the ready queue
    };
    struct Message {
        uint64_t queue_id = 0;
        uint64_t arrival_us = 0;
        uint64_t deadline_ms = 0;
        uint32_t epoch = 0;
        uint32_t open = 0;          // recipients not final
        bool live = false;
        bool warned = false;
        std::vector<Slot> slots;    // sorted by (destination, index)
    };
    struct ReadyItem {
        uint32_t message;
        uint32_t epoch;
        uint32_t run_begin;
    };
    struct Destination {
        DestinationKey key;
        DestinationConfig config;
        DestinationHealth health;
        std::deque<ReadyItem> ready;  // runs in the order they became ready; stale ones skipped
        uint32_t ready_count = 0;
        uint32_t deferred_count = 0;
        uint32_t in_flight_count = 0;
        uint32_t transactions_in_flight = 0;
        bool active = false;          // listed in active_
    };
    enum class TimerKind : uint8_t { recipient_due, destination_wake, delay_warning, expiry };
    struct Timer {
        uint64_t at_ms;
        TimerKind kind;   // at equal times recipients come due before an expiry check
        uint32_t a;       // message slot, or destination
        uint32_t epoch;
        uint32_t slot;
        uint32_t generation;
    };
    struct TimerLater {
        bool operator()(const Timer& x, const Timer& y) const {
            return x.at_ms != y.at_ms ? x.at_ms > y.at_ms : x.kind > y.kind;
        }
    };
    struct KeyHash {
        size_t operator()(const DestinationKey& k) const;
    };

    uint64_t to_monotonic_ms(uint64_t wall_us) const;
    Message* live_message(uint32_t slot, uint32_t epoch);
    uint32_t allocate_message();
    void release_message(Message& m);
    void push_timer(const Timer& t);
    void make_ready(Message& m, uint32_t message_slot, Slot& s);
    void make_deferred(Message& m, uint32_t message_slot, Slot& s, uint64_t due_ms);
    void finish(Message& m, Slot& s, RecipientPhase final_phase);
    void activate(DestinationId id);
    bool take_run(Destination& d, const ReadyItem& item, uint32_t max, Transaction& t);
    Slot* find_slot(Message& m, DestinationId destination, uint32_t index);
    void warn_delay(Message& m, std::vector<Notice>& out);
    void check_expiry(Message& m, uint32_t message_slot, std::vector<Notice>& out);

    SchedulerConfig config_;
    RetryPolicy retry_;
    const base::Clock& clock_;
    JitterSource& jitter_;
    std::vector<Message> messages_;
    std::vector<uint32_t> free_messages_;
    std::unordered_map<uint64_t, uint32_t> by_id_;
    std::vector<Destination> destinations_;
    std::unordered_map<DestinationKey, DestinationId, KeyHash> destination_ids_;
    std::deque<DestinationId> active_;  // destinations that may start a transaction
    std::vector<Timer> timers_;         // min-heap by (at_ms, kind)
};

}  // namespace ringmta::queue
