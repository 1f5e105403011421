// c-ares on io_uring: socket state callbacks become one-shot poll SQEs, poll completions become
// ares_process_fd calls, and answered queries are delivered after c-ares has returned.
#include "mta/dns/ares_channel.hh"

#include <poll.h>

#include <algorithm>
#include <mutex>

#include "mta/base/clock.hh"
#include "mta/base/log.hh"

namespace ringmta::dns {

struct AresChannel::SocketWatch {
    engine::Completion poll;
    AresChannel* channel = nullptr;
    ares_socket_t fd = ARES_SOCKET_BAD;
    bool in_use = false;
    bool want_read = false;
    bool want_write = false;
    bool closing = false;      // c-ares closed the fd; the poll's CQE is still to come
    bool in_callback = false;  // inside on_poll: the watch must not be reused yet
    bool remove_sent = false;
    unsigned armed_mask = 0;

    unsigned wanted_mask() const { return (want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0); }
};

namespace {

constexpr int kClassIn = 1;
constexpr uint32_t kTimerMax_ms = 1000;

void push(DnsQuery** head, DnsQuery** tail, DnsQuery* q) {
    q->next = nullptr;
    if (*tail != nullptr) {
        (*tail)->next = q;
    } else {
        *head = q;
    }
    *tail = q;
}

DnsQuery* pop(DnsQuery** head, DnsQuery** tail) {
    DnsQuery* q = *head;
    if (q == nullptr) return nullptr;
    *head = q->next;
    if (*head == nullptr) *tail = nullptr;
    q->next = nullptr;
    return q;
}

DnsReply try_later(std::string detail) {
    DnsReply reply;
    reply.status = ReplyStatus::try_later;
    reply.detail = std::move(detail);
    return reply;
}

}  // namespace

DnsReply make_reply(int ares_status, const unsigned char* packet, int length) {
    ReplyStatus status;
    switch (ares_status) {
        case ARES_SUCCESS:
            status = ReplyStatus::answered;
            break;
        case ARES_ENODATA:
            status = ReplyStatus::no_data;
            break;
        case ARES_ENOTFOUND:
            status = ReplyStatus::no_such_name;
            break;
        case ARES_ESERVFAIL:
            return try_later("server failure (SERVFAIL)");
        case ARES_EREFUSED:
            return try_later("query refused (REFUSED)");
        case ARES_ETIMEOUT:
            return try_later("timed out");
        case ARES_ECONNREFUSED:
            return try_later("no DNS server could be reached");
        case ARES_ECANCELLED:
        case ARES_EDESTRUCTION:
            return try_later("resolver stopped");
        default:
            return try_later(ares_strerror(ares_status));
    }
    DnsReply reply;
    reply.status = status;
    if (packet == nullptr) {
        if (status == ReplyStatus::answered) return try_later("empty reply");
        return reply;
    }
    auto message = parse_dns_message(packet, length);
    if (!message) return try_later(message.error().message);
    reply.message = std::move(*message);
    return reply;
}

AresChannel::AresChannel(engine::Ring& ring, ChannelOptions options)
    : ring_(ring), options_(std::move(options)) {
    MTA_ASSERT(options_.queries_in_flight_max > 0);
    timer_.owner = this;
    timer_.callback = &AresChannel::on_timer;
    wake_.owner = this;
    wake_.callback = &AresChannel::on_wake;
}

AresChannel::~AresChannel() {
    MTA_ASSERT(!busy());
    destroying_ = true;
    if (channel_ != nullptr) ares_destroy(channel_);
}

base::Result<void> AresChannel::init() {
    static std::once_flag library_once;
    static int library_status = ARES_SUCCESS;
    std::call_once(library_once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
    if (library_status != ARES_SUCCESS)
        return base::make_error(base::Errc::unavailable,
                                std::string("c-ares: ") + ares_strerror(library_status));
    ares_options opts{};
    opts.sock_state_cb = &AresChannel::on_socket_state;
    opts.sock_state_cb_data = this;
    opts.timeout = int(options_.timeout_ms);
    opts.tries = int(options_.tries);
    // Queries name exactly what they ask for: no search list, no HOSTALIASES.
    opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
    opts.ednspsz = 1232;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
               ARES_OPT_EDNSPSZ;
    int rc = ares_init_options(&channel_, &opts, mask);
    if (rc != ARES_SUCCESS) {
        channel_ = nullptr;
        return base::make_error(base::Errc::unavailable,
                                std::string("c-ares init: ") + ares_strerror(rc));
    }
    if (!options_.servers.empty()) {
        std::string csv;
        for (const std::string& s : options_.servers) csv += (csv.empty() ? "" : ",") + s;
        rc = ares_set_servers_ports_csv(channel_, csv.c_str());
        if (rc != ARES_SUCCESS)
            return base::make_error(base::Errc::invalid, "dns.servers: \"" + csv +
                                                             "\" is not a list of ip:port (" +
                                                             ares_strerror(rc) + ")");
    }
    return {};
}

void AresChannel::submit(DnsQuery* query) {
    MTA_ASSERT(query->callback != nullptr && query->type != 0);
    query->channel = this;
    if (stopped_) {
        query->reply = try_later("resolver stopped");
        push(&done_head_, &done_tail_, query);
    } else {
        push(&queued_head_, &queued_tail_, query);
        ++queued_count_;
        pump();
    }
    // c-ares may have answered at once (no server, bad name); the callback still waits for
    // the ring so that it never runs inside the caller's submit().
    if (done_head_ != nullptr && !delivering_) wake();
}

void AresChannel::pump() {
    while (!stopped_ && queued_head_ != nullptr && in_flight_ < options_.queries_in_flight_max) {
        DnsQuery* q = pop(&queued_head_, &queued_tail_);
        --queued_count_;
        send(q);
    }
}

void AresChannel::send(DnsQuery* q) {
    ++queries_sent_;
    in_flight_peak_ = std::max(in_flight_peak_, ++in_flight_);
    ares_query(channel_, q->name.c_str(), kClassIn, q->type, &AresChannel::on_ares_reply, q);
}

void AresChannel::on_ares_reply(void* arg, int status, int, unsigned char* abuf, int alen) {
    auto* q = static_cast<DnsQuery*>(arg);
    AresChannel* self = q->channel;
    if (self->destroying_) return;
    --self->in_flight_;
    q->reply = make_reply(status, abuf, alen);
    push(&self->done_head_, &self->done_tail_, q);
}

void AresChannel::deliver() {
    if (delivering_) return;
    delivering_ = true;
    for (;;) {
        while (DnsQuery* q = pop(&done_head_, &done_tail_)) q->callback(q);
        pump();
        if (done_head_ == nullptr) break;
    }
    delivering_ = false;
    if (after_delivery_ != nullptr) after_delivery_(after_delivery_arg_);
    arm_timer();
}

void AresChannel::wake() {
    if (wake_.pending) return;
    io_uring_prep_nop(ring_.sqe_for(&wake_));
}

void AresChannel::on_wake(engine::Completion* c, int, uint32_t) {
    static_cast<AresChannel*>(c->owner)->deliver();
}

void AresChannel::process_timeouts() {
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

void AresChannel::arm_timer() {
    if (stopped_ || in_flight_ == 0 || timer_.pending) return;
    timeval max_tv{kTimerMax_ms / 1000, 0};
    timeval tv{};
    timeval* next = ares_timeout(channel_, &max_tv, &tv);
    // Round up: waking a millisecond early would only re-arm the timer.
    uint64_t delay_ms = uint64_t(next->tv_sec) * 1000 + uint64_t(next->tv_usec + 999) / 1000;
    delay_ms = std::max<uint64_t>(delay_ms, 1);
    timer_ts_.tv_sec = int64_t(delay_ms / 1000);
    timer_ts_.tv_nsec = int64_t(delay_ms % 1000) * 1000000;
    timeout_due_ms_ = base::monotonic_ms() + delay_ms;
    io_uring_prep_timeout(ring_.sqe_for(&timer_), &timer_ts_, 0, 0);
}

void AresChannel::on_timer(engine::Completion* c, int, uint32_t) {
    auto* self = static_cast<AresChannel*>(c->owner);
    if (self->stopped_) return;
    self->process_timeouts();
    self->deliver();
}

void AresChannel::on_tick(uint64_t now_ms) {
    if (stopped_ || in_flight_ == 0 || now_ms < timeout_due_ms_) return;
    process_timeouts();
    deliver();
}

AresChannel::SocketWatch* AresChannel::active_watch(ares_socket_t fd) {
    for (auto& w : watches_)
        if (w->in_use && !w->closing && w->fd == fd) return w.get();
    return nullptr;
}

void AresChannel::on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<AresChannel*>(data);
    SocketWatch* w = self->active_watch(fd);
    if (!readable && !writable) {
        if (w != nullptr) self->retire(w);
        return;
    }
    if (w == nullptr) {
        if (self->free_watches_.empty()) {
            self->watches_.push_back(std::make_unique<SocketWatch>());
            SocketWatch* fresh = self->watches_.back().get();
            fresh->channel = self;
            fresh->poll.owner = fresh;
            fresh->poll.callback = &AresChannel::on_poll;
            self->free_watches_.push_back(fresh);
        }
        w = self->free_watches_.back();
        self->free_watches_.pop_back();
        w->in_use = true;
        w->closing = w->in_callback = w->remove_sent = false;
        w->fd = fd;
    }
    w->want_read = readable != 0;
    w->want_write = writable != 0;
    self->update_poll(w);
}

void AresChannel::update_poll(SocketWatch* w) {
    unsigned mask = w->wanted_mask();
    if (w->poll.pending) {
        // A one-shot poll cannot widen its mask: remove it; its CQE re-arms with the new one.
        if ((mask & ~w->armed_mask) != 0 && !w->remove_sent) {
            io_uring_prep_poll_remove(ring_.sqe_for(nullptr), uint64_t(uintptr_t(&w->poll)));
            w->remove_sent = true;
        }
        return;
    }
    if (w->in_callback || stopped_ || mask == 0) return;  // on_poll re-arms on its way out
    io_uring_prep_poll_add(ring_.sqe_for(&w->poll), w->fd, mask);
    w->armed_mask = mask;
    w->remove_sent = false;
}

void AresChannel::retire(SocketWatch* w) {
    w->closing = true;
    w->want_read = w->want_write = false;
    if (w->poll.pending) {
        if (!w->remove_sent) {
            io_uring_prep_poll_remove(ring_.sqe_for(nullptr), uint64_t(uintptr_t(&w->poll)));
            w->remove_sent = true;
        }
    } else if (!w->in_callback) {
        release(w);
    }
}

void AresChannel::release(SocketWatch* w) {
    MTA_ASSERT(w->in_use && !w->poll.pending);
    w->in_use = false;
    w->fd = ARES_SOCKET_BAD;
    free_watches_.push_back(w);
}

void AresChannel::on_poll(engine::Completion* c, int result, uint32_t) {
    auto* w = static_cast<SocketWatch*>(c->owner);
    AresChannel* self = w->channel;
    w->remove_sent = false;
    if (w->closing) {
        self->release(w);
        return;
    }
    if (result != -ECANCELED && !self->stopped_) {
        // An error result (the socket went bad) is handed to c-ares as readiness: its read or
        // write fails and c-ares closes the connection and retries elsewhere.
        unsigned events = result < 0 ? (POLLIN | POLLOUT) : unsigned(result);
        bool readable = w->want_read && (events & (POLLIN | POLLERR | POLLHUP)) != 0;
        bool writable = w->want_write && (events & (POLLOUT | POLLERR | POLLHUP)) != 0;
        w->in_callback = true;
        ares_process_fd(self->channel_, readable ? w->fd : ARES_SOCKET_BAD,
                        writable ? w->fd : ARES_SOCKET_BAD);
        w->in_callback = false;
    }
    if (w->closing) {
        self->release(w);
    } else {
        self->update_poll(w);
    }
    self->deliver();
}

void AresChannel::shutdown() {
    if (stopped_) return;
    stopped_ = true;
    if (channel_ != nullptr) ares_cancel(channel_);
    while (DnsQuery* q = pop(&queued_head_, &queued_tail_)) {
        q->reply = try_later("resolver stopped");
        push(&done_head_, &done_tail_, q);
    }
    queued_count_ = 0;
    for (auto& w : watches_) {
        if (w->in_use && w->poll.pending && !w->remove_sent) {
            io_uring_prep_poll_remove(ring_.sqe_for(nullptr), uint64_t(uintptr_t(&w->poll)));
            w->remove_sent = true;
        }
    }
    if (timer_.pending)
        io_uring_prep_timeout_remove(ring_.sqe_for(nullptr), uint64_t(uintptr_t(&timer_)), 0);
    deliver();
}

bool AresChannel::busy() const {
    if (timer_.pending || wake_.pending) return true;
    return std::any_of(watches_.begin(), watches_.end(),
                       [](const auto& w) { return w->poll.pending; });
}

}  // namespace ringmta::dns
