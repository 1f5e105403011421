// A reversed-label trie in flat arrays (`com → example → sub`): nodes in one vector, edges in
// one open-addressing table keyed by the hash of the domain suffix a node stands for. Suffix
// hashes do not depend on node ids, so a lookup computes all of them first and prefetches
// every probe at once; then it walks one node per label. Built once, then read-only.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "mta/base/assert.hh"
#include "router/domain_name.hh"

namespace ringmta::router {

namespace trie_detail {
inline uint64_t mix(uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}
// Bytes [p, p+n) of a word load, n >= 1. The caller guarantees 8 readable bytes at p.
inline uint64_t load_word(const char* p, uint32_t n) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return n >= 8 ? w : w & ((uint64_t(1) << (8 * n)) - 1);
}
// The hash of "label.<suffix>" from the hash of "<suffix>" (kRootHash for the root).
inline uint64_t hash_label(uint64_t suffix_hash, const char* p, uint32_t n) {
    uint64_t h = (suffix_hash ^ n) * 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < n; i += 8) h = mix(h ^ load_word(p + i, n - i));
    return h;
}
inline constexpr uint64_t kRootHash = 0x243f6a8885a308d3ull;
}  // namespace trie_detail

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
        uint32_t label_tail;      // offset in tails_ of bytes 16.. (longer labels only)
        Payload payload;
    };

    DomainTrie() : slots_(16, Slot{0, kNone}) { nodes_.push_back(Node{kNone, 0, {0, 0}, 0, {}}); }

    // Returns the node of `domain` (a normalised name), creating the path to it.
    uint32_t insert(std::string_view domain) {
        DomainBuffer buffer;
        DomainKind kind = normalize_domain(domain, buffer);
        MTA_ASSERT(kind == DomainKind::name && buffer.view() == domain);
        uint32_t node = kRoot;
        uint64_t h = trie_detail::kRootHash;
        for (uint32_t k = buffer.label_count; k-- > 0;) {
            std::string_view label = buffer.label(k);
            auto size = static_cast<uint32_t>(label.size());
            h = trie_detail::hash_label(h, label.data(), size);
            uint32_t child = find_child(node, label.data(), size, h);
            node = child != kNone ? child : add_child(node, label.data(), size, h);
        }
        if (buffer.label_count > depth_max_) depth_max_ = buffer.label_count;
        return node;
    }

    // Suffix hashes of the labels the trie can hold, hashes[k] for label k (label 0 leftmost),
    // with each probe prefetched so the walk's cache misses overlap. Returns the index of the
    // leftmost label hashed: labels deeper than the deepest entry cannot match.
    uint32_t hash_labels(const DomainBuffer& domain, uint64_t* hashes) const {
        uint64_t h = trie_detail::kRootHash;
        uint32_t first = domain.label_count > depth_max_ ? domain.label_count - depth_max_ : 0;
        for (uint32_t k = domain.label_count; k-- > first;) {
            uint32_t start = domain.label_start[k];
            h = trie_detail::hash_label(h, domain.text + start,
                                        domain.label_start[k + 1] - 1u - start);
            hashes[k] = h;
            __builtin_prefetch(&slots_[h & mask_]);
        }
        return first;
    }

    // The child of `parent` for `label` (8 readable bytes past its end) whose suffix hash is
    // `hash`; kNone when absent.
    uint32_t find_child(uint32_t parent, const char* label, uint32_t size, uint64_t hash) const {
        auto tag = static_cast<uint32_t>(hash >> 32);
        uint64_t head0 = trie_detail::load_word(label, size);
        uint64_t head1 = size > 8 ? trie_detail::load_word(label + 8, size - 8) : 0;
        for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const Slot& slot = slots_[i];
            if (slot.node == kNone) return kNone;
            if (slot.tag != tag) continue;
            const Node& n = nodes_[slot.node];
            if (n.parent == parent && n.label_size == size && n.label_head[0] == head0 &&
                n.label_head[1] == head1 &&
                (size <= kInlineLabel ||
                 std::memcmp(&tails_[n.label_tail], label + kInlineLabel, size - kInlineLabel) ==
                     0)) {
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

    uint32_t add_child(uint32_t parent, const char* label, uint32_t size, uint64_t hash) {
        auto id = static_cast<uint32_t>(nodes_.size());
        Node n{parent, size, {trie_detail::load_word(label, size), 0}, 0, {}};
        if (size > 8) n.label_head[1] = trie_detail::load_word(label + 8, size - 8);
        if (size > kInlineLabel) {
            n.label_tail = static_cast<uint32_t>(tails_.size());
            tails_.insert(tails_.end(), label + kInlineLabel, label + size);
        }
        nodes_.push_back(n);
        if (nodes_.size() * 2 > slots_.size()) grow();
        else place(id, hash);
        return id;
    }

    void place(uint32_t id, uint64_t hash) {
        size_t i = hash & mask_;
        while (slots_[i].node != kNone) i = (i + 1) & mask_;
        slots_[i] = Slot{static_cast<uint32_t>(hash >> 32), id};
    }

    // Doubles the edge table (load factor stays at most one half) and re-places every node.
    // Parents precede children in nodes_, so each suffix hash extends its parent's.
    void grow() {
        slots_.assign(slots_.size() * 2, Slot{0, kNone});
        mask_ = slots_.size() - 1;
        std::vector<uint64_t> hashes(nodes_.size());
        hashes[kRoot] = trie_detail::kRootHash;
        char label[kLabelLengthMax + 8] = {};
        for (uint32_t id = 1; id < nodes_.size(); ++id) {
            const Node& n = nodes_[id];
            std::memcpy(label, n.label_head, kInlineLabel);
            if (n.label_size > kInlineLabel) {
                std::memcpy(label + kInlineLabel, &tails_[n.label_tail],
                            n.label_size - kInlineLabel);
            }
            hashes[id] = trie_detail::hash_label(hashes[n.parent], label, n.label_size);
            place(id, hashes[id]);
        }
    }

    std::vector<Node> nodes_;
    std::vector<Slot> slots_;
    std::vector<char> tails_;
    size_t mask_ = 15;
    uint32_t depth_max_ = 0;   // labels in the deepest inserted domain
};

}  // namespace ringmta::router
