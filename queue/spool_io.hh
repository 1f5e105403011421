// SpoolIo: the only way queue/ reaches the disk. Blocking and path-based; PosixSpoolIo serves
// start-up recovery and the offline listing, MemorySpoolIo (queue/testing/) the tests. The
// engine's own hot path writes through io_uring and needs none of this. Every failure is a
// Result carrying the errno translation (Errc::no_space for ENOSPC, Errc::io otherwise).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mta/base/result.hh"

namespace ringmta::queue {

struct DirEntry {
    std::string name;  // within the directory, no slash
    bool is_dir = false;
};

class SpoolIo {
public:
    virtual ~SpoolIo() = default;

    // Entries of `dir` except "." and "..", in no particular order. Errc::not_found if absent.
    virtual base::Result<std::vector<DirEntry>> list(const std::string& dir) = 0;
    virtual base::Result<std::vector<uint8_t>> read_file(const std::string& path) = 0;
    // Up to `size` bytes at `offset`; fewer only at the end of the file.
    virtual base::Result<std::vector<uint8_t>> read_range(const std::string& path,
                                                          uint64_t offset, size_t size) = 0;
    // Writes at `offset`, creating the file if needed. Like pwritev it may write less than
    // asked and say so; use write_all() to get all-or-error.
    virtual base::Result<size_t> write(const std::string& path, uint64_t offset,
                                       std::span<const iovec> data) = 0;
    virtual base::Result<void> sync(const std::string& path) = 0;      // fdatasync
    virtual base::Result<void> sync_dir(const std::string& dir) = 0;    // fsync on the directory
    virtual base::Result<void> truncate(const std::string& path, uint64_t size) = 0;
    virtual base::Result<void> make_dir(const std::string& dir) = 0;    // fine if it exists
    virtual base::Result<void> rename(const std::string& from, const std::string& to) = 0;
    virtual base::Result<void> remove(const std::string& path) = 0;
};

// Writes every byte of `data` at `offset`, continuing after short writes; a short write that
// makes no progress is Errc::no_space.
base::Result<void> write_all(SpoolIo& io, const std::string& path, uint64_t offset,
                             std::span<const iovec> data);

}  // namespace ringmta::queue
