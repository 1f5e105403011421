// MAIL/RCPT parameters: one generic pass checks the esmtp-param grammar (RFC 5321 4.1.2),
// finds each keyword in the command's table and refuses repeats; a per-keyword function then
// checks and stores the value.
#include "mta/smtp/params.hh"

#include <charconv>
#include <initializer_list>

#include "mta/smtp/address.hh"
#include "mta/smtp/command.hh"

namespace ringmta::smtp {
namespace {

constexpr std::string_view kSyntax = "501 5.5.4 Syntax error in parameters";
constexpr size_t kEnvidBytesMax = 100;  // RFC 3461 4.4
constexpr size_t kOrcptBytesMax = 500;  // RFC 3461 4.2

bool is_alnum(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool is_keyword(std::string_view k) {
    if (k.empty() || !is_alnum(k[0])) return false;
    for (unsigned char c : k) {
        if (!is_alnum(c) && c != '-') return false;
    }
    return true;
}

// esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 (RFC 6531 3.3).
bool is_value(std::string_view v) {
    if (v.empty()) return false;
    for (unsigned char c : v) {
        if (c < 33 || c == '=' || c == 127) return false;
    }
    return is_valid_utf8(v);
}

// Index of the value in choices (case-insensitive), or -1.
int choice(std::string_view value, std::initializer_list<std::string_view> choices) {
    int i = 0;
    for (std::string_view c : choices) {
        if (ascii_iequals(value, c)) return i;
        ++i;
    }
    return -1;
}

struct Param {
    std::string_view value;
    bool has_value;
};

// Walks "KEY[=VALUE] KEY[=VALUE] ...": set(index into keywords, param) stores a value and
// says whether it was valid.
template <typename Set>
base::Result<void> parse_params(std::string_view text,
                                std::initializer_list<std::string_view> keywords, Set set) {
    unsigned seen = 0;
    while (true) {
        while (!text.empty() && text[0] == ' ') text.remove_prefix(1);
        if (text.empty()) return {};
        size_t end = text.find(' ');
        std::string_view token = text.substr(0, end);
        text.remove_prefix(token.size());
        size_t eq = token.find('=');
        std::string_view keyword = token.substr(0, eq);
        Param param{eq == std::string_view::npos ? "" : token.substr(eq + 1),
                    eq != std::string_view::npos};
        if (!is_keyword(keyword) || (param.has_value && !is_value(param.value))) {
            return base::make_error(base::Errc::invalid, std::string(kSyntax));
        }
        int index = choice(keyword, keywords);
        if (index < 0) {
            return base::make_error(base::Errc::invalid,
                                    "555 5.5.4 Unsupported option: " + std::string(keyword));
        }
        if (seen & (1u << index)) {  // RFC 5321 4.1.2: each parameter at most once
            return base::make_error(base::Errc::invalid,
                                    "501 5.5.4 Duplicate parameter: " + std::string(keyword));
        }
        seen |= 1u << index;
        if (!set(index, param)) {
            return base::make_error(
                base::Errc::invalid,
                "501 5.5.4 Invalid " + std::string(keywords.begin()[index]) + " value");
        }
    }
}

bool parse_size(std::string_view v, uint64_t& out) {
    if (v.empty() || v.size() > 20) return false;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && ptr == v.data() + v.size();
}

// NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" )
bool parse_notify(std::string_view v, uint8_t& out) {
    while (true) {
        size_t comma = v.find(',');
        int c = choice(v.substr(0, comma), {"NEVER", "SUCCESS", "FAILURE", "DELAY"});
        if (c < 0) return false;
        out |= uint8_t(1u << c);
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    return !(out & notify_never) || out == notify_never;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

// utf-8-addr-xtext / utf-8-addr-unitext (RFC 6533 3): printable ASCII except "+", "=", "\",
// UTF-8, and "\x{HEXPOINT}" for any character.
base::Result<std::string> decode_utf8_addr(std::string_view v) {
    std::string out;
    auto bad = [] { return base::make_error(base::Errc::invalid, "bad utf-8-addr"); };
    for (size_t i = 0; i < v.size(); ++i) {
        unsigned char c = v[i];
        if (c == '+' || c == '=' || c < 33 || c == 127) return bad();
        if (c != '\\') {
            out += char(c);
            continue;
        }
        if (v.substr(i, 3) != "\\x{") return bad();
        size_t close = v.find('}', i);
        if (close == std::string_view::npos || close - i - 3 < 1 || close - i - 3 > 6) {
            return bad();
        }
        uint32_t cp = 0;
        for (size_t k = i + 3; k < close; ++k) {
            int h = hex_value(v[k]);
            if (h < 0) return bad();
            cp = cp * 16 + uint32_t(h);
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return bad();
        append_utf8(out, cp);
        i = close;
    }
    if (!is_valid_utf8(out)) return bad();
    return out;
}

// ORCPT = addr-type ";" xtext
bool parse_orcpt(std::string_view v, RcptParams& out) {
    size_t semi = v.find(';');
    if (v.size() > kOrcptBytesMax || semi == std::string_view::npos) return false;
    std::string_view type = v.substr(0, semi);
    std::string_view address = v.substr(semi + 1);
    if (!is_keyword(type) || address.empty()) return false;
    auto decoded = ascii_iequals(type, "utf-8") ? decode_utf8_addr(address) : decode_xtext(address);
    if (!decoded) return false;
    out.orcpt_type = type;
    out.orcpt_xtext = address;
    out.orcpt_address = std::move(*decoded);
    return true;
}

}  // namespace

base::Result<std::string> decode_xtext(std::string_view xtext) {
    std::string out;
    out.reserve(xtext.size());
    for (size_t i = 0; i < xtext.size(); ++i) {
        unsigned char c = xtext[i];
        if (c < 33 || c > 126 || c == '=') {
            return base::make_error(base::Errc::invalid, "bad xtext character");
        }
        if (c != '+') {
            out += char(c);
            continue;
        }
        int hi = i + 2 < xtext.size() ? hex_value(xtext[i + 1]) : -1;
        int lo = hi >= 0 ? hex_value(xtext[i + 2]) : -1;
        if (lo < 0) return base::make_error(base::Errc::invalid, "bad xtext escape");
        out += char(hi * 16 + lo);
        i += 2;
    }
    return out;
}

base::Result<MailParams> parse_mail_params(std::string_view text) {
    MailParams mp;
    auto ok = parse_params(
        text, {"SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"}, [&](int index, const Param& p) {
            if (index == 2) {  // SMTPUTF8 takes no value
                mp.smtputf8 = true;
                return !p.has_value;
            }
            if (!p.has_value) return false;
            switch (index) {
                case 0:
                    return (mp.size_given = parse_size(p.value, mp.size_bytes));
                case 1: {
                    int c = choice(p.value, {"7BIT", "8BITMIME", "BINARYMIME"});
                    mp.body = BodyType(c + 1);
                    return c >= 0;
                }
                case 3: {
                    int c = choice(p.value, {"FULL", "HDRS"});
                    mp.ret = DsnReturn(c + 1);
                    return c >= 0;
                }
                case 4:
                    mp.envid = p.value;
                    return p.value.size() <= kEnvidBytesMax && decode_xtext(p.value).has_value();
                default:  // AUTH=<> or AUTH=xtext mailbox: checked, then ignored
                    return (mp.auth_given = decode_xtext(p.value).has_value());
            }
        });
    if (!ok) return ok.error();
    return mp;
}

base::Result<RcptParams> parse_rcpt_params(std::string_view text) {
    RcptParams rp;
    auto ok = parse_params(text, {"NOTIFY", "ORCPT"}, [&](int index, const Param& p) {
        if (!p.has_value) return false;
        return index == 0 ? parse_notify(p.value, rp.notify) : parse_orcpt(p.value, rp);
    });
    if (!ok) return ok.error();
    return rp;
}

}  // namespace ringmta::smtp
