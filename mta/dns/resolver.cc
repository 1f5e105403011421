// Lookups over the channel: coalescing per name, CNAME chasing, MX stages, cache and delivery.
#include "mta/dns/resolver.hh"

#include <algorithm>

#include "mta/engine/shard.hh"

namespace ringmta::dns {

namespace {

// How many CNAME links a host lookup follows with queries of its own (the server usually
// follows them itself and returns the whole chain).
constexpr uint8_t kCnameQueriesMax = 8;

uint64_t pick_seed(uint64_t seed) {
    if (seed != 0) return seed;
    std::random_device device;
    return uint64_t(device()) << 32 | device();
}

}  // namespace

struct Resolver::HostLookup {
    Resolver* resolver = nullptr;
    std::string name;
    DnsQuery queries[2];
    uint8_t cname_queries[2] = {0, 0};
    FamilyAnswer answers[2];
    uint8_t asked = 0;
    uint8_t pending = 0;
    std::vector<HostCallback> waiters;
    std::vector<std::pair<MxLookup*, size_t>> mx_waiters;  // (lookup, host index)
};

struct Resolver::MxLookup {
    Resolver* resolver = nullptr;
    std::string domain;
    DnsQuery query;
    MxPlan plan;
    std::vector<HostResult> host_results;
    size_t hosts_pending = 0;
    std::vector<MxCallback> waiters;
};

Resolver::Resolver(engine::Ring& ring, const base::Clock& clock, ResolverOptions options)
    : clock_(clock),
      options_(std::move(options)),
      rng_(pick_seed(options_.random_seed)),
      host_cache_(options_.cache_entries_max),
      mx_cache_(options_.cache_entries_max),
      channel_(ring, options_.channel) {
    MTA_ASSERT(options_.ttl_min_s <= options_.ttl_max_s);
}

Resolver::~Resolver() = default;

base::Result<void> Resolver::init() {
    channel_.set_after_delivery(&Resolver::flush_ready, this);
    return channel_.init();
}

void Resolver::attach(engine::Shard& shard) {
    shard.add_tick_hook([this, &shard] { return on_tick(shard.now_ms(), shard.stopping()); });
}

bool Resolver::on_tick(uint64_t now_ms, bool stopping) {
    if (stopping) shutdown();
    channel_.on_tick(now_ms);
    return busy();
}

void Resolver::shutdown() { channel_.shutdown(); }

ResolverStats Resolver::stats() const {
    ResolverStats s = stats_;
    s.queries_sent = channel_.queries_sent();
    s.queries_in_flight_peak = channel_.in_flight_peak();
    return s;
}

uint64_t Resolver::expiry_ms(uint32_t ttl_s) const {
    uint32_t clamped = std::clamp(ttl_s, options_.ttl_min_s, options_.ttl_max_s);
    return clock_.now_ms() + uint64_t(clamped) * 1000;
}

void Resolver::post_host(std::shared_ptr<const HostResult> result, HostCallback callback) {
    ready_.push_back({std::move(result), std::move(callback), nullptr, nullptr});
    channel_.wake();
}

void Resolver::post_mx(std::shared_ptr<const MxResult> result, MxCallback callback) {
    ready_.push_back({nullptr, nullptr, std::move(result), std::move(callback)});
    channel_.wake();
}

void Resolver::flush_ready(void* arg) {
    auto* self = static_cast<Resolver*>(arg);
    // Callbacks may ask again and so add to ready_: run batches until none is left.
    while (!self->ready_.empty()) {
        self->running_.swap(self->ready_);
        for (Ready& r : self->running_) {
            if (r.host) {
                r.host_callback(*r.host);
            } else {
                r.mx_callback(*r.mx);
            }
        }
        self->running_.clear();
    }
}

// ---- host addresses ----

void Resolver::resolve_host(std::string_view name, HostCallback callback) {
    IpAddress literal = IpAddress::parse(name);
    if (literal.valid()) {
        auto result = std::make_shared<HostResult>();
        result->outcome = LookupOutcome::ok();
        result->addresses.push_back(literal);
        result->ttl_s = options_.ttl_max_s;
        post_host(std::move(result), std::move(callback));
        return;
    }
    std::string key = normalize_name(name);
    if (auto hit = host_cache_.find(key, clock_.now_ms())) {
        ++stats_.cache_hits;
        post_host(std::move(hit), std::move(callback));
        return;
    }
    find_or_start_host(key)->waiters.push_back(std::move(callback));
}

Resolver::HostLookup* Resolver::find_or_start_host(const std::string& key) {
    if (auto it = host_lookups_.find(key); it != host_lookups_.end()) {
        ++stats_.lookups_joined;
        return it->second.get();
    }
    ++stats_.lookups_started;
    auto owned = std::make_unique<HostLookup>();
    HostLookup* lookup = owned.get();
    host_lookups_.emplace(key, std::move(owned));
    lookup->resolver = this;
    lookup->name = key;
    FamilyQueries families = family_queries(options_.family_order);
    for (uint16_t type : families.types) {
        if (type == 0) continue;
        DnsQuery& q = lookup->queries[lookup->asked++];
        q.callback = &Resolver::on_host_query;
        q.owner = lookup;
        q.name = key;
        q.type = type;
    }
    lookup->pending = lookup->asked;
    for (uint8_t i = 0; i < lookup->asked; ++i) channel_.submit(&lookup->queries[i]);
    return lookup;
}

void Resolver::on_host_query(DnsQuery* q) {
    auto* lookup = static_cast<HostLookup*>(q->owner);
    size_t i = size_t(q - lookup->queries);
    if (q->reply.status == ReplyStatus::answered &&
        q->reply.message.answers_for(q->name, q->type).empty() &&
        lookup->cname_queries[i] < kCnameQueriesMax) {
        // A CNAME chain the server did not follow to the end: ask for its last name.
        std::string target = q->reply.message.canonical_name(q->name);
        if (target != q->name) {
            ++lookup->cname_queries[i];
            q->name = std::move(target);
            lookup->resolver->channel_.submit(q);
            return;
        }
    }
    lookup->answers[i] = family_answer(q->name, q->type, q->reply);
    if (--lookup->pending == 0) lookup->resolver->finish_host(lookup);
}

void Resolver::finish_host(HostLookup* lookup) {
    auto node = host_lookups_.extract(lookup->name);
    MTA_ASSERT(!node.empty() && node.mapped().get() == lookup);
    std::vector<FamilyAnswer> answers(lookup->answers, lookup->answers + lookup->asked);
    auto result = std::make_shared<const HostResult>(build_host_result(lookup->name, answers));
    // A result with any family still in doubt is not reused: the next caller asks again.
    bool in_doubt = std::any_of(answers.begin(), answers.end(), [](const FamilyAnswer& a) {
        return a.status == ReplyStatus::try_later;
    });
    if (!in_doubt) host_cache_.insert(lookup->name, result, expiry_ms(result->ttl_s));
    for (HostCallback& callback : lookup->waiters) callback(*result);
    for (auto [mx, index] : lookup->mx_waiters) {
        mx->host_results[index] = *result;
        if (--mx->hosts_pending == 0)
            finish_mx(mx, assemble_mx_result(mx->domain, mx->plan, mx->host_results));
    }
}

// ---- MX routing ----

void Resolver::resolve_mx(std::string_view domain, MxCallback callback) {
    IpAddress literal = IpAddress::parse(domain);
    if (literal.valid()) {
        // An address literal domain ("user@[192.0.2.1]") names its one host directly.
        auto result = std::make_shared<MxResult>();
        result->outcome = LookupOutcome::ok();
        result->implicit_mx = true;
        result->hosts.push_back({literal.to_string(), 0, {literal}});
        result->ttl_s = options_.ttl_max_s;
        post_mx(std::move(result), std::move(callback));
        return;
    }
    std::string key = normalize_name(domain);
    if (auto hit = mx_cache_.find(key, clock_.now_ms())) {
        ++stats_.cache_hits;
        post_mx(std::move(hit), std::move(callback));
        return;
    }
    if (auto it = mx_lookups_.find(key); it != mx_lookups_.end()) {
        ++stats_.lookups_joined;
        it->second->waiters.push_back(std::move(callback));
        return;
    }
    ++stats_.lookups_started;
    auto owned = std::make_unique<MxLookup>();
    MxLookup* lookup = owned.get();
    mx_lookups_.emplace(key, std::move(owned));
    lookup->resolver = this;
    lookup->domain = key;
    lookup->waiters.push_back(std::move(callback));
    lookup->query.callback = &Resolver::on_mx_query;
    lookup->query.owner = lookup;
    lookup->query.name = key;
    lookup->query.type = kTypeMx;
    channel_.submit(&lookup->query);
}

void Resolver::on_mx_query(DnsQuery* q) {
    auto* lookup = static_cast<MxLookup*>(q->owner);
    Resolver* self = lookup->resolver;
    lookup->plan = plan_mx(lookup->domain, q->reply, self->options_.family_order, self->rng_);
    MxPlan& plan = lookup->plan;
    if (plan.final) {
        self->finish_mx(lookup, std::move(*plan.final));
        return;
    }
    size_t count = plan.hosts.size();
    lookup->host_results.assign(count, HostResult{});
    lookup->hosts_pending = count;
    for (size_t i = 0; i < count; ++i) {
        if (plan.glue[i]) {
            lookup->host_results[i] = std::move(*plan.glue[i]);
            --lookup->hosts_pending;
        } else if (auto hit =
                       self->host_cache_.find(plan.hosts[i].exchange, self->clock_.now_ms())) {
            ++self->stats_.cache_hits;
            lookup->host_results[i] = *hit;
            --lookup->hosts_pending;
        } else {
            // Host lookups complete from the ring, never inside this loop.
            self->find_or_start_host(plan.hosts[i].exchange)->mx_waiters.emplace_back(lookup, i);
        }
    }
    if (lookup->hosts_pending == 0)
        self->finish_mx(lookup, assemble_mx_result(lookup->domain, plan, lookup->host_results));
}

void Resolver::finish_mx(MxLookup* lookup, MxResult result) {
    auto node = mx_lookups_.extract(lookup->domain);
    MTA_ASSERT(!node.empty() && node.mapped().get() == lookup);
    auto shared = std::make_shared<const MxResult>(std::move(result));
    if (shared->outcome.status != LookupStatus::temporary_failure)
        mx_cache_.insert(lookup->domain, shared, expiry_ms(shared->ttl_s));
    for (MxCallback& callback : lookup->waiters) callback(*shared);
}

}  // namespace ringmta::dns
