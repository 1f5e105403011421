// Hashes of domain labels and suffixes for the trie. A label's hash depends only on its size
// and bytes, so normalisation computes it in the same pass that finds the dots; a suffix's
// hash chains label hashes from the top label down. Not keyed: a crafted collision costs
// extra probes, never a wrong answer, because every trie probe also compares the label.
#pragma once

#include <cstdint>
#include <cstring>

namespace ringmta::router::label_hash {

// The 128-bit product folded to 64 bits: one multiplication mixes two words.
inline uint64_t fold_multiply(uint64_t a, uint64_t b) {
    unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
    return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

// Every byte of a label is ASCII (below 0x80) and the top byte of each constant is not, so
// neither factor is ever zero (a zero factor would make the product ignore the other word).
inline constexpr uint64_t kHead0 = 0xa0761d6478bd642full;
inline constexpr uint64_t kHead1 = 0xe7037ed1a0b428dbull;
inline constexpr uint64_t kTail = 0x8ebc6af09c88c6e3ull;
inline constexpr uint64_t kSuffix = 0x9e3779b97f4a7c15ull;
inline constexpr uint64_t kRoot = 0x243f6a8885a308d3ull;   // the suffix hash of the root

// Bytes [p, p + n) as a little-endian word, zero above; 1 <= n, 8 bytes readable at p.
inline uint64_t load_word(const char* p, uint32_t n) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return n >= 8 ? w : w & ((uint64_t(1) << (8 * n)) - 1);
}

// A label of `size` bytes: `head0`/`head1` its first 16 bytes zero-padded, `tail` its bytes
// from 16 on (read in whole words: 8 bytes readable past the label's end).
inline uint64_t of_label(uint32_t size, uint64_t head0, uint64_t head1, const char* tail) {
    uint64_t h = fold_multiply(head0 ^ kHead0, head1 ^ kHead1 ^ size);
    for (uint32_t i = 16; i < size; i += 8) {
        h = fold_multiply(h ^ kTail, load_word(tail + (i - 16), size - i) ^ kHead1);
    }
    return h;
}

// The hash of "label.<suffix>" from the hash of "<suffix>" (kRoot for the root).
inline uint64_t of_suffix(uint64_t suffix_hash, uint64_t label) {
    return fold_multiply(suffix_hash ^ kSuffix, label ^ kHead0);
}

}  // namespace ringmta::router::label_hash
