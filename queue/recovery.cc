// Recovery: scan, replay, truncate torn tails, salvage and move aside damaged segments.
#include "queue/recovery.hh"

#include <algorithm>
#include <cinttypes>
#include <set>

#include "mta/base/log.hh"
#include "queue/journal_record.hh"
#include "queue/message_record.hh"
#include "queue/queue_id.hh"
#include "queue/segment_planner.hh"
#include "queue/segment_scan.hh"
#include "queue/write_batch.hh"

namespace ringmta::queue {
namespace {

constexpr std::string_view salvage_suffix = ".salvage";

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class Recovery {
public:
    Recovery(SpoolIo& io, std::string dir, const RecoveryOptions& options)
        : io_(io), dir_(std::move(dir)), options_(options), report_(options.index_capacity) {}

    base::Result<RecoveryReport> run();

private:
    void problem(std::string line) {
        MTA_LOG_WARN("spool %s: %s", dir_.c_str(), line.c_str());
        report_.problems.push_back(std::move(line));
    }
    base::Result<std::vector<uint64_t>> list_segments();
    base::Result<void> recover_segment(uint64_t seq, bool& damaged);
    bool replay(uint64_t seq, const ScannedRecord& rec);
    bool replay_message(uint64_t seq, const ScannedRecord& rec);
    base::Result<void> repair(const std::vector<uint64_t>& damaged, uint64_t salvage_seq);
    base::Result<void> salvage(const std::set<uint64_t>& damaged, uint64_t salvage_seq);
    base::Result<void> move_aside(const std::vector<uint64_t>& damaged);

    SpoolIo& io_;
    std::string dir_;
    RecoveryOptions options_;
    RecoveryReport report_;
};

base::Result<std::vector<uint64_t>> Recovery::list_segments() {
    auto entries = io_.list(dir_);
    if (!entries) return entries.error();
    std::vector<uint64_t> seqs;
    for (const DirEntry& e : *entries) {
        if (e.is_dir) continue;
        if (auto seq = parse_segment_file_name(e.name)) {
            seqs.push_back(*seq);
        } else if (ends_with(e.name, salvage_suffix) && !options_.read_only) {
            problem("removing unfinished salvage " + e.name);
            if (auto r = io_.remove(dir_ + "/" + e.name); !r) return r.error();
        }
    }
    std::sort(seqs.begin(), seqs.end());
    return seqs;
}

base::Result<RecoveryReport> Recovery::run() {
    auto seqs = list_segments();
    if (!seqs) {
        if (seqs.error().code != base::Errc::not_found) return seqs.error();
        if (!options_.read_only) {
            if (auto r = io_.make_dir(dir_); !r) return r.error();
        }
        return std::move(report_);
    }
    std::vector<uint64_t> damaged;
    for (uint64_t seq : *seqs) {
        bool is_damaged = false;
        if (auto r = recover_segment(seq, is_damaged); !r) return r.error();
        if (is_damaged) damaged.push_back(seq);
    }
    report_.next_segment_seq = seqs->empty() ? 1 : seqs->back() + 1;
    report_.damaged_segments = damaged;
    if (!damaged.empty() && !options_.read_only) {
        if (auto r = repair(damaged, report_.next_segment_seq); !r) return r.error();
    }
    return std::move(report_);
}

base::Result<void> Recovery::recover_segment(uint64_t seq, bool& damaged) {
    std::string path = segment_path(dir_, seq);
    auto bytes = io_.read_file(path);
    if (!bytes) return bytes.error();
    SegmentScan scan = scan_segment(*bytes);
    report_.index.segments().open(seq);
    for (const DamagedRange& d : scan.damage) {
        problem(segment_file_name(seq) + ": " + std::to_string(d.size) + " unreadable bytes at " +
                std::to_string(d.offset) + " (" + frame_status_name(d.cause) + ")");
    }
    damaged = !scan.damage.empty();
    for (const ScannedRecord& rec : scan.records) {
        if (!replay(seq, rec)) damaged = true;
    }
    if (!scan.torn_tail || damaged) return {};
    uint64_t torn = bytes->size() - scan.valid_end;
    report_.truncated_bytes += torn;
    problem(segment_file_name(seq) + ": torn tail of " + std::to_string(torn) + " bytes at " +
            std::to_string(scan.valid_end) +
            (options_.read_only ? " (left as is)" : ", truncated"));
    if (options_.read_only) return {};
    if (auto r = io_.truncate(path, scan.valid_end); !r) return r;
    return io_.sync(path);
}

// False if the record checks but does not decode: its segment is then treated as damaged.
bool Recovery::replay(uint64_t seq, const ScannedRecord& rec) {
    ++report_.records;
    switch (rec.type) {
        case RecordType::message: return replay_message(seq, rec);
        case RecordType::outcome: {
            auto outcome = decode_outcome(rec.payload, rec.version);
            if (!outcome) break;
            auto applied = report_.index.apply(*outcome);
            if (applied == QueueIndex::Applied::unknown_message) ++report_.orphan_journal_records;
            if (applied == QueueIndex::Applied::unknown_recipient) {
                problem("outcome for " + format_queue_id(outcome->queue_id) +
                        " names recipient " + std::to_string(outcome->recipient_index) +
                        " it does not have; ignored");
            }
            return true;
        }
        case RecordType::removal: {
            auto removal = decode_removal(rec.payload);
            if (!removal) break;
            if (!report_.index.remove(removal->queue_id)) ++report_.orphan_journal_records;
            return true;
        }
        case RecordType::hold: {
            auto hold = decode_hold(rec.payload);
            if (!hold) break;
            if (!report_.index.set_held(hold->queue_id, hold->held)) ++report_.orphan_journal_records;
            return true;
        }
        case RecordType::end: MTA_UNREACHABLE();
    }
    problem(segment_file_name(seq) + ": undecodable record at " + std::to_string(rec.offset));
    return false;
}

bool Recovery::replay_message(uint64_t seq, const ScannedRecord& rec) {
    auto message = decode_message(rec.payload);
    if (!message) return false;
    const Envelope& e = message->envelope;
    report_.highest_queue_id = std::max(report_.highest_queue_id, e.queue_id);
    QueueIndex& index = report_.index;
    if (index.find(e.queue_id)) {
        // A salvage copy whose original was not moved aside yet: the first copy wins and the
        // same journal records apply to both.
        ++report_.duplicate_messages;
        return true;
    }
    if (!index.has_room()) {
        index.set_capacity(index.capacity() * 2 + 1);
        problem("more messages on disk than the index capacity; raised to " +
                std::to_string(index.capacity()));
    }
    auto r = index.insert(summarize(e, seq, rec.offset, rec.record_size, message->content.size()));
    MTA_ASSERT(r.has_value());
    return true;
}

base::Result<void> Recovery::repair(const std::vector<uint64_t>& damaged, uint64_t salvage_seq) {
    std::set<uint64_t> damaged_set(damaged.begin(), damaged.end());
    if (auto r = salvage(damaged_set, salvage_seq); !r) {
        // Leave the segments where they are: the index still points at readable records.
        problem("salvage failed, damaged segments left in place: " + r.error().message);
        return {};
    }
    return move_aside(damaged);
}

base::Result<void> Recovery::salvage(const std::set<uint64_t>& damaged, uint64_t salvage_seq) {
    QueueIndex& index = report_.index;
    std::vector<uint64_t> ids;
    index.for_each([&](const QueuedMessage& m) {
        if (damaged.count(m.segment_seq)) ids.push_back(m.queue_id);
    });
    if (ids.empty()) return {};
    std::sort(ids.begin(), ids.end());

    WriteBatch batch;
    std::vector<uint64_t> offsets;
    for (uint64_t id : ids) {
        const QueuedMessage& m = *index.find(id);
        auto raw = io_.read_range(segment_path(dir_, m.segment_seq), m.offset, m.record_size);
        if (!raw) return raw.error();
        raw->resize(m.record_size);  // the padding of a record at the very end may be missing
        offsets.push_back(batch.add_raw_record(*raw).offset);
        for (uint32_t i = 0; i < m.recipients.size(); ++i) {
            const RecipientStatus& r = m.recipients[i];
            if (r.state == RecipientState::pending) continue;
            Outcome outcome = r.state == RecipientState::delivered ? Outcome::delivered
                              : r.state == RecipientState::failed  ? Outcome::failed
                                                                   : Outcome::deferred;
            OutcomeRecord restated{id, i, outcome, r.attempts, r.next_attempt_us, r.diagnostic};
            restated.restated = true;  // not an attempt: `queue show` leaves it out of the history
            batch.add_outcome(restated);
        }
        if (m.held) batch.add_hold(HoldRecord{id, true});
    }
    std::string path = segment_path(dir_, salvage_seq);
    std::string tmp = path + std::string(salvage_suffix);
    if (auto r = write_all(io_, tmp, 0, batch.iovecs()); !r) return r;
    if (auto r = io_.sync(tmp); !r) return r;
    if (auto r = io_.rename(tmp, path); !r) return r;
    if (auto r = io_.sync_dir(dir_); !r) return r;

    index.segments().open(salvage_seq);
    for (size_t i = 0; i < ids.size(); ++i) index.relocate(ids[i], salvage_seq, offsets[i]);
    report_.next_segment_seq = salvage_seq + 1;
    problem("salvaged " + std::to_string(ids.size()) + " messages into " +
            segment_file_name(salvage_seq));
    return {};
}

base::Result<void> Recovery::move_aside(const std::vector<uint64_t>& damaged) {
    std::string corrupt_dir = dir_ + "/corrupt";
    if (auto r = io_.make_dir(corrupt_dir); !r) return r;
    for (uint64_t seq : damaged) {
        std::string name = segment_file_name(seq);
        if (auto r = io_.rename(dir_ + "/" + name, corrupt_dir + "/" + name); !r) return r;
        report_.index.segments().forget(seq);
        problem("moved damaged segment " + name + " to " + corrupt_dir);
    }
    if (auto r = io_.sync_dir(corrupt_dir); !r) return r;
    return io_.sync_dir(dir_);
}

}  // namespace

base::Result<RecoveryReport> recover_shard(SpoolIo& io, const std::string& dir,
                                           const RecoveryOptions& options) {
    return Recovery(io, dir, options).run();
}

}  // namespace ringmta::queue
