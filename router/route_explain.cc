// Route explanations. Candidates are found by scanning every address space (fine for an
// operator's command, never used on the delivery path) and ranked the way lookup ranks them.
#include "router/route_explain.hh"
#include "router/quote.hh"

#include <algorithm>
#include <cstdio>
#include <tuple>

namespace ringmta::router {
namespace {

struct Ranked {
    RouteCandidate candidate;
    bool accepted;
    uint32_t specificity;
    uint32_t cost;
};

std::string size_reason(uint64_t size, const Connector& c) {
    return "message size " + std::to_string(size) + " exceeds max_message_size " +
           std::to_string(c.spec.max_message_size);
}

// Why an address space that matches the domain is not the route.
std::string space_lost_because(const RouteTable& table, const RouteExplanation& e,
                               const CompiledSpace& s) {
    const Connector& c = table.connector(s.connector);
    if (e.route.via_accepted_domain) {
        return "the domain is accepted (" + quoted(e.address_space) +
               "); accepted domains never use address spaces";
    }
    if (!c.spec.enabled) return "connector disabled";
    if (e.message_size > c.size_max) return size_reason(e.message_size, c);
    if (!e.route.found()) return "no route";   // unreachable: this space would have won
    const AddressSpace& w = table.address_spaces()[e.route.matched].space;
    if (space_specificity(s.space) < space_specificity(w)) {
        return "less specific than " + quoted(w.text);
    }
    if (s.space.cost > w.cost) {
        return "cost " + std::to_string(s.space.cost) + " is higher than " +
               std::to_string(w.cost);
    }
    return "same cost; connector " + quoted(e.connector) + " sorts first by name";
}

std::string accepted_lost_because(const RouteTable& table, const RouteExplanation& e,
                                  uint32_t index) {
    const Connector& c = table.connector(table.accepted_domains()[index].connector);
    if (e.route.via_accepted_domain && e.route.matched != index) {
        return "accepted domain " + quoted(e.address_space) + " is more specific";
    }
    if (!c.spec.enabled) return "connector disabled";
    return size_reason(e.message_size, c);
}

void add_candidates(const RouteTable& table, DomainKind kind, RouteExplanation& e) {
    std::vector<Ranked> ranked;
    const auto& accepted = table.accepted_domains();
    for (uint32_t i = 0; i < accepted.size(); ++i) {
        if (!space_matches(accepted[i].domain, kind, e.domain)) continue;
        if (e.route.found() && e.route.via_accepted_domain && e.route.matched == i) continue;
        ranked.push_back({{table.connector(accepted[i].connector).spec.name,
                           accepted[i].domain.text, 0, accepted_lost_because(table, e, i)},
                          true, space_specificity(accepted[i].domain), 0});
    }
    const auto& spaces = table.address_spaces();
    for (uint32_t i = 0; i < spaces.size(); ++i) {
        const CompiledSpace& s = spaces[i];
        if (!space_matches(s.space, kind, e.domain)) continue;
        if (e.route.found() && !e.route.via_accepted_domain && e.route.matched == i) continue;
        ranked.push_back({{table.connector(s.connector).spec.name, s.space.text, s.space.cost,
                           space_lost_because(table, e, s)},
                          false, space_specificity(s.space), s.space.cost});
    }
    std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
        return std::tie(b.accepted, b.specificity, a.cost, a.candidate.connector) <
               std::tie(a.accepted, a.specificity, b.cost, b.candidate.connector);
    });
    for (Ranked& r : ranked) e.candidates.push_back(std::move(r.candidate));
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += ch;
        }
    }
    out += '"';
}

}  // namespace

std::vector<std::string> describe_next_hops(const Connector& connector, std::string_view domain) {
    std::vector<std::string> hops;
    std::string port = ":";
    port += std::to_string(connector.spec.port);
    if (!connector.spec.dns_routing) {
        for (const NextHop& hop : connector.next_hops) hops.push_back(format_next_hop(hop));
    } else if (!domain.empty() && domain.front() == '[') {
        hops.push_back(std::string(domain) + port);
    } else {
        hops.push_back("MX " + std::string(domain) + port);
    }
    return hops;
}

RouteExplanation explain_route(const RouteTable& table, std::string_view address,
                               uint64_t message_size) {
    RouteExplanation e;
    e.address = std::string(address);
    e.message_size = message_size;
    DomainBuffer buffer;
    DomainKind kind = normalize_domain(domain_of_address(address), buffer);
    if (kind != DomainKind::invalid) e.domain = std::string(buffer.view());
    SizeRange ignored;
    e.route = table.lookup_normalised(kind, buffer, message_size, ignored);
    if (e.route.matched != kNoIndex) {
        e.address_space = std::string(table.matched_text(e.route));
        e.cost = table.matched_cost(e.route);
        e.via_accepted_domain = e.route.via_accepted_domain;
    }
    if (e.route.found()) {
        const Connector& c = table.connector(e.route.connector);
        e.connector = c.spec.name;
        e.next_hops = describe_next_hops(c, e.domain);
    }
    if (kind != DomainKind::invalid) add_candidates(table, kind, e);
    return e;
}

std::string format_route_text(const RouteExplanation& e) {
    std::string out = "address:       " + e.address + "\n";
    out += "domain:        " + (e.domain.empty() ? "(invalid)" : e.domain) + "\n";
    out += "message size:  " + std::to_string(e.message_size) + " bytes\n";
    if (e.route.found()) {
        out += "connector:     " + e.connector + "\n";
    } else {
        out += "connector:     none (" + std::string(no_route_text(e.route.no_route)) + ")\n";
    }
    if (e.via_accepted_domain) {
        out += "matched:       accepted domain " + e.address_space + "\n";
    } else if (e.route.found()) {
        out += "matched:       address space " + e.address_space + " (cost " +
               std::to_string(e.cost) + ")\n";
    }
    if (e.route.found()) {
        out += "next hops:    ";
        for (size_t i = 0; i < e.next_hops.size(); ++i) {
            out += (i == 0 ? " " : ", ") + e.next_hops[i];
        }
        out += "\n";
    }
    if (e.candidates.empty()) return out + "other candidates: none\n";
    out += "other candidates:\n";
    for (const RouteCandidate& c : e.candidates) {
        out += "  " + c.connector + "  " + c.address_space +
               (c.cost == 0 ? " (accepted domain)" : " (cost " + std::to_string(c.cost) + ")") +
               ": " + c.lost_because + "\n";
    }
    return out;
}

std::string format_route_json(const RouteExplanation& e) {
    std::string out = "{\"connector\": ";
    bool matched = e.route.found();
    if (matched) append_json_string(out, e.connector);
    else out += "null";
    out += ", \"address_space\": ";
    if (matched) append_json_string(out, e.address_space);
    else out += "null";
    out += ", \"cost\": " + (matched ? std::to_string(e.cost) : std::string("null"));
    out += ", \"next_hops\": [";
    for (size_t i = 0; i < e.next_hops.size(); ++i) {
        if (i != 0) out += ", ";
        append_json_string(out, e.next_hops[i]);
    }
    out += "], \"candidates\": [";
    for (size_t i = 0; i < e.candidates.size(); ++i) {
        const RouteCandidate& c = e.candidates[i];
        out += i == 0 ? "{" : ", {";
        out += "\"connector\": ";
        append_json_string(out, c.connector);
        out += ", \"address_space\": ";
        append_json_string(out, c.address_space);
        out += ", \"cost\": " + std::to_string(c.cost) + ", \"lost_because\": ";
        append_json_string(out, c.lost_because);
        out += "}";
    }
    return out + "]}\n";
}

}  // namespace ringmta::router
