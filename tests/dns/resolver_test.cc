// Tests mta/dns/resolver.cc and ares_channel.cc on a real shard ring against dnsmasq on
// loopback: MX routing outcomes, address families, CNAME targets, coalescing, the cache and its
// TTLs, the in-flight bound, timeouts and shutdown. Skipped when dnsmasq is not installed.
#include "mta/dns/resolver.hh"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "mta/engine/shard.hh"
#include "tests/dns/dns_test_util.hh"
#include "tests/dns/dnsmasq_server.hh"

namespace ringmta::dns {
namespace {

using namespace testing;

const std::vector<std::string> kRecords = {
    "--local=/test/",
    "--server=/dead.test/127.0.0.1#9",  // forwarded nowhere: queries time out
    "--host-record=mx1.two.test,127.0.0.11",
    "--host-record=mx2.two.test,127.0.0.12,::12",
    "--mx-host=two.test,mx1.two.test,10",
    "--mx-host=two.test,mx2.two.test,20",
    "--host-record=e1.equal.test,127.0.0.21",
    "--host-record=e2.equal.test,127.0.0.22",
    "--host-record=e3.equal.test,127.0.0.23",
    "--mx-host=equal.test,e1.equal.test,10",
    "--mx-host=equal.test,e2.equal.test,10",
    "--mx-host=equal.test,e3.equal.test,10",
    "--host-record=aonly.test,127.0.0.30",
    "--host-record=v6only.test,2001:db8::25",
    "--mx-host=nullmx.test,.,0",
    "--cname=alias.test,mx1.two.test",
    "--mx-host=cn.test,alias.test,5",
    "--mx-host=partial.test,ghost.partial.test,5",
    "--mx-host=partial.test,mx2.two.test,10",
    "--mx-host=allbad.test,ghost1.allbad.test,10",
    "--mx-host=allbad.test,ghost2.allbad.test,20",
    "--txt-record=noaddr.test,nothing",
};

// One shard with no listeners whose ring drives a Resolver; run() returns when `expected`
// callbacks have called done() (the shard then stops and the resolver drains) or at the
// deadline.
class Harness {
  public:
    explicit Harness(ResolverOptions options)
        : shard_(shard_options(), admission_,
                 [](engine::Connection&, engine::AdmissionVerdict) { return nullptr; }) {
        auto r = shard_.init();
        MTA_ASSERT(r.has_value());
        resolver_ = std::make_unique<Resolver>(shard_.ring(), clock_, std::move(options));
        init_ = resolver_->init();
        resolver_->attach(shard_);
    }

    Resolver& resolver() { return *resolver_; }
    base::FakeClock& clock() { return clock_; }
    const base::Result<void>& init_result() const { return init_; }
    void done() {
        if (++finished_ == expected_) shard_.request_stop();
    }
    engine::Shard& shard() { return shard_; }

    // Returns the wall time the loop ran.
    uint64_t run(int expected, uint64_t deadline_ms = 15000) {
        expected_ = expected;
        uint64_t start_ms = base::monotonic_ms();
        shard_.add_second_hook([this, start_ms, deadline_ms](uint64_t now_ms) {
            if (now_ms - start_ms > deadline_ms) shard_.request_stop();
        });
        if (finished_ >= expected_) shard_.request_stop();
        shard_.run();
        EXPECT_EQ(finished_, expected_) << "got " << finished_ << " callbacks, want " << expected_;
        EXPECT_FALSE(resolver_->busy());
        return base::monotonic_ms() - start_ms;
    }

  private:
    static engine::ShardOptions shard_options() {
        engine::ShardOptions o;
        o.use_buffer_ring = false;
        o.shutdown_grace_ms = 1000;
        return o;
    }
    engine::Admission admission_{16, 16};
    engine::Shard shard_;
    base::FakeClock clock_;
    std::unique_ptr<Resolver> resolver_;
    base::Result<void> init_;
    int expected_ = 0;
    int finished_ = 0;
};

class ResolverTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (!DnsmasqServer::available()) return;
        server_ = new DnsmasqServer();
        start_error_ = server_->start(kRecords);
    }
    static void TearDownTestSuite() {
        delete server_;  // stops dnsmasq by PID
        server_ = nullptr;
    }
    void SetUp() override {
        if (!DnsmasqServer::available())
            GTEST_SKIP() << kDnsmasqPath << " is not installed (apt-get install dnsmasq-base)";
        ASSERT_EQ(start_error_, "");
    }
    static ResolverOptions options(uint64_t seed = 1) {
        ResolverOptions o;
        o.channel.servers = {server_->address()};
        o.channel.timeout_ms = 300;
        o.channel.tries = 1;
        o.random_seed = seed;
        return o;
    }
    static inline DnsmasqServer* server_ = nullptr;
    static inline std::string start_error_;
};

TEST_F(ResolverTest, MxOutcomes) {
    struct Case {
        const char* domain;
        const char* want_status;
        const char* want_code;
        const char* want_hosts;
        bool want_implicit;
    };
    const Case cases[] = {
        {"two.test", "found", "", "mx1.two.test:10[127.0.0.11] mx2.two.test:20[127.0.0.12 ::12]",
         false},
        {"Two.Test.", "found", "", "mx1.two.test:10[127.0.0.11] mx2.two.test:20[127.0.0.12 ::12]",
         false},
        {"aonly.test", "found", "", "aonly.test:0[127.0.0.30]", true},
        {"v6only.test", "found", "", "v6only.test:0[2001:db8::25]", true},
        {"nullmx.test", "permanent", "5.1.10", "", false},
        {"nope.test", "permanent", "5.1.2", "", false},
        {"noaddr.test", "permanent", "5.4.4", "", true},
        {"cn.test", "found", "", "alias.test:5[127.0.0.11]", false},
        {"partial.test", "found", "", "mx2.two.test:10[127.0.0.12 ::12]", false},
        {"allbad.test", "temporary", "4.4.3", "", false},
        {"x.dead.test", "temporary", "4.4.3", "", false},
        {"[192.0.2.1]", "found", "", "192.0.2.1:0[192.0.2.1]", true},
    };
    Harness h(options());
    ASSERT_TRUE(h.init_result().has_value());
    std::vector<MxResult> results(std::size(cases));
    for (size_t i = 0; i < std::size(cases); ++i) {
        h.resolver().resolve_mx(cases[i].domain, [&, i](const MxResult& r) {
            results[i] = r;
            h.done();
        });
    }
    h.run(int(std::size(cases)));
    for (size_t i = 0; i < std::size(cases); ++i) {
        const Case& c = cases[i];
        const MxResult& r = results[i];
        expect_outcome(c.domain, r.outcome, c.want_status, c.want_code);
        std::string hosts = describe_hosts(r.hosts);
        EXPECT_EQ(hosts, c.want_hosts)
            << c.domain << ": got " << hosts << ", want " << c.want_hosts;
        EXPECT_EQ(r.implicit_mx, c.want_implicit) << c.domain;
    }
}

MxResult resolve_mx_once(ResolverOptions options, const char* domain) {
    Harness h(std::move(options));
    MxResult result;
    h.resolver().resolve_mx(domain, [&](const MxResult& r) {
        result = r;
        h.done();
    });
    h.run(1);
    return result;
}

TEST_F(ResolverTest, EqualPreferencesAreShuffledPerSeed) {
    std::set<std::string> orders;
    for (uint64_t seed = 1; seed <= 8; ++seed) {
        MxResult r = resolve_mx_once(options(seed), "equal.test");
        ASSERT_TRUE(r.outcome.found()) << r.outcome.text;
        std::set<std::string> names;
        std::string order;
        for (const MxHost& host : r.hosts) {
            EXPECT_EQ(host.preference, 10);
            names.insert(host.name);
            order += host.name + " ";
        }
        EXPECT_EQ(names, (std::set<std::string>{"e1.equal.test", "e2.equal.test", "e3.equal.test"}))
            << "seed " << seed << ": got " << order;
        orders.insert(order);
        MxResult again = resolve_mx_once(options(seed), "equal.test");
        EXPECT_EQ(describe_hosts(again.hosts), describe_hosts(r.hosts))
            << "seed " << seed << " gave two orders";
    }
    EXPECT_GE(orders.size(), 2u) << "8 seeds gave one order: " << *orders.begin();
}

TEST_F(ResolverTest, HostAddressesPerFamilyOrder) {
    struct Case {
        const char* name;
        FamilyOrder order;
        const char* want_status;
        const char* want_addresses;
    };
    const Case cases[] = {
        {"mx2.two.test", FamilyOrder::ipv4_first, "found", "127.0.0.12 ::12"},
        {"mx2.two.test", FamilyOrder::ipv6_first, "found", "::12 127.0.0.12"},
        {"mx2.two.test", FamilyOrder::ipv4_only, "found", "127.0.0.12"},
        {"mx2.two.test", FamilyOrder::ipv6_only, "found", "::12"},
        {"alias.test", FamilyOrder::ipv4_first, "found", "127.0.0.11"},
        {"mx1.two.test", FamilyOrder::ipv6_only, "permanent", ""},
        {"nope.test", FamilyOrder::ipv4_first, "permanent", ""},
        {"x.dead.test", FamilyOrder::ipv4_first, "temporary", ""},
        {"[IPv6:2001:db8::1]", FamilyOrder::ipv4_first, "found", "2001:db8::1"},
    };
    for (const Case& c : cases) {
        ResolverOptions o = options();
        o.family_order = c.order;
        Harness h(o);
        HostResult result;
        h.resolver().resolve_host(c.name, [&](const HostResult& r) {
            result = r;
            h.done();
        });
        h.run(1);
        std::string status = status_name(result.outcome.status);
        std::string addresses = join(result.addresses);
        EXPECT_EQ(status, c.want_status) << c.name << " order " << int(c.order) << ": got "
                                         << status << " (" << result.outcome.text << ")";
        EXPECT_EQ(addresses, c.want_addresses) << c.name << " order " << int(c.order) << ": got "
                                               << addresses << ", want " << c.want_addresses;
    }
}

TEST_F(ResolverTest, BurstToOneDomainIsOneLookup) {
    Harness h(options());
    const int burst = 50;
    int found = 0;
    bool returned = false;
    for (int i = 0; i < burst; ++i) {
        h.resolver().resolve_mx("two.test", [&](const MxResult& r) {
            EXPECT_TRUE(returned) << "a callback ran inside resolve_mx";
            found += r.outcome.found() && r.hosts.size() == 2;
            h.done();
        });
        h.resolver().resolve_host("aonly.test", [&](const HostResult& r) {
            found += r.outcome.found() && r.addresses.size() == 1;
            if (found == 2 * burst) {
                // Later messages to the same domain are answered from the cache.
                h.resolver().resolve_mx("two.test", [&](const MxResult& again) {
                    found += again.outcome.found();
                    h.done();
                });
            }
            h.done();
        });
    }
    returned = true;
    h.run(2 * burst + 1);
    EXPECT_EQ(found, 2 * burst + 1);
    ResolverStats s = h.resolver().stats();
    EXPECT_EQ(s.lookups_started, 2u) << "got " << s.lookups_started << ", want 2";
    EXPECT_EQ(s.lookups_joined, uint64_t(2 * burst - 2));
    EXPECT_EQ(s.queries_sent, 3u) << "got " << s.queries_sent << ", want MX + A + AAAA";
    EXPECT_EQ(s.cache_hits, 1u);
}

struct CacheStep {
    const char* domain;
    uint64_t advance_s;  // fake time passing before the step
    uint64_t want_queries_total;
};

// Runs the steps one after another from the callbacks; each checks how many queries went out.
void run_cache_steps(ResolverOptions options, const std::vector<CacheStep>& steps) {
    Harness h(std::move(options));
    size_t next = 0;
    std::function<void()> run_step = [&] {
        const CacheStep& s = steps[next];
        h.clock().advance_ms(s.advance_s * 1000);
        h.resolver().resolve_mx(s.domain, [&, s](const MxResult&) {
            uint64_t got = h.resolver().stats().queries_sent;
            EXPECT_EQ(got, s.want_queries_total)
                << "step " << next << " (" << s.domain << " after " << s.advance_s << " s): got "
                << got << " queries, want " << s.want_queries_total;
            h.done();
            if (++next < steps.size()) run_step();
        });
    };
    run_step();
    h.run(int(steps.size()));
}

TEST_F(ResolverTest, CacheHonoursTtlsAndNegativeAnswers) {
    // dnsmasq serves TTL 300 and NXDOMAIN without an SOA (negative TTL: the 5-minute default).
    run_cache_steps(options(), {{"two.test", 0, 1},
                                {"two.test", 299, 1},
                                {"two.test", 2, 2},
                                {"nope.test", 0, 3},
                                {"nope.test", 299, 3},
                                {"nope.test", 2, 4},
                                {"nullmx.test", 0, 5},
                                {"nullmx.test", 250, 5}});
}

TEST_F(ResolverTest, CacheClampsTtls) {
    ResolverOptions o = options();
    o.ttl_max_s = 100;
    run_cache_steps(o, {{"two.test", 0, 1},
                        {"two.test", 99, 1},
                        {"two.test", 2, 2},
                        {"nope.test", 0, 3},
                        {"nope.test", 101, 4}});
    // Temporary failures are never reused.
    run_cache_steps(options(), {{"x.dead.test", 0, 1}, {"x.dead.test", 0, 2}});
}

TEST_F(ResolverTest, InFlightQueriesStayBounded) {
    const char* names[] = {"mx1.two.test",  "mx2.two.test",  "e1.equal.test",
                           "e2.equal.test", "e3.equal.test", "aonly.test"};
    for (uint32_t bound : {1u, 64u}) {
        ResolverOptions o = options();
        o.channel.queries_in_flight_max = bound;
        Harness h(o);
        int found = 0;
        for (const char* name : names) {
            h.resolver().resolve_host(name, [&](const HostResult& r) {
                found += r.outcome.found();
                h.done();
            });
        }
        h.run(int(std::size(names)));
        EXPECT_EQ(found, int(std::size(names))) << "bound " << bound;
        size_t peak = h.resolver().stats().queries_in_flight_peak;
        if (bound == 1) {
            EXPECT_EQ(peak, 1u) << "got " << peak << " queries in flight, want at most 1";
        } else {
            EXPECT_GT(peak, 1u) << "without a tight bound queries run in parallel";
        }
    }
}

TEST_F(ResolverTest, ShutdownEndsLookupsAsTemporaryFailures) {
    ResolverOptions o = options();
    o.channel.timeout_ms = 5000;
    Harness h(o);
    MxResult result;
    h.resolver().resolve_mx("slow.dead.test", [&](const MxResult& r) {
        result = r;
        h.done();
    });
    h.shard().post([&] { h.shard().request_stop(); });
    uint64_t elapsed_ms = h.run(1);
    EXPECT_EQ(result.outcome.status, LookupStatus::temporary_failure);
    EXPECT_NE(result.outcome.text.find("resolver stopped"), std::string::npos)
        << "got " << result.outcome.text;
    EXPECT_LT(elapsed_ms, 3000u) << "the stop waited for the 5 s DNS timeout";
}

TEST_F(ResolverTest, UnreachableServerIsTemporary) {
    ResolverOptions o = options();
    o.channel.servers = {"127.0.0.1:" + std::to_string(free_port())};
    MxResult r = resolve_mx_once(o, "two.test");
    EXPECT_EQ(r.outcome.status, LookupStatus::temporary_failure) << r.outcome.text;
    EXPECT_EQ(r.outcome.enhanced_code, "4.4.3");
}

TEST_F(ResolverTest, BadServerListIsRefusedAtInit) {
    ResolverOptions o = options();
    o.channel.servers = {"not an address"};
    Harness h(o);
    ASSERT_FALSE(h.init_result().has_value());
    EXPECT_EQ(h.init_result().error().code, base::Errc::invalid);
    EXPECT_NE(h.init_result().error().message.find("dns.servers"), std::string::npos);
}

}  // namespace
}  // namespace ringmta::dns
