#include "mta/base/result.hh"

#include <gtest/gtest.h>

#include <cerrno>

using namespace ringmta::base;

TEST(Result, ValueAndError) {
    Result<int> ok = 7;
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(*ok, 7);
    Result<int> bad = make_error(Errc::invalid, "nope");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, Errc::invalid);
    EXPECT_EQ(bad.error().message, "nope");
    Result<void> fine;
    EXPECT_TRUE(fine);
}

TEST(Result, ErrnoTranslation) {
    EXPECT_EQ(errno_error(ENOSPC, "write").code, Errc::no_space);
    EXPECT_EQ(errno_error(ENOENT, "open").code, Errc::not_found);
    EXPECT_EQ(errno_error(EIO, "fsync").code, Errc::io);
    EXPECT_EQ(errno_error(EIO, "fsync").message.rfind("fsync: ", 0), 0u);
}
