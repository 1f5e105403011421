// Reply parsing for the outbound client: lines are cut at LF with memchr; a line split across
// feeds waits in line_, everything else is read in place. The byte budget counts every octet
// of the reply, so a server cannot grow our memory by sending an endless one.
#include "mta/smtp/client_reply.hh"

#include <cstring>

#include "mta/smtp/reply.hh"

namespace ringmta::smtp {
namespace {

// Diagnostics end up in logs, journal records and DSNs: a reply's summary stays short.
constexpr size_t summary_bytes_max = 1000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of "C.SSS.DDD" (RFC 3463) at the start of text when C is the reply's class and the
// code is followed by a space or the end of the line; 0 when there is none.
size_t enhanced_length(std::string_view text, int reply_class) {
    if (text.size() < 5 || text[0] != char('0' + reply_class) || text[1] != '.') return 0;
    size_t i = 2;
    for (int part = 0; part < 2; ++part) {
        size_t digits = 0;
        while (i < text.size() && is_digit(text[i]) && digits < 4) ++i, ++digits;
        if (digits == 0 || digits > 3) return 0;
        if (part == 0) {
            if (i >= text.size() || text[i] != '.') return 0;
            ++i;
        }
    }
    return i == text.size() || text[i] == ' ' ? i : 0;
}

}  // namespace

std::string ClientReply::summary() const {
    std::string out = std::to_string(code);
    if (!enhanced.empty()) out += ' ' + enhanced;
    for (const std::string& line : lines) {
        if (line.empty() || out.size() >= summary_bytes_max) continue;
        out += ' ';
        append_sanitized(out, line, summary_bytes_max - out.size());
    }
    return out;
}

std::string ClientReply::enhanced_or_default() const {
    if (!enhanced.empty()) return enhanced;
    return std::string(1, char('0' + code / 100)) + ".0.0";
}

void ClientReplyParser::reset() {
    reply_ = ClientReply{};
    line_.clear();
    reply_bytes_ = 0;
    complete_ = false;
    error_.clear();
}

ReplyParse ClientReplyParser::fail(std::string why) {
    error_ = std::move(why);
    return ReplyParse::error;
}

ReplyParse ClientReplyParser::parse(std::string_view& input) {
    if (!error_.empty()) return ReplyParse::error;
    if (complete_) {
        reply_.code = 0;
        reply_.enhanced.clear();
        reply_.lines.clear();  // keeps capacity: replies on one connection reuse it
        reply_bytes_ = 0;
        complete_ = false;
    }
    while (!input.empty()) {
        const char* nl = static_cast<const char*>(std::memchr(input.data(), '\n', input.size()));
        size_t take = nl ? size_t(nl - input.data()) + 1 : input.size();
        if (reply_bytes_ + take > reply_bytes_max) {
            return fail("reply longer than " + std::to_string(reply_bytes_max) + " bytes");
        }
        reply_bytes_ += take;
        if (!nl) {
            line_.append(input);
            input.remove_prefix(take);
            return ReplyParse::need_more;
        }
        std::string_view line = input.substr(0, take - 1);
        if (!line_.empty()) {
            line_.append(line);
            line = line_;
        }
        input.remove_prefix(take);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        ReplyParse r = take_line(line);
        line_.clear();
        if (r != ReplyParse::need_more) return r;
    }
    return ReplyParse::need_more;
}

ReplyParse ClientReplyParser::take_line(std::string_view line) {
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !is_digit(line[1]) ||
        !is_digit(line[2]) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        return fail("malformed reply line");
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!reply_.lines.empty() && code != reply_.code) {
        return fail("mismatched codes in multi-line reply");
    }
    bool last = line.size() == 3 || line[3] == ' ';
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
    if (reply_.lines.empty()) {
        reply_.code = code;
        size_t n = enhanced_length(text, code / 100);
        reply_.enhanced.assign(text.substr(0, n));
        if (n > 0) text.remove_prefix(n < text.size() ? n + 1 : n);
    } else if (!reply_.enhanced.empty() &&
               text.substr(0, reply_.enhanced.size()) == std::string_view(reply_.enhanced) &&
               enhanced_length(text, code / 100) == reply_.enhanced.size()) {
        size_t n = reply_.enhanced.size();
        text.remove_prefix(n < text.size() ? n + 1 : n);
    }
    reply_.lines.emplace_back(text);
    if (!last) return ReplyParse::need_more;
    complete_ = true;
    return ReplyParse::reply;
}

}  // namespace ringmta::smtp
