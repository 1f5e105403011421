// Logging: one line per event, Postfix-style "ringmta[pid]: ID: key=value, ..." to stderr or a
// file. Lines are formatted into a stack buffer and written with one write(2), so lines from
// different shards never interleave. Not on the per-byte hot path.
#pragma once

#include <cstdarg>
#include <string>

namespace ringmta::base {

enum class LogLevel { debug, info, warning, error };
enum class LogFormat { text, json };

// Set once at start-up (before shards start). fd 2 unless a file is configured.
void log_configure(int fd, LogFormat format, LogLevel min_level);

void log_write(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace ringmta::base

#define MTA_LOG_INFO(...) ::ringmta::base::log_write(::ringmta::base::LogLevel::info, __VA_ARGS__)
#define MTA_LOG_WARN(...) ::ringmta::base::log_write(::ringmta::base::LogLevel::warning, __VA_ARGS__)
#define MTA_LOG_ERROR(...) ::ringmta::base::log_write(::ringmta::base::LogLevel::error, __VA_ARGS__)
#define MTA_LOG_DEBUG(...) ::ringmta::base::log_write(::ringmta::base::LogLevel::debug, __VA_ARGS__)
