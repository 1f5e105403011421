// Reply formatting: every public function funnels through append_line, which writes the code,
// the separator, the optional enhanced code and the sanitised text.
#include "mta/smtp/reply.hh"

#include "mta/base/assert.hh"

namespace ringmta::smtp {
namespace {

void append_code(std::string& out, int code, char separator, std::string_view enhanced) {
    MTA_ASSERT(code >= 200 && code <= 599);
    MTA_ASSERT(enhanced.empty() ||
               (enhanced.size() >= 5 && enhanced[0] == '0' + code / 100 && enhanced[1] == '.'));
    out += char('0' + code / 100);
    out += char('0' + code / 10 % 10);
    out += char('0' + code % 10);
    out += separator;
    if (!enhanced.empty()) {
        out += enhanced;
        out += ' ';
    }
}

void append_line(std::string& out, int code, char separator, std::string_view enhanced,
                 std::string_view text) {
    append_code(out, code, separator, enhanced);
    append_sanitized(out, text);
    out += "\r\n";
}

}  // namespace

void append_sanitized(std::string& out, std::string_view text, size_t max_bytes) {
    size_t kept = 0;
    for (unsigned char c : text) {
        if (c == '\r' || c == '\n') continue;
        if (kept++ == max_bytes) break;
        out += (c < 0x20 && c != '\t') || c == 0x7F ? '?' : char(c);
    }
}

void append_reply(std::string& out, int code, std::string_view enhanced, std::string_view text) {
    append_line(out, code, ' ', enhanced, text);
}

void append_reply_line(std::string& out, std::string_view line) {
    MTA_ASSERT(line.size() >= 4 && line[0] >= '2' && line[0] <= '5' && line[3] == ' ');
    append_sanitized(out, line);
    out += "\r\n";
}

void append_multiline_reply(std::string& out, int code, std::string_view enhanced,
                            std::span<const std::string_view> lines) {
    MTA_ASSERT(!lines.empty());
    for (size_t i = 0; i < lines.size(); ++i) {
        append_line(out, code, i + 1 < lines.size() ? '-' : ' ', enhanced, lines[i]);
    }
}

void append_ehlo_reply(std::string& out, std::string_view hostname, std::string_view client_name,
                       std::span<const std::string_view> extensions) {
    append_code(out, 250, extensions.empty() ? ' ' : '-', {});
    append_sanitized(out, hostname);
    out += " Hello ";
    append_sanitized(out, client_name, 255);
    out += "\r\n";
    for (size_t i = 0; i < extensions.size(); ++i) {
        append_line(out, 250, i + 1 < extensions.size() ? '-' : ' ', {}, extensions[i]);
    }
}

}  // namespace ringmta::smtp
