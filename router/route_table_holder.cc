// Route-table publication and quiescent-state reclamation. Writers serialise on a mutex;
// readers only load the published pointer and store their own slot's generation.
#include "router/route_table_holder.hh"

#include <algorithm>

namespace ringmta::router {

RouteReader::RouteReader(RouteTableHolder* holder, Slot* slot, const RouteTable* table)
    : holder_(holder), slot_(slot), current_(&holder->current_), table_(table) {}

RouteReader::RouteReader(RouteReader&& other) noexcept
    : holder_(other.holder_), slot_(other.slot_), current_(other.current_),
      table_(other.table_) {
    other.holder_ = nullptr;
    other.slot_ = nullptr;
}

RouteReader::~RouteReader() {
    if (holder_ != nullptr) holder_->unregister(slot_);
}

RouteTableHolder::RouteTableHolder(std::shared_ptr<const RouteTable> initial)
    : current_(initial.get()), generation_(initial ? initial->generation() : 0),
      current_owner_(std::move(initial)) {
    MTA_ASSERT(current_owner_ != nullptr);
}

RouteTableHolder::~RouteTableHolder() {
    std::lock_guard lock(mutex_);
    MTA_ASSERT(slots_.empty());
}

RouteReader RouteTableHolder::register_reader() {
    std::lock_guard lock(mutex_);
    // Under the mutex no publish runs, so the slot's generation and the table agree.
    auto slot = std::make_unique<RouteReader::Slot>();
    const RouteTable* table = current_owner_.get();
    slot->observed_generation.store(table->generation(), std::memory_order_relaxed);
    slots_.push_back(std::move(slot));
    return RouteReader(this, slots_.back().get(), table);
}

void RouteTableHolder::unregister(RouteReader::Slot* slot) {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(slots_.begin(), slots_.end(),
                           [slot](const auto& s) { return s.get() == slot; });
    MTA_ASSERT(it != slots_.end());
    slots_.erase(it);
    reclaim_locked();
}

void RouteTableHolder::publish(std::shared_ptr<const RouteTable> table) {
    MTA_ASSERT(table != nullptr);
    std::lock_guard lock(mutex_);
    MTA_ASSERT(table->generation() > current_owner_->generation());
    current_.store(table.get(), std::memory_order_release);
    generation_.store(table->generation(), std::memory_order_release);
    retired_.push_back(Retired{std::move(current_owner_), table->generation()});
    current_owner_ = std::move(table);
    reclaim_locked();
}

size_t RouteTableHolder::reclaim() {
    std::lock_guard lock(mutex_);
    return reclaim_locked();
}

size_t RouteTableHolder::reclaim_locked() {
    // A reader that observed generation g dropped every table older than g; a table replaced
    // by generation r is unreachable once all readers observed at least r.
    uint64_t oldest = UINT64_MAX;
    for (const auto& slot : slots_) {
        oldest = std::min(oldest, slot->observed_generation.load(std::memory_order_acquire));
    }
    std::erase_if(retired_,
                  [oldest](const Retired& r) { return r.replaced_by_generation <= oldest; });
    return retired_.size();
}

std::shared_ptr<const RouteTable> RouteTableHolder::snapshot() const {
    std::lock_guard lock(mutex_);
    return current_owner_;
}

size_t RouteTableHolder::retired_count() const {
    std::lock_guard lock(mutex_);
    return retired_.size();
}

}  // namespace ringmta::router
