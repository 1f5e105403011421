// Message record codec: the envelope goes into a caller buffer after the record header, the
// content stays where the caller has it and is only checksummed, so the engine writes
// [head][content spans...][padding] with one writev. Fails (Errc::invalid) only on a message
// too large for a record; a decoder failure is Errc::corrupt.
#pragma once

#include <cstdint>
#include <span>

#include "mta/base/result.hh"
#include "queue/envelope.hh"
#include "queue/record_format.hh"

namespace ringmta::queue {

using ContentSpan = std::span<const uint8_t>;

// Bytes the head (16-byte header + encoded envelope + u64 content size) takes.
size_t message_head_size(const Envelope& envelope);

struct MessageHead {
    size_t head_size = 0;       // bytes written into `out`
    uint64_t content_size = 0;  // sum of the content spans
    uint64_t record_size = 0;   // head + content + padding: what the record occupies on disk
    size_t padding_size = 0;    // zero bytes the writer appends after the content (0..7)
};

// Writes header and envelope into out[0, message_head_size(envelope)) and checksums the
// content spans in order. `out` must be at least message_head_size(envelope) bytes.
base::Result<MessageHead> encode_message_head(const Envelope& envelope,
                                              std::span<const ContentSpan> content,
                                              std::span<uint8_t> out);

struct DecodedMessage {
    Envelope envelope;
    ContentSpan content;  // points into the payload given to decode_message
};

// Decodes a message payload (Frame::payload of a record whose type is message).
base::Result<DecodedMessage> decode_message(std::span<const uint8_t> payload);

// Frames and decodes one whole record (e.g. read back by segment offset and record size).
base::Result<DecodedMessage> decode_message_record(std::span<const uint8_t> record);

}  // namespace ringmta::queue
