// Scheduler internals: message slots reused through a free list (their slot vectors keep their
// capacity), lazy deletion everywhere (ready items and timers carry the epoch and generation
// they were made for, and a stale one is dropped when met), one heap for every kind of timer.
#include "queue/scheduler.hh"

#include <algorithm>
#include <functional>

namespace ringmta::queue {

const char* verdict_name(Verdict verdict) {
    switch (verdict) {
        case Verdict::delivered: return "delivered";
        case Verdict::failed: return "failed";
        case Verdict::retry: return "retry";
        case Verdict::expired: return "expired";
        case Verdict::requeued: return "requeued";
    }
    return "?";
}

const char* recipient_phase_name(RecipientPhase phase) {
    switch (phase) {
        case RecipientPhase::ready: return "ready";
        case RecipientPhase::deferred: return "deferred";
        case RecipientPhase::in_flight: return "in_flight";
        case RecipientPhase::delivered: return "delivered";
        case RecipientPhase::failed: return "failed";
    }
    return "?";
}

size_t Scheduler::KeyHash::operator()(const DestinationKey& k) const {
    return std::hash<std::string>()(k.next_hop) * 31 + k.connector;
}

Scheduler::Scheduler(const SchedulerConfig& config, const base::Clock& clock,
                     JitterSource& jitter)
    : config_(config), retry_(config.retry), clock_(clock), jitter_(jitter) {
    by_id_.reserve(std::min<size_t>(config.messages_max, 65536));
}

DestinationId Scheduler::destination(const DestinationKey& key, const DestinationConfig& config) {
    MTA_ASSERT(config.connections_max > 0 && config.recipients_per_transaction_max > 0);
    auto [it, inserted] = destination_ids_.emplace(key, DestinationId(destinations_.size()));
    if (inserted) {
        destinations_.emplace_back();
        destinations_.back().key = key;
    }
    destinations_[it->second].config = config;
    activate(it->second);  // a larger connections_max may let it start more now
    return it->second;
}

uint64_t Scheduler::to_monotonic_ms(uint64_t wall_us) const {
    uint64_t wall_now = clock_.wall_us();
    return clock_.now_ms() + (wall_us > wall_now ? (wall_us - wall_now + 999) / 1000 : 0);
}

Scheduler::Message* Scheduler::live_message(uint32_t slot, uint32_t epoch) {
    Message& m = messages_[slot];
    return m.live && m.epoch == epoch ? &m : nullptr;
}

uint32_t Scheduler::allocate_message() {
    if (!free_messages_.empty()) {
        uint32_t slot = free_messages_.back();
        free_messages_.pop_back();
        return slot;
    }
    messages_.emplace_back();
    return uint32_t(messages_.size() - 1);
}

void Scheduler::release_message(Message& m) {
    by_id_.erase(m.queue_id);
    m.live = false;
    ++m.epoch;  // every ready item and timer still naming this slot is now stale
    m.slots.clear();
    free_messages_.push_back(uint32_t(&m - messages_.data()));
}

void Scheduler::push_timer(const Timer& t) {
    timers_.push_back(t);
    std::push_heap(timers_.begin(), timers_.end(), TimerLater());
}

base::Result<void> Scheduler::submit(uint64_t queue_id, uint64_t arrival_us,
                                     std::span<const SubmitRecipient> recipients) {
    if (by_id_.count(queue_id)) return base::make_error(base::Errc::invalid, "duplicate queue id");
    if (by_id_.size() >= config_.messages_max) {
        return base::make_error(base::Errc::no_space, "scheduler full");
    }
    if (recipients.empty()) return {};
    uint32_t slot_index = allocate_message();
    by_id_.emplace(queue_id, slot_index);
    Message& m = messages_[slot_index];
    m.queue_id = queue_id;
    m.arrival_us = arrival_us;
    m.deadline_ms = to_monotonic_ms(retry_.deadline_us(arrival_us));
    m.open = uint32_t(recipients.size());
    m.live = true;
    m.warned = false;
    m.slots.resize(recipients.size());
    for (size_t i = 0; i < recipients.size(); ++i) {
        MTA_ASSERT(recipients[i].destination < destinations_.size());
        Slot& s = m.slots[i];
        s = Slot{};
        s.index = recipients[i].index;
        s.destination = recipients[i].destination;
        s.attempts = recipients[i].attempts;
        s.due_ms = recipients[i].next_attempt_us;  // wall for now; converted below
    }
    // Grouping: one sort per message puts each destination's recipients in one run.
    std::sort(m.slots.begin(), m.slots.end(), [](const Slot& x, const Slot& y) {
        return x.destination != y.destination ? x.destination < y.destination : x.index < y.index;
    });
    uint64_t wall_now = clock_.wall_us();
    for (uint32_t begin = 0, end = 0; begin < m.slots.size(); begin = end) {
        while (end < m.slots.size() && m.slots[end].destination == m.slots[begin].destination) {
            ++end;
        }
        for (uint32_t i = begin; i < end; ++i) {
            Slot& s = m.slots[i];
            s.run_begin = begin;
            s.run_end = end;
            uint64_t next_us = s.due_ms;
            s.phase = RecipientPhase::failed;  // neither ready nor deferred: counted below
            if (next_us > wall_now) {
                make_deferred(m, slot_index, s, to_monotonic_ms(next_us));
            } else {
                make_ready(m, slot_index, s);
            }
        }
    }
    push_timer(Timer{m.deadline_ms, TimerKind::expiry, slot_index, m.epoch, 0, 0});
    if (uint64_t warn_us = retry_.delay_warning_at_us(arrival_us)) {
        push_timer(Timer{to_monotonic_ms(warn_us), TimerKind::delay_warning, slot_index, m.epoch,
                         0, 0});
    }
    return {};
}

// Phase changes keep the destination counters exact; each leaves the old phase's counter.
void Scheduler::make_ready(Message& m, uint32_t message_slot, Slot& s) {
    Destination& d = destinations_[s.destination];
    if (s.phase == RecipientPhase::deferred) --d.deferred_count;
    if (s.phase == RecipientPhase::in_flight) --d.in_flight_count;
    s.phase = RecipientPhase::ready;
    ++s.generation;
    ++d.ready_count;
    Slot& head = m.slots[s.run_begin];
    if (head.run_queued) return;
    head.run_queued = true;
    d.ready.push_back(ReadyItem{message_slot, m.epoch, s.run_begin});
    activate(s.destination);
}

void Scheduler::make_deferred(Message& m, uint32_t message_slot, Slot& s, uint64_t due_ms) {
    Destination& d = destinations_[s.destination];
    if (s.phase == RecipientPhase::in_flight) --d.in_flight_count;
    s.phase = RecipientPhase::deferred;
    ++s.generation;
    s.due_ms = due_ms;
    ++d.deferred_count;
    push_timer(Timer{due_ms, TimerKind::recipient_due, message_slot, m.epoch,
                     uint32_t(&s - m.slots.data()), s.generation});
}

void Scheduler::finish(Message& m, Slot& s, RecipientPhase final_phase) {
    Destination& d = destinations_[s.destination];
    if (s.phase == RecipientPhase::ready) --d.ready_count;
    if (s.phase == RecipientPhase::deferred) --d.deferred_count;
    if (s.phase == RecipientPhase::in_flight) --d.in_flight_count;
    s.phase = final_phase;
    ++s.generation;
    MTA_ASSERT(m.open > 0);
    --m.open;
}

void Scheduler::activate(DestinationId id) {
    Destination& d = destinations_[id];
    if (d.active || d.ready.empty()) return;
    auto gate = d.health.gate(clock_.now_ms(), d.transactions_in_flight, d.config.connections_max);
    if (gate == DestinationHealth::Gate::closed) return;
    d.active = true;
    active_.push_back(id);
}

// Moves up to `max` ready recipients of one run into `t`; true if ready ones remain after.
bool Scheduler::take_run(Destination& d, const ReadyItem& item, uint32_t max, Transaction& t) {
    Message& m = messages_[item.message];
    for (uint32_t i = item.run_begin; i < m.slots[item.run_begin].run_end; ++i) {
        Slot& s = m.slots[i];
        if (s.phase != RecipientPhase::ready) continue;
        if (t.recipients.size() == max) return true;
        s.phase = RecipientPhase::in_flight;
        ++s.generation;
        --d.ready_count;
        ++d.in_flight_count;
        t.recipients.push_back(s.index);
    }
    return false;
}

std::optional<Transaction> Scheduler::next_ready(DestinationId id) {
    MTA_ASSERT(id < destinations_.size());
    Destination& d = destinations_[id];
    auto gate = d.health.gate(clock_.now_ms(), d.transactions_in_flight, d.config.connections_max);
    if (gate == DestinationHealth::Gate::closed) return std::nullopt;
    while (!d.ready.empty()) {
        ReadyItem item = d.ready.front();
        d.ready.pop_front();
        Message* m = live_message(item.message, item.epoch);
        if (!m) continue;
        m->slots[item.run_begin].run_queued = false;
        Transaction t;
        bool more = take_run(d, item, d.config.recipients_per_transaction_max, t);
        if (more) {
            // The rest of the run goes next, keeping the queue in arrival order.
            m->slots[item.run_begin].run_queued = true;
            d.ready.push_front(item);
        }
        if (t.recipients.empty()) continue;
        t.queue_id = m->queue_id;
        t.destination = id;
        t.probe = gate == DestinationHealth::Gate::probe;
        t.message_slot = item.message;
        t.message_epoch = item.epoch;
        if (t.probe) d.health.start_probe();
        ++d.transactions_in_flight;
        return t;
    }
    return std::nullopt;
}

std::optional<Transaction> Scheduler::next() {
    while (!active_.empty()) {
        DestinationId id = active_.front();
        active_.pop_front();
        destinations_[id].active = false;
        std::optional<Transaction> t = next_ready(id);
        if (t) {
            activate(id);  // to the back of the line: round robin between destinations
            return t;
        }
    }
    return std::nullopt;
}

Scheduler::Slot* Scheduler::find_slot(Message& m, DestinationId destination, uint32_t index) {
    auto it = std::lower_bound(m.slots.begin(), m.slots.end(), std::pair(destination, index),
                               [](const Slot& s, const std::pair<DestinationId, uint32_t>& key) {
                                   return std::pair(s.destination, s.index) < key;
                               });
    MTA_ASSERT(it != m.slots.end() && it->destination == destination && it->index == index);
    return &*it;
}

void Scheduler::complete(const Transaction& t, std::span<const RecipientResult> results,
                         std::vector<RecipientDecision>& out) {
    MTA_ASSERT(results.size() == t.recipients.size());
    MTA_ASSERT(t.destination < destinations_.size());
    out.clear();
    Destination& d = destinations_[t.destination];
    MTA_ASSERT(d.transactions_in_flight > 0);
    --d.transactions_in_flight;
    // A probe that produced results connected: unless the caller said otherwise already.
    if (t.probe && d.health.state() == DestinationHealth::State::probing) {
        d.health.succeeded(d.config.connections_max);
    }
    Message* m = live_message(t.message_slot, t.message_epoch);
    if (m) {
        uint64_t wall_now = clock_.wall_us();
        std::optional<std::pair<uint32_t, RetryDecision>> shared;  // one jitter per attempt count
        for (size_t i = 0; i < results.size(); ++i) {
            Slot& s = *find_slot(*m, t.destination, t.recipients[i]);
            MTA_ASSERT(s.phase == RecipientPhase::in_flight);
            RecipientDecision decision{s.index, Verdict::requeued, s.attempts, 0};
            switch (results[i]) {
                case RecipientResult::delivered:
                    decision.attempts = ++s.attempts;
                    decision.verdict = Verdict::delivered;
                    finish(*m, s, RecipientPhase::delivered);
                    break;
                case RecipientResult::failed:
                    decision.attempts = ++s.attempts;
                    decision.verdict = Verdict::failed;
                    finish(*m, s, RecipientPhase::failed);
                    break;
                case RecipientResult::not_attempted:
                    make_ready(*m, t.message_slot, s);
                    break;
                case RecipientResult::deferred: {
                    decision.attempts = ++s.attempts;
                    // Recipients deferred together stay together: they share one retry time.
                    if (!shared || shared->first != s.attempts) {
                        shared.emplace(s.attempts, retry_.after_deferral(m->arrival_us, wall_now,
                                                                         s.attempts, jitter_));
                    }
                    const RetryDecision& rd = shared->second;
                    if (rd.expired || clock_.now_ms() >= m->deadline_ms) {
                        decision.verdict = Verdict::expired;
                        finish(*m, s, RecipientPhase::failed);
                    } else {
                        decision.verdict = Verdict::retry;
                        decision.next_attempt_us = rd.next_attempt_us;
                        uint64_t due_ms = to_monotonic_ms(rd.next_attempt_us);
                        make_deferred(*m, t.message_slot, s, std::min(due_ms, m->deadline_ms));
                    }
                    break;
                }
            }
            out.push_back(decision);
        }
        if (m->open == 0) release_message(*m);
    }
    activate(t.destination);
}

void Scheduler::report_connect_failure(DestinationId id) {
    MTA_ASSERT(id < destinations_.size());
    Destination& d = destinations_[id];
    if (d.health.connect_failed(clock_.now_ms(), config_.health)) {
        push_timer(Timer{d.health.down_until_ms(), TimerKind::destination_wake, id, 0, 0, 0});
    }
}

void Scheduler::report_success(DestinationId id) {
    MTA_ASSERT(id < destinations_.size());
    Destination& d = destinations_[id];
    d.health.succeeded(d.config.connections_max);
    activate(id);
}

void Scheduler::advance(std::vector<Notice>& out) {
    uint64_t now = clock_.now_ms();
    while (!timers_.empty() && timers_.front().at_ms <= now) {
        std::pop_heap(timers_.begin(), timers_.end(), TimerLater());
        Timer t = timers_.back();
        timers_.pop_back();
        if (t.kind == TimerKind::destination_wake) {
            activate(t.a);
            continue;
        }
        Message* m = live_message(t.a, t.epoch);
        if (!m) continue;
        switch (t.kind) {
            case TimerKind::recipient_due: {
                Slot& s = m->slots[t.slot];
                if (s.generation == t.generation && s.phase == RecipientPhase::deferred) {
                    make_ready(*m, t.a, s);
                }
                break;
            }
            case TimerKind::delay_warning: warn_delay(*m, out); break;
            case TimerKind::expiry: check_expiry(*m, t.a, out); break;
            case TimerKind::destination_wake: break;
        }
    }
}

void Scheduler::warn_delay(Message& m, std::vector<Notice>& out) {
    if (m.warned) return;
    m.warned = true;
    Notice notice{Notice::Kind::delay_warning, m.queue_id, {}};
    for (const Slot& s : m.slots) {
        if (s.phase != RecipientPhase::delivered && s.phase != RecipientPhase::failed) {
            notice.recipients.push_back(s.index);
        }
    }
    std::sort(notice.recipients.begin(), notice.recipients.end());
    out.push_back(std::move(notice));
}

// The lifetime is over. Recipients waiting on a timer or held behind a closed destination fail
// now; ones about to be tried (ready on an open destination, or in flight) get that last try,
// and are checked again a retry interval later (complete() expires them if deferred again).
void Scheduler::check_expiry(Message& m, uint32_t message_slot, std::vector<Notice>& out) {
    uint64_t now = clock_.now_ms();
    Notice notice{Notice::Kind::expired, m.queue_id, {}};
    bool recheck = false;
    for (Slot& s : m.slots) {
        bool expire = s.phase == RecipientPhase::deferred;
        if (s.phase == RecipientPhase::ready) {
            const Destination& d = destinations_[s.destination];
            expire = d.health.state() != DestinationHealth::State::up;
            recheck |= !expire;
        }
        recheck |= s.phase == RecipientPhase::in_flight;
        if (!expire) continue;
        finish(m, s, RecipientPhase::failed);
        notice.recipients.push_back(s.index);
    }
    if (!notice.recipients.empty()) {
        std::sort(notice.recipients.begin(), notice.recipients.end());
        out.push_back(std::move(notice));
    }
    if (m.open == 0) {
        release_message(m);
    } else if (recheck) {
        push_timer(Timer{now + uint64_t(config_.retry.initial_s) * 1000, TimerKind::expiry,
                         message_slot, m.epoch, 0, 0});
    }
}

uint64_t Scheduler::next_wakeup_ms() const {
    return timers_.empty() ? UINT64_MAX : timers_.front().at_ms;
}

bool Scheduler::cancel(uint64_t queue_id) {
    auto it = by_id_.find(queue_id);
    if (it == by_id_.end()) return false;
    Message& m = messages_[it->second];
    for (Slot& s : m.slots) {
        if (s.phase != RecipientPhase::delivered && s.phase != RecipientPhase::failed) {
            finish(m, s, RecipientPhase::failed);
        }
    }
    release_message(m);
    return true;
}

bool Scheduler::flush(uint64_t queue_id) {
    auto it = by_id_.find(queue_id);
    if (it == by_id_.end()) return false;
    Message& m = messages_[it->second];
    for (Slot& s : m.slots) {
        if (s.phase == RecipientPhase::deferred) make_ready(m, it->second, s);
    }
    return true;
}

void Scheduler::wake(DestinationId id) {
    MTA_ASSERT(id < destinations_.size());
    destinations_[id].health.end_down_window(clock_.now_ms());
    activate(id);
}

std::optional<RecipientView> Scheduler::find_recipient(uint64_t queue_id, uint32_t index) const {
    auto it = by_id_.find(queue_id);
    if (it == by_id_.end()) return std::nullopt;
    for (const Slot& s : messages_[it->second].slots) {
        if (s.index != index) continue;
        return RecipientView{s.phase, s.destination, s.attempts,
                             s.phase == RecipientPhase::deferred ? s.due_ms : 0};
    }
    return std::nullopt;
}

DestinationStats Scheduler::stats(DestinationId id) const {
    MTA_ASSERT(id < destinations_.size());
    const Destination& d = destinations_[id];
    return DestinationStats{id,
                            &d.key,
                            d.health.state(),
                            d.health.down_until_ms(),
                            d.health.consecutive_failures(),
                            d.ready_count,
                            d.deferred_count,
                            d.in_flight_count,
                            d.transactions_in_flight};
}

std::vector<DestinationStats> Scheduler::all_stats() const {
    std::vector<DestinationStats> out;
    out.reserve(destinations_.size());
    for (DestinationId id = 0; id < destinations_.size(); ++id) out.push_back(stats(id));
    return out;
}

std::vector<ShapeRow> Scheduler::shape(std::span<const uint32_t> bounds_s) const {
    std::vector<ShapeRow> rows(destinations_.size());
    for (DestinationId id = 0; id < rows.size(); ++id) {
        rows[id].destination = id;
        rows[id].counts.assign(bounds_s.size() + 1, 0);
    }
    uint64_t wall_now = clock_.wall_us();
    for (const Message& m : messages_) {
        if (!m.live) continue;
        uint64_t age_s = wall_now > m.arrival_us ? (wall_now - m.arrival_us) / 1'000'000 : 0;
        size_t bucket = size_t(std::upper_bound(bounds_s.begin(), bounds_s.end(), age_s) -
                               bounds_s.begin());
        for (const Slot& s : m.slots) {
            if (s.phase != RecipientPhase::delivered && s.phase != RecipientPhase::failed) {
                ++rows[s.destination].counts[bucket];
            }
        }
    }
    return rows;
}

}  // namespace ringmta::queue
