// Shared helpers for queue/ tests: sample envelopes and a whole encoded record as bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mta/base/crc32c.hh"
#include "queue/byte_codec.hh"
#include "queue/envelope.hh"
#include "queue/journal_record.hh"
#include "queue/message_record.hh"
#include "queue/write_batch.hh"

namespace ringmta::queue::test {

inline std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

inline ContentSpan span_of(std::string_view s) {
    return ContentSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

inline Envelope sample_envelope(uint64_t queue_id, int recipient_count = 2) {
    Envelope e;
    e.queue_id = queue_id;
    e.arrival_us = 1'700'000'000'000'000 + queue_id;
    e.sender = "alice@example.com";
    e.body_type = BodyType::eight_bit_mime;
    e.ret = DsnRet::hdrs;
    e.envid = "ENV-" + std::to_string(queue_id);
    for (int i = 0; i < recipient_count; ++i) {
        e.recipients.push_back(Recipient{"rcpt" + std::to_string(i) + "@dest.example",
                                         uint8_t(notify_failure | notify_delay), ""});
    }
    e.client_ip = "192.0.2.10";
    e.helo_name = "exchange.example.com";
    e.shard = 1;
    return e;
}

// Flattens a batch's gather list, as the disk would see it.
inline std::vector<uint8_t> flatten(WriteBatch& batch) {
    std::vector<uint8_t> out;
    for (const iovec& v : batch.iovecs()) {
        auto* p = static_cast<const uint8_t*>(v.iov_base);
        out.insert(out.end(), p, p + v.iov_len);
    }
    return out;
}

inline std::vector<uint8_t> message_record_bytes(const Envelope& e, std::string_view content) {
    WriteBatch batch;
    ContentSpan spans[] = {span_of(content)};
    auto rec = batch.add_message(e, spans);
    MTA_ASSERT(rec.has_value());
    return flatten(batch);
}

// An outcome record as writers before the attempt history wrote it (version 1: no time,
// status, connector or relay), built byte by byte from the documented layout.
inline std::vector<uint8_t> outcome_v1_bytes(const OutcomeRecord& r) {
    size_t payload_size = 32 + r.diagnostic.size();
    std::vector<uint8_t> out(record_size_for(payload_size), 0);
    ByteWriter w{std::span<uint8_t>(out).subspan(record_header_size, payload_size)};
    w.u64(r.queue_id);
    w.u32(r.recipient_index);
    w.u8(uint8_t(r.outcome));
    w.u8(0);
    w.u16(uint16_t(r.diagnostic.size()));
    w.u32(r.attempts);
    w.u32(0);
    w.u64(r.next_attempt_us);
    w.bytes(r.diagnostic);
    ByteWriter h{std::span<uint8_t>(out).first(8)};
    h.u16(record_magic);
    h.u8(uint8_t(RecordType::outcome));
    h.u8(1);
    h.u32(uint32_t(payload_size));
    uint32_t crc = base::crc32c(base::crc32c(0, out.data(), 8), out.data() + 16, payload_size);
    ByteWriter c{std::span<uint8_t>(out).subspan(8, 8)};
    c.u32(crc);
    c.u32(base::crc32c(0, out.data(), 12));
    return out;
}

}  // namespace ringmta::queue::test
