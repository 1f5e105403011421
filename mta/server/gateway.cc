// Start-up order: lock the spool, recover every shard directory (blocking, before any thread),
// start the shard threads and wait until each has its ring and listeners, then the control
// socket. Stop order is the reverse. Each shard's state is touched only by its own thread once
// it runs; the control thread reaches it by posting tasks.
#include "mta/server/gateway.hh"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>

#include "mta/base/clock.hh"
#include "mta/base/log.hh"
#include "mta/admin/metrics.hh"
#include "mta/admin/sd_notify.hh"
#include "mta/engine/shard.hh"
#include "mta/engine/spool_reader.hh"
#include "mta/engine/spool_writer.hh"
#include "mta/server/connection_budget.hh"
#include "mta/server/delivery.hh"
#include "mta/smtp/server_context.hh"
#include "mta/smtp/server_session.hh"
#include "mta/tls/tls_context.hh"
#include "queue/posix_spool_io.hh"
#include "queue/queue_id.hh"
#include "queue/queue_index.hh"
#include "queue/queue_inspect.hh"
#include "queue/queue_listing.hh"
#include "queue/recovery.hh"
#include "queue/segment_planner.hh"
#include "queue/spool_snapshot.hh"
#include "router/route_cache.hh"
#include "router/route_table_build.hh"
#include "router/route_table_holder.hh"

namespace ringmta::server {

struct Gateway::Shared {
    explicit Shared(const config::Config& c, std::shared_ptr<const router::RouteTable> table)
        : routes(std::move(table)),
          admission(c.limits.connections_max, c.limits.connections_per_ip_max),
          memory(c.limits.memory_max) {}
    router::RouteTableHolder routes;
    engine::Admission admission;
    smtp::MemoryBudget memory;
    ConnectionBudget connections;  // pool.max_connections_per_host across shards
};

// Everything one shard owns. Built on the main thread; after start, used only on the shard's.
struct ShardState {
    unsigned index = 0;
    std::string dir;
    std::unique_ptr<engine::Shard> shard;
    std::unique_ptr<engine::SpoolWriter> spool;
    std::optional<queue::QueueIndex> queue;
    std::optional<queue::QueueIdGenerator> ids;
    uint64_t next_segment_seq = 1;
    std::vector<std::unique_ptr<tls::TlsContext>> tls;  // per listener; null without a cert
    std::optional<router::RouteReader> routes;
    router::RouteCache route_cache;
    smtp::ServerContext context;
    std::unique_ptr<engine::SpoolReader> reader;
    std::unique_ptr<dns::Resolver> resolver;
    std::unique_ptr<Delivery> delivery;
    admin::MetricsHistogram accept_latency_us{admin::kAcceptLatencyBoundsUs};
    admin::MetricsHistogram delivery_latency_us{admin::kDeliveryLatencyBoundsUs};
    std::atomic<bool> running{false};
    std::thread thread;
};

// systemd notifications are best effort: a failure is worth a line, never a stop.
static void notify(const base::Result<void>& sent) {
    if (!sent) MTA_LOG_WARN("sd_notify: %s", sent.error().message.c_str());
}

void block_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Gateway::Gateway(std::shared_ptr<const config::Config> config, std::string config_path,
                 unsigned threads_override)
    : config_(std::move(config)), config_path_(std::move(config_path)) {
    shard_count_ = threads_override ? threads_override : config_->server.threads;
    if (shard_count_ == 0) shard_count_ = std::max(1u, std::thread::hardware_concurrency());
}

Gateway::~Gateway() {
    stop();
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

base::Result<void> Gateway::lock_spool() {
    const std::string& dir = config_->server.spool_dir;
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return base::errno_error(errno, "cannot create spool directory " + dir);
    std::string path = dir + "/lock";
    lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return base::errno_error(errno, "cannot open " + path);
    if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = {};
        ssize_t n = pread(lock_fd_, pid, sizeof pid - 1, 0);
        (void)n;
        return base::make_error(base::Errc::unavailable,
                                "spool " + dir + " is in use by another running ringmta (pid " +
                                    std::string(pid, strcspn(pid, "\n")) + ")");
    }
    std::string me = std::to_string(getpid()) + "\n";
    if (ftruncate(lock_fd_, 0) != 0 || pwrite(lock_fd_, me.data(), me.size(), 0) < 0)
        return base::errno_error(errno, "cannot write " + path);
    return {};
}

base::Result<void> Gateway::recover_and_prepare() {
    const config::Config& c = *config_;
    // A spool written by more shards than we run now keeps its directories: run as many
    // shards as there are directories, so every queued message has an owner.
    unsigned on_disk = 0;
    while (access(queue::shard_dir(c.server.spool_dir, on_disk).c_str(), F_OK) == 0)
        ++on_disk;
    if (on_disk > shard_count_) {
        MTA_LOG_WARN("spool has %u shard directories; running %u shards instead of %u", on_disk,
                     on_disk, shard_count_);
        shard_count_ = on_disk;
    }
    if (shard_count_ > queue::queue_id_shard_count_max)
        return base::make_error(base::Errc::invalid, "at most 256 shards are supported");

    auto table = router::build_route_table(c.connectors, c.accepted_domains, 1);
    if (!table.table) return base::make_error(base::Errc::invalid, table.errors.front());
    shared_ = std::make_unique<Shared>(c, table.table);

    queue::PosixSpoolIo io;
    for (unsigned i = 0; i < shard_count_; ++i) {
        auto s = std::make_unique<ShardState>();
        s->index = i;
        s->dir = queue::shard_dir(c.server.spool_dir, i);
        if (auto r = io.make_dir(s->dir); !r) return r;
        queue::RecoveryOptions options;
        options.index_capacity = std::max<uint64_t>(1, c.limits.queue_messages_max / shard_count_);
        auto report = queue::recover_shard(io, s->dir, options);
        if (!report) return report.error();
        MTA_LOG_INFO("shard %u: recovered %zu queued messages from %s (%llu records, %llu bytes "
                     "of torn tail cut)", i, report->index.size(), s->dir.c_str(),
                     static_cast<unsigned long long>(report->records),
                     static_cast<unsigned long long>(report->truncated_bytes));
        s->queue.emplace(std::move(report->index));
        auto mark = queue::read_queue_id_mark(s->dir);
        if (!mark) return mark.error();
        s->ids.emplace(i, base::realtime_us(), report->highest_queue_id, *mark);
        s->next_segment_seq = report->next_segment_seq;
        for (const auto& l : c.listeners) {
            if (l.tls_cert_file.empty()) {
                s->tls.push_back(nullptr);
                continue;
            }
            auto ctx = std::make_unique<tls::TlsContext>();
            if (auto r = ctx->init_server(l.tls_cert_file, l.tls_key_file); !r) return r;
            s->tls.push_back(std::move(ctx));
        }
        shards_.push_back(std::move(s));
    }
    return {};
}

base::Result<void> Gateway::start_shards() {
    const config::Config& c = *config_;
    std::vector<std::future<base::Result<void>>> ready;
    std::shared_future<void> go = go_.get_future().share();
    for (auto& sp : shards_) {
        ShardState& s = *sp;
        engine::ShardOptions options;
        options.index = s.index;
        options.shutdown_grace_ms = c.server.shutdown_grace_s * 1000;
        for (const auto& l : c.listeners)
            options.listeners.push_back({l.address.storage, l.address.length, l.address.text});
        s.context.config = config_;
        s.context.memory = &shared_->memory;
        for (auto& t : s.tls) s.context.listener_tls.push_back(t.get());
        s.shard = std::make_unique<engine::Shard>(
            options, shared_->admission,
            [&s](engine::Connection& conn, engine::AdmissionVerdict verdict) {
                return std::make_unique<smtp::ServerSession>(conn, s.context, verdict);
            });
        s.spool = std::make_unique<engine::SpoolWriter>(*s.shard, s.dir, c.server.spool_segment_size);
        s.context.shard = s.shard.get();
        s.context.spool = s.spool.get();
        s.routes.emplace(shared_->routes.register_reader());
        s.context.is_accepted_domain = [&s](std::string_view domain) {
            const router::RouteTable& table = s.routes->refresh();
            return s.route_cache.lookup(table, domain, 0).via_accepted_domain;
        };
        s.context.next_queue_id = [&s] { return s.ids->next(); };
        s.context.queue_has_room = [&s] {
            return s.queue->size() + s.spool->messages_in_flight() < s.queue->capacity();
        };
        s.reader = std::make_unique<engine::SpoolReader>(*s.shard, s.dir);
        dns::ResolverOptions dns_options;
        dns_options.channel.servers = c.dns.servers;
        s.resolver = std::make_unique<dns::Resolver>(s.shard->ring(), clock_, dns_options);
        Delivery::Deps deps;
        deps.shard = s.shard.get();
        deps.spool = s.spool.get();
        deps.reader = s.reader.get();
        deps.index = &*s.queue;
        deps.ids = &*s.ids;
        deps.resolver = s.resolver.get();
        deps.routes = &*s.routes;
        deps.route_cache = &s.route_cache;
        deps.shard_count = shard_count_;
        deps.connections = &shared_->connections;
        s.delivery = std::make_unique<Delivery>(deps, config_);
        s.delivery->observe_delivery_latency = [&s](uint64_t us) { s.delivery_latency_us.observe(us); };
        s.context.observe_accept_latency = [&s](uint64_t us) { s.accept_latency_us.observe(us); };
        s.spool->on_segment_created = [&s](uint64_t seq) { s.queue->segments().open(seq); };
        s.spool->queue_id_high_water = [&s] { return s.ids->high_water(); };
        s.spool->on_durable = [&s](const engine::SpoolAppend& a) {
            uint64_t content = 0;
            for (size_t i = 0; i < a.content_count; ++i) content += a.content[i].size();
            auto r = s.queue->insert(
                queue::summarize(*a.envelope, a.segment_seq, a.offset, a.record_size, content));
            if (!r) {
                MTA_LOG_ERROR("shard %u: queue index: %s", s.index, r.error().message.c_str());
                return;
            }
            s.delivery->admit_new(a);
        };
        s.shard->add_second_hook([&s](uint64_t) { s.delivery->on_second(); });
        s.shard->add_tick_hook([&s] {
            bool delivering = s.delivery->on_tick();
            return s.spool->on_tick() || delivering;
        });

        auto promise = std::make_shared<std::promise<base::Result<void>>>();
        ready.push_back(promise->get_future());
        s.thread = std::thread([&s, promise, go] {
            auto init = s.shard->init();
            if (init) init = s.spool->open(s.next_segment_seq);
            if (init) init = s.resolver->init();
            if (init) {
                s.resolver->attach(*s.shard);
                s.delivery->start();
            }
            bool ok = init.has_value();
            promise->set_value(std::move(init));
            // Accept nothing until the control socket is up too: once the port answers,
            // `ringmta status` and `reload` work.
            go.wait();
            if (!ok) return;
            s.running = true;
            s.shard->run();
            s.running = false;
        });
    }
    std::optional<base::Error> first_error;
    for (auto& f : ready) {
        auto r = f.get();
        if (!r && !first_error) first_error = r.error();
    }
    if (first_error) return *first_error;
    MTA_LOG_INFO("ringmta started: %u shards, io_uring %s, listening on %zu address(es)",
                 shard_count_, shards_[0]->shard->ring().features().describe().c_str(),
                 c.listeners.size());
    return {};
}

base::Result<void> Gateway::start() {
    if (auto r = lock_spool(); !r) return r;
    if (auto r = recover_and_prepare(); !r) return r;
    auto started = start_shards();
    if (started) {
        started = control_.start(config_->server.control_socket,
                                 [this](const std::vector<std::string>& w) { return control(w); });
    }
    if (started && !config_->metrics.address.empty()) {
        config::SocketAddress address;
        std::string why;
        config::parse_socket_address(config_->metrics.address, &address, &why);  // validated
        started = metrics_.start(reinterpret_cast<const sockaddr*>(&address.storage), address.length,
                                 [this] { return metrics_snapshot(); },
                                 [this] { return readiness(); });
    }
    go_.set_value();
    if (!started) {
        stop();
        return started;
    }
    notify(admin::notify_ready());
    return started;
}

void Gateway::stop() {
    metrics_.stop();
    control_.stop();
    for (auto& s : shards_)
        if (s->shard) s->shard->request_stop();
    for (auto& s : shards_)
        if (s->thread.joinable()) s->thread.join();
    for (auto& s : shards_) {
        s->delivery.reset();
        s->resolver.reset();
        s->routes.reset();
    }
}

// A reload result that lists errors one per indented line, as one log line:
// "reload refused, ...: error one; error two".
static std::string one_log_line(std::string text) {
    const char* separator = " ";
    for (size_t at = 0; (at = text.find("\n  ", at)) != std::string::npos; separator = "; ")
        text.replace(at, 3, separator);
    return text;
}

int Gateway::wait() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGHUP) {
            notify(admin::notify_reloading());
            MTA_LOG_INFO("SIGHUP: %s", one_log_line(reload()).c_str());
            notify(admin::notify_ready());
            continue;
        }
        notify(admin::notify_stopping());
        unsigned grace_s = 0;
        {
            std::lock_guard lock(reload_mutex_);
            grace_s = config_->server.shutdown_grace_s;
        }
        MTA_LOG_INFO("%s: stopping (grace %us for transactions in flight)",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT", grace_s);
        stop();
        uint64_t accepted = 0;
        for (auto& s : shards_) accepted += s->context.counters.messages_accepted;
        MTA_LOG_INFO("stopped; %llu messages accepted in this run",
                     static_cast<unsigned long long>(accepted));
        return 0;
    }
}

// Runs `fn` on every shard's thread and waits for all of them.
template <typename Fn>
static void on_every_shard(std::vector<std::unique_ptr<ShardState>>& shards, Fn fn) {
    std::mutex m;
    std::condition_variable cv;
    size_t left = shards.size();
    for (auto& sp : shards) {
        ShardState* s = sp.get();
        s->shard->post([&, s] {
            fn(*s);
            std::lock_guard lock(m);
            --left;
            cv.notify_one();
        });
    }
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return left == 0; });
}

std::string Gateway::reload() {
    // SIGHUP (main thread) and `ringmta reload` (control thread) may arrive together.
    std::lock_guard lock(reload_mutex_);
    // First, so that logrotate's reload reopens the log even when the new config is refused.
    if (auto r = base::log_reopen(); !r) MTA_LOG_ERROR("log.file: %s", r.error().message.c_str());
    auto loaded = config::load_config(config_path_);
    if (loaded.errors.empty()) config::check_connector_files(loaded);
    if (!loaded.errors.empty()) {
        std::string why;
        for (const auto& e : loaded.errors) why += "\n  " + e;
        return "reload refused, the running configuration stays:" + why;
    }
    // The new table is built here but published only once everything else has loaded too, so
    // a refused reload changes nothing (the running table, limits and certificates all stay).
    auto built = router::build_route_table(loaded.config.connectors, loaded.config.accepted_domains,
                                           shared_->routes.generation() + 1);
    if (!built.table) {
        std::string why;
        for (const auto& e : built.errors) why += "\n  " + config_path_ + ": " + e;
        return "reload refused, the running configuration stays:" + why;
    }
    // Certificates and keys are read again, so a renewed certificate takes effect without a
    // restart (a listener's TLS may also be switched on or off). Everything is loaded before
    // anything changes: a bad file refuses the whole reload.
    const auto& listeners = loaded.config.listeners;
    bool same_listeners = listeners.size() == config_->listeners.size();
    for (size_t i = 0; same_listeners && i < listeners.size(); ++i)
        same_listeners = listeners[i].address.text == config_->listeners[i].address.text;
    std::vector<std::vector<std::unique_ptr<tls::TlsContext>>> tls(shards_.size());
    for (size_t shard = 0; same_listeners && shard < shards_.size(); ++shard) {
        for (size_t i = 0; i < listeners.size(); ++i) {
            if (listeners[i].tls_cert_file.empty()) {
                tls[shard].push_back(nullptr);
                continue;
            }
            auto ctx = std::make_unique<tls::TlsContext>();
            if (auto r = ctx->init_server(listeners[i].tls_cert_file, listeners[i].tls_key_file); !r)
                return "reload refused, the running configuration stays:\n  " + config_path_ +
                       ": listeners[" + std::to_string(i) + "].tls: " + r.error().message;
            tls[shard].push_back(std::move(ctx));
        }
    }
    shared_->routes.publish(built.table);
    auto next = std::make_shared<const config::Config>(std::move(loaded.config));
    shared_->admission.set_limits(next->limits.connections_max, next->limits.connections_per_ip_max);
    shared_->memory.set_max(next->limits.memory_max);
    // Listeners, threads and the spool directory are fixed for the life of the process.
    on_every_shard(shards_, [&](ShardState& s) {
        s.context.config = next;
        s.delivery->set_config(next);
        if (!same_listeners) return;
        // New STARTTLS sessions take the new context; a session already under TLS holds a
        // reference to its own SSL_CTX (OpenSSL counts them), so the old one may go now.
        s.tls = std::move(tls[s.index]);
        for (size_t i = 0; i < s.tls.size(); ++i) s.context.listener_tls[i] = s.tls[i].get();
    });
    shared_->routes.reclaim();
    config_ = next;
    std::string done = "configuration reloaded (route table generation " +
                       std::to_string(shared_->routes.generation()) + ")";
    if (!same_listeners)
        done += "; listeners changed: they (and their TLS) stay as they are until a restart";
    return done;
}

admin::Readiness Gateway::readiness() {
    for (auto& s : shards_)
        if (!s->running.load()) return {false, "shard " + std::to_string(s->index) + " not running"};
    return {true, ""};
}

namespace {

// The bytes of a shard directory's segment files, as `ls -l` counts them (a preallocated
// segment counts its whole capacity: that space is taken).
uint64_t spool_segment_bytes(const std::string& dir) {
    std::error_code ec;
    uint64_t total = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (!queue::parse_segment_file_name(entry.path().filename().string())) continue;
        std::error_code size_ec;
        uint64_t size = entry.file_size(size_ec);
        if (!size_ec) total += size;  // deleted meanwhile: no longer on disk
    }
    return total;
}

}  // namespace

admin::MetricsSnapshot Gateway::metrics_snapshot() {
    admin::MetricsSnapshot snap;
    snap.version = RINGMTA_VERSION;
    snap.shards = uint32_t(shards_.size());
    for (auto& s : shards_) snap.shards_running += s->running.load() ? 1 : 0;
    snap.route_table_generation = shared_->routes.generation();
    snap.memory_buffered_bytes = shared_->memory.used();
    if (auto table = shared_->routes.snapshot())
        for (const router::Connector& c : table->connectors()) snap.connectors.push_back(c.spec.name);
    std::mutex m;
    on_every_shard(shards_, [&](ShardState& s) {
        admin::ShardMetrics x;
        const auto& c = s.context.counters;
        x.connections_accepted = c.connections;
        x.messages_accepted = c.messages_accepted;
        x.bytes_accepted = c.bytes_accepted;
        static_assert(size_t(smtp::Refusal::count_) == admin::kRejectReasonCount);
        for (size_t i = 0; i < admin::kRejectReasonCount; ++i) x.messages_rejected[i] = c.refused[i];
        const DeliveryStats& d = s.delivery->stats();
        x.recipients_delivered = d.delivered;
        x.recipients_deferred = d.deferred;
        x.recipients_bounced = d.failed;
        x.dsn_sent = d.bounces;
        x.queue_messages = s.queue->size();
        std::vector<std::pair<std::string, std::string>> keys;
        std::vector<uint64_t> counts;
        s.delivery->queue_depth(&keys, &counts);
        for (size_t i = 0; i < keys.size(); ++i)
            x.queue_depth.push_back({keys[i].first, keys[i].second, counts[i]});
        const engine::SpoolStats& sp = s.spool->stats();
        x.spool_commits = sp.batches;
        x.spool_messages_committed = sp.messages;
        x.spool_bytes_written = sp.bytes;
        x.spool_commit_failures = sp.failures;
        s.delivery->pool_gauges(&x.pool_connections_open, &x.pool_connections_idle);
        x.pool_connections_opened = d.connections_opened;
        x.pool_connections_reused = d.connections_reused;
        dns::ResolverStats r = s.resolver->stats();
        x.dns_lookups = r.lookups_started;
        x.dns_cache_hits = r.cache_hits;
        x.accept_latency_us.merge(s.accept_latency_us);
        x.delivery_latency_us.merge(s.delivery_latency_us);
        std::lock_guard lock(m);
        // A ShardMetrics with an empty queue table merges cleanly into the running sum.
        snap.totals.add(x);
    });
    snap.totals.connections_open = shared_->admission.total();  // inbound, admitted
    // Read here, on the metrics thread: a directory listing is blocking I/O no shard should do.
    for (auto& s : shards_) snap.totals.spool_bytes += spool_segment_bytes(s->dir);
    return snap;
}

std::string Gateway::status_text() {
    std::string out;
    uint64_t queued = 0, accepted = 0, rejected = 0, conns = 0, inbound = 0, batches = 0,
             synced = 0;
    on_every_shard(shards_, [&](ShardState& s) {
        queued += s.queue->size();
        accepted += s.context.counters.messages_accepted;
        rejected += s.context.counters.messages_rejected;
        conns += s.shard->connection_count();
        inbound += s.shard->inbound_connection_count();
        batches += s.spool->stats().batches;
        synced += s.spool->stats().messages;
    });
    out += "ringmta running, pid " + std::to_string(getpid()) + ", " +
           std::to_string(shards_.size()) + " shards\n";
    out += "connections open: " + std::to_string(inbound) + " from clients, " +
           std::to_string(conns - inbound) + " to next hops\n";
    out += "messages queued: " + std::to_string(queued) + "\n";
    out += "messages accepted: " + std::to_string(accepted) + "\n";
    out += "messages refused: " + std::to_string(rejected) + "\n";
    out += "spool commits: " + std::to_string(batches) + " (" + std::to_string(synced) +
           " messages)\n";
    out += "route table generation: " + std::to_string(shared_->routes.generation()) + "\n";
    return out;
}

// Runs `fn` on one shard's thread and waits for it.
template <typename Fn>
static void on_shard(ShardState& s, Fn fn) {
    std::promise<void> done;
    s.shard->post([&] {
        fn(s);
        done.set_value();
    });
    done.get_future().wait();
}

namespace {

// `queue list|flush` filters: --state S, --domain D, --connector NAME.
struct QueueFilter {
    queue::ListFilter list;
    std::string connector;
    bool json = false;
    std::string error;
};

QueueFilter parse_queue_filter(const std::vector<std::string>& words, size_t first,
                               bool states_allowed) {
    QueueFilter f;
    for (size_t i = first; i < words.size(); ++i) {
        const std::string& w = words[i];
        bool has_value = i + 1 < words.size();
        if (w == "--json") {
            f.json = true;
        } else if (w == "--state" && has_value && states_allowed) {
            f.list.state = queue::parse_recipient_state(words[++i]);
            if (!f.list.state) {
                f.error = "unknown state \"" + words[i] +
                          "\" (pending, deferred, held, delivered or failed)";
            }
        } else if (w == "--domain" && has_value) {
            f.list.domain = words[++i];
        } else if (w == "--connector" && has_value) {
            f.connector = words[++i];
        } else {
            f.error = "unexpected argument \"" + w + "\"";
        }
        if (!f.error.empty()) break;
    }
    return f;
}

// Whether some open recipient of `m` goes through `connector`.
bool uses_connector(Delivery& delivery, const queue::QueuedMessage& m, const std::string& connector) {
    for (uint32_t i = 0; i < m.recipients.size(); ++i) {
        if (!queue::is_final(m.recipients[i].state) && delivery.connector_of(m, i) == connector)
            return true;
    }
    return false;
}

admin::ControlReply refused(int code, const std::string& why) { return {code, why + "\n"}; }

}  // namespace

admin::ControlReply Gateway::queue_list(const std::vector<std::string>& words) {
    QueueFilter filter = parse_queue_filter(words, 2, true);
    if (!filter.error.empty()) return refused(2, filter.error);
    std::vector<queue::QueuedMessage> copies;
    std::mutex m;
    // The state filter applies to the state as listed: pending recipients that wait for a
    // destination that is down show (and filter) as deferred.
    queue::ListFilter by_domain{std::nullopt, filter.list.domain};
    queue::ListFilter by_state{filter.list.state, ""};
    on_every_shard(shards_, [&](ShardState& s) {
        std::vector<queue::QueuedMessage> mine;
        for (const queue::QueuedMessage* q : s.queue->select(by_domain)) {
            if (!filter.connector.empty() && !uses_connector(*s.delivery, *q, filter.connector))
                continue;
            mine.push_back(*q);
            s.delivery->describe_held(mine.back());
            if (!queue::matches(mine.back(), by_state)) mine.pop_back();
        }
        std::lock_guard lock(m);
        for (auto& q : mine) copies.push_back(std::move(q));
    });
    std::sort(copies.begin(), copies.end(), [](const auto& a, const auto& b) {
        return a.arrival_us != b.arrival_us ? a.arrival_us < b.arrival_us : a.queue_id < b.queue_id;
    });
    std::vector<const queue::QueuedMessage*> view;
    view.reserve(copies.size());
    for (const auto& q : copies) view.push_back(&q);
    return {0, filter.json ? queue::format_listing_json(view) : queue::format_listing_text(view)};
}

admin::ControlReply Gateway::queue_summary(const std::vector<std::string>& words) {
    QueueFilter filter = parse_queue_filter(words, 2, false);
    if (!filter.error.empty()) return refused(2, filter.error);
    queue::QueueSummary summary;
    std::mutex m;
    uint64_t now_us = base::realtime_us();
    on_every_shard(shards_, [&](ShardState& s) {
        queue::QueueSummary mine;
        std::vector<std::string> connectors;
        queue::QueuedMessage shown;
        s.queue->for_each([&](const queue::QueuedMessage& q) {
            if (!queue::matches(q, filter.list)) return;
            shown = q;
            s.delivery->describe_held(shown);
            connectors.clear();
            for (uint32_t i = 0; i < q.recipients.size(); ++i)
                connectors.push_back(queue::is_final(q.recipients[i].state)
                                         ? std::string() : s.delivery->connector_of(q, i));
            if (!filter.connector.empty() &&
                std::find(connectors.begin(), connectors.end(), filter.connector) == connectors.end())
                return;
            mine.add_message(shown, connectors, now_us);
        });
        std::lock_guard lock(m);
        summary.merge(mine);
    });
    return {0, filter.json ? summary.format_json() : summary.format_text()};
}

admin::ControlReply Gateway::queue_show(uint64_t queue_id, bool json) {
    std::string id = queue::format_queue_id(queue_id);
    uint32_t shard = queue::queue_id_shard(queue_id);
    if (shard >= shards_.size()) return refused(1, id + ": no such message in the queue");
    queue::MessageDetail detail;
    bool found = false;
    on_shard(*shards_[shard], [&](ShardState& s) {
        const queue::QueuedMessage* q = s.queue->find(queue_id);
        if (q == nullptr) return;
        found = true;
        detail.entry = *q;
        s.delivery->describe_held(detail.entry);
        for (uint32_t i = 0; i < q->recipients.size(); ++i)
            detail.connectors.push_back(s.delivery->connector_of(*q, i));
    });
    if (!found) return refused(1, id + ": no such message in the queue");
    // The record and the journal are read here, on the control thread: segments are append-only
    // and a record never changes once written, so no shard is held up by the disk reads.
    queue::PosixSpoolIo io;
    queue::load_message_record(io, shards_[shard]->dir, detail);
    queue::load_attempt_history(io, shards_[shard]->dir, detail);
    return {0, json ? queue::format_show_json(detail) : queue::format_show_text(detail)};
}

admin::ControlReply Gateway::queue_flush(const std::vector<std::string>& words) {
    QueueFilter filter = parse_queue_filter(words, 2, false);
    if (!filter.error.empty()) return refused(2, filter.error);
    std::atomic<uint64_t> flushed{0};
    on_every_shard(shards_, [&](ShardState& s) {
        std::vector<uint64_t> ids;
        s.queue->for_each([&](const queue::QueuedMessage& q) {
            if (q.held || !queue::matches(q, filter.list)) return;
            if (!filter.connector.empty() && !uses_connector(*s.delivery, q, filter.connector))
                return;
            ids.push_back(q.queue_id);
        });
        for (uint64_t id : ids)
            if (s.delivery->flush(id).empty()) ++flushed;
    });
    MTA_LOG_INFO("control: flush: %llu messages due now",
                 static_cast<unsigned long long>(flushed.load()));
    return {0, "flushed " + std::to_string(flushed.load()) + " messages\n"};
}

// hold, release, delete, bounce and flush of one message, on the shard that owns it.
admin::ControlReply Gateway::queue_action(const std::string& verb, uint64_t queue_id) {
    std::string id = queue::format_queue_id(queue_id);
    uint32_t shard = queue::queue_id_shard(queue_id);
    if (shard >= shards_.size()) return refused(1, id + ": no such message in the queue");
    std::string error;
    on_shard(*shards_[shard], [&](ShardState& s) {
        Delivery& d = *s.delivery;
        if (verb == "hold") error = d.hold(queue_id);
        else if (verb == "release") error = d.release(queue_id);
        else if (verb == "delete") error = d.remove(queue_id);
        else if (verb == "bounce") error = d.bounce_now(queue_id, "returned to the sender by the postmaster");
        else error = d.flush(queue_id);
    });
    if (!error.empty()) return refused(1, id + ": " + error);
    const char* done = verb == "hold"      ? "placed on hold"
                       : verb == "release" ? "released from hold"
                       : verb == "delete"  ? "deleted"
                       : verb == "bounce"  ? "returned to the sender"
                                           : "due for delivery now";
    return {0, id + ": " + done + "\n"};
}

admin::ControlReply Gateway::queue_command(const std::vector<std::string>& words) {
    if (words.size() < 2) return refused(2, "queue needs a subcommand");
    const std::string& verb = words[1];
    if (verb == "list") return queue_list(words);
    if (verb == "summary") return queue_summary(words);
    if (verb == "flush" && (words.size() == 2 || words[2].rfind("--", 0) == 0))
        return queue_flush(words);
    if (verb != "show" && verb != "flush" && verb != "hold" && verb != "release" &&
        verb != "delete" && verb != "bounce")
        return refused(2, "unknown queue subcommand \"" + verb + "\"");
    bool json = false;
    std::optional<uint64_t> id;
    for (size_t i = 2; i < words.size(); ++i) {
        if (words[i] == "--json" && verb == "show") {
            json = true;
        } else if (!id) {
            id = queue::parse_queue_id(words[i]);
            if (!id) return refused(1, "\"" + words[i] + "\" is not a queue id (16 hex digits)");
        } else {
            return refused(2, "unexpected argument \"" + words[i] + "\"");
        }
    }
    if (!id) return refused(2, "queue " + verb + " needs a queue ID");
    if (verb == "show") return queue_show(*id, json);
    admin::ControlReply reply = queue_action(verb, *id);
    if (reply.exit_code == 0)
        MTA_LOG_INFO("control: queue %s %s", verb.c_str(), queue::format_queue_id(*id).c_str());
    return reply;
}

admin::ControlReply Gateway::control(const std::vector<std::string>& words) {
    if (words[0] == "status") return {0, status_text()};
    if (words[0] == "reload") {
        std::string result = reload();
        MTA_LOG_INFO("control: %s", one_log_line(result).c_str());
        return {result.rfind("reload refused", 0) == 0 ? 1 : 0, result + "\n"};
    }
    if (words[0] == "queue") return queue_command(words);
    return {2, "unknown request \"" + words[0] + "\"\n"};
}

}  // namespace ringmta::server
