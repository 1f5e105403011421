// PosixSpoolIo against a real temporary directory: the same write / recover / salvage cycle
// the in-memory tests run, so the POSIX calls (pwritev, truncate, rename, fsync) are exercised.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "mta/base/log.hh"
#include "queue/posix_spool_io.hh"
#include "queue/recovery.hh"
#include "queue/spool_writer.hh"
#include "tests/queue/test_support.hh"

namespace ringmta::queue {
namespace {

// Recovery logs a warning per repair; the tests check the report instead.
class QuietLogs : public ::testing::Environment {
public:
    void SetUp() override { base::log_configure(2, base::LogFormat::text, base::LogLevel::error); }
};
const auto* const quiet_logs = ::testing::AddGlobalTestEnvironment(new QuietLogs);

class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "ringmta-queue-XXXXXX");
        MTA_ASSERT(::mkdtemp(tmpl.data()) != nullptr);
        path_ = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

TEST(PosixSpoolIo, WriteRecoverSalvage) {
    TempDir tmp;
    PosixSpoolIo io;
    std::string dir = tmp.path() + "/shard-0";
    ASSERT_TRUE(io.make_dir(dir).has_value());
    ASSERT_TRUE(io.make_dir(dir).has_value()) << "make_dir of an existing directory failed";
    SegmentPlanner planner(1);
    SpoolWriter writer(io, dir, planner);
    std::vector<std::string> contents = {"first\r\n", std::string(100000, 'x'), "third\r\n"};
    std::vector<uint64_t> offsets;
    for (uint64_t id = 1; id <= 3; ++id) {
        WriteBatch batch;
        ContentSpan spans[] = {test::span_of(contents[id - 1])};
        ASSERT_TRUE(batch.add_message(test::sample_envelope(id), spans).has_value());
        auto placed = writer.commit(batch);
        ASSERT_TRUE(placed.has_value()) << placed.error().message;
        offsets.push_back(placed->offset);
    }
    std::string seg = segment_path(dir, 1);

    // Damage message 2's payload, and add a torn tail.
    {
        std::vector<uint8_t> bytes = *io.read_file(seg);
        bytes[offsets[1] + 100] ^= 1;
        bytes.insert(bytes.end(), {'R', 'Q', 1, 1, 9});
        ASSERT_TRUE(io.remove(seg).has_value());
        iovec v{bytes.data(), bytes.size()};
        ASSERT_TRUE(write_all(io, seg, 0, std::span(&v, 1)).has_value());
    }
    auto r = recover_shard(io, dir, RecoveryOptions{});
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->index.size(), 2u);
    EXPECT_EQ(r->damaged_segments, std::vector<uint64_t>{1});
    EXPECT_TRUE(std::filesystem::exists(dir + "/corrupt/" + segment_file_name(1)));
    const QueuedMessage* m3 = r->index.find(3);
    ASSERT_NE(m3, nullptr);
    auto raw = io.read_range(segment_path(dir, m3->segment_seq), m3->offset, m3->record_size);
    ASSERT_TRUE(raw.has_value());
    auto decoded = decode_message_record(*raw);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(std::string(decoded->content.begin(), decoded->content.end()), "third\r\n");

    auto missing = io.read_file(dir + "/nope");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, base::Errc::not_found);
}

}  // namespace
}  // namespace ringmta::queue
