// Hashing of normalised domain text for the domain table and the route cache: sixteen bytes
// per multiplication. Not keyed: a crafted collision costs extra probes, never a wrong answer,
// because every probe that matches a hash also compares the text.
#pragma once

#include <cstdint>
#include <cstring>

namespace ringmta::router::text_hash {

// The 128-bit product folded to 64 bits: one multiplication mixes two words.
inline uint64_t fold_multiply(uint64_t a, uint64_t b) {
#if defined(__x86_64__)
    // GCC 12 bounces an unsigned __int128 product through the stack; MUL leaves it in RDX:RAX.
    uint64_t lo, hi;
    asm("mulq %3" : "=a"(lo), "=d"(hi) : "a"(a), "rm"(b) : "cc");
    return lo ^ hi;
#else
    unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
    return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
#endif
}

inline constexpr uint64_t kSeed = 0x243f6a8885a308d3ull;
inline constexpr uint64_t kWord0 = 0xa0761d6478bd642full;
inline constexpr uint64_t kWord1 = 0xe7037ed1a0b428dbull;
inline constexpr uint64_t kLast = 0x9e3779b97f4a7c15ull;

inline uint64_t load8(const char* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
}

// `size` bytes at p followed by zeros up to the next multiple of 16 (DomainBuffer's padding).
// Text bytes are ASCII and the constants' top bytes are not, so neither factor of the first
// multiplication is ever zero.
inline uint64_t of_padded(const char* p, uint32_t size) {
    uint64_t h = kSeed ^ size;
    for (uint32_t i = 0; i < size; i += 16) {
        h = fold_multiply(load8(p + i) ^ kWord0 ^ h, load8(p + i + 8) ^ kWord1);
    }
    return h;
}

}  // namespace ringmta::router::text_hash
