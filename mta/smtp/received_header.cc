// Received header formatting. The date is computed from Unix time with the civil-from-days
// algorithm (H. Hinnant), so the output depends on the arguments only, not on the TZ setting.
#include "mta/smtp/received_header.hh"

#include <cstdio>
#include <ctime>

#include "mta/smtp/reply.hh"

namespace ringmta::smtp {
namespace {

constexpr size_t kNameBytesMax = 255;  // a HELO name longer than a domain is cut

// Text inside a comment: parentheses and backslashes would end or escape it. Outside
// SMTPUTF8 a header is ASCII (RFC 5322), so 8-bit bytes a client sent (a HELO name, say)
// become '?' too: our own header must not make a message look as if it needed SMTPUTF8.
void append_comment_text(std::string& out, std::string_view text, bool utf8_allowed) {
    size_t start = out.size();
    append_sanitized(out, text, kNameBytesMax);
    for (size_t i = start; i < out.size(); ++i) {
        if (out[i] == '(' || out[i] == ')' || out[i] == '\\' ||
            (!utf8_allowed && static_cast<unsigned char>(out[i]) >= 0x80))
            out[i] = '?';
    }
}

}  // namespace

std::string_view received_protocol(bool esmtp, bool tls, bool authenticated, bool smtputf8) {
    if (!esmtp) return "SMTP";
    static constexpr std::string_view kNames[2][2][2] = {
        {{"ESMTP", "ESMTPA"}, {"ESMTPS", "ESMTPSA"}},
        {{"UTF8SMTP", "UTF8SMTPA"}, {"UTF8SMTPS", "UTF8SMTPSA"}},
    };
    return kNames[smtputf8][tls][authenticated];
}

void append_received_header(std::string& out, const ReceivedFields& f) {
    out += "Received: from ";
    append_comment_text(out, f.helo, f.smtputf8);
    out += " (";
    append_comment_text(out, f.reverse_name.empty() ? "unknown" : f.reverse_name, f.smtputf8);
    out += f.client_ip.find(':') == std::string_view::npos ? " [" : " [IPv6:";
    append_sanitized(out, f.client_ip, kNameBytesMax);
    out += "])\r\n";
    if (f.tls) {
        out += "\t(using ";
        append_comment_text(out, f.tls_protocol, false);
        out += " with cipher ";
        append_comment_text(out, f.tls_cipher, false);
        out += ")\r\n";
    }
    out += "\tby ";
    append_sanitized(out, f.hostname, kNameBytesMax);
    out += " (ringmta) with ";
    out += received_protocol(f.esmtp, f.tls, f.authenticated, f.smtputf8);
    out += " id ";
    append_sanitized(out, f.queue_id, kNameBytesMax);
    if (f.recipient.empty()) {
        out += ";\r\n\t";
    } else {
        out += "\r\n\tfor <";
        append_sanitized(out, f.recipient, kNameBytesMax + 64);
        out += ">; ";
    }
    append_rfc5322_date(out, f.time_s, f.utc_offset_min);
    out += "\r\n";
}

void append_rfc5322_date(std::string& out, int64_t time_s, int utc_offset_min) {
    static constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t local_s = time_s + int64_t(utc_offset_min) * 60;
    int64_t days = local_s >= 0 ? local_s / 86400 : (local_s - 86399) / 86400;
    int64_t secs = local_s - days * 86400;
    // civil_from_days: days since 1970-01-01 to year, month, day.
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2);
    int weekday = int(((days % 7) + 7) % 7);  // 1970-01-01 was a Thursday
    int offset = utc_offset_min < 0 ? -utc_offset_min : utc_offset_min;
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%s, %d %s %lld %02d:%02d:%02d %c%02d%02d",
                          kDays[weekday], int(day), kMonths[month - 1], (long long)year,
                          int(secs / 3600), int(secs / 60 % 60), int(secs % 60),
                          utc_offset_min < 0 ? '-' : '+', offset / 60, offset % 60);
    out.append(buf, size_t(n));
}

int local_utc_offset_min(int64_t time_s) {
    std::time_t t = std::time_t(time_s);
    std::tm tm{};
    localtime_r(&t, &tm);
    return int(tm.tm_gmtoff / 60);
}

}  // namespace ringmta::smtp
