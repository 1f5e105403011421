// Record header encoding and the frame check every reader goes through (see record_format.hh).
#include "queue/record_format.hh"

#include "mta/base/crc32c.hh"
#include "queue/byte_codec.hh"

namespace ringmta::queue {
namespace {

void write_header_start(std::span<uint8_t> out, RecordType type, uint32_t payload_size) {
    ByteWriter w(out);
    w.u16(record_magic);
    w.u8(uint8_t(type));
    w.u8(record_version_of(type));
    w.u32(payload_size);
}

bool known_type(uint8_t type) {
    return type >= uint8_t(RecordType::message) && type <= uint8_t(RecordType::hold);
}

bool all_zero(std::span<const uint8_t> bytes) {
    for (uint8_t b : bytes) {
        if (b != 0) return false;
    }
    return true;
}

}  // namespace

uint32_t record_crc_begin(RecordType type, uint32_t payload_size) {
    uint8_t start[8];
    write_header_start(start, type, payload_size);
    return base::crc32c(0, start, sizeof start);
}

void write_record_header(std::span<uint8_t, record_header_size> out, RecordType type,
                         uint32_t payload_size, uint32_t record_crc) {
    MTA_ASSERT(payload_size <= record_payload_max);
    write_header_start(out, type, payload_size);
    ByteWriter w(out.subspan(8));
    w.u32(record_crc);
    w.u32(base::crc32c(0, out.data(), 12));
}

Frame read_frame(std::span<const uint8_t> bytes) {
    Frame f;
    if (bytes.size() < record_header_size) {
        f.status = all_zero(bytes) ? FrameStatus::end : FrameStatus::truncated;
        return f;
    }
    auto header = bytes.first(record_header_size);
    if (all_zero(header)) {
        f.status = FrameStatus::end;
        return f;
    }
    ByteReader r(header);
    uint16_t magic = r.u16();
    uint8_t type = r.u8();
    uint8_t version = r.u8();
    uint32_t payload_size = r.u32();
    uint32_t record_crc = r.u32();
    uint32_t header_crc = r.u32();
    if (magic != record_magic || !known_type(type) || version == 0 ||
        version > record_version_of(RecordType(type)) || payload_size > record_payload_max ||
        header_crc != base::crc32c(0, header.data(), 12)) {
        f.status = FrameStatus::bad_header;
        return f;
    }
    f.type = RecordType(type);
    f.version = version;
    f.record_size = record_size_for(payload_size);
    if (record_header_size + payload_size > bytes.size()) {
        f.status = FrameStatus::truncated;
        return f;
    }
    auto payload = bytes.subspan(record_header_size, payload_size);
    uint32_t crc = base::crc32c(base::crc32c(0, header.data(), 8), payload.data(), payload.size());
    if (crc != record_crc) {
        f.status = FrameStatus::bad_crc;
        return f;
    }
    f.status = FrameStatus::ok;
    f.payload = payload;
    return f;
}

const char* frame_status_name(FrameStatus status) {
    switch (status) {
        case FrameStatus::ok: return "ok";
        case FrameStatus::end: return "end";
        case FrameStatus::truncated: return "truncated";
        case FrameStatus::bad_header: return "bad header";
        case FrameStatus::bad_crc: return "bad crc";
    }
    return "?";
}

}  // namespace ringmta::queue
