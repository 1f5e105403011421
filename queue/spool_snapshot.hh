// SpoolSnapshot: a read-only view of a whole spool (every shard-<N> directory), for the
// offline `ringmta queue list|summary|show` while the gateway is stopped. Built with recovery
// in read-only mode, so it changes nothing on disk; damage is reported, not repaired.
// Fails only if the spool directory or a segment cannot be read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mta/base/result.hh"
#include "queue/recovery.hh"
#include "queue/spool_io.hh"

namespace ringmta::queue {

// "<spool_dir>/shard-<N>"
std::string shard_dir(const std::string& spool_dir, uint32_t shard);

struct ShardSnapshot {
    uint32_t shard = 0;
    std::string dir;
    RecoveryReport report;
};

class SpoolSnapshot {
public:
    static base::Result<SpoolSnapshot> read(SpoolIo& io, const std::string& spool_dir);

    // Messages of every shard matching `filter`, ordered by queue id.
    std::vector<const QueuedMessage*> select(const ListFilter& filter) const;
    const QueuedMessage* find(uint64_t queue_id) const;
    // The shard directory a message's segment is in.
    const ShardSnapshot* shard_of(uint64_t queue_id) const;
    const std::vector<ShardSnapshot>& shards() const { return shards_; }

private:
    std::vector<ShardSnapshot> shards_;
};

}  // namespace ringmta::queue
