// Delivery's side of steering the queue: routing it again after a reload, and the operator's
// queue actions (hold, release, delete, bounce, flush). Each acts through the scheduler and
// the journal like a delivery result does, so a restart sees the same outcome.
#include "mta/server/delivery.hh"

#include "mta/base/log.hh"
#include "mta/server/destination_pool.hh"
#include "router/domain_name.hh"

namespace ringmta::server {

// After a reload, queued mail follows the new routes from its next attempt on, as Postfix
// re-resolves at every attempt: a message waiting in the scheduler is withdrawn and admitted
// again through the new table, keeping its attempt count and retry time (a reload does not
// make deferred mail due at once); one with a transaction in flight follows when that ends.
// XXX Re-admission forgets that a delay warning went out, as a restart does: a message past
// delivery.delay_warning_s may get a second one. And it runs in one go on the shard thread, a
// route lookup and a scheduler submit per queued message: with a very large queue a reload
// holds each shard for a while (doing it lazily, at each next attempt, would spread it out).
void Delivery::reroute_queue() {
    // First what the old pools hold without having started it: back to the scheduler, so the
    // loop below routes it again too.
    for (auto& [id, pool] : pools_)
        if (pool->route_generation() != routed_generation_) pool->retire();
    std::vector<uint64_t> ids;
    deps_.index->for_each([&](const queue::QueuedMessage& m) {
        if (!m.held) ids.push_back(m.queue_id);
    });
    size_t moved = 0;
    for (uint64_t id : ids) moved += reroute_if_idle(id) ? 1 : 0;
    if (!ids.empty())
        MTA_LOG_INFO("shard %u: route table generation %llu: %zu queued messages routed again, "
                     "%zu when their transaction ends", deps_.shard->index(),
                     static_cast<unsigned long long>(routed_generation_), moved,
                     reroute_after_transaction_.size());
}

bool Delivery::reroute_if_idle(uint64_t queue_id) {
    const queue::QueuedMessage* m = deps_.index->find(queue_id);
    if (m == nullptr || m->held) {  // gone, or re-admitted through the new table on release
        reroute_after_transaction_.erase(queue_id);
        return false;
    }
    for (uint32_t i = 0; i < m->recipients.size(); ++i) {
        auto view = scheduler_.find_recipient(queue_id, i);
        if (view && view->phase == queue::RecipientPhase::in_flight) {
            reroute_after_transaction_.insert(queue_id);
            return false;
        }
    }
    reroute_after_transaction_.erase(queue_id);
    scheduler_.cancel(queue_id);
    admit(*m);
    return true;
}

// --- operator actions ---

std::string Delivery::hold(uint64_t queue_id) {
    const queue::QueuedMessage* m = deps_.index->find(queue_id);
    if (m == nullptr) return "no such message in the queue";
    if (m->held) return "already on hold";
    deps_.spool->append_hold(queue::HoldRecord{queue_id, true});
    deps_.index->set_held(queue_id, true);
    scheduler_.cancel(queue_id);  // transactions in flight finish; see complete()
    MTA_LOG_EVENT(queue::format_queue_id(queue_id), "hold", "on hold (by the operator)");
    return {};
}

std::string Delivery::release(uint64_t queue_id) {
    const queue::QueuedMessage* m = deps_.index->find(queue_id);
    if (m == nullptr) return "no such message in the queue";
    if (!m->held) return "not on hold";
    deps_.spool->append_hold(queue::HoldRecord{queue_id, false});
    deps_.index->set_held(queue_id, false);
    MTA_LOG_EVENT(queue::format_queue_id(queue_id), "release", "released from hold (by the operator)");
    // Released mail is tried at once (the operator held it for a reason and now wants it
    // gone); its attempt counts and queue lifetime carry on from before the hold.
    queue::QueuedMessage due = *m;
    for (auto& r : due.recipients) r.next_attempt_us = 0;
    admit(due);
    wake_destinations_of(queue_id);
    return {};
}

std::string Delivery::remove(uint64_t queue_id) {
    if (deps_.index->find(queue_id) == nullptr) return "no such message in the queue";
    scheduler_.cancel(queue_id);
    deps_.spool->append_removal(queue::RemovalRecord{queue_id, queue::RemovalReason::deleted});
    deps_.index->remove(queue_id);
    MTA_LOG_EVENT(queue::format_queue_id(queue_id), "removed", "removed (deleted by the operator)");
    message_final(queue_id);
    return {};
}

std::string Delivery::bounce_now(uint64_t queue_id, const std::string& reason) {
    const queue::QueuedMessage* m = deps_.index->find(queue_id);
    if (m == nullptr) return "no such message in the queue";
    scheduler_.cancel(queue_id);
    std::string id = queue::format_queue_id(queue_id);
    std::vector<queue::DsnRecipient> recipients;
    for (uint32_t i = 0; i < m->recipients.size(); ++i) {
        if (queue::is_final(m->recipients[i].state)) continue;
        queue::DsnRecipient d;
        d.index = i;
        d.status = "5.0.0";
        d.reason = reason;
        d.last_attempt_us = base::realtime_us();
        recipients.push_back(d);
        MTA_LOG_EVENT(id, "bounced", "to=<%s>, relay=none, dsn=5.0.0, status=bounced (%s)",
                      m->recipients[i].address.c_str(), reason.c_str());
        ++stats_.failed;
    }
    std::vector<uint32_t> indices;
    for (const auto& d : recipients) indices.push_back(d.index);
    // Read the message for the DSN before journaling: the last failure makes it final.
    bounce_later(queue_id, std::move(recipients));
    for (uint32_t index : indices) {
        const queue::QueuedMessage* still = deps_.index->find(queue_id);
        if (still == nullptr) break;
        journal(queue_id, index, queue::Outcome::failed, still->recipients[index].attempts, 0,
                "5.0.0 " + reason, "5.0.0");
    }
    return {};
}

void Delivery::wake_destination(queue::DestinationId id) {
    scheduler_.wake(id);
    if (auto it = pools_.find(id); it != pools_.end()) it->second->forget_host_failures();
}

std::string Delivery::flush(uint64_t queue_id) {
    const queue::QueuedMessage* m = deps_.index->find(queue_id);
    if (m == nullptr) return "no such message in the queue";
    if (m->held) return "on hold: release it to deliver it";
    scheduler_.flush(queue_id);
    wake_destinations_of(queue_id);
    return {};
}

void Delivery::wake_destinations_of(uint64_t queue_id) {
    const queue::QueuedMessage* m = deps_.index->find(queue_id);
    if (m == nullptr) return;
    for (uint32_t i = 0; i < m->recipients.size(); ++i) {
        if (auto view = scheduler_.find_recipient(queue_id, i);
            view && view->phase == queue::RecipientPhase::ready) {
            wake_destination(view->destination);
        }
    }
}

std::string Delivery::connector_of(const queue::QueuedMessage& message, uint32_t index) {
    if (auto view = scheduler_.find_recipient(message.queue_id, index)) {
        const queue::DestinationKey* key = scheduler_.stats(view->destination).key;
        if (key) return key->next_hop.substr(0, key->next_hop.find('#'));
    }
    const router::RouteTable& table = deps_.routes->refresh();
    std::string_view domain = router::domain_of_address(message.recipients[index].address);
    router::Route route = deps_.route_cache->lookup(table, domain, message.size_bytes);
    return route.found() ? table.connector(route.connector).spec.name : std::string();
}

}  // namespace ringmta::server
