// One write(2) per line; JSON mode escapes the message as a JSON string.
#include "mta/base/log.hh"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace ringmta::base {
namespace {
std::atomic<int> g_fd{2};
std::atomic<LogFormat> g_format{LogFormat::text};
std::atomic<LogLevel> g_min_level{LogLevel::info};

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warning: return "warning";
        case LogLevel::error: return "error";
    }
    return "info";
}
}  // namespace

void log_configure(int fd, LogFormat format, LogLevel min_level) {
    g_fd = fd;
    g_format = format;
    g_min_level = min_level;
}

void log_write(LogLevel level, const char* fmt, ...) {
    if (level < g_min_level.load(std::memory_order_relaxed)) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t msg_len = size_t(n) < sizeof msg ? size_t(n) : sizeof msg - 1;

    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t;
    gmtime_r(&ts.tv_sec, &t);
    char stamp[40];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  (t.tm_year + 1900) % 10000, (t.tm_mon + 1) % 100, t.tm_mday % 100,
                  t.tm_hour % 100, t.tm_min % 100, t.tm_sec % 100, int(ts.tv_nsec / 1000000) % 1000);

    char line[4608];
    size_t len = 0;
    if (g_format.load(std::memory_order_relaxed) == LogFormat::json) {
        len = size_t(std::snprintf(line, sizeof line,
                                   "{\"time\":\"%s\",\"level\":\"%s\",\"pid\":%d,\"message\":\"",
                                   stamp, level_name(level), int(getpid())));
        for (size_t i = 0; i < msg_len && len + 8 < sizeof line; ++i) {
            unsigned char c = static_cast<unsigned char>(msg[i]);
            if (c == '"' || c == '\\') {
                line[len++] = '\\';
                line[len++] = char(c);
            } else if (c < 0x20) {
                len += size_t(std::snprintf(line + len, sizeof line - len, "\\u%04x", c));
            } else {
                line[len++] = char(c);
            }
        }
        len += size_t(std::snprintf(line + len, sizeof line - len, "\"}\n"));
    } else {
        len = size_t(std::snprintf(line, sizeof line, "%s ringmta[%d]: %s%s%.*s\n", stamp,
                                   int(getpid()), level == LogLevel::info ? "" : level_name(level),
                                   level == LogLevel::info ? "" : ": ", int(msg_len), msg));
    }
    if (len > sizeof line) len = sizeof line;
    ssize_t rc = ::write(g_fd.load(std::memory_order_relaxed), line, len);
    (void)rc;
}

}  // namespace ringmta::base
