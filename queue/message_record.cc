// Message record encoding and decoding; the layout is specified in record_format.hh.
#include "queue/message_record.hh"

#include "mta/base/crc32c.hh"
#include "queue/byte_codec.hh"

namespace ringmta::queue {
namespace {

constexpr size_t fixed_fields_size = 8 + 8 + 2 + 1 + 1 + 1 + 3 + 4;
constexpr size_t recipient_fixed_size = 1 + 3;
constexpr size_t str_size(const std::string& s) { return 4 + s.size(); }
constexpr uint8_t flag_smtputf8 = 1;

size_t envelope_size(const Envelope& e) {
    size_t n = fixed_fields_size + str_size(e.sender) + str_size(e.envid) +
               str_size(e.client_ip) + str_size(e.helo_name) + str_size(e.tls_protocol) +
               str_size(e.tls_cipher) + 8;
    for (const Recipient& r : e.recipients) {
        n += recipient_fixed_size + str_size(r.address) + str_size(r.orcpt);
    }
    return n;
}

base::Error corrupt(const char* what) {
    return base::make_error(base::Errc::corrupt, std::string("message record: ") + what);
}

}  // namespace

size_t message_head_size(const Envelope& envelope) {
    return record_header_size + envelope_size(envelope);
}

base::Result<MessageHead> encode_message_head(const Envelope& e,
                                              std::span<const ContentSpan> content,
                                              std::span<uint8_t> out) {
    MessageHead head;
    head.head_size = message_head_size(e);
    MTA_ASSERT(out.size() >= head.head_size);
    for (ContentSpan s : content) head.content_size += s.size();
    uint64_t payload_size = head.head_size - record_header_size + head.content_size;
    if (payload_size > record_payload_max) {
        return base::make_error(base::Errc::invalid, "message too large for a spool record");
    }
    head.record_size = record_size_for(payload_size);
    head.padding_size = size_t(head.record_size - record_header_size - payload_size);

    ByteWriter w(out.subspan(record_header_size, head.head_size - record_header_size));
    w.u64(e.queue_id);
    w.u64(e.arrival_us);
    w.u16(e.shard);
    w.u8(e.smtputf8 ? flag_smtputf8 : 0);
    w.u8(uint8_t(e.body_type));
    w.u8(uint8_t(e.ret));
    w.zeros(3);
    w.u32(uint32_t(e.recipients.size()));
    for (const std::string* s : {&e.sender, &e.envid, &e.client_ip, &e.helo_name,
                                 &e.tls_protocol, &e.tls_cipher}) {
        w.str(*s);
    }
    for (const Recipient& r : e.recipients) {
        w.u8(r.notify);
        w.zeros(3);
        w.str(r.address);
        w.str(r.orcpt);
    }
    w.u64(head.content_size);
    MTA_ASSERT(w.position() + record_header_size == head.head_size);

    uint32_t crc = record_crc_begin(RecordType::message, uint32_t(payload_size));
    crc = base::crc32c(crc, out.data() + record_header_size, head.head_size - record_header_size);
    for (ContentSpan s : content) crc = base::crc32c(crc, s.data(), s.size());
    write_record_header(out.first<record_header_size>(), RecordType::message,
                        uint32_t(payload_size), crc);
    return head;
}

base::Result<DecodedMessage> decode_message(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    DecodedMessage m;
    Envelope& e = m.envelope;
    e.queue_id = r.u64();
    e.arrival_us = r.u64();
    e.shard = r.u16();
    uint8_t flags = r.u8();
    uint8_t body_type = r.u8();
    uint8_t ret = r.u8();
    r.skip(3);
    uint32_t recipient_count = r.u32();
    if (!r.ok()) return corrupt("short envelope");
    if ((flags & ~flag_smtputf8) != 0) return corrupt("unknown flags");
    if (body_type > uint8_t(BodyType::binary_mime)) return corrupt("unknown body type");
    if (ret > uint8_t(DsnRet::hdrs)) return corrupt("unknown RET");
    // Each recipient takes at least 12 bytes, so a damaged count cannot make us allocate much.
    if (recipient_count > r.remaining() / 12) return corrupt("recipient count too large");
    e.smtputf8 = (flags & flag_smtputf8) != 0;
    e.body_type = BodyType(body_type);
    e.ret = DsnRet(ret);
    for (std::string* s : {&e.sender, &e.envid, &e.client_ip, &e.helo_name, &e.tls_protocol,
                           &e.tls_cipher}) {
        *s = r.str();
    }
    e.recipients.resize(recipient_count);
    for (Recipient& rc : e.recipients) {
        rc.notify = r.u8();
        r.skip(3);
        rc.address = r.str();
        rc.orcpt = r.str();
    }
    uint64_t content_size = r.u64();
    if (!r.ok()) return corrupt("short envelope");
    if (content_size != r.remaining()) return corrupt("content size does not match the record");
    m.content = r.rest();
    return m;
}

base::Result<DecodedMessage> decode_message_record(std::span<const uint8_t> record) {
    Frame f = read_frame(record);
    if (f.status != FrameStatus::ok) {
        return base::make_error(base::Errc::corrupt,
                                std::string("spool record: ") + frame_status_name(f.status));
    }
    if (f.type != RecordType::message) return corrupt("not a message record");
    return decode_message(f.payload);
}

}  // namespace ringmta::queue
