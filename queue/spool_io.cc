// write_all: the short-write loop shared by every SpoolIo user.
#include "queue/spool_io.hh"

namespace ringmta::queue {

base::Result<void> write_all(SpoolIo& io, const std::string& path, uint64_t offset,
                             std::span<const iovec> data) {
    std::vector<iovec> rest(data.begin(), data.end());
    size_t first = 0;
    while (true) {
        while (first < rest.size() && rest[first].iov_len == 0) ++first;
        if (first == rest.size()) break;
        auto n = io.write(path, offset, std::span<const iovec>(rest).subspan(first));
        if (!n) return n.error();
        if (*n == 0) {
            return base::make_error(base::Errc::no_space, path + ": write made no progress");
        }
        offset += *n;
        size_t done = *n;
        while (first < rest.size() && done >= rest[first].iov_len) {
            done -= rest[first].iov_len;
            ++first;
        }
        if (first < rest.size()) {
            rest[first].iov_base = static_cast<uint8_t*>(rest[first].iov_base) + done;
            rest[first].iov_len -= done;
        }
    }
    return {};
}

}  // namespace ringmta::queue
