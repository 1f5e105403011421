// Slot counters: a compare-and-swap loop keeps `open` at or below `max` whatever the shards do
// at the same time.
#include "mta/server/connection_budget.hh"

#include <algorithm>

#include "mta/base/assert.hh"

namespace ringmta::server {

ConnectionBudget::Slot& ConnectionBudget::slot(const std::string& key, uint32_t max) {
    std::lock_guard lock(mutex_);
    std::unique_ptr<Slot>& s = slots_[key];
    if (!s) s = std::make_unique<Slot>();
    s->max.store(std::max(1u, max), std::memory_order_relaxed);
    return *s;
}

bool ConnectionBudget::try_acquire(Slot& slot) {
    uint32_t open = slot.open.load(std::memory_order_relaxed);
    do {
        if (open >= slot.max.load(std::memory_order_relaxed)) return false;
    } while (!slot.open.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
    return true;
}

void ConnectionBudget::release(Slot& slot) {
    uint32_t before = slot.open.fetch_sub(1, std::memory_order_relaxed);
    MTA_ASSERT(before > 0);
}

}  // namespace ringmta::server
