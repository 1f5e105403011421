// Queue id formatting, parsing, per-shard generation and the high-water mark file.
#include "queue/queue_id.hh"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "mta/base/assert.hh"

namespace ringmta::queue {

void format_queue_id(uint64_t id, char out[queue_id_text_size]) {
    static constexpr char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < queue_id_text_size; ++i) {
        out[queue_id_text_size - 1 - i] = digits[(id >> (4 * i)) & 0xF];
    }
}

std::string format_queue_id(uint64_t id) {
    std::string s(queue_id_text_size, '0');
    format_queue_id(id, s.data());
    return s;
}

std::optional<uint64_t> parse_queue_id(std::string_view text) {
    if (text.size() != queue_id_text_size) return std::nullopt;
    uint64_t id = 0;
    for (char c : text) {
        uint64_t d;
        if (c >= '0' && c <= '9') d = uint64_t(c - '0');
        else if (c >= 'A' && c <= 'F') d = uint64_t(c - 'A' + 10);
        else if (c >= 'a' && c <= 'f') d = uint64_t(c - 'a' + 10);
        else return std::nullopt;
        id = id << 4 | d;
    }
    return id;
}

QueueIdGenerator::QueueIdGenerator(uint32_t shard, uint64_t now_us, uint64_t highest_recovered_id,
                                   uint64_t high_water_id)
    : shard_(shard) {
    MTA_ASSERT(shard < queue_id_shard_count_max);
    uint64_t highest = std::max(highest_recovered_id, high_water_id);
    uint64_t after_highest = highest ? queue_id_sequence(highest) + 1 : 0;
    next_sequence_ = std::max({now_us, after_highest, uint64_t(1)});
}

uint64_t QueueIdGenerator::next() {
    // 56 bits of microseconds last until the year 4253; running out is a bug, not a condition.
    MTA_ASSERT(next_sequence_ < (uint64_t(1) << 56));
    return make_queue_id(next_sequence_++, shard_);
}

// The file is the id in its text form and a newline: 17 bytes, readable with cat.
base::Result<uint64_t> read_queue_id_mark(const std::string& shard_dir) {
    std::string path = shard_dir + "/" + queue_id_mark_file_name;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return uint64_t(0);
        return base::errno_error(errno, "open " + path);
    }
    char buf[queue_id_text_size + 2];
    ssize_t n = ::read(fd, buf, sizeof buf);
    int err = errno;
    ::close(fd);
    if (n < 0) return base::errno_error(err, "read " + path);
    std::optional<uint64_t> id;
    if (size_t(n) == queue_id_text_size + 1 && buf[queue_id_text_size] == '\n')
        id = parse_queue_id(std::string_view(buf, queue_id_text_size));
    if (!id)
        return base::make_error(base::Errc::invalid,
                                path + ": not a queue id high-water mark (16 hex digits and a "
                                       "newline); restore it or put an id above every id issued");
    return *id;
}

base::Result<void> write_queue_id_mark(const std::string& shard_dir, uint64_t id) {
    std::string path = shard_dir + "/" + queue_id_mark_file_name;
    std::string tmp = path + ".tmp";
    char text[queue_id_text_size + 1];
    format_queue_id(id, text);
    text[queue_id_text_size] = '\n';
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return base::errno_error(errno, "create " + tmp);
    bool ok = ::write(fd, text, sizeof text) == ssize_t(sizeof text) && ::fdatasync(fd) == 0;
    int err = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        if (ok) err = errno;
        ::unlink(tmp.c_str());
        return base::errno_error(err == 0 ? EIO : err, "write " + path);
    }
    return {};
}

}  // namespace ringmta::queue
