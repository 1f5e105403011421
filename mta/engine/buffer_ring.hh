// A provided-buffer ring: the kernel picks a buffer when data arrives, so an idle connection
// holds no receive buffer. Registered by hand (liburing 2.3 lacks io_uring_setup_buf_ring).
// Buffers go back to the ring as soon as their bytes have been copied out.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mta/base/result.hh"

namespace ringmta::engine {

class BufferRing {
public:
    BufferRing() = default;
    ~BufferRing();
    BufferRing(const BufferRing&) = delete;
    BufferRing& operator=(const BufferRing&) = delete;

    // `count` must be a power of two. Fails (and the shard falls back to poll+recv) when the
    // kernel does not support buffer rings.
    base::Result<void> init(io_uring* ring, uint16_t group_id, unsigned count, size_t buffer_size);

    uint16_t group_id() const { return group_id_; }
    size_t buffer_size() const { return buffer_size_; }
    char* buffer(uint16_t id) { return storage_.data() + size_t(id) * buffer_size_; }
    // Gives buffer `id` back to the kernel.
    void recycle(uint16_t id);

private:
    io_uring* ring_ = nullptr;
    io_uring_buf_ring* br_ = nullptr;
    size_t br_bytes_ = 0;
    unsigned count_ = 0;
    uint16_t group_id_ = 0;
    size_t buffer_size_ = 0;
    std::vector<char> storage_;
};

}  // namespace ringmta::engine
