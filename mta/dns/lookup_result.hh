// What a DNS lookup answers, typed so the caller branches: found, permanent failure (the name
// does not exist or refuses mail: bounce) or temporary failure (try later, never a bounce).
// Results are plain values; the resolver shares them read-only between waiters and its cache.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::dns {

enum class LookupStatus { found, permanent_failure, temporary_failure };

// An IPv4 or IPv6 address in network byte order.
struct IpAddress {
    int family = 0;  // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};

    static IpAddress v4(const void* bytes4);
    static IpAddress v6(const void* bytes16);
    // Accepts "192.0.2.1", "2001:db8::1" and the bracketed SMTP literal forms; else family 0.
    static IpAddress parse(std::string_view text);
    bool valid() const { return family != 0; }
    std::string to_string() const;
    bool operator==(const IpAddress& other) const = default;
};

// The verdict part shared by every result. `enhanced_code` and `text` are empty when found.
struct LookupOutcome {
    LookupStatus status = LookupStatus::temporary_failure;
    std::string enhanced_code;  // RFC 3463, e.g. "5.1.2", "5.1.10", "4.4.3"
    std::string text;           // one line for the DSN and the log

    bool found() const { return status == LookupStatus::found; }
    static LookupOutcome ok() { return {LookupStatus::found, {}, {}}; }
    static LookupOutcome permanent(std::string code, std::string text);
    static LookupOutcome temporary(std::string text);
};

struct HostResult {
    LookupOutcome outcome;
    std::vector<IpAddress> addresses;  // preferred family first, no duplicates
    uint32_t ttl_s = 0;                // how long the answer may be reused
};

struct MxHost {
    std::string name;  // lower case, no trailing dot
    uint16_t preference = 0;
    std::vector<IpAddress> addresses;  // preferred family first, never empty when found
};

// RFC 5321 §5.1: the hosts to try in order (equal preferences already shuffled).
struct MxResult {
    LookupOutcome outcome;
    std::vector<MxHost> hosts;
    bool implicit_mx = false;  // no MX record: the domain's own addresses, preference 0
    uint32_t ttl_s = 0;
};

// Lower case and without the trailing dot: the one spelling every comparison and key uses.
std::string normalize_name(std::string_view name);

}  // namespace ringmta::dns
