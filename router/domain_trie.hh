// A reversed-label trie in flat arrays (`com → example → sub`): nodes in one vector, edges in
// one open-addressing table keyed by the hash of the domain suffix a node stands for. Suffix
// hashes do not depend on node ids, so a lookup computes all of them first and prefetches
// every probe at once; then it walks one node per label. Built once, then read-only.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "mta/base/assert.hh"
#include "router/domain_name.hh"
#include "router/label_hash.hh"

namespace ringmta::router {

template <typename Payload>
class DomainTrie {
public:
    static constexpr uint32_t kRoot = 0;
    static constexpr uint32_t kNone = UINT32_MAX;
    static constexpr uint32_t kInlineLabel = 16;

    struct Node {
        uint32_t parent;
        uint32_t label_size;
        uint64_t label_head[2];   // first 16 bytes of the label, zero-padded
        uint64_t hash;            // suffix hash of the domain the node stands for
        uint32_t label_tail;      // offset in tails_ of bytes 16.. (longer labels only)
        Payload payload;
    };

    DomainTrie() : slots_(16, Slot{0, kNone}) {
        nodes_.push_back(Node{kNone, 0, {0, 0}, label_hash::kRoot, 0, {}});
    }

    // Sizes the edge table for `nodes` nodes in all, so inserting them never rehashes.
    void reserve(size_t nodes) {
        nodes_.reserve(nodes);
        if (nodes * 2 > slots_.size()) rehash(std::bit_ceil(nodes * 2));
    }

    // Returns the node of `domain` (a normalised name), creating the path to it.
    uint32_t insert(std::string_view domain) {
        DomainBuffer buffer;
        DomainKind kind = normalize_domain(domain, buffer);
        MTA_ASSERT(kind == DomainKind::name && buffer.view() == domain);
        uint32_t node = kRoot;
        uint64_t h = label_hash::kRoot;
        for (uint32_t k = buffer.label_count; k-- > 0;) {
            h = label_hash::of_suffix(h, buffer.label_hash[k]);
            uint32_t child = find_child(node, buffer, k, h);
            node = child != kNone ? child : add_child(node, buffer, k, h);
        }
        if (buffer.label_count > depth_max_) depth_max_ = buffer.label_count;
        return node;
    }

    // Suffix hashes of the labels the trie can hold, hashes[k] for label k (label 0 leftmost),
    // with each probe prefetched so the walk's cache misses overlap. Returns the index of the
    // leftmost label hashed: labels deeper than the deepest entry cannot match.
    uint32_t hash_labels(const DomainBuffer& domain, uint64_t* hashes) const {
        uint64_t h = label_hash::kRoot;
        uint32_t first = domain.label_count > depth_max_ ? domain.label_count - depth_max_ : 0;
        for (uint32_t k = domain.label_count; k-- > first;) {
            h = label_hash::of_suffix(h, domain.label_hash[k]);
            hashes[k] = h;
            __builtin_prefetch(&slots_[h & mask_]);
        }
        return first;
    }

    // The child of `parent` for label k of `domain` whose suffix hash is `hash`; kNone when
    // absent. The label is compared through the head words normalisation left in `domain`.
    uint32_t find_child(uint32_t parent, const DomainBuffer& domain, uint32_t k,
                        uint64_t hash) const {
        auto tag = static_cast<uint32_t>(hash >> 32);
        for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
            Slot slot = slots_[i];
            if (slot.node == kNone) return kNone;
            if (slot.tag != tag) continue;
            const Node& n = nodes_[slot.node];
            if (n.parent == parent && n.label_head[0] == domain.label_head[k][0] &&
                n.label_head[1] == domain.label_head[k][1] && same_size_and_tail(n, domain, k)) {
                return slot.node;
            }
        }
    }

    Node& node(uint32_t id) { return nodes_[id]; }
    const Node& node(uint32_t id) const { return nodes_[id]; }
    size_t node_count() const { return nodes_.size(); }

    // Drops build-time slack; call once after the last insert.
    void shrink_to_fit() {
        nodes_.shrink_to_fit();
        tails_.shrink_to_fit();
    }

    size_t memory_bytes() const {
        return nodes_.capacity() * sizeof(Node) + slots_.capacity() * sizeof(Slot) +
               tails_.capacity();
    }

private:
    struct Slot {
        uint32_t tag;    // high half of the hash, to skip most foreign nodes without reading them
        uint32_t node;   // kNone: empty
    };

    // The rest of a label comparison once the head words agree: the size (labels may hold NUL
    // bytes, so zero padding alone does not fix it) and, past 16 bytes, the tail.
    bool same_size_and_tail(const Node& n, const DomainBuffer& domain, uint32_t k) const {
        uint32_t size = domain.label_size(k);
        if (n.label_size != size) return false;
        return size <= kInlineLabel ||
               std::memcmp(&tails_[n.label_tail], domain.text + domain.label_start[k] +
                                                      kInlineLabel, size - kInlineLabel) == 0;
    }

    uint32_t add_child(uint32_t parent, const DomainBuffer& domain, uint32_t k, uint64_t hash) {
        auto id = static_cast<uint32_t>(nodes_.size());
        uint32_t size = domain.label_size(k);
        Node n{parent, size, {domain.label_head[k][0], domain.label_head[k][1]}, hash, 0, {}};
        if (size > kInlineLabel) {
            const char* label = domain.text + domain.label_start[k];
            n.label_tail = static_cast<uint32_t>(tails_.size());
            tails_.insert(tails_.end(), label + kInlineLabel, label + size);
        }
        nodes_.push_back(n);
        if (nodes_.size() * 2 > slots_.size()) rehash(slots_.size() * 2);
        else place(id, hash);
        return id;
    }

    void place(uint32_t id, uint64_t hash) {
        size_t i = hash & mask_;
        while (slots_[i].node != kNone) i = (i + 1) & mask_;
        slots_[i] = Slot{static_cast<uint32_t>(hash >> 32), id};
    }

    // Resizes the edge table (load factor stays at most one half) and re-places every node.
    void rehash(size_t slot_count) {
        slots_.assign(slot_count, Slot{0, kNone});
        mask_ = slot_count - 1;
        for (uint32_t id = 1; id < nodes_.size(); ++id) place(id, nodes_[id].hash);
    }

    std::vector<Node> nodes_;
    std::vector<Slot> slots_;
    std::vector<char> tails_;
    size_t mask_ = 15;
    uint32_t depth_max_ = 0;   // labels in the deepest inserted domain
};

}  // namespace ringmta::router
