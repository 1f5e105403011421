// JSON and text listings of queued messages.
#include "queue/queue_listing.hh"

#include <cstdio>
#include <ctime>

#include "queue/queue_id.hh"

namespace ringmta::queue {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one.
size_t utf8_sequence_size(std::string_view s, size_t i) {
    auto c = uint8_t(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((uint8_t(s[i + k]) & 0xC0) != 0x80) return 0;
    }
    return n;
}

}  // namespace

std::string printable(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if ((uint8_t(c) < 0x20 && c != '\t') || c == 0x7F) c = '?';
    }
    return out;
}

void append_time_or_null(std::string& out, uint64_t wall_us) {
    if (wall_us == 0) {
        out += "null";
    } else {
        append_json_string(out, format_rfc3339(wall_us));
    }
}

std::string format_rfc3339(uint64_t wall_us) {
    time_t secs = time_t(wall_us / 1000000);
    tm t;
    gmtime_r(&secs, &t);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", t.tm_year + 1900,
                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
    return buf;
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (size_t i = 0; i < s.size();) {
        auto c = uint8_t(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
            ++i;
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            ++i;
        } else if (size_t n = utf8_sequence_size(s, i)) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\\ufffd";
            ++i;
        }
    }
    out += '"';
}

std::string format_listing_json(std::span<const QueuedMessage* const> messages) {
    std::string out = "[";
    for (size_t i = 0; i < messages.size(); ++i) {
        const QueuedMessage& m = *messages[i];
        out += i ? ",\n {" : "{";
        out += "\"id\": \"" + format_queue_id(m.queue_id) + "\", \"arrival\": ";
        append_json_string(out, format_rfc3339(m.arrival_us));
        out += ", \"size\": " + std::to_string(m.size_bytes) + ", \"sender\": ";
        append_json_string(out, m.sender);
        out += ", \"recipients\": [";
        for (size_t k = 0; k < m.recipients.size(); ++k) {
            const RecipientStatus& r = m.recipients[k];
            out += k ? ", {\"address\": " : "{\"address\": ";
            append_json_string(out, r.address);
            out += ", \"state\": \"";
            out += recipient_state_name(shown_state(m, r));
            out += "\", \"next_attempt\": ";
            append_time_or_null(out, shown_state(m, r) == RecipientState::deferred ? r.next_attempt_us : 0);
            out += ", \"attempts\": " + std::to_string(r.attempts) + ", \"diagnostic\": ";
            append_json_string(out, r.diagnostic);
            out += "}";
        }
        out += "]}";
    }
    out += "]\n";
    return out;
}

std::string format_listing_text(std::span<const QueuedMessage* const> messages) {
    std::string out;
    uint64_t total_bytes = 0;
    char line[256];
    for (const QueuedMessage* m : messages) {
        total_bytes += m->size_bytes;
        std::snprintf(line, sizeof line, "%s %10llu %s  ", format_queue_id(m->queue_id).c_str(),
                      (unsigned long long)m->size_bytes, format_rfc3339(m->arrival_us).c_str());
        out += line;
        out += m->sender.empty() ? "<>" : printable(m->sender);
        out += '\n';
        for (const RecipientStatus& r : m->recipients) {
            out += "    " + printable(r.address) + "  " + recipient_state_name(shown_state(*m, r));
            if (shown_state(*m, r) == RecipientState::deferred) {
                out += "  next " + format_rfc3339(r.next_attempt_us);
            }
            if (!r.diagnostic.empty()) out += "  (" + printable(r.diagnostic) + ")";
            out += '\n';
        }
    }
    out += "-- " + std::to_string(messages.size()) +
           (messages.size() == 1 ? " message, " : " messages, ") + std::to_string(total_bytes) +
           " bytes\n";
    return out;
}

}  // namespace ringmta::queue
