// EHLO keyword table: each line is split into a keyword and its arguments; the keyword selects
// a flag, and SIZE and AUTH read their arguments.
#include "mta/smtp/client_capabilities.hh"

#include <string_view>

#include "mta/smtp/command.hh"

namespace ringmta::smtp {
namespace {

// Splits off the first space-separated word of text (leading spaces skipped).
std::string_view next_word(std::string_view& text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    size_t end = text.find(' ');
    std::string_view word = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end);
    return word;
}

// SIZE's argument: decimal digits without overflow, else 0 (no stated limit).
uint64_t parse_size(std::string_view digits) {
    uint64_t n = 0;
    for (char c : digits) {
        if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) return 0;
        n = n * 10 + uint64_t(c - '0');
    }
    return n;
}

void read_auth(ServerCapabilities& caps, std::string_view mechanisms) {
    for (std::string_view m = next_word(mechanisms); !m.empty(); m = next_word(mechanisms)) {
        if (ascii_iequals(m, "PLAIN")) caps.auth_plain = true;
        if (ascii_iequals(m, "LOGIN")) caps.auth_login = true;
    }
}

// Keywords that only switch an extension on.
struct Flag {
    std::string_view keyword;
    bool ServerCapabilities::*member;
};
constexpr Flag flags[] = {
    {"PIPELINING", &ServerCapabilities::pipelining},
    {"8BITMIME", &ServerCapabilities::eight_bit_mime},
    {"SMTPUTF8", &ServerCapabilities::smtputf8},
    {"CHUNKING", &ServerCapabilities::chunking},
    {"BINARYMIME", &ServerCapabilities::binary_mime},
    {"DSN", &ServerCapabilities::dsn},
    {"STARTTLS", &ServerCapabilities::starttls},
    {"ENHANCEDSTATUSCODES", &ServerCapabilities::enhanced_status_codes},
};

}  // namespace

ServerCapabilities parse_ehlo_reply(const ClientReply& reply) {
    ServerCapabilities caps;
    caps.esmtp = true;
    for (size_t i = 1; i < reply.lines.size(); ++i) {
        std::string_view args = reply.lines[i];
        std::string_view keyword = next_word(args);
        if (keyword.size() > 5 && ascii_iequals(keyword.substr(0, 5), "AUTH=")) {
            read_auth(caps, keyword.substr(5));
            read_auth(caps, args);
        } else if (ascii_iequals(keyword, "AUTH")) {
            read_auth(caps, args);
        } else if (ascii_iequals(keyword, "SIZE")) {
            caps.size = true;
            caps.size_bytes_max = parse_size(next_word(args));
        } else {
            for (const Flag& flag : flags) {
                if (ascii_iequals(keyword, flag.keyword)) caps.*flag.member = true;
            }
        }
    }
    return caps;
}

}  // namespace ringmta::smtp
