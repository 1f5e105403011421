// RFC 5321 path syntax: a hand-written parser over the ABNF of 4.1.2 and 4.1.3, one function
// per production. It never allocates until the path is known to be valid.
#include "mta/smtp/address.hh"

#include <arpa/inet.h>

#include <cstring>

#include "mta/smtp/command.hh"

namespace ringmta::smtp {
namespace {

constexpr std::string_view kBadSender = "501 5.1.7 Bad sender address syntax";
constexpr std::string_view kBadRecipient = "501 5.1.3 Bad recipient address syntax";
constexpr std::string_view kNeedsUtf8 = "553 5.6.7 Address requires SMTPUTF8";

constexpr size_t kPathBytesMax = 256;
constexpr size_t kLocalPartBytesMax = 64;
constexpr size_t kDomainBytesMax = 255;
constexpr size_t kLabelBytesMax = 63;

bool is_alnum(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return ascii_iequals(s.substr(0, prefix.size()), prefix);
}

// atext (RFC 5322 3.2.3), plus UTF8-non-ascii under SMTPUTF8 (RFC 6531 3.3).
bool is_atext(unsigned char c, bool utf8) {
    if (is_alnum(c)) return true;
    if (c >= 0x80) return utf8;
    return c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

// Dot-string = Atom *("." Atom)
bool is_dot_string(std::string_view s, bool utf8) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = s[i];
        if (c == '.') {
            if (s[i - 1] == '.') return false;
        } else if (!is_atext(c, utf8)) {
            return false;
        }
    }
    return true;
}

// Length of the Quoted-string at the start of s (DQUOTE *QcontentSMTP DQUOTE), or 0.
size_t quoted_string_length(std::string_view s, bool utf8) {
    if (s.empty() || s[0] != '"') return 0;
    for (size_t i = 1; i < s.size(); ++i) {
        unsigned char c = s[i];
        if (c == '"') return i + 1;
        if (c == '\\') {
            // quoted-pairSMTP = "\" %d32-126
            if (i + 1 == s.size()) return 0;
            unsigned char next = s[++i];
            if (next < 32 || next > 126) return 0;
        } else if (!((c >= 32 && c <= 126) || (utf8 && c >= 0x80))) {
            return 0;
        }
    }
    return 0;
}

// sub-domain = Let-dig [Ldh-str]; a U-label is let through as octets >= 0x80 under SMTPUTF8.
bool is_label(std::string_view l, bool utf8) {
    if (l.empty() || l.size() > kLabelBytesMax || l.front() == '-' || l.back() == '-') {
        return false;
    }
    for (unsigned char c : l) {
        if (!is_alnum(c) && c != '-' && !(utf8 && c >= 0x80)) return false;
    }
    return true;
}

// A-d-l = At-domain *( "," At-domain ), At-domain = "@" Domain
bool is_source_route(std::string_view route) {
    while (true) {
        size_t comma = route.find(',');
        std::string_view at_domain = route.substr(0, comma);
        if (at_domain.empty() || at_domain[0] != '@') return false;
        if (!is_valid_domain(at_domain.substr(1), false)) return false;
        if (comma == std::string_view::npos) return true;
        route.remove_prefix(comma + 1);
    }
}

// Domain or address-literal after the "@", in canonical form; empty when invalid.
std::string canonical_domain(std::string_view d, bool utf8) {
    if (!d.empty() && d[0] == '[') {
        if (!is_valid_address_literal(d)) return {};
        if (istarts_with(d, "[IPv6:")) return "[IPv6:" + lower(d.substr(6));
        return std::string(d);
    }
    // Not RFC 5321 syntax, but clients send it and it names the same domain.
    if (d.size() > 1 && d.back() == '.') d.remove_suffix(1);
    if (!is_valid_domain(d, utf8)) return {};
    return lower(d);
}

base::Result<Path> parse_path(std::string_view text, bool utf8, bool forward) {
    auto fail = [&](std::string_view reply) {
        return base::make_error(base::Errc::invalid, std::string(reply));
    };
    std::string_view bad = forward ? kBadRecipient : kBadSender;
    for (unsigned char c : text) {
        if (c >= 0x80 && !utf8) return fail(kNeedsUtf8);
    }
    if (utf8 && !is_valid_utf8(text)) return fail(bad);
    if (text.size() < 2 || text.size() > kPathBytesMax || text.front() != '<' ||
        text.back() != '>') {
        return fail(bad);
    }
    std::string_view inner = text.substr(1, text.size() - 2);
    Path path;
    if (inner.empty()) {
        if (forward) return fail(bad);
        path.is_null = true;
        return path;
    }
    bool routed = inner[0] == '@';
    if (routed) {
        size_t colon = inner.find(':');
        if (colon == std::string_view::npos || !is_source_route(inner.substr(0, colon))) {
            return fail(bad);
        }
        inner.remove_prefix(colon + 1);
    }
    size_t at = inner[0] == '"' ? quoted_string_length(inner, utf8) : inner.find('@');
    if (at == 0 || at == std::string_view::npos || at >= inner.size() || inner[at] != '@') {
        // RFC 5321 4.1.1.3: RCPT TO:<Postmaster> needs no domain.
        if (forward && !routed && ascii_iequals(inner, "postmaster")) {
            path.local_part = inner;
            path.mailbox = inner;
            return path;
        }
        return fail(bad);
    }
    std::string_view local = inner.substr(0, at);
    if (local.size() > kLocalPartBytesMax) return fail(bad);
    if (local[0] != '"' && !is_dot_string(local, utf8)) return fail(bad);
    path.domain = canonical_domain(inner.substr(at + 1), utf8);
    if (path.domain.empty()) return fail(bad);
    path.local_part = local;
    path.mailbox = path.local_part + "@" + path.domain;
    return path;
}

}  // namespace

base::Result<Path> parse_reverse_path(std::string_view text, bool smtputf8) {
    return parse_path(text, smtputf8, /*forward=*/false);
}

base::Result<Path> parse_forward_path(std::string_view text, bool smtputf8) {
    return parse_path(text, smtputf8, /*forward=*/true);
}

bool is_valid_domain(std::string_view domain, bool smtputf8) {
    if (domain.empty() || domain.size() > kDomainBytesMax) return false;
    while (true) {
        size_t dot = domain.find('.');
        if (!is_label(domain.substr(0, dot), smtputf8)) return false;
        if (dot == std::string_view::npos) return true;
        domain.remove_prefix(dot + 1);
    }
}

bool is_valid_address_literal(std::string_view literal) {
    if (literal.size() < 3 || literal.front() != '[' || literal.back() != ']') return false;
    std::string_view inner = literal.substr(1, literal.size() - 2);
    int family = AF_INET;
    if (istarts_with(inner, "IPv6:")) {
        family = AF_INET6;
        inner.remove_prefix(5);
    }
    char text[INET6_ADDRSTRLEN + 1];
    if (inner.empty() || inner.size() >= sizeof text) return false;
    std::memcpy(text, inner.data(), inner.size());
    text[inner.size()] = '\0';
    unsigned char addr[16];
    return inet_pton(family, text, addr) == 1;
}

bool is_valid_utf8(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        size_t len;
        unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;  // no overlong forms
            if (c == 0xED) hi = 0x9F;  // no surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;  // no overlong forms
            if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
        } else {
            return false;
        }
        if (size_t(end - p) < len || p[1] < lo || p[1] > hi) return false;
        for (size_t i = 2; i < len; ++i) {
            if (p[i] < 0x80 || p[i] > 0xBF) return false;
        }
        p += len;
    }
    return true;
}

}  // namespace ringmta::smtp
