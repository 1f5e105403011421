// The per-shard resolver for delivery: host addresses (smart hosts) and RFC 5321 §5.1 MX
// routing, over c-ares on the shard's ring, with a bounded TTL cache and one lookup per name
// however many callers ask at once. Callbacks run on the shard thread, from the ring loop,
// never inside resolve_*(). Every call gets exactly one callback; a DNS failure that may heal
// is a temporary failure, never a bounce. Not thread-safe: one Resolver per shard.
#pragma once

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mta/base/clock.hh"
#include "mta/base/result.hh"
#include "mta/dns/ares_channel.hh"
#include "mta/dns/lookup_result.hh"
#include "mta/dns/mx_plan.hh"
#include "mta/dns/ttl_cache.hh"
#include "mta/engine/ring.hh"

namespace ringmta::engine {
class Shard;
}

namespace ringmta::dns {

struct ResolverOptions {
    ChannelOptions channel;
    FamilyOrder family_order = FamilyOrder::ipv4_first;
    size_t cache_entries_max = 4096;  // per result kind (hosts, MX)
    uint32_t ttl_min_s = 5;           // reuse even TTL-0 answers this long (burst protection)
    uint32_t ttl_max_s = 3600;
    uint64_t random_seed = 0;  // equal-preference MX shuffle; 0 draws one from random_device
};

struct ResolverStats {
    uint64_t cache_hits = 0;
    uint64_t lookups_joined = 0;  // callers that waited on a lookup already in flight
    uint64_t lookups_started = 0;
    uint64_t queries_sent = 0;
    size_t queries_in_flight_peak = 0;
};

using HostCallback = std::function<void(const HostResult&)>;
using MxCallback = std::function<void(const MxResult&)>;

class Resolver {
  public:
    Resolver(engine::Ring& ring, const base::Clock& clock, ResolverOptions options);
    ~Resolver();  // requires !busy()
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    base::Result<void> init();
    // Registers the tick hook on `shard` (whose ring this resolver uses): c-ares timeouts, and
    // when the shard stops, shutdown() and keeping the shard alive until the ring lets go.
    void attach(engine::Shard& shard);

    // A and AAAA of `name` (preferred family first). IP literals ("192.0.2.1", "[::1]",
    // "[IPv6:::1]") are answered without DNS.
    void resolve_host(std::string_view name, HostCallback callback);
    // The MX hosts of `domain` with their addresses, or why there are none.
    void resolve_mx(std::string_view domain, MxCallback callback);

    // The tick hook's body; returns true while the ring still holds SQEs of this resolver.
    bool on_tick(uint64_t now_ms, bool stopping);
    // Ends every lookup with a temporary failure "resolver stopped"; later calls get the same.
    void shutdown();
    bool busy() const { return channel_.busy(); }

    ResolverStats stats() const;
    size_t cache_size() const { return host_cache_.size() + mx_cache_.size(); }

  private:
    struct HostLookup;
    struct MxLookup;
    struct Ready {
        std::shared_ptr<const HostResult> host;
        HostCallback host_callback;
        std::shared_ptr<const MxResult> mx;
        MxCallback mx_callback;
    };

    static void on_host_query(DnsQuery* q);
    static void on_mx_query(DnsQuery* q);
    static void flush_ready(void* self);

    HostLookup* find_or_start_host(const std::string& key);
    void finish_host(HostLookup* lookup);
    void finish_mx(MxLookup* lookup, MxResult result);
    uint64_t expiry_ms(uint32_t ttl_s) const;
    void post_host(std::shared_ptr<const HostResult> result, HostCallback callback);
    void post_mx(std::shared_ptr<const MxResult> result, MxCallback callback);

    const base::Clock& clock_;
    ResolverOptions options_;
    std::mt19937_64 rng_;
    TtlCache<HostResult> host_cache_;
    TtlCache<MxResult> mx_cache_;
    std::unordered_map<std::string, std::unique_ptr<HostLookup>> host_lookups_;
    std::unordered_map<std::string, std::unique_ptr<MxLookup>> mx_lookups_;
    std::vector<Ready> ready_;
    std::vector<Ready> running_;
    ResolverStats stats_;
    AresChannel channel_;  // last: destroyed first, while the lookups it points to still live
};

}  // namespace ringmta::dns
