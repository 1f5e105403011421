// One io_uring per shard thread. Setup probes the kernel's features and falls back step by step
// (SINGLE_ISSUER|DEFER_TASKRUN → COOP_TASKRUN → plain); a refusal of io_uring itself comes back
// as an error the caller prints as one line. CQEs are drained in a batch, then callbacks run.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mta/base/result.hh"
#include "mta/engine/completion.hh"

namespace ringmta::engine {

struct RingFeatures {
    bool single_issuer = false;
    bool defer_taskrun = false;
    bool multishot_accept = false;
    bool multishot_recv = false;
    bool buffer_rings = false;
    std::string describe() const;
};

class Ring {
public:
    Ring() = default;
    ~Ring();
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    // Must be called on the thread that will submit (SINGLE_ISSUER).
    base::Result<void> init(unsigned sq_entries, unsigned cq_entries);
    const RingFeatures& features() const { return features_; }
    void set_buffer_rings_available(bool on) { features_.buffer_rings = on; }
    io_uring* raw() { return &ring_; }

    // Returns an SQE whose user_data points at `c` (or 0 for fire-and-forget when c is null).
    // Flushes the SQ to the kernel when it is full, so it never fails.
    io_uring_sqe* sqe_for(Completion* c);

    // Submits what is queued and waits for at least one completion or until `timeout_ms`,
    // then runs the callbacks of every completion reaped (in arrival order). With `woke_ms`,
    // the monotonic time of the wake-up is stored there before any callback runs, so that
    // callbacks that read the caller's clock see when their event arrived, not when the wait
    // began (up to `timeout_ms` earlier).
    void run_once(int timeout_ms, uint64_t* woke_ms = nullptr);

private:
    void probe();
    io_uring ring_{};
    bool initialized_ = false;
    RingFeatures features_;
    struct Reaped { Completion* c; int res; uint32_t flags; };
    std::vector<Reaped> reaped_;  // reused batch buffer; capacity fixed at init
};

}  // namespace ringmta::engine
