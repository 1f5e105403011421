// MemorySpoolIo: an in-memory SpoolIo that remembers what is durable, for tests. Written data
// becomes durable on sync(); a new, renamed or removed name on sync_dir() of its directory.
// crash() throws away everything not durable; crash_keeping_prefix(n) also keeps the first n
// bytes of the last unsynced write (a torn tail). Faults are one-shot and injected by hand.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "queue/spool_io.hh"

namespace ringmta::queue::testing {

class MemorySpoolIo final : public SpoolIo {
public:
    // Faults for coming write() calls, one per call, in the order queued.
    void fail_next_write(int err) { write_faults_.push_back({err, 0}); }  // nothing written
    void short_next_write(size_t bytes) { write_faults_.push_back({0, bytes}); }  // `bytes` only
    // One-shot: the next sync() fails and its data stays not durable.
    void fail_next_sync(int err) { sync_errno_ = err; }

    void crash();
    void crash_keeping_prefix(size_t bytes);

    // Direct access for tests: current (not necessarily durable) contents.
    bool exists(const std::string& path) const { return names_.count(path) != 0; }
    std::vector<uint8_t>& contents(const std::string& path);
    // Creates or replaces a file, durable at once.
    void put_file(const std::string& path, std::vector<uint8_t> bytes);
    std::vector<std::string> paths() const;
    size_t sync_count() const { return sync_count_; }

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

private:
    struct Inode {
        std::vector<uint8_t> data;
        std::vector<uint8_t> durable;
    };
    struct PendingWrite {
        std::shared_ptr<Inode> inode;
        uint64_t offset = 0;
        std::vector<uint8_t> bytes;
    };
    using Names = std::map<std::string, std::shared_ptr<Inode>>;

    base::Result<std::shared_ptr<Inode>> find(const std::string& path) const;

    Names names_;
    Names durable_names_;
    std::set<std::string> dirs_;
    std::optional<PendingWrite> last_write_;
    struct WriteFault {
        int err;       // fail with this errno, or 0:
        size_t bytes;  // write only this many bytes
    };
    std::deque<WriteFault> write_faults_;
    int sync_errno_ = 0;
    size_t sync_count_ = 0;
};

}  // namespace ringmta::queue::testing
