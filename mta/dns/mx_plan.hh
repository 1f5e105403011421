// The routing meaning of DNS answers, as pure functions (no c-ares, no I/O): RFC 5321 §5.1 MX
// ordering with shuffled equal preferences, RFC 7505 null MX, implicit MX, glue, and the final
// assembly into an MxResult or HostResult. A try-later answer never becomes a permanent failure.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mta/dns/dns_message.hh"
#include "mta/dns/lookup_result.hh"

namespace ringmta::dns {

inline constexpr uint32_t kNegativeTtlDefault_s = 300;  // NXDOMAIN without an SOA

enum class FamilyOrder { ipv4_first, ipv6_first, ipv4_only, ipv6_only };

// The address query types to ask, in preference order (one or two; 0 marks an unused slot).
struct FamilyQueries {
    uint16_t types[2] = {0, 0};
};
FamilyQueries family_queries(FamilyOrder order);

struct MxRecord {
    std::string exchange;  // normalized; "" is the root (".")
    uint16_t preference = 0;
    uint32_t ttl_s = 0;
};

// Sorts by preference and shuffles each run of equal preference with `rng`. Duplicate
// exchanges keep their lowest preference; root targets are dropped (see is_null_mx first).
std::vector<MxRecord> order_mx_records(std::vector<MxRecord> records, std::mt19937_64& rng);

// RFC 7505: the domain publishes only "." targets. The RFC's form is one record "0 ."; a lone
// "." at another preference says the same thing and is read the same way.
bool is_null_mx(const std::vector<MxRecord>& records);

// The k-th host (0 <= k < preferences.size()) that connection number `connection` tries, for
// hosts in delivery order with these preferences (one entry per address). Successive
// connections start at successive entries of the best preference, so equal-preference hosts
// share the load between two DNS refreshes (the shuffle above runs once per TTL); the rest of
// the best group follows, then the less preferred hosts in order.
size_t mx_host_to_try(std::span<const uint16_t> preferences, uint64_t connection, size_t k);

// What to do after the MX query: either a final result, or the hosts whose addresses to find.
struct MxPlan {
    std::optional<MxResult> final;
    std::vector<MxRecord> hosts;                  // delivery order
    std::vector<std::optional<HostResult>> glue;  // per host: usable additional-section addresses
    bool implicit_mx = false;
    uint32_t ttl_s = 0;  // of the MX records (or of the negative answer)
};
MxPlan plan_mx(std::string_view domain, const DnsReply& reply, FamilyOrder order,
               std::mt19937_64& rng);

// One address family's outcome for a host, after any CNAME chasing.
struct FamilyAnswer {
    uint16_t type = 0;  // kTypeA or kTypeAaaa
    ReplyStatus status = ReplyStatus::try_later;
    std::string detail;
    std::vector<IpAddress> addresses;
    uint32_t ttl_s = 0;  // of the address records, or the negative TTL
};
FamilyAnswer family_answer(std::string_view name, uint16_t type, const DnsReply& reply);

// Combines the answers of the asked families (preferred first). Addresses from any family make
// it found; else NXDOMAIN everywhere is 5.1.2, NODATA is 5.4.4, anything else is try later.
HostResult build_host_result(std::string_view name, const std::vector<FamilyAnswer>& answers);

// Final MX step: drops hosts without addresses and addresses already listed by a more preferred
// host. If nothing is left the result is a temporary failure, except for an implicit MX whose
// own lookup failed permanently (the domain has no MX and no address: bounce).
MxResult assemble_mx_result(std::string_view domain, const MxPlan& plan,
                            const std::vector<HostResult>& host_results);

}  // namespace ringmta::dns
