// Ring setup with feature probing, and the batch drain loop.
#include "mta/engine/ring.hh"

#include <cerrno>
#include <cstring>

#include "mta/base/clock.hh"

namespace ringmta::engine {

#ifndef IORING_OP_SEND_ZC
#define IORING_OP_SEND_ZC 47
#endif

std::string RingFeatures::describe() const {
    std::string s;
    auto add = [&](const char* name, bool on) {
        if (!s.empty()) s += ' ';
        s += name;
        s += on ? "=yes" : "=no";
    };
    add("single_issuer", single_issuer);
    add("defer_taskrun", defer_taskrun);
    add("multishot_accept", multishot_accept);
    add("multishot_recv", multishot_recv);
    add("buffer_rings", buffer_rings);
    return s;
}

Ring::~Ring() {
    if (initialized_) io_uring_queue_exit(&ring_);
}

base::Result<void> Ring::init(unsigned sq_entries, unsigned cq_entries) {
    io_uring_params p{};
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = cq_entries;
    int rc = io_uring_queue_init_params(sq_entries, &ring_, &p);
    if (rc == 0) {
        features_.single_issuer = features_.defer_taskrun = true;
    } else {
        // Older kernels refuse the newer flags with EINVAL; try the classic setup.
        io_uring_params q{};
        q.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
        q.cq_entries = cq_entries;
        rc = io_uring_queue_init_params(sq_entries, &ring_, &q);
        if (rc == -EINVAL) {
            io_uring_params r{};
            r.flags = IORING_SETUP_CQSIZE;
            r.cq_entries = cq_entries;
            rc = io_uring_queue_init_params(sq_entries, &ring_, &r);
        }
    }
    if (rc < 0) {
        return base::make_error(base::Errc::unavailable,
                                std::string("io_uring is not available (io_uring_setup: ") +
                                    std::strerror(-rc) +
                                    "); ringmta needs Linux 6.0+ with io_uring enabled "
                                    "(sysctl kernel.io_uring_disabled=0, no seccomp filter)");
    }
    initialized_ = true;
    probe();
    reaped_.reserve(cq_entries);
    return {};
}

void Ring::probe() {
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    if (probe == nullptr) return;
    // Multishot accept arrived in 5.19, multishot recv and buffer rings in 6.0; SEND_ZC (6.0)
    // is the opcode that tells a kernel new enough for all three apart from 5.19.
    bool has_send_zc = io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
    features_.multishot_accept = io_uring_opcode_supported(probe, IORING_OP_ACCEPT) && has_send_zc;
    features_.multishot_recv = io_uring_opcode_supported(probe, IORING_OP_RECV) && has_send_zc;
    io_uring_free_probe(probe);
    // Buffer rings are detected for real when the shard registers one.
}

io_uring_sqe* Ring::sqe_for(Completion* c) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
        io_uring_submit(&ring_);
        sqe = io_uring_get_sqe(&ring_);
        MTA_ASSERT(sqe != nullptr);
    }
    if (c != nullptr) {
        c->pending = true;
    }
    io_uring_sqe_set_data(sqe, c);
    return sqe;
}

void Ring::run_once(int timeout_ms, uint64_t* woke_ms) {
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (timeout_ms % 1000) * 1000000L;
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
        MTA_ASSERT(!"io_uring_submit_and_wait_timeout failed");
    }
    if (woke_ms != nullptr) *woke_ms = base::monotonic_ms();
    // Drain everything available in one batch, then run callbacks: a callback that submits
    // new work does not interleave with the reaping.
    reaped_.clear();
    unsigned head;
    unsigned count = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
        ++count;
        auto* c = static_cast<Completion*>(io_uring_cqe_get_data(cqe));
        if (c != nullptr) reaped_.push_back({c, cqe->res, cqe->flags});
    }
    io_uring_cq_advance(&ring_, count);
    for (const Reaped& r : reaped_) {
        if (!(r.flags & IORING_CQE_F_MORE)) r.c->pending = false;
        r.c->callback(r.c, r.res, r.flags);
    }
}

}  // namespace ringmta::engine
