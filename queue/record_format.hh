// Spool record framing: the one contract between every writer of segment files (the engine's
// io_uring spool, SpoolWriter, recovery's salvage) and every reader (recovery, delivery, the
// offline `queue list`). Invariant: a record counts only if its magic, header CRC and record
// CRC all check; anything else is either the end of written data or damage.
#pragma once

/*
 * SEGMENT FILE  <spool_dir>/shard-<N>/seg-<16 uppercase hex seq>.log
 *
 *   A sequence of records. Every record starts at a file offset that is a multiple of 8 and
 *   the first one at offset 0. After the last record comes the end of the file or zeros (the
 *   engine may preallocate a segment with fallocate, so an unwritten tail reads as zeros).
 *
 * RECORD  = 16-byte header | payload (payload_size bytes) | 0-7 zero bytes of padding
 *
 *   offset  size  field
 *   0       2     magic         0x5152 (the bytes 'R' 'Q')
 *   2       1     type          RecordType below; 0 never appears in a written record
 *   3       1     version       per type: 1 for message, removal and hold; 2 for outcome
 *                                 (readers also accept outcome version 1, see below)
 *   4       4     payload_size  payload bytes, excluding header and padding; <= payload_max
 *   8       4     record_crc    CRC32C over header bytes [0,8) followed by the payload
 *   12      4     header_crc    CRC32C over header bytes [0,12)
 *
 *   All integers are little-endian. Padding is not covered by any CRC and readers ignore it.
 *   record_size = align8(16 + payload_size).
 *
 * WHY TWO CRCs. header_crc says whether payload_size can be trusted before the payload is
 *   read: when only the payload is damaged, the reader skips exactly one record and stays in
 *   step. When the header itself is damaged the reader resynchronises by trying every later
 *   8-byte boundary for a header whose both CRCs check (see segment_scan.hh).
 *   record_crc covers type and size too, so no bit of a record is unprotected but the padding.
 *
 * END OF DATA. At a record boundary, 16 zero bytes (type 0, magic 0) or fewer than 16 bytes
 *   left mean "nothing written past here" -- unless a valid record follows later, in which
 *   case the zeros are a hole and are treated as damage (a write still in flight when the
 *   machine stopped, while a later write had completed).
 *
 * PAYLOADS (little-endian; "str" = u32 byte length + bytes, no terminator)
 *
 *   message (type 1):  u64 queue_id, u64 arrival_us, u16 shard, u8 flags (bit 0 smtputf8),
 *     u8 body_type (0 7bit, 1 8bitmime, 2 binarymime), u8 dsn_ret (0 none, 1 full, 2 hdrs),
 *     u8[3] zero, u32 recipient_count, str sender ("" for <>), str envid, str client_ip,
 *     str helo_name, str tls_protocol, str tls_cipher,
 *     recipient_count x { u8 notify (bitmask, 0 = unset), u8[3] zero, str address, str orcpt },
 *     u64 content_size, content bytes (exactly content_size, to the end of the payload).
 *     The content is the message as it will be relayed (the engine's Received header first).
 *
 *   outcome (type 2), version 2:  u64 queue_id, u32 recipient_index, u8 outcome (1 delivered,
 *     2 failed, 3 deferred), u8 flags (bit 0 restated: written by salvage to carry a state
 *     over, not the result of an attempt), u16 diagnostic_size, u32 attempts, u32 zero,
 *     u64 next_attempt_us, u64 attempt_us (wall-clock time the result was known; 0 unknown),
 *     u8 status_size, u8 connector_size, u16 relay_size, u32 zero, diagnostic bytes
 *     (<= outcome_diagnostic_max), status bytes (the DSN code, "4.4.1"; <= outcome_status_max),
 *     connector bytes (<= outcome_connector_max), relay bytes ("host[ip]:port", "" when no
 *     server answered; <= outcome_relay_max). These extra fields are what `queue show` prints
 *     as the attempt history.
 *   outcome (type 2), version 1 (written before the attempt history; still read): the first
 *     32 bytes as in version 2 with flags 0, then diagnostic bytes; no time, status,
 *     connector or relay.
 *
 *   removal (type 3):  u64 queue_id, u8 reason (1 deleted by operator, 2 all recipients final,
 *     3 write aborted), u8[7] zero.
 *
 *   hold (type 4):  u64 queue_id, u8 held (1 put on hold by the operator, 0 released), u8[7]
 *     zero. The last hold record of a message wins; a message without one is not held.
 *
 * Journal records (outcome, removal, hold) refer to a message by queue id only. They may sit in the
 * message's own segment or any later one, never an earlier one; that is why segments are
 * deleted oldest-first (segment_table.hh). A reader meeting a journal record for an unknown
 * id ignores it: its message was already final and its segment deleted.
 *
 * Changing anything here means a new version byte for that record type and a reader that
 * accepts both. A version this reader does not know is bad_header: to it, that is damage.
 */

#include <cstddef>
#include <cstdint>
#include <span>

namespace ringmta::queue {

inline constexpr uint16_t record_magic = 0x5152;
// The version writers put in each type's records now (record_version_of); read_frame accepts
// every version from 1 up to that one.
inline constexpr uint8_t record_version = 1;
inline constexpr uint8_t outcome_record_version = 2;
inline constexpr size_t record_header_size = 16;
inline constexpr size_t record_alignment = 8;
// A damaged length must not make a reader skip or allocate gigabytes; messages are far smaller.
inline constexpr uint32_t record_payload_max = 1u << 30;

enum class RecordType : uint8_t { end = 0, message = 1, outcome = 2, removal = 3, hold = 4 };

constexpr uint8_t record_version_of(RecordType type) {
    return type == RecordType::outcome ? outcome_record_version : record_version;
}

constexpr uint64_t record_size_for(uint64_t payload_size) {
    return (record_header_size + payload_size + record_alignment - 1) & ~(record_alignment - 1);
}

// The CRC of header bytes [0,8): the start of record_crc, extended by the writer over the
// payload pieces with base::crc32c, so content never has to be copied to be checksummed.
uint32_t record_crc_begin(RecordType type, uint32_t payload_size);

// Fills the 16 header bytes; `record_crc` is record_crc_begin(...) extended over the payload.
void write_record_header(std::span<uint8_t, record_header_size> out, RecordType type,
                         uint32_t payload_size, uint32_t record_crc);

enum class FrameStatus {
    ok,          // a whole, valid record
    end,         // zero header or < 16 zero bytes: nothing written here
    truncated,   // valid header, but the record runs past the bytes given
    bad_header,  // magic, version, type, size or header_crc wrong: the length is not trusted
    bad_crc,     // valid header, whole record present, record_crc wrong: skip record_size
};

struct Frame {
    FrameStatus status = FrameStatus::end;
    RecordType type = RecordType::end;
    uint8_t version = 0;               // meaningful for ok, truncated and bad_crc
    uint64_t record_size = 0;          // meaningful for ok, truncated and bad_crc
    std::span<const uint8_t> payload;  // set only when ok
};

// Reads the record that starts at bytes[0].
Frame read_frame(std::span<const uint8_t> bytes);

const char* frame_status_name(FrameStatus status);

}  // namespace ringmta::queue
