// Config validation and compilation of the route table. Every problem is collected (not just
// the first) so an operator fixes a config in one pass; any error yields no table at all.
// Errors about one connector end with ` [connector "NAME"]`, so a long list names its owner.
#include "router/route_table_build.hh"
#include "mta/base/assert.hh"
#include "router/quote.hh"

#include <algorithm>
#include <numeric>
#include <utility>
#include <unordered_map>

namespace ringmta::router {

namespace {

std::string connector_path(size_t i) { return "connectors[" + std::to_string(i) + "]"; }

std::string space_path(size_t connector, size_t position) {
    return connector_path(connector) + ".address_spaces[" + std::to_string(position) + "]";
}

std::string accepted_path(size_t i) { return "accepted_domains[" + std::to_string(i) + "]"; }

// The domain-table id that "*" spaces are grouped under; sorts after every real domain.
constexpr uint32_t kAnyDomain = UINT32_MAX;

// One address space placed in the domain table, in the order candidates are ranked.
struct Entry {
    uint32_t domain;      // id in the domain table, or kAnyDomain
    uint32_t wild;        // 0 exact, 1 wildcard (and "*")
    uint32_t cost;
    uint32_t name_rank;   // connector's position in byte order of names
    uint32_t space;

    // The fields in rank order packed into two words (cost <= 100, wild <= 1): cheap to compare.
    std::pair<uint64_t, uint64_t> key() const {
        return {(uint64_t(domain) << 32) | (wild << 8) | cost,
                (uint64_t(name_rank) << 32) | space};
    }
};

}  // namespace

class RouteTableCompiler {
public:
    RouteTableCompiler(const std::vector<ConnectorSpec>& connectors,
                       const std::vector<AcceptedDomainSpec>& accepted, uint64_t generation)
        : specs_(connectors), accepted_specs_(accepted), table_(std::make_shared<RouteTable>()) {
        table_->generation_ = generation;
    }

    RouteTableBuild run() {
        size_t spaces = 0;
        for (const ConnectorSpec& spec : specs_) spaces += spec.address_spaces.size();
        table_->spaces_.reserve(spaces);
        table_->candidates_.reserve(spaces);
        table_->connectors_.reserve(specs_.size());
        table_->domains_.reserve(spaces + accepted_specs_.size());
        space_domain_.reserve(spaces);
        for (size_t i = 0; i < specs_.size(); ++i) check_connector(i);
        for (size_t i = 0; i < accepted_specs_.size(); ++i) check_accepted(i);
        if (errors_.empty()) compile_spaces();
        if (errors_.empty()) compile_accepted();
        RouteTableBuild build;
        if (errors_.empty()) {
            mark_accepted_above();
            warn_shadowed();
            warn_disabled_accepted();
            table_->domains_.shrink_to_fit();
            build.table = std::move(table_);
        }
        build.errors = std::move(errors_);
        build.warnings = std::move(warnings_);
        return build;
    }

private:
    // The connector (and position) that last listed a domain as an address space: exact and
    // wildcard per domain id, and "*". Connectors are checked in order, so a repeat is a
    // domain last listed by the connector being checked.
    struct Listed {
        uint32_t connector = kNoIndex;
        uint32_t position = 0;
    };

    void error(std::string path, std::string_view message) {
        errors_.push_back(std::move(path) + ": " + std::string(message));
    }

    // An error under connectors[i] whose message does not name the connector: the path's index
    // alone makes the operator count entries in a long file. Nameless connectors get no suffix
    // (their own "name: missing" error says so).
    void connector_error(size_t i, std::string path, std::string_view message) {
        const std::string& name = specs_[i].name;
        error(std::move(path), name.empty() ? std::string(message)
                                            : std::string(message) + " [connector " +
                                                  quoted(name) + "]");
    }


    void check_connector(size_t i) {
        const ConnectorSpec& spec = specs_[i];
        std::string path = connector_path(i);
        Connector c;
        // Everything but the address spaces, which the compiled spaces keep as written: copying
        // 100,000 strings once more is most of a large build's allocations. A field added to
        // ConnectorSpec must be added here too.
        c.spec = ConnectorSpec{.name = spec.name, .enabled = spec.enabled, .address_spaces = {},
                               .smart_hosts = spec.smart_hosts, .dns_routing = spec.dns_routing,
                               .port = spec.port, .max_message_size = spec.max_message_size,
                               .tls_mode = spec.tls_mode, .tls_ca_file = spec.tls_ca_file,
                               .tls_name = spec.tls_name, .auth_username = spec.auth_username,
                               .auth_password_file = spec.auth_password_file,
                               .auth_allow_plaintext = spec.auth_allow_plaintext,
                               .pool = spec.pool};
        c.size_max = spec.max_message_size == 0 ? UINT64_MAX : spec.max_message_size;
        if (spec.name.empty()) error(path + ".name", "missing");
        auto [it, fresh] = by_name_.emplace(spec.name, static_cast<uint32_t>(i));
        if (!fresh && !spec.name.empty()) {
            error(path + ".name", quoted(spec.name) + " is already the name of " +
                                      connector_path(it->second));
        }
        if (spec.port == 0) connector_error(i, path + ".port", "0 is not a valid port");
        if (spec.dns_routing && !spec.smart_hosts.empty()) {
            error(path + ".dns_routing", "connector " + quoted(spec.name) +
                                             " has smart_hosts and dns_routing: true; use one");
        }
        if (!spec.dns_routing && spec.smart_hosts.empty()) {
            error(path + ".smart_hosts", "connector " + quoted(spec.name) +
                                             " has neither smart_hosts nor dns_routing: true");
        }
        for (size_t j = 0; j < spec.smart_hosts.size(); ++j) {
            auto hop = parse_smart_host(spec.smart_hosts[j], spec.port == 0 ? 25 : spec.port);
            if (!hop) {
                connector_error(i, path + ".smart_hosts[" + std::to_string(j) + "]",
                                hop.error().message);
            } else {
                c.next_hops.push_back(std::move(*hop));
            }
        }
        if (spec.pool.max_connections_per_host == 0) {
            connector_error(i, path + ".pool.max_connections_per_host", "must be at least 1");
        }
        if (spec.pool.max_messages_per_connection == 0) {
            connector_error(i, path + ".pool.max_messages_per_connection", "must be at least 1");
        }
        if (!spec.auth_username.empty() && spec.auth_password_file.empty()) {
            connector_error(i, path + ".auth.password_file", "required with auth.username");
        }
        if (spec.auth_username.empty() && !spec.auth_password_file.empty()) {
            connector_error(i, path + ".auth.username", "required with auth.password_file");
        }
        auto index = static_cast<uint32_t>(table_->connectors_.size());
        for (size_t j = 0; j < spec.address_spaces.size(); ++j) {
            auto space = parse_address_space(spec.address_spaces[j]);
            if (!space) {
                connector_error(i, space_path(i, j), space.error().message);
                continue;
            }
            // Repeats (same kind and domain, whatever the cost or spelling) are found here,
            // with the other per-space errors, so they are reported along with them. The
            // domain goes into the table now (compile_spaces needs its id anyway).
            bool any = space->kind == SpaceKind::any;
            uint32_t domain = any ? kAnyDomain : table_->domains_.insert(space->domain);
            Listed& last = any ? any_listed_ : listed(space->kind, domain);
            if (last.connector == index) {
                connector_error(i, space_path(i, j),
                                quoted(space->text) + " repeats address_spaces[" +
                                    std::to_string(last.position) + "] (" +
                                    quoted(spec.address_spaces[last.position]) + ")");
                continue;
            }
            last = Listed{index, static_cast<uint32_t>(j)};
            c.address_spaces.push_back(static_cast<uint32_t>(table_->spaces_.size()));
            table_->spaces_.push_back(
                CompiledSpace{std::move(*space), index, static_cast<uint32_t>(j)});
            space_domain_.push_back(domain);
        }
        table_->connectors_.push_back(std::move(c));
    }

    // Where a domain was last listed with this kind (exact or wildcard); ids are dense.
    Listed& listed(SpaceKind kind, uint32_t domain) {
        auto& by_id = listed_[kind == SpaceKind::wildcard ? 1 : 0];
        if (domain >= by_id.size()) by_id.resize(table_->domains_.entry_count());
        return by_id[domain];
    }

    void check_accepted(size_t i) {
        const AcceptedDomainSpec& spec = accepted_specs_[i];
        std::string path = accepted_path(i);
        auto domain = parse_accepted_domain(spec.domain);
        bool usable = bool(domain);
        if (!domain) {
            error(path + ".domain", domain.error().message);
        } else {
            // A repeat is refused here, with the other errors (see check_connector).
            auto& same_kind = accepted_seen_[domain->kind == SpaceKind::wildcard ? 1 : 0];
            auto [first, fresh] = same_kind.emplace(domain->domain, i);
            if (!fresh) {
                error(path + ".domain", quoted(domain->text) + " is already " +
                                            accepted_path(first->second));
                usable = false;
            }
        }
        uint32_t connector = kNoIndex;
        if (spec.connector.empty()) {
            error(path + ".connector", "missing (the internal connector that carries mail for " +
                                           quoted(spec.domain) + ")");
        } else if (auto it = by_name_.find(spec.connector); it == by_name_.end()) {
            error(path + ".connector", quoted(spec.connector) + " is not the name of a connector");
        } else {
            connector = it->second;
        }
        if (usable && connector != kNoIndex) {
            table_->accepted_.push_back(
                AcceptedDomain{std::move(*domain), spec.type, connector, static_cast<uint32_t>(i)});
        }
    }

    // Inserts every space and sorts them into ranked candidate lists. Runs only on a config
    // without errors, so no connector repeats a space here (check_connector refused that).
    void compile_spaces() {
        const auto& connectors = table_->connectors_;
        std::vector<uint32_t> by_name(connectors.size()), rank(connectors.size());
        std::iota(by_name.begin(), by_name.end(), 0u);
        std::sort(by_name.begin(), by_name.end(), [&](uint32_t a, uint32_t b) {
            return connectors[a].spec.name < connectors[b].spec.name;
        });
        for (uint32_t r = 0; r < by_name.size(); ++r) rank[by_name[r]] = r;

        std::vector<Entry> entries;
        entries.reserve(table_->spaces_.size());
        for (uint32_t s = 0; s < table_->spaces_.size(); ++s) {
            const CompiledSpace& cs = table_->spaces_[s];
            entries.push_back(Entry{space_domain_[s], cs.space.kind == SpaceKind::exact ? 0u : 1u,
                                    cs.space.cost, rank[cs.connector], s});
        }
        std::sort(entries.begin(), entries.end(),
                  [](const Entry& a, const Entry& b) { return a.key() < b.key(); });
        for (size_t first = 0, last; first < entries.size(); first = last) {
            last = first + 1;
            while (last < entries.size() && entries[last].domain == entries[first].domain &&
                   entries[last].wild == entries[first].wild) {
                ++last;
            }
            compile_group(&entries[first], &entries[last]);
        }
        table_->candidates_.shrink_to_fit();
    }

    // One domain's exact (or wildcard) spaces, ranked: warn about ties, then emit candidates.
    void compile_group(const Entry* begin, const Entry* end) {
        auto& t = *table_;
        for (const Entry* e = begin; e != end; ++e) {
            const CompiledSpace& s = t.spaces_[e->space];
            for (const Entry* prior = begin; prior != e; ++prior) {
                const CompiledSpace& p = t.spaces_[prior->space];
                if (p.space.cost == s.space.cost && enabled(p) && enabled(s)) {
                    warn_same_cost(p, s);
                }
            }
        }
        auto first = static_cast<uint32_t>(t.candidates_.size());
        for (const Entry* e = begin; e != end; ++e) {
            const CompiledSpace& s = t.spaces_[e->space];
            if (!enabled(s)) continue;
            t.candidates_.push_back(
                RouteTable::Candidate{s.connector, e->space, t.connectors_[s.connector].size_max});
        }
        auto count = static_cast<uint32_t>(t.candidates_.size()) - first;
        if (count > UINT16_MAX) {
            const CompiledSpace& s = t.spaces_[begin->space];
            connector_error(s.connector, space_path(s.connector, s.position),
                            "more than 65535 connectors share this address space");
            return;
        }
        if (begin->domain == kAnyDomain) {
            t.any_first_ = first;
            t.any_count_ = count;
            return;
        }
        RouteTable::DomainRoutes& routes = t.domains_.entry(begin->domain).payload;
        if (begin->wild) {
            routes.wild_first = first;
            routes.wild_count = static_cast<uint16_t>(count);
        } else {
            routes.exact_first = first;
            routes.exact_count = static_cast<uint16_t>(count);
        }
    }

    bool enabled(const CompiledSpace& s) const {
        return table_->connectors_[s.connector].spec.enabled;
    }

    std::string describe(const CompiledSpace& s) const {
        return "connector " + quoted(table_->connectors_[s.connector].spec.name) + " (" +
               space_path(s.connector, s.position) + ")";
    }

    // `later` ranks after `earlier` only because of its connector's name.
    void warn_same_cost(const CompiledSpace& earlier, const CompiledSpace& later) {
        warnings_.push_back(space_path(later.connector, later.position) + ": " +
                            quoted(later.space.text) +
                            " has the same address space and cost as " + describe(earlier) +
                            ", which wins by name; connector " +
                            quoted(table_->connectors_[later.connector].spec.name) +
                            " never gets this mail");
    }

    // Runs only on a config without errors, so no accepted domain is repeated (check_accepted
    // refused that).
    void compile_accepted() {
        auto& t = *table_;
        for (uint32_t a = 0; a < t.accepted_.size(); ++a) {
            const AcceptedDomain& ad = t.accepted_[a];
            auto& routes = t.domains_.entry(t.domains_.insert(ad.domain.domain)).payload;
            bool wildcard = ad.domain.kind == SpaceKind::wildcard;
            uint32_t& slot = wildcard ? routes.accepted_wild : routes.accepted_exact;
            MTA_ASSERT(slot == kNoIndex);
            slot = a;
        }
    }

    // Flags each domain below an accepted wildcard domain: a lookup that finds its route there
    // must still look at the shorter suffixes, where the accepted domain outranks it.
    void mark_accepted_above() {
        auto& domains = table_->domains_;
        bool any_wild = std::any_of(table_->accepted_.begin(), table_->accepted_.end(),
                                    [](const AcceptedDomain& a) {
                                        return a.domain.kind == SpaceKind::wildcard;
                                    });
        if (!any_wild) return;
        DomainBuffer buffer;
        RouteTable::Domains::Probe probes[kLabelCountMax];
        for (uint32_t id = 0; id < domains.entry_count(); ++id) {
            (void)normalize_domain(domains.text(id), buffer);
            uint32_t count = domains.hash_suffixes(buffer, probes);
            for (uint32_t i = 0; i < count; ++i) {
                if (probes[i].label == 0) continue;   // the domain itself
                uint32_t above = domains.find(buffer, probes[i].label, probes[i].hash);
                if (above != RouteTable::Domains::kNone &&
                    domains.entry(above).payload.accepted_wild != kNoIndex) {
                    domains.entry(id).payload.accepted_above = true;
                    break;
                }
            }
        }
    }

    // Any overlap between an accepted domain and an address space: the accepted domain wins,
    // so the space's connector never sees that mail. O(accepted x spaces), at load time only.
    void warn_shadowed() {
        const auto& t = *table_;
        for (const AcceptedDomain& ad : t.accepted_) {
            std::string target = "connector " + quoted(t.connectors_[ad.connector].spec.name);
            for (const CompiledSpace& s : t.spaces_) {
                if (s.space.kind == SpaceKind::any) continue;
                bool covered = space_matches(ad.domain, DomainKind::name, s.space.domain) &&
                               (ad.domain.kind == SpaceKind::wildcard ||
                                s.space.kind == SpaceKind::exact);
                bool overlaps = covered || space_matches(s.space, DomainKind::name,
                                                         ad.domain.domain);
                if (!overlaps) continue;
                std::string head = space_path(s.connector, s.position) + ": " +
                                   quoted(s.space.text);
                std::string by = " accepted domain " + quoted(ad.domain.text) + " (" +
                                 accepted_path(ad.position) + ")";
                warnings_.push_back(covered ? head + " is shadowed by" + by +
                                                  "; its mail goes to " + target
                                            : head + " overlaps" + by + "; mail for " +
                                                  quoted(ad.domain.text) + " goes to " + target);
            }
        }
    }

    void warn_disabled_accepted() {
        for (const AcceptedDomain& ad : table_->accepted_) {
            const ConnectorSpec& c = table_->connectors_[ad.connector].spec;
            if (c.enabled) continue;
            warnings_.push_back(accepted_path(ad.position) + ".connector: connector " +
                                quoted(c.name) + " is disabled; mail for " +
                                quoted(ad.domain.text) + " has no route");
        }
    }

    const std::vector<ConnectorSpec>& specs_;
    const std::vector<AcceptedDomainSpec>& accepted_specs_;
    std::shared_ptr<RouteTable> table_;
    std::unordered_map<std::string, uint32_t> by_name_;
    std::vector<Listed> listed_[2];
    Listed any_listed_;
    std::vector<uint32_t> space_domain_;   // per compiled space: its domain id, or kAnyDomain
    std::unordered_map<std::string, size_t> accepted_seen_[2];   // exact, wildcard: first index
    std::vector<std::string> errors_, warnings_;
};

RouteTableBuild build_route_table(const std::vector<ConnectorSpec>& connectors,
                                  const std::vector<AcceptedDomainSpec>& accepted_domains,
                                  uint64_t generation) {
    return RouteTableCompiler(connectors, accepted_domains, generation).run();
}

}  // namespace ringmta::router
