// A Completion is embedded in the object that owns an I/O (TigerBeetle style): its address is
// the SQE's user_data, so submitting never allocates. The ring calls `complete` after the whole
// batch of CQEs has been reaped; `flags` carries IORING_CQE_F_MORE / F_BUFFER.
#pragma once

#include <cstdint>

namespace ringmta::engine {

struct Completion {
    using Callback = void (*)(Completion* self, int result, uint32_t flags);
    Callback callback = nullptr;
    void* owner = nullptr;  // convenience for the callback, set by the owner
    bool pending = false;   // an SQE referring to this completion is in flight
};

}  // namespace ringmta::engine
