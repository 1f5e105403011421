// The sink thread loop: accept (one-shot, rearmed), per-connection I/O, rearming receives that
// ran out of provided buffers, due delayed flushes, and a bounded close of everything on stop.
//
// Why not engine::Shard: its admission, graceful-stop and handler-factory machinery serve the
// gateway; the sink needs --max-conns refusals with a 421, injected failures and reply delays
// in a few lines. The engine's Ring and BufferRing are reused as is.
#include "bench/load/sink_worker.hh"

#include <netinet/tcp.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "bench/load/bench_clock.hh"
#include "bench/load/sink_connection.hh"

namespace ringmta::bench {

namespace {
constexpr unsigned recv_buffer_count = 512;  // power of two
constexpr size_t recv_buffer_bytes = 16384;
}  // namespace

SinkWorker::SinkWorker(SinkShared& shared, unsigned index)
    : shared_(shared),
      index_(index),
      random_state_(shared.options->seed * 2654435761u + index + 1) {
    accept_.owner = this;
    accept_.callback = &SinkWorker::on_accept;
    const std::string& host = shared.options->hostname;
    std::string common = "250-" + host +
                         "\r\n250-PIPELINING\r\n250-SIZE 1073741824\r\n"
                         "250-8BITMIME\r\n250-CHUNKING\r\n250-SMTPUTF8\r\n250-DSN\r\n";
    ehlo_ = common + "250 ENHANCEDSTATUSCODES\r\n";
    ehlo_tls_ = common + "250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n";
}

SinkWorker::~SinkWorker() {
    if (listen_fd_ >= 0) ::close(listen_fd_);
}

double SinkWorker::draw() {
    // xorshift64*: plenty for failure shares, and reproducible with --seed.
    random_state_ ^= random_state_ >> 12;
    random_state_ ^= random_state_ << 25;
    random_state_ ^= random_state_ >> 27;
    return double((random_state_ * 2685821657736338717ull) >> 11) * 0x1.0p-53;
}

bool SinkWorker::init() {
    const SinkOptions& o = options();
    auto fail = [&](const std::string& what) {
        fprintf(stderr, "ringmta-bench sink: %s\n", what.c_str());
        done_.store(true, std::memory_order_release);
        return false;
    };
    if (auto r = ring_.init(1024, 16384); !r) return fail(r.error().message);
    buffer_ring_ok_ =
        buffer_ring_.init(ring_.raw(), 1, recv_buffer_count, recv_buffer_bytes).has_value();
    if (!o.tls_cert.empty()) {
        if (auto r = tls_.init_server(o.tls_cert, o.tls_key); !r) return fail(r.error().message);
        tls_ok_ = true;
    }
    listen_fd_ = ::socket(o.listen.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return fail(std::string("socket: ") + strerror(errno));
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (::bind(listen_fd_, o.listen.raw(), o.listen.length) != 0)
        return fail("bind " + o.listen.text + ": " + strerror(errno));
    if (::listen(listen_fd_, 4096) != 0)
        return fail("listen " + o.listen.text + ": " + strerror(errno));
    arm_accept();
    ready_.store(true, std::memory_order_release);
    return true;
}

void SinkWorker::arm_accept() {
    io_uring_sqe* sqe = ring_.sqe_for(&accept_);
    io_uring_prep_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

void SinkWorker::on_accept(engine::Completion* c, int result, uint32_t) {
    auto* self = static_cast<SinkWorker*>(c->owner);
    if (result >= 0) self->admit(result);
    if (!self->shared_.stop.load(std::memory_order_relaxed)) self->arm_accept();
}

void SinkWorker::admit(int fd) {
    uint32_t max = options().max_conns;
    uint32_t open_now = shared_.connections_open.fetch_add(1, std::memory_order_relaxed);
    if (max != 0 && open_now >= max) {
        shared_.connections_open.fetch_sub(1, std::memory_order_relaxed);
        static constexpr char refusal[] = "421 4.7.0 too many connections\r\n";
        ssize_t ignored = ::send(fd, refusal, sizeof refusal - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)ignored;
        ::close(fd);
        stats_.refused_connections.add();
        stats_.replies[421].add();
        return;
    }
    stats_.connections.add();
    SinkConnection* c;
    if (free_.empty()) {
        pool_.push_back(std::make_unique<SinkConnection>(*this));
        c = pool_.back().get();
    } else {
        c = free_.back();
        free_.pop_back();
    }
    ++open_;
    c->open(fd);
}

void SinkWorker::connection_closed(SinkConnection* c) {
    free_.push_back(c);
    --open_;
    shared_.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

void SinkWorker::delay_flush(SinkConnection* c, uint64_t generation, uint64_t due_ns) {
    delayed_.push_back(Delayed{due_ns, c, generation});
}

void SinkWorker::run_due(uint64_t now_ns) {
    while (!delayed_.empty() && delayed_.front().due_ns <= now_ns) {
        Delayed d = delayed_.front();
        delayed_.pop_front();
        d.connection->delayed_flush_due(d.generation);
    }
}

void SinkWorker::run() {
    while (!shared_.stop.load(std::memory_order_relaxed)) {
        ring_.run_once(delayed_.empty() ? 100 : 1);
        if (!starved_.empty()) {
            starved_now_.swap(starved_);
            for (SinkConnection* c : starved_now_) c->arm_recv();
            starved_now_.clear();
        }
        run_due(monotonic_ns());
    }
    // Stop: no new connections, close the open ones (bounded: a peer cannot hold us).
    if (accept_.pending) {
        io_uring_sqe* sqe = ring_.sqe_for(nullptr);
        io_uring_prep_cancel(sqe, &accept_, 0);
    }
    for (auto& c : pool_)
        if (c->is_open()) c->begin_close();
    uint64_t deadline = monotonic_ns() + 2000000000u;
    while ((open_ > 0 || accept_.pending) && monotonic_ns() < deadline) ring_.run_once(10);
    done_.store(true, std::memory_order_release);
}

}  // namespace ringmta::bench
