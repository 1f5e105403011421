// RFC 5321 §5.1 / RFC 7505 routing decisions over decoded answers. No I/O.
#include "mta/dns/mx_plan.hh"

#include <algorithm>

namespace ringmta::dns {

namespace {

const char* type_name(uint16_t type) {
    switch (type) {
        case kTypeA:
            return "A";
        case kTypeAaaa:
            return "AAAA";
        case kTypeMx:
            return "MX";
        default:
            return "?";
    }
}

std::string name_error(std::string_view name, uint16_t type, std::string_view why) {
    std::string s = "Host or domain name not found. Name service error for name=";
    s += name;
    s += " type=";
    s += type_name(type);
    s += ": ";
    s += why;
    return s;
}

uint32_t negative_ttl(const DnsReply& reply) {
    return reply.message.has_soa ? reply.message.negative_ttl_s : kNegativeTtlDefault_s;
}

void add_unique(std::vector<IpAddress>* out, const IpAddress& a) {
    if (std::find(out->begin(), out->end(), a) == out->end()) out->push_back(a);
}

// XXX glue that holds only one family is taken as the whole answer: servers often add only A
// records, and asking AAAA for every such host would double the queries of most MX lookups.
// With IPv4 first the cost is at most the IPv6 addresses of that host until the TTL runs out.
std::optional<HostResult> glue_for(const DnsMessage& message, const std::string& host,
                                   FamilyQueries families) {
    HostResult glue;
    glue.ttl_s = UINT32_MAX;
    for (uint16_t type : families.types) {
        for (const DnsRecord& r : message.additionals) {
            if (type == 0 || r.type != type || r.owner != host) continue;
            add_unique(&glue.addresses, r.address);
            glue.ttl_s = std::min(glue.ttl_s, r.ttl_s);
        }
    }
    if (glue.addresses.empty()) return std::nullopt;
    glue.outcome = LookupOutcome::ok();
    return glue;
}

}  // namespace

FamilyQueries family_queries(FamilyOrder order) {
    switch (order) {
        case FamilyOrder::ipv4_first:
            return {{kTypeA, kTypeAaaa}};
        case FamilyOrder::ipv6_first:
            return {{kTypeAaaa, kTypeA}};
        case FamilyOrder::ipv4_only:
            return {{kTypeA, 0}};
        case FamilyOrder::ipv6_only:
            return {{kTypeAaaa, 0}};
    }
    MTA_UNREACHABLE();
}

std::vector<MxRecord> order_mx_records(std::vector<MxRecord> records, std::mt19937_64& rng) {
    std::erase_if(records, [](const MxRecord& r) { return r.exchange.empty(); });
    // Sorting by name too makes the outcome depend only on the record set and the RNG, not on
    // the order the server happened to list the records in.
    std::sort(records.begin(), records.end(), [](const MxRecord& a, const MxRecord& b) {
        if (a.exchange != b.exchange) return a.exchange < b.exchange;
        return a.preference < b.preference;
    });
    records.erase(
        std::unique(records.begin(), records.end(),
                    [](const MxRecord& a, const MxRecord& b) { return a.exchange == b.exchange; }),
        records.end());
    std::stable_sort(records.begin(), records.end(), [](const MxRecord& a, const MxRecord& b) {
        return a.preference < b.preference;
    });
    for (size_t begin = 0; begin < records.size();) {
        size_t end = begin + 1;
        while (end < records.size() && records[end].preference == records[begin].preference) ++end;
        // Fisher-Yates by hand: std::shuffle's sequence is not specified across libraries.
        for (size_t i = end - 1; i > begin; --i) {
            size_t j = begin + size_t(rng() % (i - begin + 1));
            std::swap(records[i], records[j]);
        }
        begin = end;
    }
    return records;
}

size_t mx_host_to_try(std::span<const uint16_t> preferences, uint64_t connection, size_t k) {
    MTA_ASSERT(k < preferences.size());
    size_t best = 1;
    while (best < preferences.size() && preferences[best] == preferences[0]) ++best;
    return k < best ? size_t((connection + k) % best) : k;
}

bool is_null_mx(const std::vector<MxRecord>& records) {
    return !records.empty() && std::all_of(records.begin(), records.end(),
                                           [](const MxRecord& r) { return r.exchange.empty(); });
}

MxPlan plan_mx(std::string_view domain, const DnsReply& reply, FamilyOrder order,
               std::mt19937_64& rng) {
    MxPlan plan;
    switch (reply.status) {
        case ReplyStatus::no_such_name:
            plan.ttl_s = negative_ttl(reply);
            plan.final = MxResult{
                LookupOutcome::permanent("5.1.2", name_error(domain, kTypeMx, "Host not found")),
                {},
                false,
                plan.ttl_s};
            return plan;
        case ReplyStatus::try_later:
            plan.final = MxResult{
                LookupOutcome::temporary(name_error(domain, kTypeMx, reply.detail)), {}, false, 0};
            return plan;
        case ReplyStatus::no_data:
        case ReplyStatus::answered:
            break;
    }
    std::vector<MxRecord> records;
    uint32_t ttl_s = UINT32_MAX;
    for (const DnsRecord* r : reply.message.answers_for(domain, kTypeMx)) {
        records.push_back({r->target, r->preference, r->ttl_s});
        ttl_s = std::min(ttl_s, r->ttl_s);
    }
    if (records.empty()) {
        // No MX record (NODATA, or a CNAME chain without MX): the domain itself is the host.
        plan.implicit_mx = true;
        plan.ttl_s = negative_ttl(reply);
        plan.hosts.push_back({normalize_name(domain), 0, plan.ttl_s});
        plan.glue.emplace_back();
        return plan;
    }
    plan.ttl_s = ttl_s;
    if (is_null_mx(records)) {
        std::string text = "Domain " + normalize_name(domain) + " does not accept mail (null MX)";
        plan.final =
            MxResult{LookupOutcome::permanent("5.1.10", std::move(text)), {}, false, ttl_s};
        return plan;
    }
    plan.hosts = order_mx_records(std::move(records), rng);
    for (const MxRecord& host : plan.hosts)
        plan.glue.push_back(glue_for(reply.message, host.exchange, family_queries(order)));
    return plan;
}

FamilyAnswer family_answer(std::string_view name, uint16_t type, const DnsReply& reply) {
    FamilyAnswer answer;
    answer.type = type;
    answer.status = reply.status;
    answer.detail = reply.detail;
    if (reply.status == ReplyStatus::no_data || reply.status == ReplyStatus::no_such_name) {
        answer.ttl_s = negative_ttl(reply);
        return answer;
    }
    if (reply.status != ReplyStatus::answered) return answer;
    answer.ttl_s = UINT32_MAX;
    for (const DnsRecord* r : reply.message.answers_for(name, type)) {
        add_unique(&answer.addresses, r->address);
        answer.ttl_s = std::min(answer.ttl_s, r->ttl_s);
    }
    // The CNAME links bound the answer's lifetime as much as the addresses do.
    for (const DnsRecord& r : reply.message.answers)
        if (r.type == kTypeCname) answer.ttl_s = std::min(answer.ttl_s, r.ttl_s);
    if (answer.addresses.empty()) {
        answer.status = ReplyStatus::no_data;
        answer.ttl_s = negative_ttl(reply);
    }
    return answer;
}

HostResult build_host_result(std::string_view name, const std::vector<FamilyAnswer>& answers) {
    HostResult result;
    uint32_t found_ttl_s = UINT32_MAX;
    uint32_t negative_ttl_s = UINT32_MAX;
    const FamilyAnswer* try_later = nullptr;
    bool all_nxdomain = !answers.empty();
    for (const FamilyAnswer& a : answers) {
        for (const IpAddress& address : a.addresses) add_unique(&result.addresses, address);
        if (!a.addresses.empty()) found_ttl_s = std::min(found_ttl_s, a.ttl_s);
        if (a.status != ReplyStatus::answered) negative_ttl_s = std::min(negative_ttl_s, a.ttl_s);
        if (a.status == ReplyStatus::try_later && try_later == nullptr) try_later = &a;
        all_nxdomain = all_nxdomain && a.status == ReplyStatus::no_such_name;
    }
    if (!result.addresses.empty()) {
        result.outcome = LookupOutcome::ok();
        result.ttl_s = found_ttl_s;
    } else if (try_later != nullptr) {
        result.outcome =
            LookupOutcome::temporary(name_error(name, try_later->type, try_later->detail));
    } else if (all_nxdomain) {
        result.outcome = LookupOutcome::permanent(
            "5.1.2", name_error(name, answers.front().type, "Host not found"));
        result.ttl_s = negative_ttl_s;
    } else {
        result.outcome = LookupOutcome::permanent(
            "5.4.4", "Host " + normalize_name(name) + " has no address record (A or AAAA)");
        result.ttl_s = negative_ttl_s;
    }
    return result;
}

MxResult assemble_mx_result(std::string_view domain, const MxPlan& plan,
                            const std::vector<HostResult>& host_results) {
    MTA_ASSERT(!plan.final && host_results.size() == plan.hosts.size());
    MxResult result;
    result.implicit_mx = plan.implicit_mx;
    result.ttl_s = plan.ttl_s;
    std::vector<IpAddress> seen;
    const HostResult* first_failure = nullptr;
    for (size_t i = 0; i < plan.hosts.size(); ++i) {
        const HostResult& h = host_results[i];
        if (!h.outcome.found()) {
            if (first_failure == nullptr) first_failure = &h;
            continue;
        }
        MxHost host{plan.hosts[i].exchange, plan.hosts[i].preference, {}};
        for (const IpAddress& a : h.addresses) {
            if (std::find(seen.begin(), seen.end(), a) != seen.end()) continue;
            seen.push_back(a);
            host.addresses.push_back(a);
        }
        if (host.addresses.empty()) continue;
        result.ttl_s = std::min(result.ttl_s, h.ttl_s);
        result.hosts.push_back(std::move(host));
    }
    if (!result.hosts.empty()) {
        result.outcome = LookupOutcome::ok();
        return result;
    }
    if (plan.implicit_mx && first_failure != nullptr) {
        // The domain has no MX and its own address lookup answered: that answer is the verdict
        // (permanent only when the DNS said so for certain).
        result.outcome = first_failure->outcome;
        result.ttl_s = std::min(result.ttl_s, first_failure->ttl_s);
        return result;
    }
    std::string text = "No MX host of " + normalize_name(domain) + " has a usable address";
    if (first_failure != nullptr) text += " (" + first_failure->outcome.text + ")";
    result.outcome = LookupOutcome::temporary(std::move(text));
    result.ttl_s = 0;
    return result;
}

}  // namespace ringmta::dns
