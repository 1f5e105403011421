// Blocking POSIX SpoolIo. Each call opens what it needs and closes it before returning.
#include "queue/posix_spool_io.hh"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace ringmta::queue {
namespace {

// Closes on scope exit.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { if (fd_ >= 0) ::close(fd_); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    bool ok() const { return fd_ >= 0; }

private:
    int fd_;
};

base::Error fail(const std::string& what, const std::string& path) {
    return base::errno_error(errno, what + " " + path);
}

// Reads [offset, offset + size) or up to the end of the file.
base::Result<std::vector<uint8_t>> pread_all(int fd, const std::string& path, uint64_t offset,
                                             size_t size) {
    std::vector<uint8_t> out(size);
    size_t got = 0;
    while (got < size) {
        ssize_t n = ::pread(fd, out.data() + got, size - got, off_t(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("read", path);
        if (n == 0) break;
        got += size_t(n);
    }
    out.resize(got);
    return out;
}

base::Result<void> fsync_path(const std::string& path, int flags, bool data_only) {
    Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd.ok()) return fail("open", path);
    int rc = data_only ? ::fdatasync(fd.get()) : ::fsync(fd.get());
    if (rc != 0) return fail("sync", path);
    return {};
}

}  // namespace

base::Result<std::vector<DirEntry>> PosixSpoolIo::list(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return fail("list", dir);
    std::vector<DirEntry> out;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        bool is_dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            is_dir = ::fstatat(::dirfd(d), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
        }
        out.push_back(DirEntry{std::move(name), is_dir});
    }
    ::closedir(d);
    return out;
}

base::Result<std::vector<uint8_t>> PosixSpoolIo::read_file(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.ok()) return fail("open", path);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return fail("stat", path);
    return pread_all(fd.get(), path, 0, size_t(st.st_size));
}

base::Result<std::vector<uint8_t>> PosixSpoolIo::read_range(const std::string& path,
                                                            uint64_t offset, size_t size) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.ok()) return fail("open", path);
    return pread_all(fd.get(), path, offset, size);
}

base::Result<size_t> PosixSpoolIo::write(const std::string& path, uint64_t offset,
                                         std::span<const iovec> data) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.ok()) return fail("open", path);
    int count = data.size() > IOV_MAX ? IOV_MAX : int(data.size());
    ssize_t n;
    do {
        n = ::pwritev(fd.get(), data.data(), count, off_t(offset));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail("write", path);
    return size_t(n);
}

base::Result<void> PosixSpoolIo::sync(const std::string& path) {
    return fsync_path(path, O_WRONLY, true);
}

base::Result<void> PosixSpoolIo::sync_dir(const std::string& dir) {
    return fsync_path(dir, O_RDONLY | O_DIRECTORY, false);
}

base::Result<void> PosixSpoolIo::truncate(const std::string& path, uint64_t size) {
    if (::truncate(path.c_str(), off_t(size)) != 0) return fail("truncate", path);
    return {};
}

base::Result<void> PosixSpoolIo::make_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail("mkdir", dir);
    return {};
}

base::Result<void> PosixSpoolIo::rename(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) return fail("rename", from + " to " + to);
    return {};
}

base::Result<void> PosixSpoolIo::remove(const std::string& path) {
    if (::unlink(path.c_str()) != 0) return fail("remove", path);
    return {};
}

}  // namespace ringmta::queue
