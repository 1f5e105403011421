// Reads spooled records back through io_uring for delivery, when a message's content is no
// longer cached in memory. Keeps one open descriptor per segment in use and closes it when the
// segment is deleted. A short read or a failed checksum is reported, never retried blindly.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "mta/base/result.hh"
#include "mta/engine/completion.hh"

namespace ringmta::engine {

class Shard;

// Embedded in its owner; the buffer is filled before `done` runs.
struct SpoolRead {
    uint64_t segment_seq = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
    std::vector<uint8_t> buffer;
    void (*done)(SpoolRead* self, int result) = nullptr;  // 0, or -errno (-EIO for short)
    void* owner = nullptr;
    Completion completion;  // internal
};

class SpoolReader {
public:
    SpoolReader(Shard& shard, std::string dir) : shard_(shard), dir_(std::move(dir)) {}
    ~SpoolReader();
    SpoolReader(const SpoolReader&) = delete;
    SpoolReader& operator=(const SpoolReader&) = delete;

    void read(SpoolRead* request);
    // The segment is being deleted: drop its descriptor.
    void forget_segment(uint64_t seq);
    uint64_t reads() const { return reads_; }

private:
    static void on_read(Completion* c, int result, uint32_t flags);
    int descriptor(uint64_t seq);

    Shard& shard_;
    std::string dir_;
    std::unordered_map<uint64_t, int> fds_;
    uint64_t reads_ = 0;
};

}  // namespace ringmta::engine
