#include "mta/base/crc32c.hh"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

using ringmta::base::crc32c;
using ringmta::base::crc32c_software;

TEST(Crc32c, KnownVectors) {
    struct Case { const char* label; std::string input; uint32_t want; };
    const Case cases[] = {
        {"empty", "", 0x00000000u},
        {"check string", "123456789", 0xE3069283u},
        {"32 zero bytes", std::string(32, '\0'), 0x8A9136AAu},
        {"32 0xff bytes", std::string(32, '\xff'), 0x62A8AB43u},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(crc32c(0, c.input.data(), c.input.size()), c.want) << c.label;
        EXPECT_EQ(crc32c_software(0, c.input.data(), c.input.size()), c.want) << c.label;
    }
}

TEST(Crc32c, IncrementalEqualsWholeAndHardwareEqualsSoftware) {
    std::mt19937 rng(12345);
    std::vector<unsigned char> buf(4099);
    for (auto& b : buf) b = static_cast<unsigned char>(rng());
    uint32_t whole = crc32c(0, buf.data(), buf.size());
    EXPECT_EQ(crc32c_software(0, buf.data(), buf.size()), whole);
    for (size_t split : {0ul, 1ul, 7ul, 8ul, 9ul, 2048ul, 4098ul, 4099ul}) {
        uint32_t part = crc32c(crc32c(0, buf.data(), split), buf.data() + split, buf.size() - split);
        EXPECT_EQ(part, whole) << "split at " << split;
    }
}
