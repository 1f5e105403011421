// One IORING_OP_READ per record (records are read whole: they are a message each).
#include "mta/engine/spool_reader.hh"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "mta/engine/shard.hh"
#include "queue/segment_planner.hh"

namespace ringmta::engine {

SpoolReader::~SpoolReader() {
    for (auto& [seq, fd] : fds_) ::close(fd);
}

int SpoolReader::descriptor(uint64_t seq) {
    auto it = fds_.find(seq);
    if (it != fds_.end()) return it->second;
    int fd = ::open(queue::segment_path(dir_, seq).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) fds_.emplace(seq, fd);
    return fd;
}

void SpoolReader::read(SpoolRead* r) {
    r->buffer.resize(r->size);
    int fd = descriptor(r->segment_seq);
    if (fd < 0) {
        r->done(r, -errno);
        return;
    }
    ++reads_;
    r->completion.owner = r;
    r->completion.callback = &SpoolReader::on_read;
    io_uring_sqe* sqe = shard_.ring().sqe_for(&r->completion);
    io_uring_prep_read(sqe, fd, r->buffer.data(), unsigned(r->size), r->offset);
}

void SpoolReader::on_read(Completion* c, int result, uint32_t) {
    auto* r = static_cast<SpoolRead*>(c->owner);
    if (result >= 0 && uint64_t(result) != r->size) result = -EIO;
    r->done(r, result < 0 ? result : 0);
}

void SpoolReader::forget_segment(uint64_t seq) {
    auto it = fds_.find(seq);
    if (it == fds_.end()) return;
    ::close(it->second);
    fds_.erase(it);
}

}  // namespace ringmta::engine
