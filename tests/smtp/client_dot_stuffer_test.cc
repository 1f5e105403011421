// DotStuffer: stored content to DATA wire form, checked whole, split at every point, byte by
// byte, and against an independent line-by-line reference; the output never holds a bare CR
// or LF and never a lone "." line before the terminator.
#include "mta/smtp/client_dot_stuffer.hh"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "mta/smtp/client_script.hh"

namespace ringmta::smtp {
namespace {

std::string stuff(const std::vector<std::string_view>& pieces) {
    std::string out = "prior|";  // the stuffer appends; what was there stays
    DotStuffer stuffer;
    for (std::string_view piece : pieces) stuffer.append(out, piece);
    stuffer.finish(out);
    return out;
}

// The rule written the slow, obvious way: split at CRLF, double a leading dot.
std::string reference(std::string_view content) {
    std::string out = "prior|";
    while (!content.empty()) {
        size_t end = content.find("\r\n") + 2;
        std::string_view line = content.substr(0, end);
        if (line[0] == '.') out += '.';
        out += line;
        content.remove_prefix(end);
    }
    return out + ".\r\n";
}

TEST(DotStuffer, Cases) {
    struct Case {
        const char* label;
        std::string content;
        std::string want;  // after "prior|"
    };
    const Case cases[] = {
        {"empty", "", ".\r\n"},
        {"plain", "a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
        {"leading dot", ".a\r\n", "..a\r\n.\r\n"},
        {"lone dot line", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
        {"only a dot", ".\r\n", "..\r\n.\r\n"},
        {"only dots", "..\r\n...\r\n", "...\r\n....\r\n.\r\n"},
        {"dot inside a line", "a.b\r\nc .\r\n", "a.b\r\nc .\r\n.\r\n"},
        {"empty lines", "\r\n\r\n.\r\n", "\r\n\r\n..\r\n.\r\n"},
        {"dot after the last line", "x\r\n.y\r\n", "x\r\n..y\r\n.\r\n"},
        {"8-bit and NUL-free binary-ish text", "\xc3\xa4.\r\n.\xc3\xa4\r\n",
         "\xc3\xa4.\r\n..\xc3\xa4\r\n.\r\n"},
    };
    for (const Case& c : cases) {
        std::string want = "prior|" + c.want;
        EXPECT_EQ(reference(c.content), want) << c.label << " (reference)";
        for (const auto& pieces : testing::chunkings(c.content)) {
            std::string got = stuff(pieces);
            EXPECT_EQ(got, want) << c.label << " in " << pieces.size() << " pieces, first "
                                 << pieces[0].size() << ": got \"" << testing::printable(got)
                                 << "\", want \"" << testing::printable(want) << "\"";
        }
        std::string whole = "prior|";
        std::vector<std::string_view> one = {c.content};
        append_dot_stuffed(whole, one);
        EXPECT_EQ(whole, want) << c.label << " (append_dot_stuffed)";
    }
}

// Random CRLF-delimited content over a small alphabet rich in dots: the stuffer must agree
// with the reference in every chunking, hold no bare CR or LF, and end its content only at
// the terminator.
TEST(DotStuffer, RandomAgainstReference) {
    const uint32_t seed = std::random_device{}();
    std::mt19937 rng(seed);
    for (int round = 0; round < 2000; ++round) {
        std::string content;
        int lines = int(rng() % 6);
        for (int l = 0; l < lines; ++l) {
            int length = int(rng() % 5);
            for (int i = 0; i < length; ++i) content += ".a."[rng() % 3];
            content += "\r\n";
        }
        std::vector<std::string_view> pieces;
        std::string_view rest = content;
        while (!rest.empty()) {
            size_t n = std::min<size_t>(rest.size(), rng() % 4);
            pieces.push_back(rest.substr(0, n));
            rest.remove_prefix(n);
        }
        std::string got = stuff(pieces);
        std::string want = reference(content);
        ASSERT_EQ(got, want) << "seed " << seed << ": content \"" << testing::printable(content)
                             << "\"";
        ASSERT_FALSE(testing::has_bare_newline(got)) << "seed " << seed;
        if (!content.empty()) {
            ASSERT_EQ(got.find("\r\n.\r\n"), got.size() - 5) << "seed " << seed;
        }
    }
}

TEST(DotStufferDeathTest, BareLfAsserts) {
    EXPECT_DEATH(stuff({"a\nb\r\n"}), "assertion failed");
    EXPECT_DEATH(stuff({"a\r\nb"}), "assertion failed");  // not ending in CRLF
}

}  // namespace
}  // namespace ringmta::smtp
