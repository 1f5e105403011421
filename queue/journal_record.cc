// Journal record encoding and decoding; the layout is specified in record_format.hh.
#include "queue/journal_record.hh"

#include <cstring>

#include "mta/base/crc32c.hh"
#include "queue/byte_codec.hh"

namespace ringmta::queue {
namespace {

constexpr size_t outcome_v1_fixed_size = 8 + 4 + 1 + 1 + 2 + 4 + 4 + 8;
constexpr size_t outcome_fixed_size = outcome_v1_fixed_size + 8 + 1 + 1 + 2 + 4;
constexpr uint8_t outcome_flag_restated = 1;

// Cut at `max` without splitting a UTF-8 sequence.
size_t cut_size(const std::string& d, size_t max) {
    if (d.size() <= max) return d.size();
    size_t n = max;
    while (n > 0 && (uint8_t(d[n]) & 0xC0) == 0x80) --n;
    return n;
}

size_t variable_size(const OutcomeRecord& r) {
    return cut_size(r.diagnostic, outcome_diagnostic_max) + cut_size(r.status, outcome_status_max) +
           cut_size(r.connector, outcome_connector_max) + cut_size(r.relay, outcome_relay_max);
}

// Pads, checksums and frames a payload already written at out[16, 16 + payload_size).
size_t seal(RecordType type, size_t payload_size, std::span<uint8_t> out) {
    size_t size = record_size_for(payload_size);
    MTA_ASSERT(out.size() >= size);
    std::memset(out.data() + record_header_size + payload_size, 0,
                size - record_header_size - payload_size);
    uint32_t crc = base::crc32c(record_crc_begin(type, uint32_t(payload_size)),
                                out.data() + record_header_size, payload_size);
    write_record_header(out.first<record_header_size>(), type, uint32_t(payload_size), crc);
    return size;
}

base::Error corrupt(const char* what) {
    return base::make_error(base::Errc::corrupt, std::string("journal record: ") + what);
}

}  // namespace

size_t outcome_record_size(const OutcomeRecord& record) {
    return record_size_for(outcome_fixed_size + variable_size(record));
}

size_t encode_outcome(const OutcomeRecord& record, std::span<uint8_t> out) {
    size_t diag = cut_size(record.diagnostic, outcome_diagnostic_max);
    size_t status = cut_size(record.status, outcome_status_max);
    size_t connector = cut_size(record.connector, outcome_connector_max);
    size_t relay = cut_size(record.relay, outcome_relay_max);
    size_t payload_size = outcome_fixed_size + variable_size(record);
    MTA_ASSERT(out.size() >= record_size_for(payload_size));
    ByteWriter w(out.subspan(record_header_size, payload_size));
    w.u64(record.queue_id);
    w.u32(record.recipient_index);
    w.u8(uint8_t(record.outcome));
    w.u8(record.restated ? outcome_flag_restated : 0);
    w.u16(uint16_t(diag));
    w.u32(record.attempts);
    w.u32(0);
    w.u64(record.next_attempt_us);
    w.u64(record.attempt_us);
    w.u8(uint8_t(status));
    w.u8(uint8_t(connector));
    w.u16(uint16_t(relay));
    w.u32(0);
    w.bytes(std::string_view(record.diagnostic).substr(0, diag));
    w.bytes(std::string_view(record.status).substr(0, status));
    w.bytes(std::string_view(record.connector).substr(0, connector));
    w.bytes(std::string_view(record.relay).substr(0, relay));
    return seal(RecordType::outcome, payload_size, out);
}

size_t encode_removal(const RemovalRecord& record, std::span<uint8_t> out) {
    ByteWriter w(out.subspan(record_header_size, 16));
    w.u64(record.queue_id);
    w.u8(uint8_t(record.reason));
    w.zeros(7);
    return seal(RecordType::removal, 16, out);
}

size_t encode_hold(const HoldRecord& record, std::span<uint8_t> out) {
    ByteWriter w(out.subspan(record_header_size, 16));
    w.u64(record.queue_id);
    w.u8(record.held ? 1 : 0);
    w.zeros(7);
    return seal(RecordType::hold, 16, out);
}

base::Result<OutcomeRecord> decode_outcome(std::span<const uint8_t> payload, uint8_t version) {
    if (version < 1 || version > outcome_record_version) return corrupt("outcome version");
    ByteReader r(payload);
    OutcomeRecord rec;
    rec.queue_id = r.u64();
    rec.recipient_index = r.u32();
    uint8_t outcome = r.u8();
    uint8_t flags = r.u8();
    uint16_t diag = r.u16();
    rec.attempts = r.u32();
    r.skip(4);
    rec.next_attempt_us = r.u64();
    if (version == 1) {
        rec.diagnostic = r.bytes(diag);
    } else {
        rec.restated = (flags & outcome_flag_restated) != 0;
        rec.attempt_us = r.u64();
        uint8_t status = r.u8();
        uint8_t connector = r.u8();
        uint16_t relay = r.u16();
        r.skip(4);
        rec.diagnostic = r.bytes(diag);
        rec.status = r.bytes(status);
        rec.connector = r.bytes(connector);
        rec.relay = r.bytes(relay);
    }
    if (!r.ok() || r.remaining() != 0) return corrupt("outcome size");
    if (outcome < uint8_t(Outcome::delivered) || outcome > uint8_t(Outcome::deferred)) {
        return corrupt("unknown outcome");
    }
    rec.outcome = Outcome(outcome);
    return rec;
}

base::Result<RemovalRecord> decode_removal(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    RemovalRecord rec;
    rec.queue_id = r.u64();
    uint8_t reason = r.u8();
    r.skip(7);
    if (!r.ok() || r.remaining() != 0) return corrupt("removal size");
    if (reason < uint8_t(RemovalReason::deleted) ||
        reason > uint8_t(RemovalReason::write_aborted)) {
        return corrupt("unknown removal reason");
    }
    rec.reason = RemovalReason(reason);
    return rec;
}

base::Result<HoldRecord> decode_hold(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    HoldRecord rec;
    rec.queue_id = r.u64();
    uint8_t held = r.u8();
    r.skip(7);
    if (!r.ok() || r.remaining() != 0) return corrupt("hold size");
    if (held > 1) return corrupt("unknown hold state");
    rec.held = held == 1;
    return rec;
}

}  // namespace ringmta::queue
