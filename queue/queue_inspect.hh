// `ringmta queue show` and `ringmta queue summary`: one message in full, and the shape of the
// whole queue. Shared by the running gateway (control socket) and the offline commands that
// read a stopped gateway's spool. Reading a record is blocking file I/O through SpoolIo: it
// runs on the control thread or in the CLI, never on a shard.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mta/base/result.hh"
#include "queue/envelope.hh"
#include "queue/queue_index.hh"
#include "queue/spool_io.hh"

namespace ringmta::queue {

// Longest header section `queue show` prints; a longer one is cut with a note.
inline constexpr size_t show_headers_max = 64 * 1024;
// Attempts `queue show` prints per recipient: the most recent ones, with a count of the rest.
inline constexpr size_t show_attempts_max = 50;

// One journaled result of a recipient, as the outcome record has it (version 1 records carry
// no time, status, connector or relay: those are 0 and "").
struct AttemptEntry {
    uint64_t at_us = 0;
    uint32_t attempt = 0;  // the record's attempt count
    Outcome outcome = Outcome::deferred;
    std::string status, connector, relay, diagnostic;
};

struct AttemptHistory {
    std::vector<AttemptEntry> attempts;  // oldest first, at most show_attempts_max
    uint64_t left_out = 0;               // older ones not kept
};

struct MessageDetail {
    QueuedMessage entry;                  // the index entry: state per recipient, held
    std::vector<std::string> connectors;  // per recipient: the connector it is queued for
    Envelope envelope;                    // from the message record
    std::string headers;                  // the content's header section (our Received first)
    bool headers_cut = false;
    std::string read_error;               // set when the record could not be read
    std::vector<AttemptHistory> history;  // per recipient, from the journal records
    std::string history_error;            // set when a segment could not be read
};

// Reads the message record `entry` points to in `shard_dir` and fills envelope and headers.
// Errors (the message left the queue meanwhile, damage) land in detail.read_error.
void load_message_record(SpoolIo& io, const std::string& shard_dir, MessageDetail& detail);

// Fills detail.history from the outcome records of the message in `shard_dir`: they follow its
// message record, in its segment or a later one, so those segments are walked in order. Message
// contents are skipped by their (header-checked) length, not read. Records that recovery's
// salvage restated are not attempts and are left out (so is whatever history the salvaged
// segment held). Costs no memory between calls; reads up to the whole spool past the message.
// Outcomes still waiting for their group commit (a few milliseconds) are not there yet.
void load_attempt_history(SpoolIo& io, const std::string& shard_dir, MessageDetail& detail);

// {"id", "arrival", "size", "held", "sender", "envid", "ret", "smtputf8", "body", "client":
//  {"ip", "helo", "tls_protocol", "tls_cipher"}, "recipients": [{"address", "state",
//  "connector", "attempts", "next_attempt", "diagnostic", "notify", "orcpt", "history":
//  [{"time" (RFC 3339 or null), "attempt", "result" (delivered, deferred, failed), "connector",
//  "relay", "dsn", "diagnostic"}], "history_left_out"}], "headers", "headers_cut"}
// plus "history_error" when the journal could not be read.
std::string format_show_json(const MessageDetail& detail);
std::string format_show_text(const MessageDetail& detail);

// Age buckets of the summary, in minutes, as Postfix's qshape: a recipient whose message
// arrived less than bounds[i] minutes ago (and not less than bounds[i-1]) counts in bucket i;
// the last bucket holds everything older than the last bound.
inline constexpr std::array<uint32_t, 9> summary_age_bounds_min = {5,   10,  20,  40,  80,
                                                                   160, 320, 640, 1280};

struct SummaryCounts {
    uint64_t recipients = 0;
    uint64_t pending = 0, deferred = 0, held = 0;
    std::array<uint64_t, summary_age_bounds_min.size() + 1> by_age{};
    uint64_t messages = 0;  // messages with an open recipient in the row
    uint64_t bytes = 0;     // their content bytes
    void add(const SummaryCounts& other);
};

// Open recipients per (connector, recipient domain). Built per shard, merged, then printed.
class QueueSummary {
public:
    // The open recipients of one message; connectors[i] is recipient i's connector.
    void add_message(const QueuedMessage& m, const std::vector<std::string>& connectors,
                     uint64_t now_us);
    void merge(const QueueSummary& other);

    // A TOTAL row, then rows by recipients, most first.
    std::string format_text() const;
    // {"total": {...}, "age_bounds_minutes": [...], "rows": [{"connector", "domain",
    //  "recipients", "pending", "deferred", "held", "bytes", "by_age": [...]}]}
    std::string format_json() const;

private:
    std::map<std::pair<std::string, std::string>, SummaryCounts> rows_;
    SummaryCounts total_;  // not the sum of the rows: a message may touch several
};

}  // namespace ringmta::queue
