// A bounded per-shard cache of DNS results keyed by name, with an expiry per entry and
// least-recently-used eviction. Single-threaded (one per shard); values are shared read-only
// with the callbacks that received them, so eviction never invalidates a result in use.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mta/base/assert.hh"

namespace ringmta::dns {

template <typename V>
class TtlCache {
  public:
    explicit TtlCache(size_t entries_max) : entries_max_(entries_max) {
        MTA_ASSERT(entries_max > 0);
    }

    // The live value for `key`, or null. An expired entry is dropped on the way.
    std::shared_ptr<const V> find(std::string_view key, uint64_t now_ms) {
        auto it = index_.find(key);
        if (it == index_.end()) return nullptr;
        auto entry = it->second;
        if (entry->expires_ms <= now_ms) {
            index_.erase(it);
            lru_.erase(entry);
            return nullptr;
        }
        lru_.splice(lru_.begin(), lru_, entry);  // most recently used first
        return entry->value;
    }

    void insert(std::string key, std::shared_ptr<const V> value, uint64_t expires_ms) {
        if (auto it = index_.find(key); it != index_.end()) {
            lru_.erase(it->second);
            index_.erase(it);
        }
        if (lru_.size() == entries_max_) {
            index_.erase(std::string_view(lru_.back().key));
            lru_.pop_back();
        }
        lru_.push_front(Entry{std::move(key), std::move(value), expires_ms});
        index_.emplace(std::string_view(lru_.front().key), lru_.begin());
    }

    size_t size() const { return lru_.size(); }
    size_t entries_max() const { return entries_max_; }

  private:
    struct Entry {
        std::string key;
        std::shared_ptr<const V> value;
        uint64_t expires_ms;
    };
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    size_t entries_max_;
    std::list<Entry> lru_;
    // Keys view the strings owned by the list nodes, which never move.
    std::unordered_map<std::string_view, typename std::list<Entry>::iterator, Hash> index_;
};

}  // namespace ringmta::dns
