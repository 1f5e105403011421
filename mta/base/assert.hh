// Assertions that stay on in release builds: a broken invariant is a bug, and a bug crashes
// loudly with its location rather than corrupting a spool. MTA_NEVER/MTA_ALWAYS mark defensive
// branches that tests should never reach (SQLite's NEVER()/ALWAYS() idea).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace ringmta::base {
[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line) {
    std::fprintf(stderr, "ringmta: assertion failed: %s (%s:%d)\n", expr, file, line);
    std::abort();
}
}  // namespace ringmta::base

#define MTA_ASSERT(expr) \
    ((expr) ? (void)0 : ::ringmta::base::assert_fail(#expr, __FILE__, __LINE__))

#define MTA_UNREACHABLE() ::ringmta::base::assert_fail("unreachable", __FILE__, __LINE__)

#ifdef NDEBUG
#define MTA_NEVER(x) (x)
#define MTA_ALWAYS(x) (x)
#else
#define MTA_NEVER(x) ((x) ? (::ringmta::base::assert_fail("NEVER(" #x ")", __FILE__, __LINE__), true) : false)
#define MTA_ALWAYS(x) ((x) ? true : (::ringmta::base::assert_fail("ALWAYS(" #x ")", __FILE__, __LINE__), false))
#endif
