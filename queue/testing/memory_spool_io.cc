// In-memory SpoolIo with a durable/volatile split and one-shot fault injection.
#include "queue/testing/memory_spool_io.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ringmta::queue::testing {
namespace {

std::string parent_of(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

void write_at(std::vector<uint8_t>& data, uint64_t offset, const uint8_t* p, size_t n) {
    if (data.size() < offset + n) data.resize(offset + n);
    std::memcpy(data.data() + offset, p, n);
}

}  // namespace

void MemorySpoolIo::crash() { crash_keeping_prefix(0); }

void MemorySpoolIo::crash_keeping_prefix(size_t bytes) {
    for (Names* names : {&names_, &durable_names_}) {
        for (auto& [path, inode] : *names) inode->data = inode->durable;
    }
    names_ = durable_names_;
    if (last_write_ && bytes > 0) {
        PendingWrite& w = *last_write_;
        size_t keep = std::min(bytes, w.bytes.size());
        write_at(w.inode->data, w.offset, w.bytes.data(), keep);
        w.inode->durable = w.inode->data;
    }
    last_write_.reset();
}

std::vector<uint8_t>& MemorySpoolIo::contents(const std::string& path) {
    auto it = names_.find(path);
    MTA_ASSERT(it != names_.end());
    return it->second->data;
}

void MemorySpoolIo::put_file(const std::string& path, std::vector<uint8_t> bytes) {
    auto inode = std::make_shared<Inode>();
    inode->data = std::move(bytes);
    inode->durable = inode->data;
    names_[path] = inode;
    durable_names_[path] = inode;
    dirs_.insert(parent_of(path));
}

std::vector<std::string> MemorySpoolIo::paths() const {
    std::vector<std::string> out;
    for (const auto& [path, inode] : names_) out.push_back(path);
    return out;
}

base::Result<std::shared_ptr<MemorySpoolIo::Inode>> MemorySpoolIo::find(
    const std::string& path) const {
    auto it = names_.find(path);
    if (it == names_.end()) return base::errno_error(ENOENT, path);
    return it->second;
}

base::Result<std::vector<DirEntry>> MemorySpoolIo::list(const std::string& dir) {
    if (!dirs_.count(dir)) return base::errno_error(ENOENT, "list " + dir);
    std::vector<DirEntry> out;
    for (const auto& [path, inode] : names_) {
        if (parent_of(path) == dir) out.push_back(DirEntry{name_of(path), false});
    }
    for (const std::string& d : dirs_) {
        if (parent_of(d) == dir && d != dir) out.push_back(DirEntry{name_of(d), true});
    }
    return out;
}

base::Result<std::vector<uint8_t>> MemorySpoolIo::read_file(const std::string& path) {
    auto inode = find(path);
    if (!inode) return inode.error();
    return (*inode)->data;
}

base::Result<std::vector<uint8_t>> MemorySpoolIo::read_range(const std::string& path,
                                                             uint64_t offset, size_t size) {
    auto inode = find(path);
    if (!inode) return inode.error();
    const auto& data = (*inode)->data;
    if (offset >= data.size()) return std::vector<uint8_t>();
    size_t n = std::min<uint64_t>(size, data.size() - offset);
    return std::vector<uint8_t>(data.begin() + long(offset), data.begin() + long(offset + n));
}

base::Result<size_t> MemorySpoolIo::write(const std::string& path, uint64_t offset,
                                          std::span<const iovec> data) {
    std::optional<WriteFault> fault;
    if (!write_faults_.empty()) {
        fault = write_faults_.front();
        write_faults_.pop_front();
        if (fault->err != 0) return base::errno_error(fault->err, "write " + path);
    }
    if (!dirs_.count(parent_of(path))) return base::errno_error(ENOENT, "write " + path);
    auto& inode = names_[path];
    if (!inode) inode = std::make_shared<Inode>();
    std::vector<uint8_t> bytes;
    for (const iovec& v : data) {
        auto* p = static_cast<const uint8_t*>(v.iov_base);
        bytes.insert(bytes.end(), p, p + v.iov_len);
    }
    if (fault) bytes.resize(std::min(bytes.size(), fault->bytes));
    write_at(inode->data, offset, bytes.data(), bytes.size());
    size_t n = bytes.size();
    last_write_ = PendingWrite{inode, offset, std::move(bytes)};
    return n;
}

base::Result<void> MemorySpoolIo::sync(const std::string& path) {
    auto inode = find(path);
    if (!inode) return inode.error();
    if (sync_errno_ != 0) {
        // Like Linux after a writeback error: the error is reported once and the dirty data
        // may never reach the disk.
        return base::errno_error(std::exchange(sync_errno_, 0), "sync " + path);
    }
    (*inode)->durable = (*inode)->data;
    if (last_write_ && last_write_->inode == *inode) last_write_.reset();
    ++sync_count_;
    return {};
}

base::Result<void> MemorySpoolIo::sync_dir(const std::string& dir) {
    if (!dirs_.count(dir)) return base::errno_error(ENOENT, "sync " + dir);
    std::erase_if(durable_names_, [&](const auto& e) { return parent_of(e.first) == dir; });
    for (const auto& [path, inode] : names_) {
        if (parent_of(path) == dir) durable_names_[path] = inode;
    }
    return {};
}

base::Result<void> MemorySpoolIo::truncate(const std::string& path, uint64_t size) {
    auto inode = find(path);
    if (!inode) return inode.error();
    (*inode)->data.resize(size);
    return {};
}

base::Result<void> MemorySpoolIo::make_dir(const std::string& dir) {
    dirs_.insert(dir);
    return {};
}

base::Result<void> MemorySpoolIo::rename(const std::string& from, const std::string& to) {
    auto inode = find(from);
    if (!inode) return inode.error();
    if (!dirs_.count(parent_of(to))) return base::errno_error(ENOENT, "rename to " + to);
    names_.erase(from);
    names_[to] = *inode;
    return {};
}

base::Result<void> MemorySpoolIo::remove(const std::string& path) {
    if (!names_.erase(path)) return base::errno_error(ENOENT, "remove " + path);
    return {};
}

}  // namespace ringmta::queue::testing
