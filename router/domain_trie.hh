// A reversed-label trie in flat arrays (`com → example → sub`): nodes in one vector, edges in
// one open-addressing table keyed by (parent, label). A lookup costs one probe per label of the
// domain, whatever the number of entries. Built once, then read-only: lookups never allocate.
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
// Bytes [p, p+n) of a word load, n in 1..8. The caller guarantees 8 readable bytes at p.
inline uint64_t load_word(const char* p, uint32_t n) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return n >= 8 ? w : w & ((uint64_t(1) << (8 * n)) - 1);
}
inline uint64_t hash_label(uint32_t parent, const char* p, uint32_t n) {
    uint64_t h = (uint64_t(parent) << 8 | n) * 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < n; i += 8) h = mix(h ^ load_word(p + i, n - i));
    return h;
}
}  // namespace trie_detail

template <typename Payload>
class DomainTrie {
public:
    static constexpr uint32_t kRoot = 0;
    static constexpr uint32_t kNone = UINT32_MAX;

    struct Node {
        uint32_t parent;
        uint32_t label_size;
        uint64_t label_head;      // first 8 bytes of the label, zero-padded
        uint32_t label_tail;      // offset in tails_ of bytes 8.. (labels over 8 bytes)
        Payload payload;
    };

    DomainTrie() : slots_(16, Slot{0, kNone}) { nodes_.push_back(Node{kNone, 0, 0, 0, {}}); }

    // Returns the node of `domain` (a normalised name), creating the path to it.
    uint32_t insert(std::string_view domain) {
        DomainBuffer buffer;
        MTA_ASSERT(domain.size() <= kDomainLengthMax);
        std::memcpy(buffer.text, domain.data(), domain.size());
        std::memset(buffer.text + domain.size(), 0, 8);
        uint32_t node = kRoot;
        for_each_label(buffer.text, static_cast<uint32_t>(domain.size()),
                       [&](const char* label, uint32_t size, bool) {
                           uint32_t child = find_child(node, label, size);
                           node = child != kNone ? child : add_child(node, label, size);
                           return true;
                       });
        return node;
    }

    // Follows `label` (8 readable bytes past its end) from `parent`; kNone when absent.
    uint32_t find_child(uint32_t parent, const char* label, uint32_t size) const {
        uint64_t h = trie_detail::hash_label(parent, label, size);
        uint32_t tag = static_cast<uint32_t>(h >> 32);
        uint64_t head = trie_detail::load_word(label, size);
        for (size_t i = h & mask_;; i = (i + 1) & mask_) {
            const Slot& slot = slots_[i];
            if (slot.node == kNone) return kNone;
            if (slot.tag != tag) continue;
            const Node& n = nodes_[slot.node];
            if (n.parent == parent && n.label_size == size && n.label_head == head &&
                (size <= 8 || std::memcmp(&tails_[n.label_tail], label + 8, size - 8) == 0)) {
                return slot.node;
            }
        }
    }

    // Calls visit(label, size, is_leftmost) for each label from the right until it returns
    // false. `text` must have 8 readable bytes past `size` (a DomainBuffer has).
    template <typename Visit>
    static void for_each_label(const char* text, uint32_t size, Visit&& visit) {
        uint32_t end = size;
        while (end > 0) {
            uint32_t start = end;
            while (start > 0 && text[start - 1] != '.') --start;
            if (!visit(text + start, end - start, start == 0) || start == 0) return;
            end = start - 1;
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

    uint32_t add_child(uint32_t parent, const char* label, uint32_t size) {
        auto id = static_cast<uint32_t>(nodes_.size());
        Node n{parent, size, trie_detail::load_word(label, size), 0, {}};
        if (size > 8) {
            n.label_tail = static_cast<uint32_t>(tails_.size());
            tails_.insert(tails_.end(), label + 8, label + size);
        }
        nodes_.push_back(n);
        if (nodes_.size() * 2 > slots_.size()) grow();
        else place(id, label, size);
        return id;
    }

    void place(uint32_t id, const char* label, uint32_t size) {
        uint64_t h = trie_detail::hash_label(nodes_[id].parent, label, size);
        size_t i = h & mask_;
        while (slots_[i].node != kNone) i = (i + 1) & mask_;
        slots_[i] = Slot{static_cast<uint32_t>(h >> 32), id};
    }

    // Doubles the edge table (load factor stays at most one half) and re-places every node.
    void grow() {
        slots_.assign(slots_.size() * 2, Slot{0, kNone});
        mask_ = slots_.size() - 1;
        char label[kLabelLengthMax + 8];
        for (uint32_t id = 1; id < nodes_.size(); ++id) {
            const Node& n = nodes_[id];
            std::memset(label, 0, sizeof label);
            std::memcpy(label, &n.label_head, 8);
            if (n.label_size > 8) std::memcpy(label + 8, &tails_[n.label_tail], n.label_size - 8);
            place(id, label, n.label_size);
        }
    }

    std::vector<Node> nodes_;
    std::vector<Slot> slots_;
    std::vector<char> tails_;
    size_t mask_ = 15;
};

}  // namespace ringmta::router
