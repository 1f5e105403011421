// Address-space parsing and the reference matching rules (used by build checks and explain;
// the suffix table probed in route_table.cc implements the same rules in compiled form).
#include "router/address_space.hh"
#include "router/quote.hh"

#include <algorithm>
#include <charconv>

namespace ringmta::router {
namespace {

using base::Errc;
using base::make_error;

base::Error invalid(std::string_view text, std::string_view why) {
    return make_error(Errc::invalid,
                      quoted(text) + " is not a valid address space (" + std::string(why) + ")");
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

// Normalises a domain written in config and checks it is a host name. normalize_domain drops
// one trailing dot, as Exchange does for an address space written "example.com.", and as it
// does for recipient domains, so both spellings match the same mail ("example.com.." keeps an
// empty label and is refused).
bool normalise_config_domain(std::string_view in, std::string& out) {
    DomainBuffer buffer;
    if (normalize_domain(in, buffer) != DomainKind::name) return false;
    if (!is_hostname_syntax(buffer.view())) return false;
    out.assign(buffer.view());
    return true;
}

// "space" without type and cost → kind and domain.
base::Result<AddressSpace> parse_space_body(std::string_view text, std::string_view body) {
    AddressSpace space;
    space.text = std::string(text);
    if (body == "*") return space;
    // "**.foo.com", "*.*.foo.com", "*a*.com": no rewrite of these is valid, so no hint.
    if (!body.empty() && body[0] == '*' && body.find('*', 1) != std::string_view::npos) {
        return invalid(text, "only one \"*\", as the whole first label");
    }
    if (body.size() > 1 && body[0] == '*' && body[1] != '.') {
        std::string rest(body.substr(1));
        return make_error(Errc::invalid, quoted(text) + " is not a valid address space (use " +
                                             quoted("*." + rest) + " or " + quoted(rest) + ")");
    }
    space.kind = SpaceKind::exact;
    if (body.size() > 1 && body[0] == '*') {
        space.kind = SpaceKind::wildcard;
        body.remove_prefix(2);
    }
    if (body.empty()) return invalid(text, "no domain");
    if (body.front() == '[') return invalid(text, "address literals match only \"*\"");
    if (!normalise_config_domain(body, space.domain)) return invalid(text, "not a domain name");
    return space;
}

}  // namespace

base::Result<AddressSpace> parse_address_space(std::string_view text) {
    std::string_view body = text;
    if (size_t colon = body.find(':'); colon != std::string_view::npos) {
        std::string_view type = body.substr(0, colon);
        if (!iequals(type, "SMTP")) {
            return make_error(Errc::invalid, quoted(text) + " has address space type " +
                                                 quoted(type) + "; only SMTP is supported");
        }
        body.remove_prefix(colon + 1);
    }
    uint32_t cost = 1;
    if (size_t semi = body.find(';'); semi != std::string_view::npos) {
        std::string_view digits = body.substr(semi + 1);
        body = body.substr(0, semi);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cost);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
            return make_error(Errc::invalid, quoted(text) + ": cost " + quoted(digits) +
                                                 " is not a number from 1 to 100");
        }
        if (cost < kCostMin || cost > kCostMax) {
            return make_error(Errc::invalid, quoted(text) + ": cost " + std::to_string(cost) +
                                                 " is out of range (1-100)");
        }
    }
    auto space = parse_space_body(text, body);
    if (space) space->cost = cost;
    return space;
}

base::Result<AddressSpace> parse_accepted_domain(std::string_view text) {
    if (text == "*") {
        return make_error(Errc::invalid, "\"*\" cannot be an accepted domain");
    }
    if (text.find_first_of(":;") != std::string_view::npos) {
        return make_error(Errc::invalid,
                          quoted(text) + " is not a valid accepted domain (no type or cost)");
    }
    auto space = parse_space_body(text, text);
    if (!space) {
        std::string message = space.error().message;
        const std::string_view from = "valid address space";
        if (size_t at = message.find(from); at != std::string::npos) {
            message.replace(at, from.size(), "valid accepted domain");
        }
        return make_error(Errc::invalid, message);
    }
    return space;
}

bool space_matches(const AddressSpace& space, DomainKind kind, std::string_view domain) {
    if (space.kind == SpaceKind::any) return kind != DomainKind::invalid;
    if (kind != DomainKind::name) return false;
    if (domain == space.domain) return true;
    if (space.kind == SpaceKind::exact) return false;
    // A subdomain: ends with ".<space domain>", so "badexample.com" never matches.
    return domain.size() > space.domain.size() &&
           domain.substr(domain.size() - space.domain.size()) == space.domain &&
           domain[domain.size() - space.domain.size() - 1] == '.';
}

uint32_t space_specificity(const AddressSpace& space) {
    if (space.kind == SpaceKind::any) return 0;
    uint32_t labels = 1 + static_cast<uint32_t>(std::count(space.domain.begin(),
                                                            space.domain.end(), '.'));
    return 2 * labels + (space.kind == SpaceKind::exact ? 1 : 0);
}

std::string space_display(const AddressSpace& space) {
    std::string body = space.kind == SpaceKind::any        ? std::string("*")
                       : space.kind == SpaceKind::wildcard ? "*." + space.domain
                                                           : space.domain;
    return body + ";" + std::to_string(space.cost);
}

}  // namespace ringmta::router
