// A shard spool in memory with a planner and writer, for recovery and writer tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "queue/recovery.hh"
#include "queue/segment_planner.hh"
#include "queue/spool_writer.hh"
#include "queue/testing/memory_spool_io.hh"
#include "tests/queue/test_support.hh"

namespace ringmta::queue::test {

inline std::string content_for(uint64_t id) {
    return "Subject: message " + std::to_string(id) + "\r\n\r\n" + std::string(id % 50, 'b');
}

struct SpoolFixture {
    testing::MemorySpoolIo io;
    std::string dir = "/spool/shard-1";
    SegmentPlanner planner;
    SpoolWriter writer{io, dir, planner};

    explicit SpoolFixture(uint64_t capacity_bytes = 1 << 20) : planner(1, capacity_bytes) {
        (void)io.make_dir("/spool");
        (void)io.make_dir(dir);
    }

    // Fills a batch with messages (content_for(id)) then journal records.
    void fill(WriteBatch& batch, const std::vector<uint64_t>& ids,
              const std::vector<OutcomeRecord>& outcomes, std::vector<std::string>& contents) {
        contents.reserve(ids.size());
        for (uint64_t id : ids) {
            contents.push_back(content_for(id));
            ContentSpan spans[] = {span_of(contents.back())};
            MTA_ASSERT(batch.add_message(sample_envelope(id), spans).has_value());
        }
        for (const OutcomeRecord& o : outcomes) batch.add_outcome(o);
    }

    // One group commit; returns false if the writer reported a failure.
    bool commit(const std::vector<uint64_t>& ids, const std::vector<OutcomeRecord>& outcomes = {}) {
        WriteBatch batch;
        std::vector<std::string> contents;
        fill(batch, ids, outcomes, contents);
        return writer.commit(batch).has_value();
    }

    // Writes a batch where the planner says, without syncing (a write still in flight).
    uint64_t write_unsynced(const std::vector<uint64_t>& ids,
                            const std::vector<OutcomeRecord>& outcomes = {}) {
        WriteBatch batch;
        std::vector<std::string> contents;
        fill(batch, ids, outcomes, contents);
        Placement p = planner.reserve(batch.size_bytes());
        MTA_ASSERT(write_all(io, segment_path(dir, p.segment_seq), p.offset, batch.iovecs()));
        return batch.size_bytes();
    }

    std::string seg(uint64_t seq) const { return segment_path(dir, seq); }

    RecoveryReport recover(bool read_only = false) {
        RecoveryOptions options;
        options.read_only = read_only;
        auto r = recover_shard(io, dir, options);
        MTA_ASSERT(r.has_value());
        return std::move(*r);
    }
};

// Queue ids in the index, sorted.
inline std::vector<uint64_t> ids_in(const QueueIndex& index) {
    std::vector<uint64_t> ids;
    for (const QueuedMessage* m : index.select({})) ids.push_back(m->queue_id);
    return ids;
}

inline std::string ids_text(const std::vector<uint64_t>& ids) {
    std::string s = "{";
    for (uint64_t id : ids) {
        if (s.size() > 1) s += ',';
        s += std::to_string(id);
    }
    return s + "}";
}

// What recovery and writer tests use unqualified.
namespace spool {
using Ids = std::vector<uint64_t>;
using test::ids_in;
using test::ids_text;
using test::SpoolFixture;
}  // namespace spool

}  // namespace ringmta::queue::test
