// Small helpers of the lookup result vocabulary: address parsing and printing, name spelling.
#include "mta/dns/lookup_result.hh"

#include <arpa/inet.h>
#include <strings.h>
#include <sys/socket.h>

#include <cstring>

namespace ringmta::dns {

IpAddress IpAddress::v4(const void* bytes4) {
    IpAddress a;
    a.family = AF_INET;
    std::memcpy(a.bytes.data(), bytes4, 4);
    return a;
}

IpAddress IpAddress::v6(const void* bytes16) {
    IpAddress a;
    a.family = AF_INET6;
    std::memcpy(a.bytes.data(), bytes16, 16);
    return a;
}

IpAddress IpAddress::parse(std::string_view text) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
        // SMTP address literal for IPv6 carries a tag: "[IPv6:2001:db8::1]".
        if (text.size() > 5 && strncasecmp(text.data(), "IPv6:", 5) == 0) text.remove_prefix(5);
    }
    char buf[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof buf) return {};
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    unsigned char raw[16];
    if (inet_pton(AF_INET, buf, raw) == 1) return v4(raw);
    if (inet_pton(AF_INET6, buf, raw) == 1) return v6(raw);
    return {};
}

std::string IpAddress::to_string() const {
    if (!valid()) return "(none)";
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(family, bytes.data(), buf, sizeof buf);
    return buf;
}

LookupOutcome LookupOutcome::permanent(std::string code, std::string text) {
    return {LookupStatus::permanent_failure, std::move(code), std::move(text)};
}

LookupOutcome LookupOutcome::temporary(std::string text) {
    return {LookupStatus::temporary_failure, "4.4.3", std::move(text)};
}

std::string normalize_name(std::string_view name) {
    while (!name.empty() && name.back() == '.') name.remove_suffix(1);
    std::string out(name);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return out;
}

}  // namespace ringmta::dns
