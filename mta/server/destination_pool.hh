// The connections of one shard to one destination (a connector's smart hosts, or one domain's
// MX hosts for a DNS-routed connector). Transactions handed out by the scheduler wait here for
// their message to be loaded and for an idle connection; the pool opens connections while
// transactions wait (each takes a slot of max_connections_per_host, a budget shared with the
// other shards), reuses idle ones, and closes them after max_messages_per_connection or the idle
// timeout. Smart hosts are used round-robin with failover to the next on connect failure, a 4xx
// greeting or a stall before the session is set up; MX hosts in preference order. When every
// host fails, the destination is reported down and waiting transactions are deferred.
#pragma once

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mta/dns/lookup_result.hh"
#include "mta/server/connection_budget.hh"
#include "mta/smtp/client_session.hh"
#include "queue/scheduler.hh"
#include "router/route_table.hh"

namespace ringmta::server {

class Delivery;
struct LoadedMessage;

class DestinationPool final : public smtp::ClientSessionOwner {
public:
    // `domain` is empty for a smart-host connector, the recipient domain for MX routing.
    DestinationPool(Delivery& delivery, queue::DestinationId id, const router::Connector& connector,
                    std::string domain, uint32_t connections_max, ConnectionBudget::Slot& slot,
                    uint64_t route_generation);
    ~DestinationPool() override;

    void enqueue(const queue::Transaction& t);
    size_t sessions() const { return sessions_.size(); }
    size_t idle_sessions() const;
    bool busy() const { return !waiting_.empty() || !running_.empty(); }
    // The operator's flush: hosts skipped after a failed connect are tried again at once.
    void forget_host_failures() { std::fill(host_down_until_ms_.begin(), host_down_until_ms_.end(), 0); }
    // Once a second: try again for a connection slot, or hand over an idle connection.
    void on_second();
    // Every loop tick while this pool waits for a slot (Delivery keeps the list): another
    // shard that hands over a connection frees one at any moment, and waiting for the next
    // on_second() would stall this shard's backlog for up to a second.
    void retry_slot() {
        if (wants_slot_ || starving_) pump();
    }
    // The route table this pool was built from.
    uint64_t route_generation() const { return route_generation_; }
    // A reload replaced that table, so no new work comes here: transactions still waiting for
    // a connection go back to the scheduler (to be routed again), idle connections close now
    // and busy ones after their transaction, so that their share of the next hop's connection
    // cap passes to the pools of the new table.
    void retire();

    void on_session_idle(smtp::ClientSession& session) override;
    void on_transaction_done(smtp::ClientSession& session,
                             std::span<const smtp::RecipientResult> results) override;
    void on_session_closed(smtp::ClientSession& session, const smtp::ClientFailure& failure,
                           bool connected) override;

private:
    struct Job {
        queue::Transaction t;
        LoadedMessage* message = nullptr;
        bool loaded = false;
        std::string_view content_piece;
        uint64_t enqueued_us = 0;  // monotonic, for the delays= of the log line
        uint64_t started_us = 0;
        bool fresh_connection = false;  // its session was opened for it (or for a job before)
    };
    struct Host {
        std::string name;
        dns::IpAddress address;
        uint16_t port = 25;
        uint16_t preference = 0;  // MX hosts
    };

    void pump();
    // A connection slot, unless another shard starves for this next hop (then it goes first).
    bool take_slot();
    void set_starving(bool starving);
    // Close this connection at its idle point so that a starving shard gets its slot.
    bool hand_over(const smtp::ClientSession& session) const;
    void resolve();
    void resolved(dns::LookupOutcome outcome, std::vector<Host> hosts, uint32_t ttl_s);
    // Opens a connection to the next usable host; false when every host is marked down.
    bool open_connection();
    uint64_t host_down_ms() const;
    // Opportunistic TLS: hosts whose STARTTLS handshake failed get plaintext for a while.
    static std::string tls_key(const Host& host);
    bool tls_broken(const Host& host) const;
    bool plaintext_fallback_allowed() const;
    void start(smtp::ClientSession& session, std::unique_ptr<Job> job);
    void finish_job(std::unique_ptr<Job> job, queue::RecipientResult result,
                    const std::string& status, const std::string& diagnostic,
                    const std::string& relay);
    void fail_waiting(queue::RecipientResult result, const std::string& status,
                      const std::string& diagnostic);
    std::string relay_of(const smtp::ClientSession& session) const;

    Delivery& delivery_;
    queue::DestinationId id_;
    router::ConnectorSpec spec_;
    std::vector<router::NextHop> smart_hosts_;
    std::string domain_;
    std::string password_;
    uint32_t connections_max_;
    ConnectionBudget::Slot& slot_;  // one held per entry of sessions_
    uint64_t route_generation_;
    bool retired_ = false;
    bool wants_slot_ = false;       // backlog, but no slot was free: on_second() tries again
    bool starving_ = false;         // ... and no connection at all: counted in slot_.starving

    std::deque<std::unique_ptr<Job>> waiting_;
    std::unordered_map<smtp::ClientSession*, std::unique_ptr<Job>> running_;
    std::vector<smtp::ClientSession*> sessions_;
    std::unordered_map<smtp::ClientSession*, size_t> session_host_;  // index into hosts_

    std::vector<Host> hosts_;
    uint64_t hosts_expire_ms_ = 0;
    bool resolving_ = false;
    size_t next_host_ = 0;            // smart hosts: round-robin position
    uint64_t mx_connections_ = 0;     // MX hosts: connections opened, for the rotation
    // Per entry of hosts_: until when it is skipped after a failed connect (monotonic ms).
    std::vector<uint64_t> host_down_until_ms_;
    // Opportunistic TLS, as Postfix's "may": after a failed STARTTLS handshake the host is tried
    // again at once in plaintext, and "address:port" → until when STARTTLS is skipped for it
    // (monotonic ms). An hour: long enough
    // that a host with a broken TLS stack does not cost every connection a failed handshake
    // and a reconnect, short enough that a repaired host gets encrypted mail again soon.
    static constexpr uint64_t tls_broken_ms = 3600 * 1000;
    std::unordered_map<std::string, uint64_t> tls_broken_until_ms_;
    std::string last_connect_error_ = "no host could be reached";
    unsigned connecting_ = 0;
};

}  // namespace ringmta::server
