// A DNS reply decoded into the few things routing needs: answer records (A, AAAA, MX, CNAME),
// additional-section addresses (glue) and the SOA-derived negative TTL. Pure: no I/O, no
// c-ares state; a malformed packet is an error value, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mta/base/result.hh"
#include "mta/dns/lookup_result.hh"

namespace ringmta::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeAaaa = 28;

struct DnsRecord {
    std::string owner;  // normalized
    uint16_t type = 0;
    uint32_t ttl_s = 0;
    std::string target;  // CNAME target or MX exchange, normalized ("" is the root)
    uint16_t preference = 0;
    IpAddress address;  // A / AAAA
};

struct DnsMessage {
    unsigned rcode = 0;
    std::vector<DnsRecord> answers;      // only A, AAAA, MX and CNAME are kept
    std::vector<DnsRecord> additionals;  // only A and AAAA are kept
    bool has_soa = false;
    uint32_t negative_ttl_s = 0;  // RFC 2308: min(SOA TTL, SOA MINIMUM) from the authority

    // Follows the CNAME chain from `name` through the answers (at most 8 links).
    std::string canonical_name(std::string_view name) const;
    // Answer records of `type` owned by the canonical name of `name`.
    std::vector<const DnsRecord*> answers_for(std::string_view name, uint16_t type) const;
};

// How a query ended, as routing sees it. c-ares statuses are mapped once, in AresChannel.
enum class ReplyStatus {
    answered,      // NOERROR with answer records (maybe only a CNAME chain)
    no_data,       // NOERROR, no record of the type (NODATA)
    no_such_name,  // NXDOMAIN: permanent
    try_later,     // SERVFAIL, REFUSED, timeout, unreachable server, cancelled: temporary
};

struct DnsReply {
    ReplyStatus status = ReplyStatus::try_later;
    std::string detail;  // why, for try_later ("timed out", "server failure"...)
    DnsMessage message;  // empty unless the server answered
};

base::Result<DnsMessage> parse_dns_message(const unsigned char* packet, int length);

}  // namespace ringmta::dns
