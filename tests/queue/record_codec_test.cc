// Message record codec: round trips of every envelope field and content shape, CRC mismatch
// detection at every byte, framing errors.
#include <gtest/gtest.h>

#include <cstring>

#include "queue/message_record.hh"
#include "queue/record_format.hh"
#include "queue/write_batch.hh"
#include "tests/queue/test_support.hh"

namespace ringmta::queue {
namespace {

using test::bytes_of;
using test::flatten;
using test::sample_envelope;
using test::span_of;

Envelope full_envelope() {
    Envelope e = sample_envelope(0x0005F3A1B2C3D401, 0);
    e.smtputf8 = true;
    e.body_type = BodyType::binary_mime;
    e.ret = DsnRet::full;
    e.recipients = {
        {"bob@example.net", notify_unset, ""},
        {"carol@example.org", uint8_t(notify_success | notify_failure | notify_delay),
         "rfc822;carol@example.org"},
        {"dave@example.org", notify_never, "utf-8;dave@example.org"},
    };
    e.tls_protocol = "TLSv1.3";
    e.tls_cipher = "TLS_AES_256_GCM_SHA384";
    e.shard = 255;
    return e;
}

struct RoundTripCase {
    const char* label;
    Envelope envelope;
    std::vector<std::string> content;  // the spans, in order
};

std::vector<RoundTripCase> round_trip_cases() {
    Envelope empty_sender = sample_envelope(2);
    empty_sender.sender.clear();
    Envelope utf8 = sample_envelope(3);
    utf8.smtputf8 = true;
    utf8.sender = "jürgen@bücher.example";
    utf8.recipients = {{"用户@例子.广告", notify_failure, "utf-8;用户@例子.广告"},
                       {"θέμα@παράδειγμα.ελ", notify_unset, ""}};
    Envelope no_recipients = sample_envelope(4, 0);
    Envelope many = sample_envelope(5, 1000);
    return {
        {"every field", full_envelope(), {"Subject: hi\r\n\r\nbody\r\n"}},
        {"empty sender", empty_sender, {"x"}},
        {"utf-8 addresses", utf8, {"Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n\r\n\xc3\xbc\r\n"}},
        {"multi-span content", sample_envelope(6),
         {"Received: from exchange\r\n", "Subject: a\r\n", "\r\n", "body line\r\n"}},
        {"zero-length content", sample_envelope(7), {}},
        {"empty spans", sample_envelope(8), {"", "abc", ""}},
        {"no recipients", no_recipients, {"abc"}},
        {"1000 recipients", many, {std::string(100000, 'z')}},
    };
}

TEST(MessageRecord, RoundTrip) {
    for (const RoundTripCase& c : round_trip_cases()) {
        SCOPED_TRACE(c.label);
        std::vector<ContentSpan> spans;
        std::string joined;
        for (const std::string& s : c.content) {
            spans.push_back(span_of(s));
            joined += s;
        }
        WriteBatch batch;
        auto rec = batch.add_message(c.envelope, spans);
        ASSERT_TRUE(rec.has_value());
        std::vector<uint8_t> bytes = flatten(batch);
        EXPECT_EQ(bytes.size(), rec->record_size) << "got record size " << bytes.size();
        EXPECT_EQ(bytes.size() % 8, 0u) << "got size " << bytes.size() << ", want a multiple of 8";

        auto decoded = decode_message_record(bytes);
        ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
        EXPECT_EQ(decoded->envelope, c.envelope);
        std::string content(decoded->content.begin(), decoded->content.end());
        EXPECT_EQ(content, joined) << "got content of " << content.size() << " bytes, want "
                                   << joined.size();
    }
}

TEST(MessageRecord, ContentIsReferencedNotCopied) {
    std::string content(4096, 'c');
    ContentSpan spans[] = {span_of(content)};
    WriteBatch batch;
    ASSERT_TRUE(batch.add_message(sample_envelope(9), spans).has_value());
    bool found = false;
    for (const iovec& v : batch.iovecs()) found |= v.iov_base == content.data();
    EXPECT_TRUE(found) << "no iovec points at the caller's content";
}

TEST(MessageRecord, EncodeHeadIntoCallerBuffer) {
    Envelope e = full_envelope();
    std::string content = "hello\r\n";
    ContentSpan spans[] = {span_of(content)};
    std::vector<uint8_t> head(message_head_size(e));
    auto h = encode_message_head(e, spans, head);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->head_size, head.size());
    EXPECT_EQ(h->content_size, content.size());
    EXPECT_EQ(h->record_size, head.size() + content.size() + h->padding_size);
    std::vector<uint8_t> record = head;
    record.insert(record.end(), content.begin(), content.end());
    record.resize(h->record_size, 0);
    EXPECT_TRUE(decode_message_record(record).has_value());
}

TEST(MessageRecord, EveryFlippedByteIsDetected) {
    std::vector<uint8_t> good = test::message_record_bytes(full_envelope(), "Subject: x\r\n\r\nb");
    Frame f = read_frame(good);
    ASSERT_EQ(f.status, FrameStatus::ok);
    size_t covered = record_header_size + f.payload.size();  // padding is not covered
    for (size_t i = 0; i < covered; ++i) {
        std::vector<uint8_t> bad = good;
        bad[i] ^= 0x01;
        Frame g = read_frame(bad);
        EXPECT_NE(g.status, FrameStatus::ok) << "flipped byte " << i << " went unnoticed";
        FrameStatus want = i < record_header_size ? FrameStatus::bad_header : FrameStatus::bad_crc;
        EXPECT_EQ(g.status, want) << "byte " << i << ": got " << frame_status_name(g.status)
                                  << ", want " << frame_status_name(want);
    }
}

TEST(RecordFormat, FramingErrors) {
    std::vector<uint8_t> good = test::message_record_bytes(sample_envelope(1), "abc");
    auto with = [&](auto edit) {
        std::vector<uint8_t> b = good;
        edit(b);
        return b;
    };
    struct Case {
        const char* label;
        std::vector<uint8_t> bytes;
        FrameStatus want;
    };
    std::vector<Case> cases = {
        {"valid", good, FrameStatus::ok},
        {"empty input", {}, FrameStatus::end},
        {"zero header", std::vector<uint8_t>(64, 0), FrameStatus::end},
        {"few zero bytes", std::vector<uint8_t>(7, 0), FrameStatus::end},
        {"few non-zero bytes", bytes_of("RQ\x01"), FrameStatus::truncated},
        {"header only", std::vector<uint8_t>(good.begin(), good.begin() + 16),
         FrameStatus::truncated},
        {"payload cut", std::vector<uint8_t>(good.begin(), good.end() - 9), FrameStatus::truncated},
        {"bad magic", with([](auto& b) { b[0] = 'X'; }), FrameStatus::bad_header},
        {"bad version", with([](auto& b) { b[3] = 2; }), FrameStatus::bad_header},
        {"type 9", with([](auto& b) { b[2] = 9; }), FrameStatus::bad_header},
        {"header crc", with([](auto& b) { b[15] ^= 0x80; }), FrameStatus::bad_header},
        {"record crc field (under the header crc)", with([](auto& b) { b[8] ^= 0x80; }),
         FrameStatus::bad_header},
        {"payload byte", with([](auto& b) { b[40] ^= 0x04; }), FrameStatus::bad_crc},
        {"padding byte (not covered)", with([](auto& b) { b.back() ^= 0x01; }), FrameStatus::ok},
    };
    for (const Case& c : cases) {
        Frame f = read_frame(c.bytes);
        EXPECT_EQ(f.status, c.want) << c.label << ": got " << frame_status_name(f.status)
                                    << ", want " << frame_status_name(c.want);
    }
}

TEST(MessageRecord, DecoderRejectsBadPayloads) {
    std::vector<uint8_t> good = test::message_record_bytes(sample_envelope(1), "abc");
    std::vector<uint8_t> payload(read_frame(good).payload.begin(), read_frame(good).payload.end());
    struct Case {
        const char* label;
        size_t offset;
        uint8_t value;
    };
    const Case cases[] = {
        {"unknown flag", 18, 0x80},
        {"unknown body type", 19, 7},
        {"unknown RET", 20, 9},
        {"huge recipient count", 27, 0xFF},
        {"sender length past end", 31, 0x7F},
    };
    for (const Case& c : cases) {
        std::vector<uint8_t> bad = payload;
        bad[c.offset] = c.value;
        auto r = decode_message(bad);
        EXPECT_FALSE(r.has_value()) << c.label << ": got success, want corrupt";
        if (!r) {
            EXPECT_EQ(r.error().code, base::Errc::corrupt) << c.label;
        }
    }
    std::vector<uint8_t> shorter(payload.begin(), payload.end() - 1);
    EXPECT_FALSE(decode_message(shorter).has_value()) << "content shorter than its size";
}

}  // namespace
}  // namespace ringmta::queue
