// Journal records: per-recipient delivery outcomes, message removals and holds, appended after the
// message record (same or a later segment) and replayed in order at recovery. Fixed-size but
// for a short diagnostic and the attempt's DSN code, connector and relay, which the encoder cuts
// to their maxima (the diagnostic at a UTF-8 character boundary). A decoder failure is
// Errc::corrupt.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "mta/base/result.hh"
#include "queue/record_format.hh"

namespace ringmta::queue {

inline constexpr size_t outcome_diagnostic_max = 400;
inline constexpr size_t outcome_status_max = 16;      // "5.7.26" and the like
inline constexpr size_t outcome_connector_max = 255;  // u8 length on disk
inline constexpr size_t outcome_relay_max = 320;      // a domain name, an IPv6 literal, a port

enum class Outcome : uint8_t { delivered = 1, failed = 2, deferred = 3 };

struct OutcomeRecord {
    uint64_t queue_id = 0;
    uint32_t recipient_index = 0;  // position in Envelope::recipients
    Outcome outcome = Outcome::deferred;
    uint32_t attempts = 0;         // delivery attempts so far, this one included
    uint64_t next_attempt_us = 0;  // deferred only: wall-clock time of the next try
    std::string diagnostic;        // e.g. the remote reply "450 4.2.0 mailbox busy"
    // Version 2 (empty or 0 when read from a version 1 record): what `queue show` lists as the
    // recipient's attempt history.
    uint64_t attempt_us = 0;  // wall-clock time the result was known
    std::string status;       // DSN code, "4.4.1"
    std::string connector;    // "" for a result no connector produced (no route, operator)
    std::string relay;        // "host[ip]:port" of the server that answered; "" if none did
    bool restated = false;    // written by recovery's salvage to carry a state over

    bool operator==(const OutcomeRecord&) const = default;
};

enum class RemovalReason : uint8_t { deleted = 1, all_final = 2, write_aborted = 3 };

struct RemovalRecord {
    uint64_t queue_id = 0;
    RemovalReason reason = RemovalReason::deleted;

    bool operator==(const RemovalRecord&) const = default;
};

// The operator's `queue hold` / `queue release`: a held message gets no delivery attempt (and
// no expiry) until it is released, across restarts.
struct HoldRecord {
    uint64_t queue_id = 0;
    bool held = true;

    bool operator==(const HoldRecord&) const = default;
};

// Whole record sizes (header, payload, padding).
size_t outcome_record_size(const OutcomeRecord& record);
inline constexpr size_t removal_record_size = record_size_for(16);
inline constexpr size_t hold_record_size = record_size_for(16);

// Write the whole record into out[0, size); `out` must be at least that large.
size_t encode_outcome(const OutcomeRecord& record, std::span<uint8_t> out);
size_t encode_removal(const RemovalRecord& record, std::span<uint8_t> out);
size_t encode_hold(const HoldRecord& record, std::span<uint8_t> out);

// Decode a payload (Frame::payload of a record of the matching type; `version` is its
// Frame::version).
base::Result<OutcomeRecord> decode_outcome(std::span<const uint8_t> payload,
                                           uint8_t version = outcome_record_version);
base::Result<RemovalRecord> decode_removal(std::span<const uint8_t> payload);
base::Result<HoldRecord> decode_hold(std::span<const uint8_t> payload);

}  // namespace ringmta::queue
