// Line rendering (text or JSON), the per-call-site rate limit and the log file. A line costs one
// vsnprintf, a cached timestamp (formatted once per second per thread) and one write(2); the
// settings are relaxed atomics set at start-up, so logging threads share no lock.
#include "mta/base/log.hh"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include "mta/base/clock.hh"

namespace ringmta::base {

void log_list_site(LogSite* site);

namespace {

uint64_t system_clock_us() { return realtime_us(); }

std::atomic<int> g_fd{2};
std::atomic<LogFormat> g_format{LogFormat::text};
std::atomic<LogLevel> g_min_level{LogLevel::info};
std::atomic<uint32_t> g_burst_max{100};
std::atomic<LogClock> g_clock{&system_clock_us};
// getpid() is a system call in current glibc; the pid of a process that never forks is fixed.
std::atomic<int> g_pid{0};
// Sites that have held lines back at least once; a site is never unlisted (they are statics).
std::atomic<LogSite*> g_sites{nullptr};

// The log file, when there is one. Only opening and reopening take the mutex.
std::mutex g_file_mutex;
std::string g_file_path;
int g_file_fd = -1;

constexpr size_t kMessageMax = 2048;
constexpr size_t kLineMax = 8192;  // room for a message that grows when JSON-escaped

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warning: return "warning";
        case LogLevel::error: return "error";
    }
    return "info";
}

int pid() {
    int p = g_pid.load(std::memory_order_relaxed);
    if (p == 0) {
        p = int(::getpid());
        g_pid.store(p, std::memory_order_relaxed);
    }
    return p;
}

// A line being built; appends past the end are dropped (the line is cut, never overrun).
struct Line {
    char buf[kLineMax];
    size_t len = 0;

    size_t room() const { return sizeof buf - len; }
    void put(std::string_view s) {
        size_t n = s.size() < room() ? s.size() : room();
        std::memcpy(buf + len, s.data(), n);
        len += n;
    }
    void put_char(char c) {
        if (len < sizeof buf) buf[len++] = c;
    }
    void put_uint(uint64_t v) {
        char digits[20];
        size_t n = 0;
        do {
            digits[n++] = char('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (n > 0) put_char(digits[--n]);
    }
};

// "2024-05-01T12:00:00.123Z". gmtime_r and the date digits are redone once a second.
void put_stamp(Line& line, uint64_t now_us) {
    struct Cache {
        uint64_t second = UINT64_MAX;
        char text[19];  // "YYYY-MM-DDTHH:MM:SS", no terminator
    };
    thread_local Cache cache;
    uint64_t second = now_us / 1000000;
    if (second != cache.second) {
        time_t t = time_t(second);
        tm parts;
        gmtime_r(&t, &parts);
        auto two = [](char* out, int v) {
            out[0] = char('0' + v / 10 % 10);
            out[1] = char('0' + v % 10);
        };
        int year = (parts.tm_year + 1900) % 10000;
        two(cache.text, year / 100);
        two(cache.text + 2, year % 100);
        cache.text[4] = '-';
        two(cache.text + 5, parts.tm_mon + 1);
        cache.text[7] = '-';
        two(cache.text + 8, parts.tm_mday);
        cache.text[10] = 'T';
        two(cache.text + 11, parts.tm_hour);
        cache.text[13] = ':';
        two(cache.text + 14, parts.tm_min);
        cache.text[16] = ':';
        two(cache.text + 17, parts.tm_sec);
        cache.second = second;
    }
    unsigned ms = unsigned(now_us / 1000 % 1000);
    char tail[5] = {'.', char('0' + ms / 100), char('0' + ms / 10 % 10), char('0' + ms % 10), 'Z'};
    line.put({cache.text, 19});
    line.put({tail, 5});
}

// Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF), or 0.
size_t utf8_sequence(const unsigned char* s, size_t n) {
    auto cont = [](unsigned char c) { return (c & 0xC0) == 0x80; };
    unsigned char c = s[0];
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && cont(s[1]) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || !cont(s[1]) || !cont(s[2])) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0;  // overlong
        if (c == 0xED && s[1] > 0x9F) return 0;  // UTF-16 surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || !cont(s[1]) || !cont(s[2]) || !cont(s[3])) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0;  // overlong
        if (c == 0xF4 && s[1] > 0x8F) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;
}

// A JSON string (with its quotes). Text from the network (addresses, replies) may hold any
// byte: control characters are escaped and bytes that are not UTF-8 become U+FFFD, so every
// line is valid JSON. When the line is full the string is cut between characters.
void put_json_string(Line& line, std::string_view s) {
    constexpr size_t kTailRoom = 64;  // the closing quote, later fields, "}\n"
    static const char kHex[] = "0123456789abcdef";
    line.put_char('"');
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t n = s.size();
    for (size_t i = 0; i < n;) {
        if (line.room() < kTailRoom + 6) break;
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            line.put_char('\\');
            line.put_char(char(c));
            ++i;
        } else if (c < 0x20 || c == 0x7F) {
            char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
            line.put({esc, 6});
            ++i;
        } else if (c < 0x80) {
            line.put_char(char(c));
            ++i;
        } else if (size_t k = utf8_sequence(p + i, n - i); k != 0) {
            line.put({reinterpret_cast<const char*>(p + i), k});
            i += k;
        } else {
            line.put("\\ufffd");
            ++i;
        }
    }
    line.put_char('"');
}

struct Event {
    LogLevel level;
    std::string_view queue_id;
    const char* event;    // null: a plain line
    uint64_t suppressed;  // a "similar messages suppressed" report: how many
};

void render(Line& line, LogFormat format, const Event& e, uint64_t now_us,
            std::string_view message) {
    if (format == LogFormat::json) {
        line.put("{\"time\":\"");
        put_stamp(line, now_us);
        line.put("\",\"level\":\"");
        line.put(level_name(e.level));
        line.put("\",\"pid\":");
        line.put_uint(uint64_t(pid()));
        if (!e.queue_id.empty()) {
            line.put(",\"queue_id\":");
            put_json_string(line, e.queue_id);
        }
        if (e.event != nullptr) {
            line.put(",\"event\":");
            put_json_string(line, e.event);
        }
        if (e.suppressed != 0) {
            line.put(",\"suppressed\":");
            line.put_uint(e.suppressed);
        }
        line.put(",\"message\":");
        put_json_string(line, message);
        // A cut line still ends as an object: put_json_string leaves this much room.
        line.put("}\n");
        return;
    }
    put_stamp(line, now_us);
    line.put(" ringmta[");
    line.put_uint(uint64_t(pid()));
    line.put("]: ");
    if (e.level != LogLevel::info) {
        line.put(level_name(e.level));
        line.put(": ");
    }
    if (!e.queue_id.empty()) {
        line.put(e.queue_id);
        line.put(": ");
    }
    // One event, one line: a CR or LF in text from the network must not start a forged line.
    size_t from = line.len;
    line.put(message);
    for (size_t i = from; i < line.len; ++i) {
        unsigned char c = static_cast<unsigned char>(line.buf[i]);
        if (c < 0x20 || c == 0x7F) line.buf[i] = '?';
    }
    if (line.len == sizeof line.buf) --line.len;
    line.put_char('\n');
}

void emit(const Event& e, uint64_t now_us, std::string_view message) {
    Line line;
    render(line, g_format.load(std::memory_order_relaxed), e, now_us, message);
    ssize_t rc = ::write(g_fd.load(std::memory_order_relaxed), line.buf, line.len);
    (void)rc;  // nowhere to report a failed log write
}

void report_suppressed(const LogSite& site, uint64_t count, uint64_t now_us) {
    char message[kMessageMax];
    int n = std::snprintf(message, sizeof message, "%llu similar messages suppressed: %s",
                          static_cast<unsigned long long>(count), site.format());
    size_t len = n < 0 ? 0 : size_t(n) < sizeof message ? size_t(n) : sizeof message - 1;
    emit({site.level(), {}, "suppressed", count}, now_us, {message, len});
}

void vlog(LogSite* site, LogLevel level, std::string_view queue_id, const char* event,
          const char* fmt, va_list ap) {
    if (level < g_min_level.load(std::memory_order_relaxed)) return;
    uint64_t now_us = g_clock.load(std::memory_order_relaxed)();
    uint32_t burst_max = g_burst_max.load(std::memory_order_relaxed);
    if (site != nullptr && burst_max != 0) {
        uint64_t passed = 0;
        bool admitted = site->admit(now_us / 1000000, burst_max, &passed);
        if (passed != 0) report_suppressed(*site, passed, now_us);
        if (!admitted) {
            log_list_site(site);
            return;
        }
    }
    char message[kMessageMax];
    int n = std::vsnprintf(message, sizeof message, fmt, ap);
    if (n < 0) return;
    size_t len = size_t(n) < sizeof message ? size_t(n) : sizeof message - 1;
    emit({level, queue_id, event, 0}, now_us, {message, len});
}

}  // namespace

// Puts a site on the list log_report_suppressed() walks, once.
void log_list_site(LogSite* site) {
    if (site->listed_.load(std::memory_order_relaxed) ||
        site->listed_.exchange(true, std::memory_order_relaxed))
        return;
    LogSite* head = g_sites.load(std::memory_order_relaxed);
    do {
        site->next_ = head;
    } while (!g_sites.compare_exchange_weak(head, site, std::memory_order_release,
                                            std::memory_order_relaxed));
}

bool LogSite::admit(uint64_t now_s, uint32_t burst_max, uint64_t* passed_suppressed) {
    *passed_suppressed = 0;
    uint64_t window = window_s_.load(std::memory_order_relaxed);
    // One thread opens each window and collects what the earlier ones held back. Lines counted
    // against the old window by threads racing with it are at worst admitted or reported late,
    // never lost: suppressed_ is only ever taken with exchange.
    if (window != now_s &&
        window_s_.compare_exchange_strong(window, now_s, std::memory_order_relaxed)) {
        count_.store(0, std::memory_order_relaxed);
        *passed_suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
    }
    if (count_.fetch_add(1, std::memory_order_relaxed) < burst_max) return true;
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

uint64_t LogSite::take_suppressed(uint64_t now_s) {
    if (suppressed_.load(std::memory_order_relaxed) == 0) return 0;
    if (window_s_.load(std::memory_order_relaxed) >= now_s) return 0;  // window still open
    return suppressed_.exchange(0, std::memory_order_relaxed);
}

void log_configure(int fd, LogFormat format, LogLevel min_level) {
    {
        std::lock_guard lock(g_file_mutex);
        if (g_file_fd >= 0 && fd != g_file_fd) {
            ::close(g_file_fd);
            g_file_fd = -1;
            g_file_path.clear();
        }
    }
    g_fd = fd;
    g_format = format;
    g_min_level = min_level;
    g_pid = int(::getpid());
}

void log_set_burst_max(uint32_t lines_per_s) { g_burst_max = lines_per_s; }

void log_set_clock(LogClock clock) { g_clock = clock != nullptr ? clock : &system_clock_us; }

Result<void> log_open_file(const std::string& path) {
    std::lock_guard lock(g_file_mutex);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return errno_error(errno, "cannot open " + path);
    if (g_file_fd >= 0) {
        // dup2 swaps the file under the number writers use, atomically (see log_reopen).
        int rc = ::dup2(fd, g_file_fd);
        int err = errno;
        ::close(fd);
        if (rc < 0) return errno_error(err, "cannot switch the log to " + path);
    } else {
        g_file_fd = fd;
        g_fd = fd;
    }
    g_file_path = path;
    return {};
}

Result<void> log_reopen() {
    std::string path;
    {
        std::lock_guard lock(g_file_mutex);
        if (g_file_fd < 0) return {};
        path = g_file_path;
    }
    return log_open_file(path);
}

void log_report_suppressed(bool all) {
    LogSite* site = g_sites.load(std::memory_order_acquire);
    if (site == nullptr) return;
    uint64_t now_us = g_clock.load(std::memory_order_relaxed)();
    uint64_t now_s = all ? UINT64_MAX : now_us / 1000000;
    for (; site != nullptr; site = site->next_)
        if (uint64_t n = site->take_suppressed(now_s); n != 0) report_suppressed(*site, n, now_us);
}

void log_write(LogLevel level, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(nullptr, level, {}, nullptr, fmt, ap);
    va_end(ap);
}

void log_write_limited(LogSite& site, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(&site, site.level(), {}, nullptr, fmt, ap);
    va_end(ap);
}

void log_event(LogSite* site, LogLevel level, std::string_view queue_id, const char* event,
               const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(site, level, queue_id, event, fmt, ap);
    va_end(ap);
}

}  // namespace ringmta::base
