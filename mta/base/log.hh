// Logging: one line per event, Postfix-style "ringmta[pid]: ID: key=value, ..." to stderr or a
// file, or one JSON object per line. A line is formatted into a stack buffer and written with
// one write(2), so lines from different shards never interleave. Warnings and errors pass a
// per-call-site rate limit; what it holds back is counted and reported, never dropped silently.
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <string>
#include <string_view>

#include "mta/base/result.hh"

namespace ringmta::base {

enum class LogLevel : uint8_t { debug, info, warning, error };
enum class LogFormat : uint8_t { text, json };

// Set at start-up, before shards start. fd 2 until log_open_file() names a file.
void log_configure(int fd, LogFormat format, LogLevel min_level);
// Lines per second one warning or error call site may write; 0 means no limit.
void log_set_burst_max(uint32_t lines_per_s);
// Logs to `path` (appending, created 0640) from now on.
Result<void> log_open_file(const std::string& path);
// Opens the file again under its name, for logrotate: the old file is closed only once the new
// one is open, and the descriptor number stays, so writers on other threads never miss a line.
// Without a file (stderr) it does nothing.
Result<void> log_reopen();
// Writes one "N similar messages suppressed" line per call site that held lines back in a
// window that has passed (or in any window, with `all`: at exit). Shards call it each second.
void log_report_suppressed(bool all = false);

// The wall clock of timestamps and rate windows, in µs since the epoch. Tests install a fake.
using LogClock = uint64_t (*)();
void log_set_clock(LogClock clock);

// Rate-limit state of one call site: a window of one second admits burst_max lines, the rest
// are counted. Constant-initialized statics (see the macros), so the common path is a few
// relaxed atomics: no guard variable, no lock.
class LogSite {
public:
    constexpr LogSite(LogLevel level, const char* format) : format_(format), level_(level) {}

    // Whether a line may be written in second `now_s`. The first call of a new window moves
    // what earlier windows held back into *passed_suppressed (0 if nothing), to be reported.
    bool admit(uint64_t now_s, uint32_t burst_max, uint64_t* passed_suppressed);
    // What windows before `now_s` held back (all windows with UINT64_MAX); counted once.
    uint64_t take_suppressed(uint64_t now_s);

    const char* format() const { return format_; }
    LogLevel level() const { return level_; }

private:
    friend void log_report_suppressed(bool);
    friend void log_list_site(LogSite* site);

    std::atomic<uint64_t> window_s_{0};
    std::atomic<uint32_t> count_{0};
    std::atomic<uint64_t> suppressed_{0};
    std::atomic<bool> listed_{false};  // on the list log_report_suppressed() walks
    LogSite* next_ = nullptr;          // that list; written once, before the site is published
    const char* format_;
    LogLevel level_;
};

// A plain line. info and debug lines are never rate-limited.
void log_write(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// A line through a call site's rate limit (the MTA_LOG_WARN/ERROR macros).
void log_write_limited(LogSite& site, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// An event, about one message when queue_id is not empty. Text: "ID: message"; JSON adds
// "queue_id" and "event" fields. `site` is null for info events: they are the audit trail
// (queued, delivered, removed) and are never held back.
void log_event(LogSite* site, LogLevel level, std::string_view queue_id, const char* event,
               const char* fmt, ...) __attribute__((format(printf, 5, 6)));

}  // namespace ringmta::base

#define MTA_LOG_INFO(...) ::ringmta::base::log_write(::ringmta::base::LogLevel::info, __VA_ARGS__)
#define MTA_LOG_DEBUG(...) ::ringmta::base::log_write(::ringmta::base::LogLevel::debug, __VA_ARGS__)

#define MTA_LOG_LIMITED_(level, fmt, ...)                                                  \
    do {                                                                                   \
        static constinit ::ringmta::base::LogSite mta_log_site_{level, fmt};               \
        ::ringmta::base::log_write_limited(mta_log_site_, fmt __VA_OPT__(, ) __VA_ARGS__); \
    } while (0)
#define MTA_LOG_WARN(fmt, ...) \
    MTA_LOG_LIMITED_(::ringmta::base::LogLevel::warning, fmt __VA_OPT__(, ) __VA_ARGS__)
#define MTA_LOG_ERROR(fmt, ...) \
    MTA_LOG_LIMITED_(::ringmta::base::LogLevel::error, fmt __VA_OPT__(, ) __VA_ARGS__)

// Events: MTA_LOG_EVENT(queue_id_text, "queued", "from=<%s>, ...", ...). Info, never limited.
#define MTA_LOG_EVENT(queue_id, event, ...)                                               \
    ::ringmta::base::log_event(nullptr, ::ringmta::base::LogLevel::info, queue_id, event, \
                               __VA_ARGS__)
#define MTA_LOG_EVENT_LIMITED_(level, queue_id, event, fmt, ...)             \
    do {                                                                     \
        static constinit ::ringmta::base::LogSite mta_log_site_{level, fmt}; \
        ::ringmta::base::log_event(&mta_log_site_, level, queue_id, event,   \
                                   fmt __VA_OPT__(, ) __VA_ARGS__);          \
    } while (0)
#define MTA_LOG_EVENT_WARN(queue_id, event, fmt, ...)                           \
    MTA_LOG_EVENT_LIMITED_(::ringmta::base::LogLevel::warning, queue_id, event, \
                           fmt __VA_OPT__(, ) __VA_ARGS__)
#define MTA_LOG_EVENT_ERROR(queue_id, event, fmt, ...)                        \
    MTA_LOG_EVENT_LIMITED_(::ringmta::base::LogLevel::error, queue_id, event, \
                           fmt __VA_OPT__(, ) __VA_ARGS__)
