// SpoolWriter: group commit over a blocking SpoolIo -- place a WriteBatch with the planner,
// write it, fdatasync, fsync the directory for a new segment. The engine does the same steps
// on io_uring; this is the reference sequence and what tests and offline tools use.
// On any failure nothing in the batch may be acknowledged, and the segment is abandoned.
#pragma once

#include <string>
#include <vector>

#include "mta/base/result.hh"
#include "queue/segment_planner.hh"
#include "queue/spool_io.hh"
#include "queue/write_batch.hh"

namespace ringmta::queue {

class SpoolWriter {
public:
    SpoolWriter(SpoolIo& io, std::string dir, SegmentPlanner& planner)
        : io_(io), dir_(std::move(dir)), planner_(planner) {}

    // Appends `batch` and makes it durable. Record i of the batch is then at
    // (placement.segment_seq, placement.offset + BatchRecord::offset). Before writing, removal
    // records (write_aborted) for the messages of earlier failed batches are appended to it.
    //
    // XXX A failed batch may still have reached the disk whole (the write worked, the sync
    // reported EIO), and those messages were answered 451. The removal records written with
    // the next successful batch keep recovery from delivering them; if the process dies before
    // that batch, they are delivered after the restart although the client was told to retry:
    // a duplicate, never a loss.
    base::Result<Placement> commit(WriteBatch& batch);

    const std::vector<uint64_t>& aborted_ids() const { return aborted_ids_; }

private:
    base::Result<void> write_and_sync(const Placement& placement, WriteBatch& batch);

    SpoolIo& io_;
    std::string dir_;
    SegmentPlanner& planner_;
    std::vector<uint64_t> aborted_ids_;  // not yet covered by a durable removal record
};

}  // namespace ringmta::queue
