// Smart-host parsing. Pure: inet_pton only checks syntax, nothing is resolved here.
#include "router/next_hop.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "router/domain_name.hh"
#include "router/quote.hh"

namespace ringmta::router {
namespace {

using base::Errc;
using base::make_error;

base::Error bad(std::string_view text, std::string_view why) {
    return make_error(Errc::invalid, quoted(text) + " is not a valid smart host (" +
                                         std::string(why) + ")");
}

bool parse_port(std::string_view digits, uint16_t& port) {
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return false;
    if (value == 0 || value > 65535) return false;
    port = static_cast<uint16_t>(value);
    return true;
}

bool is_ip(int family, std::string_view text) {
    unsigned char out[16];
    std::string s(text);
    return inet_pton(family, s.c_str(), out) == 1;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), s.begin(),
                      [](char a, char b) { return (a | 0x20) == (b | 0x20); });
}

}  // namespace

base::Result<NextHop> parse_smart_host(std::string_view text, uint16_t default_port) {
    NextHop hop;
    hop.port = default_port;
    std::string_view host = text, port;
    if (!text.empty() && text.front() == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos) return bad(text, "missing \"]\"");
        host = text.substr(1, close - 1);
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return bad(text, "text after \"]\"");
        if (!rest.empty()) port = rest.substr(1);
        if (!rest.empty() && !parse_port(port, hop.port)) return bad(text, "port 1-65535");
        hop.is_literal = true;
        if (starts_with_ci(host, "IPv6:")) {
            host.remove_prefix(5);
            if (!is_ip(AF_INET6, host)) return bad(text, "not an IPv6 address");
            hop.is_ipv6 = true;
        } else if (!is_ip(AF_INET, host)) {
            return bad(text, "not an IPv4 address; IPv6 is written [IPv6:2001:db8::1]");
        }
        hop.host = std::string(host);
        return hop;
    }
    if (std::count(text.begin(), text.end(), ':') > 1) {
        return bad(text, "IPv6 is written [IPv6:2001:db8::1]:25");
    }
    if (size_t colon = text.find(':'); colon != std::string_view::npos) {
        host = text.substr(0, colon);
        if (!parse_port(text.substr(colon + 1), hop.port)) return bad(text, "port 1-65535");
    }
    if (is_ip(AF_INET, host)) {
        hop.is_literal = true;
        hop.host = std::string(host);
        return hop;
    }
    DomainBuffer buffer;
    if (host.empty() || host.back() == '.' ||
        normalize_domain(host, buffer) != DomainKind::name || !is_hostname_syntax(buffer.view())) {
        return bad(text, "not a host name or IP address");
    }
    hop.host = std::string(buffer.view());
    return hop;
}

std::string format_next_hop(const NextHop& hop) {
    std::string out;
    if (hop.is_literal) out += hop.is_ipv6 ? "[IPv6:" : "[";
    out += hop.host;
    if (hop.is_literal) out += ']';
    out += ':';
    out += std::to_string(hop.port);
    return out;
}

}  // namespace ringmta::router
