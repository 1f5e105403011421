// Offline, read-only view over all shards of a spool.
#include "queue/spool_snapshot.hh"

#include <algorithm>
#include <charconv>

#include "queue/queue_id.hh"

namespace ringmta::queue {
namespace {

std::optional<uint32_t> parse_shard_dir_name(std::string_view name) {
    constexpr std::string_view prefix = "shard-";
    if (name.substr(0, prefix.size()) != prefix || name.size() == prefix.size()) {
        return std::nullopt;
    }
    uint32_t shard = 0;
    auto digits = name.substr(prefix.size());
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), shard);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    if (shard >= queue_id_shard_count_max) return std::nullopt;
    return shard;
}

}  // namespace

std::string shard_dir(const std::string& spool_dir, uint32_t shard) {
    return spool_dir + "/shard-" + std::to_string(shard);
}

base::Result<SpoolSnapshot> SpoolSnapshot::read(SpoolIo& io, const std::string& spool_dir) {
    auto entries = io.list(spool_dir);
    if (!entries) return entries.error();
    std::vector<uint32_t> shards;
    for (const DirEntry& e : *entries) {
        if (auto shard = parse_shard_dir_name(e.name); shard && e.is_dir) shards.push_back(*shard);
    }
    std::sort(shards.begin(), shards.end());
    SpoolSnapshot snapshot;
    RecoveryOptions options;
    options.read_only = true;
    for (uint32_t shard : shards) {
        std::string dir = shard_dir(spool_dir, shard);
        auto report = recover_shard(io, dir, options);
        if (!report) return report.error();
        snapshot.shards_.push_back(ShardSnapshot{shard, dir, std::move(*report)});
    }
    return snapshot;
}

std::vector<const QueuedMessage*> SpoolSnapshot::select(const ListFilter& filter) const {
    std::vector<const QueuedMessage*> out;
    for (const ShardSnapshot& s : shards_) {
        auto part = s.report.index.select(filter);
        out.insert(out.end(), part.begin(), part.end());
    }
    sort_by_queue_id(out);
    return out;
}

const ShardSnapshot* SpoolSnapshot::shard_of(uint64_t queue_id) const {
    for (const ShardSnapshot& s : shards_) {
        if (s.report.index.find(queue_id)) return &s;
    }
    return nullptr;
}

const QueuedMessage* SpoolSnapshot::find(uint64_t queue_id) const {
    const ShardSnapshot* s = shard_of(queue_id);
    return s ? s->report.index.find(queue_id) : nullptr;
}

}  // namespace ringmta::queue
