// Manual buffer-ring registration (mmap'd ring of io_uring_buf entries + IORING_REGISTER_PBUF_RING).
#include "mta/engine/buffer_ring.hh"

#include <sys/mman.h>

#include <cstring>

namespace ringmta::engine {

BufferRing::~BufferRing() {
    if (br_ != nullptr) {
        io_uring_unregister_buf_ring(ring_, group_id_);
        munmap(br_, br_bytes_);
    }
}

base::Result<void> BufferRing::init(io_uring* ring, uint16_t group_id, unsigned count,
                                    size_t buffer_size) {
    MTA_ASSERT(count > 0 && (count & (count - 1)) == 0 && count <= 32768);
    br_bytes_ = count * sizeof(io_uring_buf);
    void* mem = mmap(nullptr, br_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return base::errno_error(errno, "mmap buffer ring");
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(mem);
    reg.ring_entries = count;
    reg.bgid = group_id;
    int rc = io_uring_register_buf_ring(ring, &reg, 0);
    if (rc != 0) {
        munmap(mem, br_bytes_);
        return base::errno_error(-rc, "register buffer ring");
    }
    ring_ = ring;
    br_ = static_cast<io_uring_buf_ring*>(mem);
    count_ = count;
    group_id_ = group_id;
    buffer_size_ = buffer_size;
    storage_.resize(size_t(count) * buffer_size);
    io_uring_buf_ring_init(br_);
    int mask = io_uring_buf_ring_mask(count);
    for (unsigned i = 0; i < count; ++i)
        io_uring_buf_ring_add(br_, buffer(uint16_t(i)), unsigned(buffer_size), uint16_t(i), mask, int(i));
    io_uring_buf_ring_advance(br_, int(count));
    return {};
}

void BufferRing::recycle(uint16_t id) {
    io_uring_buf_ring_add(br_, buffer(id), unsigned(buffer_size_), id,
                          io_uring_buf_ring_mask(count_), 0);
    io_uring_buf_ring_advance(br_, 1);
}

}  // namespace ringmta::engine
