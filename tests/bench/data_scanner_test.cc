// DataScanner: end of DATA and dot-unstuffing, for every way the input can be split in two.
#include "bench/load/data_scanner.hh"

#include <gtest/gtest.h>

#include <string>

namespace ringmta::bench {
namespace {

struct Case {
    const char* label;
    std::string wire;     // what follows the 354
    std::string content;  // unstuffed content
    size_t consumed;      // bytes up to and including the terminator (wire.size(): none seen)
    bool ended;
};

const Case cases[] = {
    {"empty message", ".\r\n", "", 3, true},
    {"one line", "a\r\n.\r\n", "a\r\n", 6, true},
    {"stuffed dot", "..x\r\n.\r\n", ".x\r\n", 8, true},
    {"stuffed lone dot", "..\r\n.\r\n", ".\r\n", 7, true},
    {"dot inside a line", "a.b\r\n.\r\n", "a.b\r\n", 8, true},
    {"pipelined command after", "x\r\n.\r\nMAIL FROM:<>\r\n", "x\r\n", 6, true},
    {"not the end: .x", "a\r\n.x\r\n", "a\r\nx\r\n", 7, false},
    {"not the end: CR after dot", "a\r\n.\rz\r\n.\r\n", "a\r\n\rz\r\n", 11, true},
    {"no end yet", "line\r\nmore", "line\r\nmore", 10, false},
    {"bare LF is a line end", "a\n.\r\n", "a\n", 5, true},
};

TEST(DataScanner, EveryCaseAtEverySplit) {
    for (const Case& c : cases) {
        for (size_t split = 0; split <= c.wire.size(); ++split) {
            DataScanner s;
            std::string out;
            bool ended = false;
            size_t used = s.scan(c.wire.data(), split, &out, &ended);
            if (!ended) {
                ASSERT_EQ(used, split) << c.label;
                used += s.scan(c.wire.data() + split, c.wire.size() - split, &out, &ended);
            }
            EXPECT_EQ(out, c.content) << c.label << " split " << split << ": got content '" << out
                                      << "', want '" << c.content << "'";
            EXPECT_EQ(used, c.consumed) << c.label << " split " << split;
            EXPECT_EQ(ended, c.ended) << c.label << " split " << split;
        }
    }
}

TEST(DataScanner, CountsWithoutKeepingContent) {
    DataScanner s;
    bool ended = false;
    std::string wire = "abc\r\n..d\r\n.\r\n";
    EXPECT_EQ(s.scan(wire.data(), wire.size(), nullptr, &ended), wire.size());
    EXPECT_TRUE(ended);
}

}  // namespace
}  // namespace ringmta::bench
