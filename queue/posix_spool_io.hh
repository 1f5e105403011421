// PosixSpoolIo: SpoolIo over blocking POSIX calls, for start-up recovery and the offline
// `ringmta queue list` (both run before or without the io_uring loop). Opens and closes a
// descriptor per call: simple, and these paths are not hot. errno becomes a Result once, here.
#pragma once

#include "queue/spool_io.hh"

namespace ringmta::queue {

class PosixSpoolIo final : public SpoolIo {
public:
    base::Result<std::vector<DirEntry>> list(const std::string& dir) override;
    base::Result<std::vector<uint8_t>> read_file(const std::string& path) override;
    base::Result<std::vector<uint8_t>> read_range(const std::string& path, uint64_t offset,
                                                  size_t size) override;
    base::Result<size_t> write(const std::string& path, uint64_t offset,
                               std::span<const iovec> data) override;
    base::Result<void> sync(const std::string& path) override;
    base::Result<void> sync_dir(const std::string& dir) override;
    base::Result<void> truncate(const std::string& path, uint64_t size) override;
    base::Result<void> make_dir(const std::string& dir) override;
    base::Result<void> rename(const std::string& from, const std::string& to) override;
    base::Result<void> remove(const std::string& path) override;
};

}  // namespace ringmta::queue
