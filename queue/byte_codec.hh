// Little-endian field writer and reader for record payloads. The writer fills a span whose size
// the caller computed beforehand (overrunning it is a bug and asserts); the reader never reads
// past its span and reports failure through ok() so a decoder checks once at the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "mta/base/assert.hh"

namespace ringmta::queue {

class ByteWriter {
public:
    explicit ByteWriter(std::span<uint8_t> out) : out_(out) {}
    void u8(uint8_t v) { put(&v, 1); }
    void u16(uint16_t v) { uint8_t b[2] = {uint8_t(v), uint8_t(v >> 8)}; put(b, 2); }
    void u32(uint32_t v) {
        uint8_t b[4];
        for (int i = 0; i < 4; ++i) b[i] = uint8_t(v >> (8 * i));
        put(b, 4);
    }
    void u64(uint64_t v) {
        uint8_t b[8];
        for (int i = 0; i < 8; ++i) b[i] = uint8_t(v >> (8 * i));
        put(b, 8);
    }
    void zeros(size_t n) {
        MTA_ASSERT(pos_ + n <= out_.size());
        std::memset(out_.data() + pos_, 0, n);
        pos_ += n;
    }
    void bytes(std::string_view s) { put(s.data(), s.size()); }
    void str(std::string_view s) { u32(uint32_t(s.size())); bytes(s); }
    size_t position() const { return pos_; }

private:
    void put(const void* p, size_t n) {
        MTA_ASSERT(pos_ + n <= out_.size());
        if (n != 0) std::memcpy(out_.data() + pos_, p, n);
        pos_ += n;
    }
    std::span<uint8_t> out_;
    size_t pos_ = 0;
};

class ByteReader {
public:
    explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}
    uint8_t u8() { return uint8_t(get(1)); }
    uint16_t u16() { return uint16_t(get(2)); }
    uint32_t u32() { return uint32_t(get(4)); }
    uint64_t u64() { return get(8); }
    void skip(size_t n) { take(n); }
    std::string str() {
        uint32_t n = u32();
        const uint8_t* p = take(n);
        return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
    }
    std::string bytes(size_t n) {
        const uint8_t* p = take(n);
        return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
    }
    std::span<const uint8_t> rest() const { return ok_ ? in_.subspan(pos_) : in_.subspan(0, 0); }
    size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }
    bool ok() const { return ok_; }

private:
    const uint8_t* take(size_t n) {
        if (!ok_ || n > in_.size() - pos_) {
            ok_ = false;
            return nullptr;
        }
        const uint8_t* p = in_.data() + pos_;
        pos_ += n;
        return p;
    }
    uint64_t get(size_t n) {
        const uint8_t* p = take(n);
        uint64_t v = 0;
        for (size_t i = 0; p && i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
        return v;
    }
    std::span<const uint8_t> in_;
    size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace ringmta::queue
