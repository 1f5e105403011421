// The configured domains in one open-addressing table keyed by the hash of their text
// (text_hash.hh; it replaced a reversed-label trie, see README.md "Route lookup"). A lookup
// hashes the query's suffixes with as many labels as some entry, prefetches their probes, then
// probes longest first: at most one probe per label, whatever the table size. A hit is checked
// against the domain's text (a collision costs a probe, never a wrong answer). Built once.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "mta/base/assert.hh"
#include "router/domain_name.hh"
#include "router/text_hash.hh"

namespace ringmta::router {

template <typename Payload>
class SuffixTable {
public:
    static constexpr uint32_t kNone = UINT32_MAX;
    static constexpr uint32_t kInlineText = 32;

    // One cache line: a probe that hits reads nothing else unless the domain is over 32 bytes.
    struct alignas(64) Entry {
        uint64_t head[kInlineText / 8];   // first 32 bytes of the domain, zero-padded
        uint32_t size;                    // bytes in the domain
        uint32_t tail;                    // offset in tails_ of bytes 32.. (longer domains)
        Payload payload;
    };

    SuffixTable() : slots_(16, Slot{0, kNone}) {}

    // Sizes the table for `entries` domains in all, so inserting them never rehashes.
    void reserve(size_t entries) {
        entries_.reserve(entries);
        hashes_.reserve(entries);
        if (entries * kSlotsPerEntry > slots_.size()) {
            rehash(std::bit_ceil(entries * kSlotsPerEntry));
        }
    }

    // The entry of `domain` (a normalised name), created when new.
    uint32_t insert(std::string_view domain) {
        MTA_ASSERT(!frozen_);
        DomainBuffer buffer;
        DomainKind kind = normalize_domain(domain, buffer);
        MTA_ASSERT(kind == DomainKind::name && buffer.view() == domain);
        depths_ |= uint64_t(1) << (buffer.label_count < 63 ? buffer.label_count : 63);
        depth_min_ = std::min(depth_min_, buffer.label_count);
        depth_max_ = std::max(depth_max_, buffer.label_count);
        uint64_t hash = text_hash::of_padded(buffer.text, buffer.size);
        uint32_t id = find(buffer, 0, hash);
        return id != kNone ? id : add(buffer, hash);
    }

    // The suffixes of `domain` that an entry could match, longest first: a suffix qualifies
    // when some entry has as many labels (so "com" costs nothing when no entry is a bare
    // top-level domain). Fills probes[] with each one's first label and hash, prefetching every
    // probe so their cache misses overlap; returns how many.
    struct Probe {
        uint32_t label;
        uint64_t hash;
    };
    uint32_t hash_suffixes(const DomainBuffer& domain, Probe* probes) const {
        uint32_t count = 0, n = domain.label_count;
        uint32_t end = n >= depth_min_ ? n - depth_min_ + 1 : 0;   // past the shortest suffix
        for (uint32_t k = n > depth_max_ ? n - depth_max_ : 0; k < end; ++k) {
            uint32_t labels = n - k;
            if ((depths_ >> (labels < 63 ? labels : 63) & 1) == 0) continue;
            uint32_t start = domain.label_start[k];
            uint64_t h = text_hash::of_padded(domain.text + start, domain.size - start);
            probes[count++] = Probe{k, h};
            __builtin_prefetch(&slots_[h & mask_]);
        }
        return count;
    }

    // The entry for the suffix of `domain` from label k, whose hash is `hash`; kNone when
    // absent. Relies on DomainBuffer's zero padding: no masks for short suffixes.
    uint32_t find(const DomainBuffer& domain, uint32_t k, uint64_t hash) const {
        const char* text = domain.text + domain.label_start[k];
        uint32_t size = domain.size - domain.label_start[k];
        auto tag = static_cast<uint32_t>(hash >> 32);
        for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
            Slot slot = slots_[i];
            if (slot.entry == kNone) return kNone;
            if (slot.tag != tag) continue;
            const Entry& e = entries_[slot.entry];
            if (e.size == size && same_text(e, text, size)) return slot.entry;
        }
    }

    Entry& entry(uint32_t id) { return entries_[id]; }
    const Entry& entry(uint32_t id) const { return entries_[id]; }
    size_t entry_count() const { return entries_.size(); }

    // The domain an entry stands for (build time and messages only).
    std::string text(uint32_t id) const {
        const Entry& e = entries_[id];
        std::string out(reinterpret_cast<const char*>(e.head), e.size < kInlineText ? e.size
                                                                                    : kInlineText);
        if (e.size > kInlineText) out.append(&tails_[e.tail], e.size - kInlineText);
        return out;
    }

    // Drops build-time slack and state; call once after the last insert.
    void shrink_to_fit() {
        entries_.shrink_to_fit();
        tails_.shrink_to_fit();
        hashes_ = {};
        frozen_ = true;
    }

    size_t memory_bytes() const {
        return entries_.capacity() * sizeof(Entry) + slots_.capacity() * sizeof(Slot) +
               tails_.capacity() + hashes_.capacity() * sizeof(uint64_t);
    }

private:
    // Load factor at most 1/4: most probes that miss stop at the first slot (8 bytes a slot).
    static constexpr size_t kSlotsPerEntry = 4;

    struct Slot {
        uint32_t tag;     // high half of the hash, to skip most foreign entries unread
        uint32_t entry;   // kNone: empty
    };

    // `text` has `size` bytes then zeros up to 32 bytes in (DomainBuffer's padding), like the
    // entry's head, so one comparison of four words settles every domain of up to 32 bytes.
    bool same_text(const Entry& e, const char* text, uint32_t size) const {
        using text_hash::load8;
        uint64_t diff = (e.head[0] ^ load8(text)) | (e.head[1] ^ load8(text + 8)) |
                        (e.head[2] ^ load8(text + 16)) | (e.head[3] ^ load8(text + 24));
        if (diff != 0 || size <= kInlineText) return diff == 0;
        return std::memcmp(&tails_[e.tail], text + kInlineText, size - kInlineText) == 0;
    }

    uint32_t add(const DomainBuffer& domain, uint64_t hash) {
        auto id = static_cast<uint32_t>(entries_.size());
        Entry e{};
        e.size = domain.size;
        std::memcpy(e.head, domain.text, kInlineText);   // zero past the end: the padding
        if (domain.size > kInlineText) {
            e.tail = static_cast<uint32_t>(tails_.size());
            tails_.insert(tails_.end(), domain.text + kInlineText, domain.text + domain.size);
        }
        entries_.push_back(e);
        hashes_.push_back(hash);
        if (entries_.size() * kSlotsPerEntry > slots_.size()) rehash(slots_.size() * 2);
        else place(id, hash);
        return id;
    }

    void place(uint32_t id, uint64_t hash) {
        size_t i = hash & mask_;
        while (slots_[i].entry != kNone) i = (i + 1) & mask_;
        slots_[i] = Slot{static_cast<uint32_t>(hash >> 32), id};
    }

    // Resizes the slots and re-places every entry.
    void rehash(size_t slot_count) {
        slots_.assign(slot_count, Slot{0, kNone});
        mask_ = slot_count - 1;
        for (uint32_t id = 0; id < entries_.size(); ++id) place(id, hashes_[id]);
    }

    std::vector<Entry> entries_;
    std::vector<Slot> slots_;
    std::vector<char> tails_;
    std::vector<uint64_t> hashes_;   // per entry, for rehashing; dropped once frozen
    size_t mask_ = 15;
    uint64_t depths_ = 0;            // bit n: an entry has n labels (bit 63: 63 or more)
    uint32_t depth_min_ = UINT32_MAX;  // labels in the shortest and the longest entry
    uint32_t depth_max_ = 0;
    bool frozen_ = false;
};

}  // namespace ringmta::router
