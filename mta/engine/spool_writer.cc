// Group commit over io_uring: WRITEV → WRITEV → ... → FSYNC(DATASYNC), all linked, so the sync
// runs only if every write completed in full. Segment rotation (rare) is a blocking open,
// fallocate and directory fsync on the shard thread; XXX it stalls the shard for a moment once
// per segment, which is acceptable at 64 MiB per rotation.
#include "mta/engine/spool_writer.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "mta/base/log.hh"
#include "mta/engine/shard.hh"
#include "queue/queue_id.hh"

namespace ringmta::engine {

SpoolWriter::SpoolWriter(Shard& shard, std::string dir, uint64_t segment_size_bytes)
    : shard_(shard), dir_(std::move(dir)), segment_size_bytes_(segment_size_bytes) {
    for (auto& c : completions_) {
        c.owner = this;
        c.callback = &SpoolWriter::on_complete;
    }
}

SpoolWriter::~SpoolWriter() {
    MTA_ASSERT(!in_flight_);
    if (fd_ >= 0) ::close(fd_);
}

base::Result<void> SpoolWriter::open(uint64_t next_seq) {
    planner_.emplace(next_seq, segment_size_bytes_);
    return {};
}

base::Result<void> SpoolWriter::create_segment(uint64_t seq, uint64_t capacity_bytes) {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    std::string path = queue::segment_path(dir_, seq);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return base::errno_error(errno, "create " + path);
    // Preallocating means an append does not change the file size, so fdatasync has less
    // metadata to write; recovery treats the zeroed tail as "nothing written here".
    if (fallocate(fd, 0, 0, off_t(capacity_bytes)) != 0 && errno != EOPNOTSUPP) {
        int err = errno;
        ::close(fd);
        ::unlink(path.c_str());
        return base::errno_error(err, "preallocate " + path);
    }
    if (queue_id_high_water) {
        if (auto r = queue::write_queue_id_mark(dir_, queue_id_high_water()); !r) {
            ::close(fd);
            ::unlink(path.c_str());
            return r;
        }
    }
    // The new name must be durable before any record in it is acknowledged.
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        int err = errno;
        if (dfd >= 0) ::close(dfd);
        ::close(fd);
        return base::errno_error(err, "fsync " + dir_);
    }
    ::close(dfd);
    fd_ = fd;
    segment_seq_ = seq;
    if (on_segment_created) on_segment_created(seq);
    return {};
}

bool SpoolWriter::on_tick() {
    if (!in_flight_ && (!pending_.empty() || !outcomes_.empty() || !removals_.empty() ||
                       !holds_.empty()))
        start_batch();
    return in_flight_ || !pending_.empty();
}

void SpoolWriter::start_batch() {
    batch_failed_ = false;
    batch_error_ = 0;
    batch_.clear();
    batch_appends_.clear();
    batch_records_.clear();
    // Bound the batch by the iovecs the chain can carry (4 per message at most).
    const size_t message_max = kChainMax * (IOV_MAX / 4);
    size_t take = std::min(pending_.size(), message_max);
    std::vector<SpoolAppend*> rejected;
    for (size_t i = 0; i < take; ++i) {
        SpoolAppend* a = pending_[i];
        auto rec = batch_.add_message(*a->envelope, std::span(a->content.data(), a->content_count));
        if (!rec) {
            rejected.push_back(a);
            continue;
        }
        batch_appends_.push_back(a);
        batch_records_.push_back(*rec);
    }
    pending_.erase(pending_.begin(), pending_.begin() + long(take));
    for (const auto& r : outcomes_) batch_.add_outcome(r);
    for (const auto& r : removals_) batch_.add_removal(r);
    for (const auto& r : holds_) batch_.add_hold(r);
    outcomes_.clear();
    removals_.clear();
    holds_.clear();
    for (SpoolAppend* a : rejected) a->done(a, false);
    if (batch_.empty()) return;

    queue::Placement place = planner_->reserve(batch_.size_bytes());
    if (place.opens_segment) {
        auto created = create_segment(place.segment_seq,
                                      std::max(segment_size_bytes_, batch_.size_bytes()));
        if (!created) {
            MTA_LOG_ERROR("spool: %s", created.error().message.c_str());
            segment_seq_ = place.segment_seq;
            batch_failed_ = true;
            batch_error_ = created.error().code == base::Errc::no_space ? ENOSPC : EIO;
            in_flight_ = true;
            finish_batch();
            return;
        }
    }
    batch_offset_ = place.offset;
    std::span<const iovec> iov = batch_.iovecs();
    in_flight_ = true;
    outstanding_ = 0;
    uint64_t offset = batch_offset_;
    size_t chain = 0;
    while (!iov.empty()) {
        MTA_ASSERT(chain < kChainMax);
        size_t n = std::min<size_t>(iov.size(), IOV_MAX);
        uint64_t bytes = 0;
        for (size_t i = 0; i < n; ++i) bytes += iov[i].iov_len;
        io_uring_sqe* sqe = shard_.ring().sqe_for(&completions_[chain]);
        io_uring_prep_writev(sqe, fd_, iov.data(), unsigned(n), offset);
        sqe->flags |= IOSQE_IO_LINK;
        completions_[chain].owner = this;
        write_bytes_[chain] = bytes;
        ++outstanding_;
        ++chain;
        offset += bytes;
        iov = iov.subspan(n);
    }
    io_uring_sqe* sqe = shard_.ring().sqe_for(&completions_[kChainMax]);
    io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC);
    ++outstanding_;
    batch_overrides_.swap(overrides_);
    overrides_.clear();
}

void SpoolWriter::on_complete(Completion* c, int result, uint32_t) {
    auto* self = static_cast<SpoolWriter*>(c->owner);
    auto step = unsigned(c - self->completions_.data());
    for (const Override& o : self->batch_overrides_)
        if (o.step == step) result = o.result;
    // A failed or short write severs the link chain: the kernel cancels the rest, the sync
    // included. A short write is checked here too rather than left to that rule alone.
    if (result >= 0 && step < kChainMax && uint64_t(result) != self->write_bytes_[step])
        result = -EIO;
    if (result < 0) {
        // The first real error is the one to report, not the cancellations it caused.
        if (!self->batch_failed_ || self->batch_error_ == ECANCELED) self->batch_error_ = -result;
        self->batch_failed_ = true;
    }
    MTA_ASSERT(self->outstanding_ > 0);
    if (--self->outstanding_ == 0) self->finish_batch();
}

void SpoolWriter::finish_batch() {
    in_flight_ = false;
    batch_overrides_.clear();
    if (batch_failed_) {
        ++stats_.failures;
        stats_.last_error = batch_error_ ? batch_error_ : EIO;
        MTA_LOG_ERROR("spool: write or sync of %zu messages to %s/%s failed: %s; "
                      "answering 451 and moving to a new segment",
                      batch_appends_.size(), dir_.c_str(),
                      queue::segment_file_name(segment_seq_).c_str(),
                      std::strerror(batch_error_ ? batch_error_ : EIO));
        // After a failed fdatasync the kernel may have dropped the dirty pages: nothing in the
        // current file past the last good sync can be trusted, so never append to it again.
        planner_->fail(segment_seq_);
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
        // Records of the failed batch that did reach the disk must not be delivered after a
        // restart: journal their removal in the next batch.
        for (uint64_t id : batch_.message_ids())
            removals_.push_back(queue::RemovalRecord{id, queue::RemovalReason::write_aborted});
        for (SpoolAppend* a : batch_appends_) a->done(a, false);
        return;
    }
    ++stats_.batches;
    stats_.messages += batch_appends_.size();
    stats_.bytes += batch_.size_bytes();
    for (size_t i = 0; i < batch_appends_.size(); ++i) {
        SpoolAppend* a = batch_appends_[i];
        a->segment_seq = segment_seq_;
        a->offset = batch_offset_ + batch_records_[i].offset;
        a->record_size = batch_records_[i].record_size;
        if (on_durable) on_durable(*a);
        a->done(a, true);
    }
}

}  // namespace ringmta::engine
