#include "mta/smtp/data_reader.hh"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tests/smtp/content_feed.hh"

namespace ringmta::smtp {
namespace {
using namespace std::string_literals;

using testing::chunking_name;
using testing::chunkings;
using testing::describe;
using testing::FeedOutput;
using testing::visible;

FeedOutput feed_data(std::string_view input, const std::vector<size_t>& sizes,
                     const ContentLimits& limits) {
    FeedOutput got;
    StringSink sink(&got.content);
    DataReader reader(sink, limits);
    size_t offset = 0;
    for (size_t size : sizes) {
        FeedResult r = reader.feed(input.data() + offset, size);
        if (r.status == ContentStatus::complete) {
            got.complete = true;
            got.consumed = offset + r.consumed;
            got.outcome = reader.outcome();
            return got;
        }
        EXPECT_EQ(r.status, ContentStatus::need_more);
        EXPECT_EQ(r.consumed, size);
        offset += size;
    }
    got.consumed = offset;
    return got;
}

// Feeds input at every split point and one byte at a time; each must give want.
void expect_all_chunkings(const char* label, std::string_view input, const ContentLimits& limits,
                          const FeedOutput& want) {
    for (const auto& sizes : chunkings(input.size())) {
        FeedOutput got = feed_data(input, sizes, limits);
        if (!want.complete) got = FeedOutput{got.complete};  // only completeness counts
        // Once failed, the sink's content is unspecified; only the outcome counts.
        if (got.outcome != ContentOutcome::ok) got.content = want.content;
        EXPECT_EQ(got, want) << label << " input \"" << visible(input) << "\" chunks "
                             << chunking_name(sizes) << ": got " << describe(got) << ", want "
                             << describe(want);
    }
}

struct Case {
    const char* label;
    std::string input;
    std::string want_content;  // ignored when want_outcome is not ok
    ContentOutcome want_outcome = ContentOutcome::ok;
    size_t want_consumed = std::string::npos;  // npos: the whole input
};

constexpr const char* kTail = "MAIL FROM:<evil@example.net>\r\n";

void run_cases(const std::vector<Case>& cases, const ContentLimits& limits) {
    for (const Case& c : cases) {
        FeedOutput want{true,
                        c.want_consumed == std::string::npos ? c.input.size() : c.want_consumed,
                        c.want_content, c.want_outcome};
        expect_all_chunkings(c.label, c.input, limits, want);
    }
}

TEST(DataReader, TerminatorAndUnstuffing) {
    const std::vector<Case> cases = {
        {"terminator as the very first line", ".\r\n", ""},
        {"empty line then terminator", "\r\n.\r\n", "\r\n"},
        {"one line", "hello\r\n.\r\n", "hello\r\n"},
        {"terminator right after an empty line", "a\r\n\r\n.\r\n", "a\r\n\r\n"},
        {"dot-stuffed line after an empty line", "a\r\n\r\n..b\r\n.\r\n", "a\r\n\r\n.b\r\n"},
        {"stuffed lone dot", "..\r\n.\r\n", ".\r\n"},
        {"stuffed first line", "..x\r\n.\r\n", ".x\r\n"},
        {"unstuffed dot before text is removed", ".x\r\n.\r\n", "x\r\n"},
        {"three dots become two", "...\r\n.\r\n", "..\r\n"},
        {"dot inside a line is kept", "a.b\r\n a.\r\n.\r\n", "a.b\r\n a.\r\n"},
        {"pipelined command left unconsumed", "x\r\n.\r\nQUIT\r\n", "x\r\n", ContentOutcome::ok, 6},
        {"pipelined dot line left unconsumed", "x\r\n.\r\n.\r\n", "x\r\n", ContentOutcome::ok, 6},
        {"header and body", "Subject: t\r\n\r\nbody\r\n.\r\n", "Subject: t\r\n\r\nbody\r\n"},
        {"tab and 8-bit pass", "a\tb\xc3\xa9\r\n.\r\n", "a\tb\xc3\xa9\r\n"},
    };
    run_cases(cases, ContentLimits{});
}

// Each variant is put between a body line and a line that must stay content; the real
// terminator comes after it. Nothing of the variant may end DATA.
TEST(DataReader, SmugglingVariantsNeverTerminate) {
    const std::string head = "Subject: t\r\n\r\nbody";
    const std::string after = std::string(kTail) + ".\r\n";
    struct Variant {
        const char* label;
        std::string bytes;
        std::string want_normalized;  // what head + bytes + kTail becomes
    };
    const std::string mail = kTail;
    const std::vector<Variant> variants = {
        {"\\n.\\r\\n", "\n.\r\n", "Subject: t\r\n\r\nbody\r\n.\r\n" + mail},
        {"\\n.\\n", "\n.\n", "Subject: t\r\n\r\nbody\r\n.\r\n" + mail},
        // A CRLF line "." + bare LF: the dot is unstuffed, the LF becomes CRLF.
        {"\\r\\n.\\n", "\r\n.\n", "Subject: t\r\n\r\nbody\r\n\r\n" + mail},
        {"\\r.\\r\\n", "\r.\r\n", "Subject: t\r\n\r\nbody\r\n.\r\n" + mail},
        // A CRLF line "." + bare CR: the dot is unstuffed, the CR becomes CRLF.
        {"\\r\\n.\\r\\r\\n", "\r\n.\r\r\n", "Subject: t\r\n\r\nbody\r\n\r\n\r\n" + mail},
        {"\\r.\\n", "\r.\n", "Subject: t\r\n\r\nbody\r\n.\r\n" + mail},
        {"\\n..\\n", "\n..\n", "Subject: t\r\n\r\nbody\r\n..\r\n" + mail},
        {"\\r\\n.\\r.\\r\\n", "\r\n.\r.\r\n", "Subject: t\r\n\r\nbody\r\n\r\n.\r\n" + mail},
    };
    for (const Variant& v : variants) {
        std::string input = head + v.bytes + after;
        std::string label = std::string("smuggle ") + v.label;
        ContentLimits normalize;
        expect_all_chunkings((label + " normalize").c_str(), input, normalize,
                             FeedOutput{true, input.size(), v.want_normalized, ContentOutcome::ok});
        ContentLimits reject;
        reject.bare_newline = BareNewline::reject;
        expect_all_chunkings((label + " reject").c_str(), input, reject,
                             FeedOutput{true, input.size(), "", ContentOutcome::bare_newline});
    }
}

TEST(DataReader, BareNewlines) {
    const std::vector<Case> cases = {
        {"body without CRLF before a bare-LF terminator", "abc\n.\n\r\n.\r\n", "abc\r\n.\r\n\r\n"},
        {"bare LF lines", "a\nb\n\r\n.\r\n", "a\r\nb\r\n\r\n"},
        {"CR CR LF", "a\r\r\n.\r\n", "a\r\n\r\n"},
        {"bare CR then terminator", "a\r\r\n.\r\n", "a\r\n\r\n"},
        {"LF at start", "\n.\r\n.\r\n", "\r\n.\r\n"},
        {"CR at start", "\r.\r\n.\r\n", "\r\n.\r\n"},
        {"LF CR is two bare", "a\n\rb\r\n.\r\n", "a\r\n\r\nb\r\n"},
        {"dot then bare CR at end of a CRLF line", "x\r\n.\r\r\n.\r\n", "x\r\n\r\n\r\n"},
    };
    run_cases(cases, ContentLimits{});
    ContentLimits reject;
    reject.bare_newline = BareNewline::reject;
    for (const Case& c : cases) {
        expect_all_chunkings(c.label, c.input, reject,
                             FeedOutput{true, c.input.size(), "", ContentOutcome::bare_newline});
    }
    run_cases({{"reject without bare newlines is ok", "a\r\n..b\r\n.\r\n", "a\r\n.b\r\n"}}, reject);
}

TEST(DataReader, Incomplete) {
    for (std::string input : {"", ".", ".\r", "a\r\n.\r", "a\r\n", "a\n.\n", "a\r.\r\n",
                              "a\r\n.\r\r\n", "a\r\n..\r\n"}) {
        expect_all_chunkings("incomplete", input, ContentLimits{}, FeedOutput{});
    }
}

TEST(DataReader, Limits) {
    ContentLimits size5;
    size5.message_size_bytes_max = 5;
    run_cases(
        {
            {"at the size limit", "abc\r\n.\r\n", "abc\r\n"},
            {"stuffing dot not counted", "..ab\r\n.\r\n", ".ab\r\n"},
            {"over the size limit", "abcd\r\n.\r\nQUIT\r\n", "", ContentOutcome::too_big, 9},
            {"normalised CRLF counts", "ab\nc\r\n.\r\n", "", ContentOutcome::too_big},
        },
        size5);
    ContentLimits line4;
    line4.line_length_bytes_max = 4;
    run_cases(
        {
            {"line at the limit", "abcd\r\nef\r\n.\r\n", "abcd\r\nef\r\n"},
            {"stuffing dot not counted", "..abc\r\n.\r\n", ".abc\r\n"},
            {"bare LF splits lines", "abcd\nabcd\r\n.\r\n", "abcd\r\nabcd\r\n"},
            {"line over the limit", "ab\r\nabcde\r\nx\r\n.\r\n", "", ContentOutcome::line_too_long},
            {"long last line", "abcdefgh\r\n.\r\n", "", ContentOutcome::line_too_long},
        },
        line4);
    run_cases(
        {
            {"NUL", "a\0b\r\n.\r\n"s, "", ContentOutcome::nul},
            {"NUL alone", "\0\r\n.\r\n"s, "", ContentOutcome::nul},
        },
        ContentLimits{});
    // Several conditions: the order of ContentOutcome decides, whatever the chunking.
    ContentLimits all;
    all.message_size_bytes_max = 8;
    all.line_length_bytes_max = 2;
    all.bare_newline = BareNewline::reject;
    run_cases(
        {
            {"size beats the rest", "abc\0\n0123456789\r\n.\r\n"s, "", ContentOutcome::too_big},
            {"bare beats NUL and length", "abc\0\n\r\n.\r\n"s, "", ContentOutcome::bare_newline},
            {"NUL beats length", "abc\0\r\n.\r\n"s, "", ContentOutcome::nul},
        },
        all);
}

TEST(DataReader, RepliesForOutcomes) {
    struct {
        ContentOutcome outcome;
        std::string_view want;
    } cases[] = {
        {ContentOutcome::ok, ""},
        {ContentOutcome::too_big, "552 5.3.4 Message size exceeds fixed limit"},
        {ContentOutcome::bare_newline, "550 5.6.0 Message contains bare CR or LF"},
        {ContentOutcome::nul, "554 5.6.0 Message contains NUL character"},
        {ContentOutcome::line_too_long, "500 5.5.2 Line too long"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(content_reply(c.outcome), c.want)
            << "got " << content_reply(c.outcome) << ", want " << c.want;
    }
}

// The rules of data_reader.hh written as the plainest byte-at-a-time loop, against which the
// run-copying reader is compared on random input.
FeedOutput reference(std::string_view in, BareNewline policy) {
    FeedOutput out;
    bool line_start = true, bare = false, nul = false;
    size_t i = 0;
    while (i < in.size()) {
        if (line_start && in[i] == '.') {
            if (in.substr(i, 3) == ".\r\n") {
                out.complete = true;
                out.consumed = i + 3;
                break;
            }
            if (in.substr(i) == "." || in.substr(i) == ".\r") break;
            ++i;
        }
        line_start = false;
        char c = in[i];
        if (c == '\r' && i + 1 == in.size()) break;
        if (c == '\r' && in[i + 1] == '\n') {
            out.content += "\r\n";
            i += 2;
            line_start = true;
        } else if (c == '\r' || c == '\n') {
            out.content += "\r\n";
            bare = true;
            ++i;
        } else {
            nul |= c == '\0';
            out.content += c;
            ++i;
        }
    }
    if (bare && policy == BareNewline::reject)
        out.outcome = ContentOutcome::bare_newline;
    else if (nul)
        out.outcome = ContentOutcome::nul;
    if (!out.complete) out = FeedOutput{};
    return out;
}

TEST(DataReader, MatchesReferenceOnRandomInput) {
    const unsigned seed = std::random_device{}();
    std::mt19937 rng(seed);
    const char alphabet[] = {'a', '.', '.', '\r', '\r', '\n', '\n', '\0', 'b'};
    for (int round = 0; round < 3000; ++round) {
        std::string input;
        size_t len = rng() % 40;
        for (size_t k = 0; k < len; ++k) input += alphabet[rng() % sizeof alphabet];
        if (rng() % 2) input += "\r\n.\r\nQUIT\r\n";
        BareNewline policy = rng() % 2 ? BareNewline::normalize : BareNewline::reject;
        FeedOutput want = reference(input, policy);
        ContentLimits limits;
        limits.bare_newline = policy;
        std::vector<size_t> sizes;
        for (size_t left = input.size(); left > 0;) {
            size_t take = std::min<size_t>(left, rng() % 8);
            sizes.push_back(take);
            left -= take;
        }
        FeedOutput got = feed_data(input, sizes, limits);
        if (!got.complete) got = FeedOutput{};
        if (got.outcome != ContentOutcome::ok) got.content = want.content;
        ASSERT_EQ(got, want) << "seed " << seed << " input \"" << visible(input) << "\" chunks "
                             << chunking_name(sizes) << ": got " << describe(got) << ", want "
                             << describe(want);
    }
}

TEST(DataReader, LargeMessageInOddChunks) {
    std::string body;
    for (int i = 0; i < 2000; ++i) {
        if (i % 7 == 0) body += '.';
        body += std::to_string(i);
        body += " line\r\n";
    }
    std::string wire;
    for (size_t pos = 0; pos < body.size();) {
        size_t eol = body.find("\r\n", pos) + 2;
        if (body[pos] == '.') wire += '.';
        wire.append(body, pos, eol - pos);
        pos = eol;
    }
    wire += ".\r\n";
    for (size_t chunk : {1u, 3u, 16u, 17u, 4096u}) {
        std::vector<size_t> sizes;
        for (size_t left = wire.size(); left > 0; left -= std::min(left, chunk)) {
            sizes.push_back(std::min(left, chunk));
        }
        FeedOutput got = feed_data(wire, sizes, ContentLimits{});
        EXPECT_TRUE(got.complete) << "chunk " << chunk;
        EXPECT_EQ(got.consumed, wire.size()) << "chunk " << chunk;
        EXPECT_TRUE(got.content == body) << "chunk " << chunk << ": content differs from body";
    }
}

}  // namespace
}  // namespace ringmta::smtp
