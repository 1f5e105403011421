#include "mta/smtp/bdat_reader.hh"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/smtp/content_feed.hh"

namespace ringmta::smtp {
namespace {

using namespace std::string_literals;
using testing::chunking_name;
using testing::chunkings;
using testing::describe;
using testing::FeedOutput;
using testing::visible;

// Runs "BDAT n" chunks (the last one LAST) whose bytes arrive in recv() pieces of the given
// sizes; the stream is the concatenation of the chunks plus what follows them.
FeedOutput feed_bdat(const std::vector<std::string>& chunks, std::string_view stream,
                     const std::vector<size_t>& recv_sizes, const ContentLimits& limits,
                     bool binary) {
    FeedOutput got;
    StringSink sink(&got.content);
    BdatReader reader(sink, limits, binary);
    size_t next_chunk = 0;
    size_t offset = 0;
    reader.begin_chunk(chunks[0].size(), chunks.size() == 1);
    auto run = [&](const char* p, size_t n) {
        while (true) {
            FeedResult r = reader.feed(p, n);
            got.consumed += r.consumed;
            if (r.status == ContentStatus::need_more) {
                EXPECT_EQ(r.consumed, n);
                return;
            }
            if (r.status == ContentStatus::complete) {
                got.complete = true;
                got.outcome = reader.outcome();
                return;
            }
            ++next_chunk;
            reader.begin_chunk(chunks[next_chunk].size(), next_chunk + 1 == chunks.size());
            p += r.consumed;
            n -= r.consumed;
        }
    };
    for (size_t size : recv_sizes) {
        if (!got.complete) run(stream.data() + offset, size);
        offset += size;
    }
    if (!got.complete) run(nullptr, 0);  // a chunk of size 0 completes without bytes
    return got;
}

struct Case {
    const char* label;
    std::vector<std::string> chunks;
    std::string want_content;
    ContentOutcome want_outcome = ContentOutcome::ok;
};

void run_cases(const std::vector<Case>& cases, const ContentLimits& limits, bool binary) {
    for (const Case& c : cases) {
        std::string payload;
        for (const auto& chunk : c.chunks) payload += chunk;
        std::string stream = payload + "QUIT\r\n";  // pipelined; must stay unconsumed
        FeedOutput want{true, payload.size(), c.want_content, c.want_outcome};
        for (const auto& sizes : chunkings(stream.size())) {
            FeedOutput got = feed_bdat(c.chunks, stream, sizes, limits, binary);
            if (got.outcome != ContentOutcome::ok) got.content = want.content;
            EXPECT_EQ(got, want) << c.label << " chunks " << chunking_name(sizes) << ": got "
                                 << describe(got) << ", want " << describe(want);
        }
    }
}

TEST(BdatReader, TextChunks) {
    run_cases(
        {
            {"BDAT 0 LAST", {""}, ""},
            {"one chunk", {"a\r\nb\r\n"}, "a\r\nb\r\n"},
            {"CRLF split across chunks", {"abc\r", "\ndef\r\n"}, "abc\r\ndef\r\n"},
            {"line split across chunks", {"ab", "c\r\n"}, "abc\r\n"},
            {"empty chunk in the middle", {"ab\r", "", "\n"}, "ab\r\n"},
            {"no dot processing", {"\r\n.\r\n", "..x\r\n"}, "\r\n.\r\n..x\r\n"},
            {"missing final CRLF is added", {"abc"}, "abc\r\n"},
            {"trailing lone CR at LAST is bare", {"abc\r"}, "abc\r\n"},
            {"bare LF normalised", {"a\nb", "\r\n"}, "a\r\nb\r\n"},
            {"CR then CR across chunks", {"a\r", "\rb\r\n"}, "a\r\n\r\nb\r\n"},
        },
        ContentLimits{}, false);
}

TEST(BdatReader, RejectAndLimits) {
    ContentLimits reject;
    reject.bare_newline = BareNewline::reject;
    run_cases(
        {
            {"CRLF across chunks is not bare", {"abc\r", "\n"}, "abc\r\n"},
            {"trailing lone CR at LAST", {"abc\r"}, "", ContentOutcome::bare_newline},
            {"CR then text across chunks", {"abc\r", "x\r\n"}, "", ContentOutcome::bare_newline},
            {"bare LF", {"a\nb\r\n"}, "", ContentOutcome::bare_newline},
        },
        reject, false);
    ContentLimits small;
    small.message_size_bytes_max = 5;
    run_cases(
        {
            {"at the limit", {"ab", "c\r\n"}, "abc\r\n"},
            {"over the limit", {"abc", "d\r\n"}, "", ContentOutcome::too_big},
            {"added CRLF counts", {"abcd"}, "", ContentOutcome::too_big},
        },
        small, false);
    run_cases({{"NUL", {"a\0b\r\n"s}, "", ContentOutcome::nul}}, ContentLimits{}, false);
}

TEST(BdatReader, BinaryKeepsEveryByte) {
    ContentLimits limits;
    limits.bare_newline = BareNewline::reject;
    limits.line_length_bytes_max = 1;
    run_cases(
        {
            {"binary bytes", {"a\r", "b\0\n"s, "\r"}, "a\rb\0\n\r"s},
            {"no CRLF added", {"abc"}, "abc"},
        },
        limits, true);
    ContentLimits small;
    small.message_size_bytes_max = 3;
    run_cases({{"binary over the limit", {"ab", "cd"}, "", ContentOutcome::too_big}}, small, true);
}

}  // namespace
}  // namespace ringmta::smtp
