// Message preparation: line ends, dot-stuffing, Message-ID removal, generated bodies, headers,
// and loading a directory of .eml files.
#include "bench/load/message_corpus.hh"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace ringmta::bench {
namespace {

TEST(MessageCorpus, NormalizeLineEnds) {
    struct Case {
        const char* label;
        std::string in, want;
    };
    const Case cases[] = {
        {"already CRLF", "a\r\nb\r\n", "a\r\nb\r\n"},
        {"bare LF", "a\nb\n", "a\r\nb\r\n"},
        {"bare CR", "a\rb\r\n", "a\r\nb\r\n"},
        {"no final line end", "a\r\nb", "a\r\nb\r\n"},
        {"empty", "", ""},
        {"blank lines", "\n\n", "\r\n\r\n"},
    };
    for (const Case& c : cases) {
        std::string got = normalize_line_ends(c.in);
        EXPECT_EQ(got, c.want) << c.label;
    }
}

TEST(MessageCorpus, DotStuff) {
    struct Case {
        const char* label;
        std::string in, want;
    };
    const Case cases[] = {
        {"leading dot", ".a\r\n", "..a\r\n"},
        {"lone dot", "x\r\n.\r\ny\r\n", "x\r\n..\r\ny\r\n"},
        {"dot inside", "a.b\r\n", "a.b\r\n"},
        {"two dots", "..\r\n", "...\r\n"},
    };
    for (const Case& c : cases) EXPECT_EQ(dot_stuff(c.in), c.want) << c.label;
}

TEST(MessageCorpus, RemoveHeaderDropsFoldedFieldOnlyInHeaders) {
    std::string in =
        "Subject: a\r\nMessage-ID: <x@y>\r\n <folded>\r\nmessage-id: <2>\r\n"
        "To: b\r\n\r\nMessage-ID: in the body\r\n";
    std::string want = "Subject: a\r\nTo: b\r\n\r\nMessage-ID: in the body\r\n";
    EXPECT_EQ(remove_header(in, "Message-ID"), want);
    EXPECT_EQ(remove_header("X-Message-ID: 1\r\n", "Message-ID"), "X-Message-ID: 1\r\n");
}

TEST(MessageCorpus, GeneratedBodyShape) {
    for (size_t bytes : {0, 2, 80, 1000, 102400}) {
        std::string body = generated_body(bytes);
        EXPECT_LE(body.size(), bytes);
        EXPECT_GE(body.size() + 3, bytes) << "size " << bytes << ": got " << body.size();
        size_t pos = 0, k = 0;
        while (pos < body.size()) {
            size_t eol = body.find("\r\n", pos);
            ASSERT_NE(eol, std::string::npos);
            EXPECT_LE(eol - pos, 76u);
            EXPECT_EQ(body[pos] == '.', k % 8 == 3) << "line " << k;
            pos = eol + 2;
            ++k;
        }
    }
}

TEST(MessageCorpus, HeadersCarrySentTimeAndUniqueId) {
    char buf[1024];
    HeaderFields f;
    f.sent_unix_ns = 1700000000123456789ull;
    f.sequence = 42;
    f.run_id = 7;
    f.full = true;
    f.date = "Tue, 14 Nov 2023 22:13:20 +0000";
    f.from = "a@b.example";
    f.to = "c@d.example";
    std::string got(buf, format_headers(buf, sizeof buf, f));
    EXPECT_EQ(got,
              "X-Bench-Sent: 1700000000123456789\r\n"
              "Message-ID: <42.7@ringmta-bench.invalid>\r\n"
              "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
              "From: <a@b.example>\r\nTo: <c@d.example>\r\n"
              "Subject: ringmta-bench message 42\r\n\r\n");
    char date[48];
    EXPECT_EQ(std::string(date, format_date(date, 1700000000)), "Tue, 14 Nov 2023 22:13:20 +0000");
}

TEST(MessageCorpus, LoadsEmlDirectoryInNameOrder) {
    char dir[] = "/tmp/bench-corpus-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::ofstream(std::string(dir) + "/b.eml") << "Message-ID: <old>\nSubject: b\n\n.dot\n";
    std::ofstream(std::string(dir) + "/a.eml") << "Subject: a\r\n\r\nbody\r\n";
    std::ofstream(std::string(dir) + "/notes.txt") << "not a message";
    auto corpus = MessageCorpus::from_directory(dir);
    ASSERT_TRUE(corpus.has_value()) << corpus.error().message;
    ASSERT_EQ(corpus->count(), 2u);
    EXPECT_EQ(corpus->at(0).name, "a.eml");
    EXPECT_EQ(corpus->at(1).raw, "Subject: b\r\n\r\n.dot\r\n");
    EXPECT_EQ(corpus->at(1).stuffed, "Subject: b\r\n\r\n..dot\r\n");
    EXPECT_EQ(corpus->at(2).name, "a.eml") << "sequence numbers wrap around the files";
    EXPECT_FALSE(corpus->needs_headers());
    auto missing = MessageCorpus::from_directory(std::string(dir) + "/none");
    EXPECT_FALSE(missing.has_value());
    std::system(("rm -rf " + std::string(dir)).c_str());
}

}  // namespace
}  // namespace ringmta::bench
