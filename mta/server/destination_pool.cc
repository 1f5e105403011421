// Connection management for one destination. Every job that leaves the pool goes through
// Delivery::complete exactly once, whatever happened to its connection.
#include "mta/server/destination_pool.hh"

#include <arpa/inet.h>

#include <cstring>
#include <fstream>

#include "mta/base/clock.hh"
#include "mta/base/log.hh"
#include "mta/dns/mx_plan.hh"
#include "mta/server/delivery.hh"

namespace ringmta::server {

namespace {
using DestinationHealthState = queue::DestinationHealth::State;

constexpr const char* kRetiredReason = "routed again after a reload";

smtp::TlsPolicy tls_policy(router::TlsMode mode) {
    switch (mode) {
        case router::TlsMode::none: return smtp::TlsPolicy::none;
        case router::TlsMode::opportunistic: return smtp::TlsPolicy::opportunistic;
        case router::TlsMode::required: return smtp::TlsPolicy::required;
        case router::TlsMode::verify: return smtp::TlsPolicy::verify;
    }
    return smtp::TlsPolicy::opportunistic;
}

queue::RecipientResult scheduler_result(smtp::RecipientStatus s) {
    switch (s) {
        case smtp::RecipientStatus::delivered: return queue::RecipientResult::delivered;
        case smtp::RecipientStatus::failed: return queue::RecipientResult::failed;
        default: return queue::RecipientResult::deferred;
    }
}
}  // namespace

DestinationPool::DestinationPool(Delivery& delivery, queue::DestinationId id,
                                 const router::Connector& connector, std::string domain,
                                 uint32_t connections_max, ConnectionBudget::Slot& slot,
                                 uint64_t route_generation)
    : delivery_(delivery), id_(id), spec_(connector.spec), smart_hosts_(connector.next_hops),
      domain_(std::move(domain)), connections_max_(std::max(1u, connections_max)), slot_(slot),
      route_generation_(route_generation) {
    if (!spec_.auth_password_file.empty()) {
        std::ifstream in(spec_.auth_password_file);
        std::getline(in, password_);
        if (!in && password_.empty())
            MTA_LOG_ERROR("connector %s: cannot read auth.password_file %s", spec_.name.c_str(),
                          spec_.auth_password_file.c_str());
    }
}

DestinationPool::~DestinationPool() {
    set_starving(false);
    if (wants_slot_) delivery_.slot_wanted(*this, false);
}

size_t DestinationPool::idle_sessions() const {
    size_t n = 0;
    for (smtp::ClientSession* s : sessions_) n += (s->idle() && !running_.count(s)) ? 1 : 0;
    return n;
}

std::string DestinationPool::relay_of(const smtp::ClientSession& session) const {
    auto it = session_host_.find(const_cast<smtp::ClientSession*>(&session));
    uint16_t port = (it != session_host_.end() && it->second < hosts_.size())
                        ? hosts_[it->second].port
                        : spec_.port;
    return session.peer() + ":" + std::to_string(port);
}

void DestinationPool::enqueue(const queue::Transaction& t) {
    auto job = std::make_unique<Job>();
    job->t = t;
    job->enqueued_us = base::monotonic_us();
    Job* raw = job.get();
    waiting_.push_back(std::move(job));
    delivery_.acquire(t.queue_id, [this, raw](LoadedMessage* m) {
        raw->message = m;
        raw->loaded = true;
        if (retired_) {  // retired while the message was read: back to the scheduler
            for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
                if (it->get() != raw) continue;
                std::unique_ptr<Job> back = std::move(*it);
                waiting_.erase(it);
                finish_job(std::move(back), queue::RecipientResult::not_attempted, "",
                           kRetiredReason, "none");
                break;
            }
            return;
        }
        if (m == nullptr) {
            // The spool could not give the message back: try later, like a 4xx.
            for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
                if (it->get() != raw) continue;
                std::unique_ptr<Job> failed = std::move(*it);
                waiting_.erase(it);
                finish_job(std::move(failed), queue::RecipientResult::deferred, "4.3.0",
                           "cannot read the message from the spool", "none");
                break;
            }
        }
        pump();
    });
}

void DestinationPool::retire() {
    if (retired_) return;
    retired_ = true;
    std::deque<std::unique_ptr<Job>> jobs;
    jobs.swap(waiting_);
    for (auto& j : jobs) {
        if (!j->loaded) {  // finished by its load callback (enqueue)
            waiting_.push_back(std::move(j));
            continue;
        }
        finish_job(std::move(j), queue::RecipientResult::not_attempted, "", kRetiredReason,
                   "none");
    }
    std::vector<smtp::ClientSession*> idle;
    for (smtp::ClientSession* s : sessions_)
        if (s->idle() && !running_.count(s)) idle.push_back(s);
    for (smtp::ClientSession* s : idle) s->quit();
    if (wants_slot_) delivery_.slot_wanted(*this, false);
    wants_slot_ = false;
    set_starving(false);
}

void DestinationPool::pump() {
    if (delivery_.shard().stopping() || retired_) return;
    // Idle connections take loaded jobs first.
    for (smtp::ClientSession* s : sessions_) {
        if (!s->idle() || running_.count(s)) continue;
        for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
            if (!(*it)->loaded) continue;
            std::unique_ptr<Job> job = std::move(*it);
            waiting_.erase(it);
            start(*s, std::move(job));
            break;
        }
    }
    size_t loaded = 0;
    for (const auto& j : waiting_) loaded += j->loaded ? 1 : 0;
    size_t idle = 0;
    for (smtp::ClientSession* s : sessions_) idle += (s->idle() && !running_.count(s)) ? 1 : 0;
    // Grow with the backlog: one new connection per waiting job not covered by an idle or
    // connecting one, up to the limit.
    bool blocked = false;
    while (loaded > idle + connecting_ && sessions_.size() < connections_max_) {
        if (hosts_.empty() || delivery_.shard().now_ms() >= hosts_expire_ms_) {
            resolve();
            return;
        }
        if (!take_slot()) {
            blocked = true;
            break;
        }
        set_starving(false);
        if (!open_connection()) {
            ConnectionBudget::release(slot_);
            break;
        }
    }
    if (blocked != wants_slot_) delivery_.slot_wanted(*this, blocked);
    wants_slot_ = blocked;
    set_starving(blocked && sessions_.empty());
}

bool DestinationPool::take_slot() {
    if (!starving_ && slot_.starving.load(std::memory_order_relaxed) > 0) return false;
    return ConnectionBudget::try_acquire(slot_);
}

void DestinationPool::set_starving(bool starving) {
    if (starving == starving_) return;
    starving_ = starving;
    if (starving)
        slot_.starving.fetch_add(1, std::memory_order_relaxed);
    else
        slot_.starving.fetch_sub(1, std::memory_order_relaxed);
}

bool DestinationPool::hand_over(const smtp::ClientSession& session) const {
    // Starvation is bounded: a shard that has connections gives one up when it has others, has
    // nothing of its own waiting, or has used this one for a while. Only then is the starving
    // counter read: reuse writes nothing shared.
    static constexpr uint32_t kTransactionsBeforeHandOver = 16;
    if (starving_ || slot_.starving.load(std::memory_order_relaxed) == 0) return false;
    bool work = std::any_of(waiting_.begin(), waiting_.end(),
                            [](const std::unique_ptr<Job>& j) { return j->loaded; });
    return !work || sessions_.size() > 1 || session.transactions() >= kTransactionsBeforeHandOver;
}

void DestinationPool::on_second() {
    if (delivery_.shard().stopping() || retired_) return;
    if (wants_slot_ || starving_) pump();
    if (slot_.starving.load(std::memory_order_relaxed) == 0) return;
    std::vector<smtp::ClientSession*> idle;
    for (smtp::ClientSession* s : sessions_)
        if (s->idle() && !running_.count(s) && hand_over(*s)) idle.push_back(s);
    // One per second and pool is enough: each frees a slot for a shard that has none.
    if (!idle.empty()) idle.front()->quit();
}

void DestinationPool::resolve() {
    if (resolving_) return;
    resolving_ = true;
    if (!domain_.empty()) {
        delivery_.resolver().resolve_mx(domain_, [this](const dns::MxResult& r) {
            std::vector<Host> hosts;
            for (const auto& mx : r.hosts)
                for (const auto& a : mx.addresses)
                    hosts.push_back({mx.name, a, spec_.port, mx.preference});
            resolved(r.outcome, std::move(hosts), r.ttl_s);
        });
        return;
    }
    // Smart hosts: every one resolved (literals answer at once), kept in configured order.
    auto results = std::make_shared<std::vector<std::vector<Host>>>(smart_hosts_.size());
    auto left = std::make_shared<size_t>(smart_hosts_.size());
    auto worst = std::make_shared<dns::LookupOutcome>(dns::LookupOutcome::ok());
    auto ttl = std::make_shared<uint32_t>(3600);
    for (size_t i = 0; i < smart_hosts_.size(); ++i) {
        const router::NextHop& hop = smart_hosts_[i];
        std::string name = hop.host == "localhost" ? "127.0.0.1" : hop.host;
        delivery_.resolver().resolve_host(name, [=, this](const dns::HostResult& r) {
            if (r.outcome.found()) {
                for (const auto& a : r.addresses) (*results)[i].push_back({hop.host, a, hop.port});
                *ttl = std::min(*ttl, std::max<uint32_t>(r.ttl_s, 5));
            } else {
                *worst = r.outcome;
            }
            if (--*left > 0) return;
            std::vector<Host> hosts;
            for (auto& v : *results)
                for (auto& h : v) hosts.push_back(std::move(h));
            resolved(hosts.empty() ? *worst : dns::LookupOutcome::ok(), std::move(hosts), *ttl);
        });
    }
}

void DestinationPool::resolved(dns::LookupOutcome outcome, std::vector<Host> hosts, uint32_t ttl_s) {
    resolving_ = false;
    if (!outcome.found() || hosts.empty()) {
        std::string target = domain_.empty() ? "smart hosts of connector " + spec_.name : domain_;
        std::string text = outcome.text.empty() ? "no usable address" : outcome.text;
        // Only a recipient domain's DNS can say "this will never work" (NXDOMAIN, null MX);
        // a smart host that does not resolve is our configuration's problem: defer.
        bool permanent = outcome.status == dns::LookupStatus::permanent_failure && !domain_.empty();
        MTA_LOG_WARN("connector=%s, %s: DNS: %s", spec_.name.c_str(), target.c_str(), text.c_str());
        fail_waiting(permanent ? queue::RecipientResult::failed : queue::RecipientResult::deferred,
                     outcome.enhanced_code.empty() ? "4.4.3" : outcome.enhanced_code,
                     "DNS lookup for " + target + ": " + text);
        return;
    }
    // Keep what is known about hosts that are still in the list.
    std::vector<uint64_t> down(hosts.size(), 0);
    for (size_t i = 0; i < hosts.size(); ++i)
        for (size_t j = 0; j < hosts_.size() && j < host_down_until_ms_.size(); ++j)
            if (hosts_[j].address == hosts[i].address && hosts_[j].port == hosts[i].port)
                down[i] = host_down_until_ms_[j];
    hosts_ = std::move(hosts);
    host_down_until_ms_ = std::move(down);
    hosts_expire_ms_ = delivery_.shard().now_ms() + uint64_t(std::max<uint32_t>(ttl_s, 5)) * 1000;
    if (next_host_ >= hosts_.size()) next_host_ = 0;
    pump();
}

std::string DestinationPool::tls_key(const Host& host) {
    return host.address.to_string() + ":" + std::to_string(host.port);
}

bool DestinationPool::tls_broken(const Host& host) const {
    auto it = tls_broken_until_ms_.find(tls_key(host));
    return it != tls_broken_until_ms_.end() && it->second > delivery_.shard().now_ms();
}

bool DestinationPool::plaintext_fallback_allowed() const {
    // As Postfix: never when we hold credentials that may not travel without TLS.
    return spec_.tls_mode == router::TlsMode::opportunistic &&
           (spec_.auth_username.empty() || spec_.auth_allow_plaintext);
}

uint64_t DestinationPool::host_down_ms() const {
    // Long enough not to hammer a dead host, never longer than the retry schedule.
    return uint64_t(std::min<uint32_t>(60, delivery_.config().delivery.retry.initial_s)) * 1000;
}

bool DestinationPool::open_connection() {
    // Smart hosts rotate per connection; MX hosts are tried in preference order, successive
    // connections rotating over those of the best preference. Hosts whose last connect failed
    // are skipped for a while; when all are, the destination is down.
    uint64_t now = delivery_.shard().now_ms();
    std::vector<uint16_t> preferences;
    for (const Host& h : hosts_) preferences.push_back(h.preference);
    size_t index = hosts_.size();
    for (size_t k = 0; k < hosts_.size(); ++k) {
        size_t i = domain_.empty() ? (next_host_ + k) % hosts_.size()
                                   : dns::mx_host_to_try(preferences, mx_connections_, k);
        if (host_down_until_ms_[i] <= now) {
            index = i;
            break;
        }
    }
    if (index == hosts_.size()) {
        if (connecting_ == 0 && running_.empty()) {
            if (delivery_.scheduler().stats(id_).state != DestinationHealthState::down)
                delivery_.scheduler_mut().report_connect_failure(id_);
            fail_waiting(queue::RecipientResult::deferred, "4.4.1", last_connect_error_);
        }
        return false;
    }
    if (domain_.empty()) next_host_ = (index + 1) % hosts_.size();
    ++mx_connections_;
    const Host& host = hosts_[index];
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (host.address.family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(host.port);
        std::memcpy(&a->sin_addr, host.address.bytes.data(), 4);
        len = sizeof(sockaddr_in);
    } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(host.port);
        std::memcpy(&a->sin6_addr, host.address.bytes.data(), 16);
        len = sizeof(sockaddr_in6);
    }
    const config::Config& c = delivery_.config();
    smtp::ClientConfig cc;
    cc.helo_name = c.server.hostname;
    cc.peer_name = host.name;
    cc.peer_address = host.address.to_string();
    cc.tls = tls_policy(spec_.tls_mode);
    if (cc.tls == smtp::TlsPolicy::opportunistic && tls_broken(host))
        cc.tls = smtp::TlsPolicy::none;
    cc.auth_username = spec_.auth_username;
    cc.auth_password = password_;
    cc.auth_allow_plaintext = spec_.auth_allow_plaintext;
    cc.helo_timeout_s = c.delivery.helo_timeout_s;
    smtp::ClientTlsSettings tls;
    bool verify = spec_.tls_mode == router::TlsMode::verify;
    if (spec_.tls_mode != router::TlsMode::none) tls.ctx = delivery_.tls_context(verify, spec_.tls_ca_file);
    tls.verify = verify;
    tls.verify_name = spec_.tls_name.empty() ? host.name : spec_.tls_name;
    engine::Connection* conn = delivery_.shard().open_outbound(ss, len, nullptr, 30000);
    if (conn == nullptr) {
        MTA_LOG_ERROR("connector=%s: cannot create a socket: %s", spec_.name.c_str(),
                      std::strerror(errno));
        return false;
    }
    auto session = std::make_unique<smtp::ClientSession>(*conn, cc, tls, *this,
                                                         spec_.pool.idle_timeout_s);
    smtp::ClientSession* raw = session.get();
    conn->set_handler(std::move(session));
    sessions_.push_back(raw);
    session_host_[raw] = index;
    ++connecting_;
    ++delivery_.stats_mut().connections_opened;
    return true;
}

void DestinationPool::start(smtp::ClientSession& session, std::unique_ptr<Job> job) {
    Job& j = *job;
    j.content_piece = j.message->content;
    smtp::ClientMessage m;
    m.envelope = &j.message->envelope;
    m.recipients = j.t.recipients;
    m.content = std::span(&j.content_piece, 1);
    j.started_us = base::monotonic_us();
    j.fresh_connection = session.transactions() == 0;
    running_[&session] = std::move(job);
    ++delivery_.stats_mut().transactions;
    if (session.transactions() > 0) ++delivery_.stats_mut().connections_reused;
    session.send(m);
}

void DestinationPool::on_session_idle(smtp::ClientSession& session) {
    if (session.transactions() == 0) {
        // Connected and set up: the destination works.
        if (connecting_ > 0) --connecting_;
        if (auto h = session_host_.find(&session); h != session_host_.end() &&
                                                   h->second < host_down_until_ms_.size())
            host_down_until_ms_[h->second] = 0;
        delivery_.scheduler_mut().report_success(id_);
    }
    if (session.transactions() >= spec_.pool.max_messages_per_connection ||
        delivery_.shard().stopping() || retired_ || hand_over(session)) {
        session.quit();
        return;
    }
    pump();
}

void DestinationPool::on_transaction_done(smtp::ClientSession& session,
                                          std::span<const smtp::RecipientResult> results) {
    auto it = running_.find(&session);
    if (it == running_.end()) return;
    std::unique_ptr<Job> job = std::move(it->second);
    running_.erase(it);
    // A reused connection that the server had already closed: the transaction never really
    // started, so it goes out again on another connection without counting as an attempt.
    bool never_started = session.transactions() > 1 && session.failure().kind ==
                             smtp::ClientFailureKind::connection_lost;
    for (const auto& r : results) never_started = never_started && r.code == 0;
    std::vector<queue::RecipientResult> mapped;
    std::vector<std::string> diagnostics, statuses;
    for (uint32_t index : job->t.recipients) {
        const smtp::RecipientResult* found = nullptr;
        for (const auto& r : results)
            if (r.recipient == index) found = &r;
        queue::RecipientResult res = found ? scheduler_result(found->status)
                                           : queue::RecipientResult::deferred;
        if (never_started) res = queue::RecipientResult::not_attempted;
        mapped.push_back(res);
        diagnostics.push_back(found ? found->diagnostic : "no result");
        statuses.push_back(found && !found->enhanced.empty() ? found->enhanced : "4.0.0");
    }
    AttemptTimes attempt;
    attempt.next_hop_dsn = session.capabilities().dsn;
    attempt.transfer_s = double(base::monotonic_us() - job->started_us) / 1e6;
    if (job->fresh_connection && session.connected_us() != 0 && session.ready_us() != 0) {
        // From the job's arrival in the pool (or the connect, if earlier): DNS and the TCP
        // connect. A reused connection set nothing up for this job.
        uint64_t from_us = std::min(job->enqueued_us, session.opened_us());
        attempt.connect_s = double(session.connected_us() - from_us) / 1e6;
        attempt.setup_s = double(session.ready_us() - session.connected_us()) / 1e6;
    }
    delivery_.complete(job->t, mapped, diagnostics, statuses, relay_of(session), job->message,
                       attempt);
    delivery_.release(job->message);
}

void DestinationPool::on_session_closed(smtp::ClientSession& session,
                                        const smtp::ClientFailure& failure, bool connected) {
    std::erase(sessions_, &session);
    ConnectionBudget::release(slot_);
    auto host = session_host_.find(&session);
    size_t host_index = host != session_host_.end() ? host->second : 0;
    if (host != session_host_.end()) session_host_.erase(host);
    bool setup_failed = session.transactions() == 0 && failure.kind != smtp::ClientFailureKind::none;
    if (setup_failed && connecting_ > 0) --connecting_;
    // A transaction still recorded here never got results (should not happen: the session
    // reports them first); defer it rather than lose track of it.
    if (auto it = running_.find(&session); it != running_.end()) {
        std::unique_ptr<Job> job = std::move(it->second);
        running_.erase(it);
        finish_job(std::move(job), queue::RecipientResult::deferred, "4.4.2", failure.diagnostic,
                   relay_of(session));
    }
    // A host that answers the greeting with 4xx (421 included), closes, or stalls before the
    // session is set up counts as unreachable, as a refused connect does (Postfix moves on to
    // the next host as well).
    using Kind = smtp::ClientFailureKind;
    if (setup_failed && (!connected || failure.kind == Kind::greeting ||
                         failure.kind == Kind::connection_lost || failure.kind == Kind::timeout ||
                         failure.kind == Kind::service_closing)) {
        // This host is skipped for a while; pump() fails over to the next one, and reports
        // the destination down once no host is left.
        if (host_index < host_down_until_ms_.size())
            host_down_until_ms_[host_index] = delivery_.shard().now_ms() + host_down_ms();
        last_connect_error_ = failure.diagnostic;
        MTA_LOG_WARN("connector=%s: %s", spec_.name.c_str(), failure.diagnostic.c_str());
    } else if (setup_failed && failure.kind == smtp::ClientFailureKind::tls_handshake &&
               plaintext_fallback_allowed() && host_index < hosts_.size()) {
        // Postfix's "may" level: a failed handshake is retried on a new connection to the same
        // host without STARTTLS, and the host is remembered so that its next connections go
        // plaintext at once instead of failing the handshake again.
        const Host& h = hosts_[host_index];
        tls_broken_until_ms_[tls_key(h)] = delivery_.shard().now_ms() + tls_broken_ms;
        if (domain_.empty()) next_host_ = host_index;
        MTA_LOG_WARN("connector=%s: %s; retrying in plaintext (tls.mode opportunistic), no "
                     "STARTTLS to %s for %llu s", spec_.name.c_str(), failure.diagnostic.c_str(),
                     (session.peer() + ":" + std::to_string(h.port)).c_str(),
                     static_cast<unsigned long long>(tls_broken_ms / 1000));
    } else if (setup_failed) {
        // TLS or AUTH policy failures, EHLO refused: the destination answers but will not take
        // mail from us as configured. Defer what waits; the retry policy spaces the attempts.
        MTA_LOG_WARN("connector=%s: %s", spec_.name.c_str(), failure.diagnostic.c_str());
        fail_waiting(queue::RecipientResult::deferred,
                     failure.enhanced.empty() ? "4.7.0" : smtp::as_temporary(failure.enhanced),
                     failure.diagnostic);
        return;
    }
    pump();
}

void DestinationPool::finish_job(std::unique_ptr<Job> job, queue::RecipientResult result,
                                 const std::string& status, const std::string& diagnostic,
                                 const std::string& relay) {
    std::vector<queue::RecipientResult> results(job->t.recipients.size(), result);
    std::vector<std::string> diagnostics(job->t.recipients.size(), diagnostic);
    std::vector<std::string> statuses(job->t.recipients.size(), status);
    // No transaction ran: the time went into trying to connect (DNS included).
    AttemptTimes attempt;
    attempt.connect_s = double(base::monotonic_us() - job->enqueued_us) / 1e6;
    delivery_.complete(job->t, results, diagnostics, statuses, relay, job->message, attempt);
    if (job->message) delivery_.release(job->message);
}

void DestinationPool::fail_waiting(queue::RecipientResult result, const std::string& status,
                                   const std::string& diagnostic) {
    std::deque<std::unique_ptr<Job>> jobs;
    jobs.swap(waiting_);
    for (auto& j : jobs) {
        // Jobs whose message is still loading stay: their callback will find them gone and
        // must not touch them, so finish them only once loaded.
        if (!j->loaded) {
            waiting_.push_back(std::move(j));
            continue;
        }
        finish_job(std::move(j), result, status, diagnostic, "none");
    }
}

}  // namespace ringmta::server
