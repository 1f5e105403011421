// The shard loop: accept, per-connection I/O callbacks, a one-second timer, cross-thread tasks
// through an eventfd, end-of-tick hooks (group commit), and a bounded graceful stop.
#include "mta/engine/shard.hh"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mta/base/clock.hh"
#include "mta/base/log.hh"

namespace ringmta::engine {

AdmissionVerdict Admission::admit(const std::string& ip) {
    if (total_.fetch_add(1, std::memory_order_relaxed) >= total_max_.load(std::memory_order_relaxed)) {
        total_.fetch_sub(1, std::memory_order_relaxed);
        return AdmissionVerdict::too_many_total;
    }
    std::lock_guard lock(mutex_);
    uint32_t& n = per_ip_[ip];
    if (n >= per_ip_max_.load(std::memory_order_relaxed)) {
        if (n == 0) per_ip_.erase(ip);
        total_.fetch_sub(1, std::memory_order_relaxed);
        return AdmissionVerdict::too_many_from_ip;
    }
    ++n;
    return AdmissionVerdict::ok;
}

void Admission::release(const std::string& ip) {
    total_.fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    auto it = per_ip_.find(ip);
    MTA_ASSERT(it != per_ip_.end() && it->second > 0);
    if (--it->second == 0) per_ip_.erase(it);
}

void Admission::set_limits(uint32_t total_max, uint32_t per_ip_max) {
    total_max_ = total_max;
    per_ip_max_ = per_ip_max;
}

Shard::Shard(ShardOptions options, Admission& admission, HandlerFactory factory)
    : options_(std::move(options)), admission_(admission), factory_(std::move(factory)) {
    wakeup_.owner = this;
    wakeup_.callback = &Shard::on_wakeup;
    timer_.owner = this;
    timer_.callback = &Shard::on_timer;
    wakeup_fd_ = eventfd(0, EFD_CLOEXEC);
    MTA_ASSERT(wakeup_fd_ >= 0);
}

Shard::~Shard() {
    for (auto& l : listeners_)
        if (l->fd >= 0) ::close(l->fd);
    if (wakeup_fd_ >= 0) ::close(wakeup_fd_);
}

base::Result<void> Shard::init() {
    if (auto r = ring_.init(4096, 16384); !r) return r;
    if (options_.use_buffer_ring) {
        auto r = buffer_ring_.init(ring_.raw(), 1, options_.recv_buffer_count, options_.recv_buffer_size);
        buffer_ring_ok_ = r.has_value();
        if (!r) MTA_LOG_WARN("shard %u: no buffer ring (%s); using poll + recv", options_.index,
                             r.error().message.c_str());
    }
    ring_.set_buffer_rings_available(buffer_ring_ok_);
    scratch_.resize(options_.recv_buffer_size);
    for (size_t i = 0; i < options_.listeners.size(); ++i) {
        const ListenSpec& spec = options_.listeners[i];
        int fd = socket(spec.address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return base::errno_error(errno, "socket for " + spec.text);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (bind(fd, reinterpret_cast<const sockaddr*>(&spec.address), spec.length) != 0) {
            int err = errno;
            ::close(fd);
            return base::errno_error(err, "cannot listen on " + spec.text);
        }
        if (listen(fd, 4096) != 0) {
            int err = errno;
            ::close(fd);
            return base::errno_error(err, "listen on " + spec.text);
        }
        auto l = std::make_unique<Listener>();
        l->fd = fd;
        l->index = uint32_t(i);
        l->accept.owner = this;
        l->accept.callback = &Shard::on_accept;
        listeners_.push_back(std::move(l));
    }
    return {};
}

uint16_t Shard::listener_port(size_t i) const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(listeners_.at(i)->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
    return ss.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                                   : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

void Shard::arm_accept(size_t i) {
    Listener& l = *listeners_[i];
    if (l.fd < 0 || l.accept.pending) return;
    io_uring_sqe* sqe = ring_.sqe_for(&l.accept);
    if (ring_.features().multishot_accept) {
        io_uring_prep_multishot_accept(sqe, l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    } else {
        io_uring_prep_accept(sqe, l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    }
}

void Shard::on_accept(Completion* c, int result, uint32_t) {
    auto* self = static_cast<Shard*>(c->owner);
    size_t index = 0;
    while (&self->listeners_[index]->accept != c) ++index;
    if (result >= 0) {
        if (self->stopping_) {
            ::close(result);
        } else {
            self->accept_connection(result, uint32_t(index));
        }
    } else if (result != -ECANCELED && result != -EINVAL && result != -EBADF) {
        // EMFILE, ENFILE, ENOMEM: transient; the next accept tries again.
        MTA_LOG_WARN("shard %u: accept: %s", self->options_.index, std::strerror(-result));
    }
    if (!self->stopping_ && !c->pending) self->arm_accept(index);
}

void Shard::accept_connection(int fd, uint32_t listener) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_unique<Connection>(*this, fd, peer, len, listener);
    AdmissionVerdict verdict = stopping_ ? AdmissionVerdict::shutting_down
                                         : admission_.admit(conn->peer_ip());
    conn->admitted = verdict == AdmissionVerdict::ok;
    conn->set_handler(factory_(*conn, verdict));
    Connection* raw = conn.get();
    connections_.push_back(std::move(conn));
    raw->start();
}

Connection* Shard::open_outbound(const sockaddr_storage& address, socklen_t length,
                                 std::unique_ptr<ConnectionHandler> handler, uint32_t timeout_ms) {
    int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_unique<Connection>(*this, fd, address, length, UINT32_MAX);
    conn->set_handler(std::move(handler));
    Connection* raw = conn.get();
    connections_.push_back(std::move(conn));
    raw->connect(timeout_ms);
    return raw;
}

void Shard::connection_finished(Connection* c) { finished_.push_back(c); }

void Shard::reap_finished() {
    if (finished_.empty()) return;
    for (Connection* c : finished_) {
        if (c->admitted) admission_.release(c->peer_ip());
        auto it = std::find_if(connections_.begin(), connections_.end(),
                               [c](const auto& p) { return p.get() == c; });
        MTA_ASSERT(it != connections_.end());
        // Swap-remove: order of connections does not matter.
        std::swap(*it, connections_.back());
        connections_.pop_back();
    }
    finished_.clear();
}

void Shard::arm_wakeup() {
    io_uring_sqe* sqe = ring_.sqe_for(&wakeup_);
    io_uring_prep_read(sqe, wakeup_fd_, &wakeup_value_, sizeof wakeup_value_, 0);
}

void Shard::on_wakeup(Completion* c, int, uint32_t) {
    auto* self = static_cast<Shard*>(c->owner);
    self->run_posted();
    if (self->stop_requested_.load() && !self->stopping_) self->begin_shutdown();
    self->arm_wakeup();
}

void Shard::arm_timer() {
    timer_ts_.tv_sec = 1;
    timer_ts_.tv_nsec = 0;
    io_uring_sqe* sqe = ring_.sqe_for(&timer_);
    io_uring_prep_timeout(sqe, &timer_ts_, 0, 0);
}

void Shard::on_timer(Completion* c, int, uint32_t) {
    auto* self = static_cast<Shard*>(c->owner);
    self->arm_timer();
}

void Shard::request_stop() {
    stop_requested_ = true;
    uint64_t one = 1;
    ssize_t rc = ::write(wakeup_fd_, &one, sizeof one);
    (void)rc;
}

void Shard::post(std::function<void()> task) {
    {
        std::lock_guard lock(posted_mutex_);
        posted_.push_back(std::move(task));
    }
    uint64_t one = 1;
    ssize_t rc = ::write(wakeup_fd_, &one, sizeof one);
    (void)rc;
}

void Shard::run_posted() {
    std::vector<std::function<void()>> tasks;
    {
        std::lock_guard lock(posted_mutex_);
        tasks.swap(posted_);
    }
    for (auto& t : tasks) t();
}

void Shard::begin_shutdown() {
    stopping_ = true;
    stop_deadline_ms_ = now_ms_ + options_.shutdown_grace_ms;
    for (auto& l : listeners_) {
        if (l->accept.pending) {
            io_uring_sqe* sqe = ring_.sqe_for(nullptr);
            io_uring_prep_cancel(sqe, &l->accept, 0);
        }
        ::shutdown(l->fd, SHUT_RDWR);
    }
    // Copy: handlers may close (and so finish) connections while we iterate.
    std::vector<Connection*> live;
    for (auto& c : connections_) live.push_back(c.get());
    for (Connection* c : live)
        if (!c->finished() && c->handler()) c->handler()->on_shutdown();
}

void Shard::run() {
    now_ms_ = base::monotonic_ms();
    last_second_ms_ = now_ms_;
    for (size_t i = 0; i < listeners_.size(); ++i) arm_accept(i);
    arm_wakeup();
    arm_timer();
    if (stop_requested_.load()) begin_shutdown();
    for (;;) {
        // Sessions stamp their activity with now_ms(): it must be the time of the wake-up, or
        // an idle timeout would count a wait of up to a second before the data came as idle.
        ring_.run_once(1000, &now_ms_);
        now_ms_ = base::monotonic_ms();
        if (!starved_.empty()) {
            std::vector<Connection*> retry;
            retry.swap(starved_);
            for (Connection* c : retry)
                if (!c->finished()) c->retry_receive();
        }
        bool hooks_busy = false;
        for (auto& hook : tick_hooks_) hooks_busy = hook() || hooks_busy;
        if (now_ms_ - last_second_ms_ >= 1000) {
            last_second_ms_ = now_ms_;
            std::vector<Connection*> live;
            live.reserve(connections_.size());
            for (auto& c : connections_) live.push_back(c.get());
            for (Connection* c : live) {
                if (c->close_overdue(now_ms_)) c->close();
                if (!c->finished() && c->handler()) c->handler()->on_tick(now_ms_);
            }
            for (auto& hook : second_hooks_) hook(now_ms_);
            // A burst that stopped still has its suppressed count reported within a second.
            base::log_report_suppressed();
        }
        reap_finished();
        if (stopping_) {
            if (now_ms_ >= stop_deadline_ms_) {
                for (auto& c : connections_)
                    if (!c->finished()) c->close();
            }
            if (connections_.empty() && !hooks_busy) break;
        }
    }
    // Let cancelled accepts and the timer complete before the ring goes away.
    for (auto& l : listeners_) {
        ::close(l->fd);
        l->fd = -1;
    }
}

}  // namespace ringmta::engine
