// The io_uring spool writer against a real file system: group commit, record placement,
// failure handling (completion results rewritten through the test hook), rotation, and the
// queue id mark written with each new segment.
#include "mta/engine/spool_writer.hh"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "queue/message_record.hh"
#include "queue/segment_planner.hh"
#include "tests/engine/engine_fixture.hh"

using namespace ringmta;
using namespace ringmta::engine;
using namespace ringmta::engine::testing;

namespace {

class NullHandler final : public ConnectionHandler {
public:
    void on_receive(const char*, size_t) override {}
    void on_tick(uint64_t) override {}
    void on_shutdown() override {}
};

struct Pending {
    queue::Envelope envelope;
    std::string content;
    SpoolAppend append;
    std::atomic<int> result{-1};  // -1 waiting, 0 failed, 1 durable
};

std::string temp_dir() {
    char tmpl[] = "/tmp/ringmta-spool-test.XXXXXX";
    return mkdtemp(tmpl);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class SpoolWriterTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = temp_dir();
        shard_ = std::make_unique<RunningShard>(ShardOptions{}, [](Connection&, AdmissionVerdict) {
            return std::make_unique<NullHandler>();
        });
        writer_ = std::make_unique<SpoolWriter>(shard_->shard(), dir_, 1 << 20);
        shard_->start([this](Shard& s) {
            ASSERT_TRUE(writer_->open(7).has_value());
            s.add_tick_hook([this] { return writer_->on_tick(); });
        });
    }
    void TearDown() override {
        shard_->stop();
        writer_.reset();
        std::system(("rm -rf " + dir_).c_str());
    }
    void submit(std::vector<std::unique_ptr<Pending>>& batch) {
        shard_->run([&](Shard&) {
            for (auto& p : batch) {
                p->append.envelope = &p->envelope;
                p->append.content[0] = queue::ContentSpan(
                    reinterpret_cast<const uint8_t*>(p->content.data()), p->content.size());
                p->append.content_count = 1;
                p->append.owner = p.get();
                p->append.done = [](SpoolAppend* a, bool durable) {
                    static_cast<Pending*>(a->owner)->result = durable ? 1 : 0;
                };
                writer_->append(&p->append);
            }
        });
        ASSERT_TRUE(eventually([&] {
            for (auto& p : batch)
                if (p->result.load() < 0) return false;
            return true;
        }));
    }
    std::vector<std::unique_ptr<Pending>> make(int count, size_t size, uint64_t first_id) {
        std::vector<std::unique_ptr<Pending>> v;
        for (int i = 0; i < count; ++i) {
            auto p = std::make_unique<Pending>();
            p->envelope.queue_id = first_id + uint64_t(i);
            p->envelope.sender = "a@example.org";
            p->envelope.recipients.push_back({"b@example.net", 0, ""});
            p->content = "Subject: " + std::to_string(i) + "\r\n\r\n" + std::string(size, 'x') + "\r\n";
            v.push_back(std::move(p));
        }
        return v;
    }

    std::string dir_;
    std::unique_ptr<RunningShard> shard_;
    std::unique_ptr<SpoolWriter> writer_;
};

TEST_F(SpoolWriterTest, OneTickIsOneSyncAndRecordsReadBack) {
    auto batch = make(50, 200, 1000);
    submit(batch);
    SpoolStats stats;
    shard_->run([&](Shard&) { stats = writer_->stats(); });
    EXPECT_EQ(stats.messages, 50u);
    EXPECT_EQ(stats.batches, 1u) << "appends of one tick must share one fdatasync";
    std::string file = read_file(queue::segment_path(dir_, 7));
    for (auto& p : batch) {
        ASSERT_EQ(p->result.load(), 1);
        EXPECT_EQ(p->append.segment_seq, 7u);
        auto span = std::span(reinterpret_cast<const uint8_t*>(file.data()) + p->append.offset,
                              p->append.record_size);
        auto decoded = queue::decode_message_record(span);
        ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
        EXPECT_EQ(decoded->envelope, p->envelope);
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(decoded->content.data()),
                              decoded->content.size()),
                  p->content);
    }
}

// Completions of a failed batch as the kernel reports them, rewritten through the test hook.
struct FailureCase {
    const char* name;
    int messages;  // 600 need two WRITEVs (about 2 iovecs each, more than IOV_MAX)
    std::vector<std::pair<unsigned, int>> results;  // (step, result)
    int want_error;
};

class SpoolWriterFailure : public SpoolWriterTest,
                           public ::testing::WithParamInterface<FailureCase> {};

TEST_P(SpoolWriterFailure, FailsEveryAppendMovesToAFreshSegmentAndRecovers) {
    const FailureCase& fc = GetParam();
    shard_->run([&](Shard&) {
        for (auto [step, result] : fc.results) writer_->override_next_result(step, result);
    });
    auto failed = make(fc.messages, 100, 2000);
    submit(failed);
    for (auto& p : failed) EXPECT_EQ(p->result.load(), 0) << "acknowledged from a failed batch";
    SpoolStats stats;
    shard_->run([&](Shard&) { stats = writer_->stats(); });
    EXPECT_EQ(stats.failures, 1u);
    EXPECT_EQ(stats.last_error, fc.want_error) << std::strerror(stats.last_error);
    EXPECT_EQ(stats.messages, 0u);
    auto next = make(3, 100, 3000);
    submit(next);
    std::string file = read_file(queue::segment_path(dir_, 8));
    for (auto& p : next) {
        ASSERT_EQ(p->result.load(), 1);
        EXPECT_EQ(p->append.segment_seq, 8u) << "after a failure the writer must move on";
        auto span = std::span(reinterpret_cast<const uint8_t*>(file.data()) + p->append.offset,
                              p->append.record_size);
        auto decoded = queue::decode_message_record(span);
        ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
        EXPECT_EQ(decoded->envelope, p->envelope);
    }
}

constexpr unsigned kSync = SpoolWriter::kSyncStep;

INSTANTIATE_TEST_SUITE_P(
    Completions, SpoolWriterFailure,
    ::testing::Values(
        FailureCase{"write_enospc", 5, {{0, -ENOSPC}, {kSync, -ECANCELED}}, ENOSPC},
        FailureCase{"write_eio", 5, {{0, -EIO}, {kSync, -ECANCELED}}, EIO},
        // The kernel's chain rule aside, the writer itself notices the missing bytes.
        FailureCase{"short_write", 5, {{0, 10}}, EIO},
        FailureCase{"sync_eio", 5, {{kSync, -EIO}}, EIO},
        FailureCase{"sync_enospc", 5, {{kSync, -ENOSPC}}, ENOSPC},
        FailureCase{"sync_cancelled", 5, {{kSync, -ECANCELED}}, ECANCELED},
        // The cancellations the failure caused do not hide it.
        FailureCase{"second_write_enospc", 600, {{1, -ENOSPC}, {kSync, -ECANCELED}}, ENOSPC},
        FailureCase{"first_write_cancels_second", 600,
                    {{0, -EIO}, {1, -ECANCELED}, {kSync, -ECANCELED}}, EIO}),
    [](const ::testing::TestParamInfo<FailureCase>& p) { return std::string(p.param.name); });

TEST_F(SpoolWriterTest, NewSegmentWritesTheQueueIdMark) {
    std::atomic<uint64_t> high_water{0x0005F3A1B2C3D401};
    shard_->run([&](Shard&) { writer_->queue_id_high_water = [&] { return high_water.load(); }; });
    auto first = make(2, 100, 1000);
    submit(first);
    EXPECT_EQ(read_file(dir_ + "/queue_id_mark"), "0005F3A1B2C3D401\n");
    // Same segment: the mark is not rewritten (no sync on the hot path).
    high_water = 0x0005F3A1B2C3D501;
    auto same = make(2, 100, 1100);
    submit(same);
    EXPECT_EQ(read_file(dir_ + "/queue_id_mark"), "0005F3A1B2C3D401\n");
    // A failure moves to a new segment, which writes the mark again.
    shard_->run([&](Shard&) { writer_->override_next_result(kSync, -EIO); });
    auto failed = make(1, 100, 1200);
    submit(failed);
    auto next = make(1, 100, 1300);
    submit(next);
    EXPECT_EQ(next[0]->append.segment_seq, 8u);
    EXPECT_EQ(read_file(dir_ + "/queue_id_mark"), "0005F3A1B2C3D501\n");
    shard_->run([&](Shard&) { writer_->queue_id_high_water = nullptr; });
}

TEST_F(SpoolWriterTest, FullSegmentRotates) {
    // 1 MiB segments: 30 messages of 100 KiB need at least three.
    for (int round = 0; round < 3; ++round) {
        auto batch = make(10, 100 * 1024, 5000 + uint64_t(round) * 10);
        submit(batch);
        for (auto& p : batch) EXPECT_EQ(p->result.load(), 1);
    }
    uint64_t active = 0;
    shard_->run([&](Shard&) { active = writer_->active_segment_seq(); });
    EXPECT_GE(active, 9u);
    struct stat st;
    EXPECT_EQ(stat(queue::segment_path(dir_, active).c_str(), &st), 0);
}

}  // namespace
