// Blocking group commit (see spool_writer.hh).
#include "queue/spool_writer.hh"

namespace ringmta::queue {

base::Result<Placement> SpoolWriter::commit(WriteBatch& batch) {
    std::vector<uint64_t> covered = aborted_ids_;
    for (uint64_t id : covered) batch.add_removal(RemovalRecord{id, RemovalReason::write_aborted});
    Placement placement = planner_.reserve(batch.size_bytes());
    if (auto r = write_and_sync(placement, batch); !r) {
        planner_.fail(placement.segment_seq);
        for (uint64_t id : batch.message_ids()) aborted_ids_.push_back(id);
        return r.error();
    }
    aborted_ids_.erase(aborted_ids_.begin(), aborted_ids_.begin() + long(covered.size()));
    return placement;
}

base::Result<void> SpoolWriter::write_and_sync(const Placement& placement, WriteBatch& batch) {
    std::string path = segment_path(dir_, placement.segment_seq);
    if (auto r = write_all(io_, path, placement.offset, batch.iovecs()); !r) return r;
    if (auto r = io_.sync(path); !r) return r;
    // A new file's name is durable only once its directory is synced.
    if (placement.opens_segment) return io_.sync_dir(dir_);
    return {};
}

}  // namespace ringmta::queue
