// DSN assembly: notice text, delivery-status fields, the returned original, and a boundary
// chosen after the parts exist so that it can be checked against every byte of them.
#include "queue/dsn.hh"

#include <algorithm>
#include <ctime>
#include <vector>

#include "mta/base/assert.hh"
#include "queue/queue_id.hh"

namespace ringmta::queue {
namespace {

constexpr size_t line_octets_max = 998;  // RFC 5322 2.1.1, without the CRLF
constexpr size_t fold_column = 78;       // where header fields are folded when they can be

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7F; }

bool is_printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return !is_control(uint8_t(c)) && uint8_t(c) < 0x80; });
}

// Text that goes into one header field or notice line: controls become spaces so that remote
// replies and client-chosen strings can never start a new line or field.
std::string sanitize(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (is_control(uint8_t(c))) c = ' ';
    }
    return out;
}

void append_two_digits(std::string& out, int v) {
    out += char('0' + v / 10);
    out += char('0' + v % 10);
}

// RFC 5322 3.3 date-time: "Tue, 1 Jul 2003 10:52:37 +0200".
void append_date(std::string& out, uint64_t time_us, int utc_offset_min) {
    static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = time_t(time_us / 1'000'000) + time_t(utc_offset_min) * 60;
    tm parts{};
    gmtime_r(&t, &parts);
    out += days[parts.tm_wday];
    out += ", ";
    out += std::to_string(parts.tm_mday);
    out += ' ';
    out += months[parts.tm_mon];
    out += ' ';
    out += std::to_string(parts.tm_year + 1900);
    out += ' ';
    append_two_digits(out, parts.tm_hour);
    out += ':';
    append_two_digits(out, parts.tm_min);
    out += ':';
    append_two_digits(out, parts.tm_sec);
    int offset = utc_offset_min < 0 ? -utc_offset_min : utc_offset_min;
    out += utc_offset_min < 0 ? " -" : " +";
    append_two_digits(out, offset / 60);
    append_two_digits(out, offset % 60);
}

std::string date_text(uint64_t time_us, int utc_offset_min) {
    std::string s;
    append_date(s, time_us, utc_offset_min);
    return s;
}

// "Name: value" folded at spaces near fold_column; a run without spaces longer than a line
// allows is cut at line_octets_max (a remote reply that long is broken anyway).
void append_field(std::string& out, std::string_view name, std::string_view raw_value) {
    std::string value = sanitize(raw_value);
    while (!value.empty() && value.back() == ' ') value.pop_back();  // no blank folded line
    std::string_view rest = value;
    size_t column = name.size() + 2;
    out.append(name).append(": ");
    while (column + rest.size() > fold_column) {
        size_t limit = fold_column > column ? fold_column - column : 0;
        size_t cut = rest.rfind(' ', limit);
        if (cut == std::string_view::npos || cut == 0) cut = rest.find(' ', 1);
        size_t room = line_octets_max - column;
        if (cut == std::string_view::npos || cut > room) {
            if (rest.size() <= room) break;  // fits within the hard limit: keep it whole
            cut = room;
        }
        out.append(rest.substr(0, cut)).append("\r\n");
        rest.remove_prefix(cut);
        // A continuation line starts with white space: the space we cut at, or one we add.
        if (rest[0] == ' ') {
            column = 0;
        } else {
            out += ' ';
            column = 1;
        }
    }
    out.append(rest).append("\r\n");
}

// One line of notice text, hard-wrapped at line_octets_max.
void append_text_line(std::string& out, std::string_view raw) {
    std::string line = sanitize(raw);
    std::string_view rest = line;
    while (rest.size() > line_octets_max) {
        out.append(rest.substr(0, line_octets_max)).append("\r\n");
        rest.remove_prefix(line_octets_max);
    }
    out.append(rest).append("\r\n");
}

// The original as CRLF text: a bare CR or LF becomes CRLF and a line longer than the limit is
// broken. XXX Breaking a long line alters the returned copy; the alternative, refusing to
// return it, would hide the message from its sender. Stored content is already CRLF-clean.
void append_normalized(std::string& out, std::string_view content) {
    size_t line = 0;
    for (size_t i = 0; i < content.size(); ++i) {
        char c = content[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') ++i;
            out += "\r\n";
            line = 0;
            continue;
        }
        if (line == line_octets_max) {
            out += "\r\n";
            line = 0;
        }
        out += c;
        ++line;
    }
    if (line != 0) out += "\r\n";
}

// The header block: everything before the first empty line (all of it if there is none).
std::string_view header_block(std::string_view content) {
    size_t pos = 0;
    while (pos < content.size()) {
        size_t eol = content.find('\n', pos);
        if (eol == std::string_view::npos) return content;
        size_t len = eol - pos;
        if (len == 0 || (len == 1 && content[pos] == '\r')) return content.substr(0, pos);
        pos = eol + 1;
    }
    return content;
}

std::string decode_for_report(std::string_view xtext, bool global) {
    std::string decoded = decode_xtext_lenient(xtext);
    bool ok = std::none_of(decoded.begin(), decoded.end(),
                           [](char c) { return is_control(uint8_t(c)); }) &&
              (global || is_printable_ascii(decoded));
    return ok ? decoded : std::string(xtext);
}

// RFC 3464 2.3.1: "addr-type;address" from the stored ORCPT "type;xtext".
std::string original_recipient_field(std::string_view orcpt, bool global) {
    size_t semi = orcpt.find(';');
    if (semi == std::string_view::npos) return decode_for_report(orcpt, global);
    return std::string(orcpt.substr(0, semi)) + ";" +
           decode_for_report(orcpt.substr(semi + 1), global);
}

bool looks_like_status(std::string_view s) {
    int dots = 0;
    bool digit_before = false;
    for (char c : s) {
        if (c == '.') {
            if (!digit_before) return false;
            ++dots;
            digit_before = false;
        } else if (c >= '0' && c <= '9') {
            digit_before = true;
        } else {
            return false;
        }
    }
    return dots == 2 && digit_before && (s[0] == '2' || s[0] == '4' || s[0] == '5');
}

std::string_view default_status(DsnAction action) {
    switch (action) {
        case DsnAction::failed: return "5.0.0";
        case DsnAction::delayed: return "4.0.0";
        case DsnAction::delivered:
        case DsnAction::relayed: return "2.0.0";
    }
    return "5.0.0";
}

int gravity(DsnAction action) {
    return action == DsnAction::failed ? 2 : action == DsnAction::delayed ? 1 : 0;
}

std::string duration_text(uint64_t seconds) {
    if (seconds >= 86400 && seconds % 86400 == 0) {
        return std::to_string(seconds / 86400) + " day(s)";
    }
    return std::to_string(seconds / 3600) + " hour(s)";
}

const char* subject_for(DsnAction gravest) {
    switch (gravest) {
        case DsnAction::failed: return "Undelivered Mail Returned to Sender";
        case DsnAction::delayed: return "Delayed Mail (still being retried)";
        case DsnAction::delivered:
        case DsnAction::relayed: return "Successful Mail Delivery Report";
    }
    return "Undelivered Mail Returned to Sender";
}

const char* const assistance_text[] = {
    "For further assistance, please send mail to postmaster.",
    "",
    "If you do so, please include this problem report. You can",
    "delete your own text from the attached returned message.",
    "",
    "                   The mail system",
    "",
};

void append_lines(std::string& out, std::span<const char* const> lines) {
    for (const char* l : lines) out.append(l).append("\r\n");
}

void append_intro(std::string& out, DsnAction gravest, const Envelope& original,
                  const DsnOptions& options) {
    append_text_line(out, "This is the mail system at host " + std::string(options.hostname) + ".");
    out += "\r\n";
    if (gravest == DsnAction::failed) {
        static const char* const text[] = {
            "I'm sorry to have to inform you that your message could not",
            "be delivered to one or more recipients. It's attached below.", ""};
        append_lines(out, text);
        append_lines(out, assistance_text);
    } else if (gravest == DsnAction::delayed) {
        static const char* const text[] = {
            "####################################################################",
            "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
            "####################################################################", ""};
        append_lines(out, text);
        uint64_t waited_s = options.now_us > original.arrival_us
                                ? (options.now_us - original.arrival_us) / 1'000'000
                                : 0;
        append_text_line(out, "Your message could not be delivered for more than " +
                                  duration_text(waited_s / 3600 * 3600) + ".");
        append_text_line(out, "It will be retried until it is " +
                                  duration_text(options.queue_lifetime_s) + " old.");
        out += "\r\n";
        append_lines(out, assistance_text);
    } else {
        static const char* const text[] = {
            "Your message was successfully delivered to the destination(s)",
            "listed below. If the message was delivered to mailbox you will",
            "receive no further notifications. Otherwise you may still receive",
            "notifications of mail delivery errors from other systems.", "",
            "                   The mail system", ""};
        append_lines(out, text);
    }
}

// Postfix's "<rcpt>: host mx.example.com said: 550 ..." line.
std::string recipient_explanation(const DsnRecipient& r, std::string_view address,
                                  const DsnOptions& options) {
    std::string why;
    bool success = r.action == DsnAction::delivered || r.action == DsnAction::relayed;
    if (!r.remote_mta.empty() && !r.diagnostic.empty()) {
        why = (success ? "delivery via " + r.remote_mta + ": "
                       : "host " + r.remote_mta + " said: ") + r.diagnostic;
    } else if (!r.reason.empty()) {
        why = r.reason;
    } else if (!r.diagnostic.empty()) {
        why = r.diagnostic;
    } else {
        why = success ? "delivered" : r.action == DsnAction::delayed ? "delivery temporarily "
                                                                       "deferred"
                                                                     : "delivery failed";
    }
    if (r.expired) {
        why = "message delivery timed out: still undeliverable after " +
              duration_text(options.queue_lifetime_s) + "; last error: " + why;
    }
    return "<" + std::string(address) + ">: " + why;
}

std::string notice_part(const Envelope& original, std::span<const DsnRecipient* const> wanted,
                        DsnAction gravest, const DsnOptions& options) {
    std::string out;
    append_intro(out, gravest, original, options);
    for (const DsnRecipient* r : wanted) {
        append_text_line(out, recipient_explanation(
                                  *r, original.recipients[r->index].address, options));
    }
    return out;
}

std::string status_part(const Envelope& original, std::span<const DsnRecipient* const> wanted,
                        const DsnOptions& options) {
    bool global = original.smtputf8;
    std::string out;
    append_field(out, "Reporting-MTA", "dns; " + std::string(options.hostname));
    if (!original.envid.empty()) {
        append_field(out, "Original-Envelope-Id", decode_for_report(original.envid, global));
    }
    append_field(out, "X-Ringmta-Queue-ID", format_queue_id(original.queue_id));
    append_field(out, "X-Ringmta-Sender", "rfc822; " + original.sender);
    append_field(out, "Arrival-Date", date_text(original.arrival_us, options.utc_offset_min));
    for (const DsnRecipient* r : wanted) {
        const Recipient& rcpt = original.recipients[r->index];
        out += "\r\n";
        bool ascii = is_printable_ascii(rcpt.address);
        append_field(out, "Final-Recipient",
                     std::string(ascii || !global ? "rfc822; " : "utf-8; ") + rcpt.address);
        if (!rcpt.orcpt.empty()) {
            append_field(out, "Original-Recipient", original_recipient_field(rcpt.orcpt, global));
        }
        append_field(out, "Action", dsn_action_name(r->action));
        append_field(out, "Status",
                     looks_like_status(r->status) ? std::string_view(r->status)
                                                  : default_status(r->action));
        if (!r->remote_mta.empty()) append_field(out, "Remote-MTA", "dns; " + r->remote_mta);
        if (!r->diagnostic.empty()) {
            append_field(out, "Diagnostic-Code", "smtp; " + r->diagnostic);
        } else if (!r->reason.empty()) {
            append_field(out, "Diagnostic-Code", "X-Ringmta; " + r->reason);
        }
        if (r->last_attempt_us != 0) {
            append_field(out, "Last-Attempt-Date",
                         date_text(r->last_attempt_us, options.utc_offset_min));
        }
        if (r->action == DsnAction::delayed && r->will_retry_until_us != 0) {
            append_field(out, "Will-Retry-Until",
                         date_text(r->will_retry_until_us, options.utc_offset_min));
        }
    }
    return out;
}

struct Part {
    std::string headers;  // MIME part headers, each line CRLF-terminated
    std::string body;
};

bool occurs_in(std::string_view needle, std::span<const Part> parts) {
    return std::any_of(parts.begin(), parts.end(), [&](const Part& p) {
        return p.body.find(needle) != std::string::npos ||
               p.headers.find(needle) != std::string::npos;
    });
}

// A boundary checked against every byte of every part: it cannot occur in the content, so no
// line of it can be taken for a delimiter (RFC 2046 5.1.1).
std::string choose_boundary(uint64_t bounce_queue_id, std::span<const Part> parts) {
    std::string base = "=_ringmta_" + format_queue_id(bounce_queue_id) + "_";
    for (uint64_t n = 0;; ++n) {
        std::string candidate = base + std::to_string(n);
        if (!occurs_in(candidate, parts)) return candidate;
    }
}

bool has_8bit(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return uint8_t(c) >= 0x80; });
}

}  // namespace

const char* dsn_action_name(DsnAction action) {
    switch (action) {
        case DsnAction::failed: return "failed";
        case DsnAction::delayed: return "delayed";
        case DsnAction::delivered: return "delivered";
        case DsnAction::relayed: return "relayed";
    }
    return "failed";
}

bool dsn_wanted(uint8_t notify, DsnAction action) {
    if (notify & notify_never) return false;
    switch (action) {
        case DsnAction::failed: return notify == notify_unset || (notify & notify_failure);
        case DsnAction::delayed: return notify == notify_unset || (notify & notify_delay);
        case DsnAction::delivered:
        case DsnAction::relayed: return (notify & notify_success) != 0;
    }
    return false;
}

std::string decode_xtext_lenient(std::string_view xtext) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string out;
    out.reserve(xtext.size());
    for (size_t i = 0; i < xtext.size(); ++i) {
        if (xtext[i] == '+' && i + 2 < xtext.size() && hex(xtext[i + 1]) >= 0 &&
            hex(xtext[i + 2]) >= 0) {
            out += char(hex(xtext[i + 1]) * 16 + hex(xtext[i + 2]));
            i += 2;
        } else {
            out += xtext[i];
        }
    }
    return out;
}

std::optional<DsnMessage> build_dsn(const Envelope& original, std::string_view content,
                                    std::span<const DsnRecipient> recipients,
                                    const DsnOptions& options) {
    if (original.sender.empty()) return std::nullopt;
    std::vector<const DsnRecipient*> wanted;
    DsnAction gravest = DsnAction::delivered;
    for (const DsnRecipient& r : recipients) {
        MTA_ASSERT(r.index < original.recipients.size());
        if (!dsn_wanted(original.recipients[r.index].notify, r.action)) continue;
        wanted.push_back(&r);
        if (gravity(r.action) > gravity(gravest)) gravest = r.action;
    }
    if (wanted.empty()) return std::nullopt;

    bool global = original.smtputf8;
    bool full = gravest == DsnAction::failed && original.ret != DsnRet::hdrs &&
                original.body_type != BodyType::binary_mime &&
                (options.full_content_max_bytes == 0 ||
                 content.size() <= options.full_content_max_bytes);
    Part parts[3];
    parts[0].headers = std::string("Content-Description: Notification\r\n") +
                       "Content-Type: text/plain; charset=" + (global ? "utf-8" : "us-ascii") +
                       "\r\n";
    parts[0].body = notice_part(original, wanted, gravest, options);
    parts[1].headers = std::string("Content-Description: Delivery report\r\n") +
                       "Content-Type: message/" + (global ? "global-" : "") +
                       "delivery-status\r\n";
    parts[1].body = status_part(original, wanted, options);
    if (full) {
        parts[2].headers = std::string("Content-Description: Undelivered Message\r\n") +
                           "Content-Type: message/" + (global ? "global" : "rfc822") + "\r\n";
        append_normalized(parts[2].body, content);
    } else {
        parts[2].headers = std::string("Content-Description: Undelivered Message Headers\r\n") +
                           "Content-Type: " + (global ? "message/global-headers" :
                                                        "text/rfc822-headers") + "\r\n";
        append_normalized(parts[2].body, header_block(content));
    }
    bool eight_bit = false;
    for (Part& p : parts) {
        if (!has_8bit(p.body)) continue;
        p.headers += "Content-Transfer-Encoding: 8bit\r\n";
        eight_bit = true;
    }
    std::string boundary = choose_boundary(options.bounce_queue_id, parts);

    DsnMessage dsn;
    std::string& out = dsn.content;
    out.reserve(parts[2].body.size() + parts[1].body.size() + parts[0].body.size() + 2048);
    append_field(out, "From", "MAILER-DAEMON@" + std::string(options.hostname) +
                                  " (Mail Delivery System)");
    append_field(out, "To", original.sender);
    append_field(out, "Subject", subject_for(gravest));
    append_field(out, "Date", date_text(options.now_us, options.utc_offset_min));
    append_field(out, "Message-ID", "<" + format_queue_id(options.bounce_queue_id) + ".dsn@" +
                                        std::string(options.hostname) + ">");
    append_field(out, "Auto-Submitted", "auto-replied");
    append_field(out, "MIME-Version", "1.0");
    append_field(out, "Content-Type",
                 "multipart/report; report-type=delivery-status; boundary=\"" + boundary + "\"");
    if (eight_bit) append_field(out, "Content-Transfer-Encoding", "8bit");
    out += "\r\nThis is a MIME-encapsulated message.\r\n";
    for (const Part& p : parts) {
        out.append("\r\n--").append(boundary).append("\r\n");
        out.append(p.headers).append("\r\n").append(p.body);
    }
    out.append("\r\n--").append(boundary).append("--\r\n");

    Envelope& e = dsn.envelope;
    e.queue_id = options.bounce_queue_id;
    e.arrival_us = options.now_us;
    e.sender.clear();
    e.smtputf8 = global;
    e.body_type = eight_bit ? BodyType::eight_bit_mime : BodyType::seven_bit;
    e.recipients.push_back(Recipient{original.sender, notify_never, ""});
    e.helo_name = std::string(options.hostname);
    e.shard = original.shard;
    return dsn;
}

}  // namespace ringmta::queue
