// The delivery loop of one shard. Every recipient result goes through complete(): scheduler
// verdict → journal record → index → log line → DSN. Message content is kept in a bounded
// per-shard cache from acceptance on, and read back from the spool when it has been evicted.
#include "mta/server/delivery.hh"

#include <unistd.h>

#include <cstdio>
#include <random>

#include "mta/base/log.hh"
#include "mta/server/connection_budget.hh"
#include "mta/server/destination_pool.hh"
#include "mta/smtp/received_header.hh"
#include "queue/dsn.hh"
#include "queue/message_record.hh"
#include "queue/segment_planner.hh"
#include "router/domain_name.hh"

namespace ringmta::server {

namespace {

queue::SchedulerConfig scheduler_config(const config::Config& c, size_t messages_max) {
    queue::SchedulerConfig s;
    s.retry.initial_s = c.delivery.retry.initial_s;
    s.retry.max_s = c.delivery.retry.max_s;
    s.retry.queue_lifetime_s = c.delivery.queue_lifetime_s;
    s.retry.delay_warning_s = c.delivery.delay_warning_s;
    // A destination that refuses connections is left alone for a while (60 s doubling to
    // 10 min by default), but never longer than the retry schedule would wait anyway.
    s.health.down_initial_s = std::min<uint32_t>(s.health.down_initial_s, c.delivery.retry.initial_s);
    s.health.down_max_s = std::max(s.health.down_initial_s,
                                   std::min<uint32_t>(s.health.down_max_s, c.delivery.retry.max_s));
    s.messages_max = messages_max;
    return s;
}

// "host mx[1.2.3.4] said: 550 5.1.1 no (in reply to RCPT TO command)" → "550 5.1.1 no"
std::string remote_reply(const std::string& diagnostic) {
    size_t said = diagnostic.find(" said: ");
    if (said == std::string::npos) return {};
    std::string reply = diagnostic.substr(said + 7);
    size_t tail = reply.rfind(" (in reply to ");
    if (tail != std::string::npos) reply.resize(tail);
    return reply;
}

// Postfix's delays= number: seconds with at most two decimals, trailing zeros dropped, so
// 0.004 is "0", 0.1 is "0.1" and 12 is "12".
std::string delays_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", s < 0 ? 0.0 : s);
    std::string out = buf;
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
    return out;
}

std::string remote_host(const std::string& relay) {
    size_t bracket = relay.find('[');
    return bracket == std::string::npos ? std::string() : relay.substr(0, bracket);
}

// The one rule listings, summaries and metrics share: recipients ready for a destination that
// is down are deferred ("delivery temporarily suspended", as Postfix shows them).
bool suspended(const queue::DestinationStats& d) {
    return d.state == queue::DestinationHealth::State::down;
}

}  // namespace

struct Delivery::Loading {
    engine::SpoolRead read;
    Delivery* delivery = nullptr;
    std::vector<std::function<void(LoadedMessage*)>> waiters;
};

struct Delivery::BounceWrite {
    queue::DsnMessage dsn;
    engine::SpoolAppend append;
    uint64_t original_queue_id = 0;
    bool delay_warning = false;  // a delay notice (RFC 3464 action "delayed"), not a bounce
    bool success = false;        // a success notice (NOTIFY=SUCCESS: "relayed")
};

Delivery::Delivery(Deps deps, std::shared_ptr<const config::Config> config)
    : deps_(deps), config_(std::move(config)), jitter_(std::random_device{}()),
      scheduler_(scheduler_config(*config_, deps.index->capacity()), clock_, jitter_) {
    // Half of the message memory budget, split across shards, keeps recently accepted content
    // for delivery; the rest of the time content is read back from the spool.
    cache_bytes_max_ = config_->limits.memory_max / 2 / std::max(1u, deps_.shard_count);
    MTA_ASSERT(deps_.connections != nullptr);
}

Delivery::~Delivery() = default;

void Delivery::describe_held(queue::QueuedMessage& message) const {
    uint64_t now_ms = base::monotonic_ms();
    for (uint32_t i = 0; i < message.recipients.size(); ++i) {
        queue::RecipientStatus& r = message.recipients[i];
        if (r.state != queue::RecipientState::pending) continue;
        auto view = scheduler_.find_recipient(message.queue_id, i);
        if (!view || view->phase != queue::RecipientPhase::ready) continue;
        queue::DestinationStats d = scheduler_.stats(view->destination);
        if (!suspended(d)) continue;
        r.state = queue::RecipientState::deferred;
        r.next_attempt_us = base::realtime_us() +
                            (d.down_until_ms > now_ms ? d.down_until_ms - now_ms : 0) * 1000;
        r.diagnostic = "delivery temporarily suspended: the destination is not reachable";
    }
}

void Delivery::pool_gauges(uint64_t* open, uint64_t* idle) const {
    for (const auto& [id, pool] : pools_) {
        *open += pool->sessions();
        *idle += pool->idle_sessions();
    }
}

void Delivery::queue_depth(std::vector<std::pair<std::string, std::string>>* keys,
                           std::vector<uint64_t>* counts) const {
    for (const queue::DestinationStats& d : scheduler_.all_stats()) {
        std::string connector = d.key ? d.key->next_hop.substr(0, d.key->next_hop.find('#')) : "?";
        uint32_t ready = suspended(d) ? 0 : d.ready;
        uint32_t deferred = d.deferred + (suspended(d) ? d.ready : 0);
        const std::pair<const char*, uint32_t> states[] = {
            {"ready", ready}, {"deferred", deferred}, {"in_flight", d.in_flight}};
        for (const auto& [state, n] : states) {
            keys->emplace_back(connector, state);
            counts->push_back(n);
        }
    }
}

void Delivery::set_config(std::shared_ptr<const config::Config> config) { config_ = std::move(config); }

SSL_CTX* Delivery::tls_context(bool verify, const std::string& ca_file) {
    std::string key = verify ? "verify:" + ca_file : "plain";
    auto it = tls_contexts_.find(key);
    if (it == tls_contexts_.end()) {
        auto ctx = std::make_unique<tls::TlsContext>();
        if (auto r = ctx->init_client(verify, ca_file); !r) {
            MTA_LOG_ERROR("TLS client context: %s", r.error().message.c_str());
            return nullptr;
        }
        it = tls_contexts_.emplace(key, std::move(ctx)).first;
    }
    return it->second->raw();
}

void Delivery::start() {
    std::vector<uint64_t> ids;
    deps_.index->for_each([&](const queue::QueuedMessage& m) { ids.push_back(m.queue_id); });
    std::sort(ids.begin(), ids.end());
    for (uint64_t id : ids)
        if (const queue::QueuedMessage* m = deps_.index->find(id); m && !m->held) admit(*m);
    if (!ids.empty()) MTA_LOG_INFO("shard %u: %zu queued messages scheduled for delivery",
                                   deps_.shard->index(), ids.size());
}

void Delivery::admit_new(const engine::SpoolAppend& append) {
    cache_put(append);
    if (const queue::QueuedMessage* m = deps_.index->find(append.envelope->queue_id)) admit(*m);
}

DestinationPool& Delivery::pool(queue::DestinationId id) { return *pools_.at(id); }

std::optional<queue::DestinationId> Delivery::destination_for(const router::RouteTable& table,
                                                              std::string_view address,
                                                              uint64_t size, std::string* why) {
    std::string_view domain = router::domain_of_address(address);
    router::Route route = deps_.route_cache->lookup(table, domain, size);
    if (!route.found()) {
        *why = router::no_route_text(route.no_route);
        return std::nullopt;
    }
    const router::Connector& connector = table.connector(route.connector);
    queue::DestinationKey key;
    key.connector = route.connector;
    // The table generation is part of the key: after a reload, new mail goes through pools
    // built from the new connector settings while the old pools finish what they hold (and
    // reroute_queue() moves the queued recipients over).
    key.next_hop = connector.spec.name + "#" + std::to_string(table.generation());
    std::string mx_domain;
    if (connector.spec.dns_routing) {
        router::DomainBuffer normalised;
        router::normalize_domain(domain, normalised);
        mx_domain = std::string(normalised.view());
        key.next_hop += "/" + mx_domain;
    }
    // max_connections_per_host is one budget across shards; the generation is not part of its
    // key, so pools from before a reload count against the same cap.
    queue::DestinationConfig dc;
    dc.connections_max = std::max(1u, connector.spec.pool.max_connections_per_host);
    dc.recipients_per_transaction_max = config_->delivery.recipients_per_transaction_max;
    queue::DestinationId id = scheduler_.destination(key, dc);
    if (!pools_.count(id)) {
        std::string budget_key = connector.spec.name + (mx_domain.empty() ? "" : "/" + mx_domain);
        ConnectionBudget::Slot& slot = deps_.connections->slot(budget_key, dc.connections_max);
        pools_.emplace(id, std::make_unique<DestinationPool>(*this, id, connector, mx_domain,
                                                             dc.connections_max, slot,
                                                             table.generation()));
    }
    return id;
}

void Delivery::admit(const queue::QueuedMessage& m) {
    const router::RouteTable& table = deps_.routes->refresh();
    const uint64_t id = m.queue_id;
    std::vector<queue::SubmitRecipient> submit;
    std::vector<queue::DsnRecipient> unroutable;
    std::vector<uint32_t> unroutable_attempts;
    for (uint32_t i = 0; i < m.recipients.size(); ++i) {
        const queue::RecipientStatus& r = m.recipients[i];
        if (queue::is_final(r.state)) continue;
        std::string why;
        auto dest = destination_for(table, r.address, m.size_bytes, &why);
        if (!dest) {
            // Exchange answers an unroutable recipient with 5.4.4; it can never succeed as
            // configured, so it fails now rather than after the queue lifetime.
            std::string text = "no route to <" + r.address + ">: " + why;
            // Logged before the journal entry, whose "removed" line must come last.
            MTA_LOG_EVENT(queue::format_queue_id(id), "bounced",
                          "to=<%s>, relay=none, dsn=5.4.4, status=bounced (%s)", r.address.c_str(),
                          text.c_str());
            queue::DsnRecipient d;
            d.index = i;
            d.status = "5.4.4";
            d.reason = text;
            unroutable.push_back(d);
            unroutable_attempts.push_back(r.attempts);
            ++stats_.failed;
            continue;
        }
        submit.push_back({i, *dest, r.attempts, r.next_attempt_us});
    }
    if (!submit.empty()) {
        auto r = scheduler_.submit(id, m.arrival_us, submit);
        if (!r)
            MTA_LOG_EVENT_ERROR(queue::format_queue_id(id), "scheduler", "scheduler: %s",
                                r.error().message.c_str());
    }
    if (unroutable.empty()) return;
    // The DSN reads the message before the failures are journaled: the last one makes the
    // message final, which drops it from the index and the content cache (and `m` may be the
    // index's own entry: not touched after this point).
    std::vector<std::pair<uint32_t, std::string>> failures;
    for (const auto& d : unroutable) failures.emplace_back(d.index, "5.4.4 " + d.reason);
    bounce_later(id, std::move(unroutable));
    for (size_t k = 0; k < failures.size(); ++k)
        journal(id, failures[k].first, queue::Outcome::failed, unroutable_attempts[k], 0,
                failures[k].second, "5.4.4");
}

bool Delivery::on_tick() {
    const router::RouteTable& table = deps_.routes->refresh();
    if (table.generation() != routed_generation_) {
        bool reloaded = routed_generation_ != 0;
        routed_generation_ = table.generation();
        if (reloaded) reroute_queue();
    }
    if (!slot_waiters_.empty()) {
        std::vector<DestinationPool*> waiting(slot_waiters_.begin(), slot_waiters_.end());
        for (DestinationPool* pool : waiting) pool->retry_slot();  // may leave the set
    }
    notices_.clear();
    scheduler_.advance(notices_);
    for (const auto& n : notices_) on_notice(n);
    if (!deps_.shard->stopping()) {
        while (auto t = scheduler_.next()) pool(t->destination).enqueue(*t);
    }
    return false;
}

void Delivery::on_second() {
    for (auto& [id, pool] : pools_) pool->on_second();
}

void Delivery::journal(uint64_t queue_id, uint32_t index, queue::Outcome outcome,
                       uint32_t attempts, uint64_t next_attempt_us, const std::string& diagnostic,
                       const std::string& status, const std::string& connector,
                       const std::string& relay) {
    queue::OutcomeRecord record{queue_id, index, outcome, attempts, next_attempt_us, diagnostic};
    record.attempt_us = base::realtime_us();
    record.status = status;
    record.connector = connector;
    record.relay = relay == "none" ? std::string() : relay;
    deps_.spool->append_outcome(record);
    if (deps_.index->apply(record, status) == queue::QueueIndex::Applied::message_final) {
        // The one place a message leaves the queue, so its "removed" line is written once.
        MTA_LOG_EVENT(queue::format_queue_id(queue_id), "removed", "removed");
        message_final(queue_id);
    }
}

void Delivery::complete(const queue::Transaction& t, std::span<const queue::RecipientResult> results,
                        std::span<const std::string> diagnostics,
                        std::span<const std::string> statuses, const std::string& relay,
                        const LoadedMessage* message, const AttemptTimes& attempt) {
    scheduler_.complete(t, results, decisions_);
    const queue::QueuedMessage* qm = deps_.index->find(t.queue_id);
    std::string id = queue::format_queue_id(t.queue_id);
    if (decisions_.empty() && qm != nullptr && qm->held) {
        // Put on hold while this transaction ran. What was delivered is journaled, so that
        // `queue release` does not send it twice; anything else is tried again on release.
        for (size_t i = 0; i < t.recipients.size() && i < results.size(); ++i) {
            if (results[i] != queue::RecipientResult::delivered) continue;
            uint32_t index = t.recipients[i];
            const uint32_t attempts = qm->recipients[index].attempts + 1;
            MTA_LOG_EVENT(id, "delivered", "to=<%s>, relay=%s, dsn=2.0.0, status=sent (%s), while on hold",
                          qm->recipients[index].address.c_str(), relay.c_str(),
                          diagnostics[i].c_str());
            ++stats_.delivered;
            journal(t.queue_id, index, queue::Outcome::delivered, attempts, 0, diagnostics[i],
                    "2.0.0", connector_of(*qm, index), relay);
            qm = deps_.index->find(t.queue_id);
            if (qm == nullptr) break;
        }
        return;
    }
    double delay_s = qm ? double(base::realtime_us() - qm->arrival_us) / 1e6 : 0.0;
    const queue::DestinationKey* key = scheduler_.stats(t.destination).key;
    std::string connector = key ? key->next_hop.substr(0, key->next_hop.find('#')) : "?";
    // delays=a/b/c/d: a is what delay= holds beyond this attempt's own b, c and d (the time
    // in the queue and waiting in the pool), so the four add up to delay=.
    double measured_s = attempt.connect_s + attempt.setup_s + attempt.transfer_s;
    std::string delays = delays_text(delay_s - measured_s) + "/" +
                         delays_text(attempt.connect_s) + "/" + delays_text(attempt.setup_s) +
                         "/" + delays_text(attempt.transfer_s);
    std::vector<queue::DsnRecipient> bounces, successes;
    uint64_t now_us = base::realtime_us();
    for (const queue::RecipientDecision& d : decisions_) {
        size_t pos = 0;
        while (pos < t.recipients.size() && t.recipients[pos] != d.index) ++pos;
        if (pos == t.recipients.size()) continue;
        const std::string& diagnostic = diagnostics[pos];
        const std::string& status = statuses[pos];
        std::string address = qm && d.index < qm->recipients.size() ? qm->recipients[d.index].address
                                                                     : std::string("?");
        // The attempt's line goes out before journal() can log the message "removed".
        const char* verdict = "deferred";  // the Postfix status= word
        const char* event = "deferred";
        switch (d.verdict) {
            case queue::Verdict::delivered:
                verdict = "sent";
                event = "delivered";
                break;
            case queue::Verdict::failed:
            case queue::Verdict::expired: verdict = event = "bounced"; break;
            case queue::Verdict::retry: break;
            case queue::Verdict::requeued: verdict = event = "requeued"; break;
        }
        MTA_LOG_EVENT(id, event,
                      "to=<%s>, relay=%s, connector=%s, delay=%.3f, delays=%s, dsn=%s, "
                      "status=%s (%s)",
                      address.c_str(), relay.c_str(), connector.c_str(), delay_s, delays.c_str(),
                      d.verdict == queue::Verdict::delivered && status.empty() ? "2.0.0"
                                                                                : status.c_str(),
                      verdict, diagnostic.c_str());
        switch (d.verdict) {
            case queue::Verdict::delivered:
                ++stats_.delivered;
                if (observe_delivery_latency && qm) observe_delivery_latency(now_us - qm->arrival_us);
                journal(t.queue_id, d.index, queue::Outcome::delivered, d.attempts, 0, diagnostic,
                        status.empty() ? "2.0.0" : status, connector, relay);
                // RFC 3461 5.2.2: a next hop without DSN cannot pass NOTIFY=SUCCESS on, so the
                // sender hears "relayed" from us.
                if (!attempt.next_hop_dsn && message != nullptr &&
                    queue::dsn_wanted(message->envelope.recipients[d.index].notify,
                                      queue::DsnAction::relayed)) {
                    queue::DsnRecipient s;
                    s.index = d.index;
                    s.action = queue::DsnAction::relayed;
                    s.status = status.empty() ? "2.0.0" : status;
                    s.remote_mta = remote_host(relay);
                    s.diagnostic = diagnostic;
                    s.last_attempt_us = now_us;
                    successes.push_back(s);
                }
                break;
            case queue::Verdict::failed:
            case queue::Verdict::expired: {
                ++stats_.failed;
                journal(t.queue_id, d.index, queue::Outcome::failed, d.attempts, 0, diagnostic,
                        status, connector, relay);
                queue::DsnRecipient b;
                b.index = d.index;
                b.status = d.verdict == queue::Verdict::expired
                               ? std::string(queue::expired_status(status)) : status;
                b.remote_mta = remote_host(relay);
                b.diagnostic = remote_reply(diagnostic);
                if (b.diagnostic.empty()) b.reason = diagnostic;
                b.last_attempt_us = now_us;
                b.expired = d.verdict == queue::Verdict::expired;
                bounces.push_back(b);
                break;
            }
            case queue::Verdict::retry:
                ++stats_.deferred;
                journal(t.queue_id, d.index, queue::Outcome::deferred, d.attempts,
                        d.next_attempt_us, diagnostic, status, connector, relay);
                break;
            case queue::Verdict::requeued:
                break;
        }
    }
    // Apart from any bounce, as Postfix does: a success report and a failure report are
    // different messages with different subjects.
    if (!successes.empty()) bounce(*message, std::move(successes));
    if (!bounces.empty()) {
        if (message != nullptr) {
            bounce(*message, std::move(bounces));
        } else {
            bounce_later(t.queue_id, std::move(bounces));
        }
    }
    // A reload came while this transaction ran: what is left of the message follows it now.
    if (reroute_after_transaction_.count(t.queue_id)) reroute_if_idle(t.queue_id);
}

void Delivery::bounce(const LoadedMessage& message, std::vector<queue::DsnRecipient> recipients) {
    queue::DsnOptions options;
    options.hostname = config_->server.hostname;
    options.bounce_queue_id = deps_.ids->next();
    options.now_us = base::realtime_us();
    options.utc_offset_min = smtp::local_utc_offset_min(int64_t(options.now_us / 1000000));
    options.queue_lifetime_s = config_->delivery.queue_lifetime_s;
    auto dsn = queue::build_dsn(message.envelope, message.content, recipients, options);
    if (!dsn) return;  // null sender, or NOTIFY says no
    bool delay_warning = !recipients.empty() && recipients[0].action == queue::DsnAction::delayed;
    bool success = !recipients.empty() && recipients[0].action == queue::DsnAction::relayed;
    auto* write = new BounceWrite{std::move(*dsn), {}, message.queue_id, delay_warning, success};
    write->dsn.envelope.queue_id = options.bounce_queue_id;
    write->dsn.envelope.arrival_us = options.now_us;
    write->dsn.envelope.shard = uint16_t(deps_.shard->index());
    write->append.envelope = &write->dsn.envelope;
    write->append.content[0] = queue::ContentSpan(
        reinterpret_cast<const uint8_t*>(write->dsn.content.data()), write->dsn.content.size());
    write->append.content_count = 1;
    write->append.owner = write;
    write->append.done = [](engine::SpoolAppend* a, bool durable) {
        auto* w = static_cast<BounceWrite*>(a->owner);
        std::string id = queue::format_queue_id(w->dsn.envelope.queue_id);
        std::string original = queue::format_queue_id(w->original_queue_id);
        const char* kind = w->success ? "delivery status"
                           : w->delay_warning ? "delay" : "non-delivery";
        const char* event = w->success ? "success_notice"
                            : w->delay_warning ? "delay_warning" : "bounce";
        if (durable) {
            // Postfix's pair: the original message names its notification, and the
            // notification is a message of its own, queued like any other.
            MTA_LOG_EVENT(original, event,
                          "sender %s notification: %s", kind, id.c_str());
            MTA_LOG_EVENT(id, "queued",
                          "client=[local], from=<>, to=<%s>, nrcpt=1, size=%zu, queued",
                          w->dsn.envelope.recipients[0].address.c_str(), w->dsn.content.size());
        } else {
            MTA_LOG_EVENT_ERROR(original, event, "could not spool the sender %s notification %s",
                                kind, id.c_str());
        }
        delete w;
    };
    ++stats_.bounces;
    deps_.spool->append(&write->append);
}

void Delivery::bounce_later(uint64_t queue_id, std::vector<queue::DsnRecipient> recipients) {
    acquire(queue_id, [this, queue_id, recipients = std::move(recipients)](LoadedMessage* m) {
        if (m == nullptr) {
            MTA_LOG_EVENT_ERROR(queue::format_queue_id(queue_id), "bounce",
                                "cannot read the message to bounce it");
            return;
        }
        bounce(*m, recipients);
        release(m);
    });
}

void Delivery::on_notice(const queue::Notice& notice) {
    const queue::QueuedMessage* qm = deps_.index->find(notice.queue_id);
    if (qm == nullptr) return;
    std::vector<queue::DsnRecipient> recipients;
    for (uint32_t index : notice.recipients) {
        if (index >= qm->recipients.size()) continue;
        const queue::RecipientStatus& r = qm->recipients[index];
        queue::DsnRecipient d;
        d.index = index;
        d.reason = r.diagnostic.empty() ? "delivery temporarily suspended" : r.diagnostic;
        d.diagnostic = remote_reply(r.diagnostic);
        if (notice.kind == queue::Notice::Kind::delay_warning) {
            d.action = queue::DsnAction::delayed;
            d.status = "4.0.0";
            d.will_retry_until_us = qm->arrival_us + uint64_t(config_->delivery.queue_lifetime_s) * 1000000;
        } else {
            d.status = queue::expired_status(r.status, r.diagnostic);
            d.expired = true;
        }
        recipients.push_back(d);
    }
    uint64_t id = notice.queue_id;
    if (notice.kind == queue::Notice::Kind::expired) {
        for (const auto& d : recipients) {
            MTA_LOG_EVENT(queue::format_queue_id(id), "expired",
                          "to=<%s>, relay=none, dsn=%s, status=expired, returned to sender",
                          qm->recipients[d.index].address.c_str(), d.status.c_str());
            ++stats_.failed;
        }
    }
    // Read the message (and bounce) before journaling the expiry: the journal may make the
    // message final, after which it is no longer in the index to be read.
    bounce_later(id, recipients);
    if (notice.kind == queue::Notice::Kind::expired) {
        for (const auto& d : recipients) {
            const queue::QueuedMessage* still = deps_.index->find(id);
            if (still == nullptr) break;
            journal(id, d.index, queue::Outcome::failed, still->recipients[d.index].attempts, 0,
                    "message delivery timed out: " + d.reason, d.status);
        }
    }
}

void Delivery::message_final(uint64_t queue_id) {
    auto it = cache_.find(queue_id);
    if (it != cache_.end() && it->second->users == 0) {
        cache_bytes_ -= it->second->content.size();
        cache_.erase(it);
    }
    delete_final_segments();
}

void Delivery::delete_final_segments() {
    uint64_t active = deps_.spool->active_segment_seq();
    if (active == 0) return;
    while (auto seq = deps_.index->segments().take_deletable(active)) {
        std::string path = queue::segment_path(deps_.spool->dir(), *seq);
        deps_.reader->forget_segment(*seq);
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
            MTA_LOG_ERROR("cannot remove %s: %s", path.c_str(), std::strerror(errno));
            break;
        }
        ++stats_.segments_deleted;
    }
}

void Delivery::cache_put(const engine::SpoolAppend& append) {
    uint64_t size = 0;
    for (size_t i = 0; i < append.content_count; ++i) size += append.content[i].size();
    if (cache_bytes_ + size > cache_bytes_max_) evict_if_over_budget();
    if (cache_bytes_ + size > cache_bytes_max_) return;  // read back from the spool later
    auto m = std::make_unique<LoadedMessage>();
    m->queue_id = append.envelope->queue_id;
    m->envelope = *append.envelope;
    m->content.reserve(size);
    for (size_t i = 0; i < append.content_count; ++i)
        m->content.append(reinterpret_cast<const char*>(append.content[i].data()),
                          append.content[i].size());
    cache_bytes_ += size;
    cache_[m->queue_id] = std::move(m);
}

void Delivery::evict_if_over_budget() {
    for (auto it = cache_.begin(); it != cache_.end() && cache_bytes_ > cache_bytes_max_ / 2;) {
        if (it->second->users == 0) {
            cache_bytes_ -= it->second->content.size();
            it = cache_.erase(it);
        } else {
            ++it;
        }
    }
}

void Delivery::acquire(uint64_t queue_id, std::function<void(LoadedMessage*)> ready) {
    if (auto it = cache_.find(queue_id); it != cache_.end()) {
        ++it->second->users;
        ready(it->second.get());
        return;
    }
    if (auto it = loading_.find(queue_id); it != loading_.end()) {
        it->second->waiters.push_back(std::move(ready));
        return;
    }
    const queue::QueuedMessage* qm = deps_.index->find(queue_id);
    if (qm == nullptr) {
        ready(nullptr);
        return;
    }
    auto loading = std::make_unique<Loading>();
    Loading* raw = loading.get();
    raw->delivery = this;
    raw->waiters.push_back(std::move(ready));
    raw->read.segment_seq = qm->segment_seq;
    raw->read.offset = qm->offset;
    raw->read.size = qm->record_size;
    raw->read.owner = raw;
    raw->read.done = &Delivery::on_read;
    loading_.emplace(queue_id, std::move(loading));
    ++stats_.spool_reads;
    deps_.reader->read(&raw->read);
}

void Delivery::on_read(engine::SpoolRead* read, int result) {
    auto* loading = static_cast<Loading*>(read->owner);
    Delivery* self = loading->delivery;
    std::unique_ptr<LoadedMessage> message;
    if (result == 0) {
        auto decoded = queue::decode_message_record(read->buffer);
        if (decoded) {
            message = std::make_unique<LoadedMessage>();
            message->queue_id = decoded->envelope.queue_id;
            message->envelope = std::move(decoded->envelope);
            message->content.assign(reinterpret_cast<const char*>(decoded->content.data()),
                                    decoded->content.size());
        } else {
            MTA_LOG_ERROR("spool record at segment %llu offset %llu: %s",
                          static_cast<unsigned long long>(read->segment_seq),
                          static_cast<unsigned long long>(read->offset),
                          decoded.error().message.c_str());
        }
    } else {
        MTA_LOG_ERROR("spool read of segment %llu failed: %s",
                      static_cast<unsigned long long>(read->segment_seq), std::strerror(-result));
    }
    uint64_t id = message ? message->queue_id : 0;
    std::vector<std::function<void(LoadedMessage*)>> waiters = std::move(loading->waiters);
    for (auto it = self->loading_.begin(); it != self->loading_.end(); ++it) {
        if (it->second.get() == loading) {
            self->loading_.erase(it);  // frees `read`: nothing below may touch it
            break;
        }
    }
    LoadedMessage* raw = nullptr;
    if (message) {
        self->cache_bytes_ += message->content.size();
        raw = message.get();
        self->cache_[id] = std::move(message);
    }
    for (auto& w : waiters) {
        if (raw) ++raw->users;
        w(raw);
    }
}

void Delivery::release(LoadedMessage* message) {
    if (message == nullptr) return;
    MTA_ASSERT(message->users > 0);
    if (--message->users > 0) return;
    bool final = deps_.index->find(message->queue_id) == nullptr;
    if (final || cache_bytes_ > cache_bytes_max_) {
        cache_bytes_ -= message->content.size();
        cache_.erase(message->queue_id);
    }
}

}  // namespace ringmta::server
