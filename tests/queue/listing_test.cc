// `queue list`: filters, JSON and text output, and the offline read-only snapshot of a spool.
#include <gtest/gtest.h>

#include "queue/queue_listing.hh"
#include "queue/spool_snapshot.hh"
#include "tests/queue/spool_fixture.hh"

namespace ringmta::queue {
namespace {

QueueIndex sample_index() {
    QueueIndex index(100);
    index.segments().open(1);
    Envelope a = test::sample_envelope(0x100, 0);
    a.arrival_us = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z
    a.recipients = {{"x@Dest.Example", 0, ""}, {"y@other.example", 0, ""}};
    Envelope b = test::sample_envelope(0x200, 0);
    b.sender.clear();
    b.recipients = {{"z@dest.example", 0, ""}};
    EXPECT_TRUE(index.insert(summarize(a, 1, 0, 64, 1234)).has_value());
    EXPECT_TRUE(index.insert(summarize(b, 1, 64, 64, 10)).has_value());
    index.apply({0x100, 0, Outcome::deferred, 2, 1'700'000'060'000'000, "451 \"busy\"\r\n"});
    return index;
}

TEST(QueueListing, Filters) {
    QueueIndex index = sample_index();
    struct Case {
        const char* label;
        std::optional<RecipientState> state;
        const char* domain;
        std::vector<uint64_t> want;
    };
    const Case cases[] = {
        {"all", std::nullopt, "", {0x100, 0x200}},
        {"deferred", RecipientState::deferred, "", {0x100}},
        {"pending", RecipientState::pending, "", {0x100, 0x200}},
        {"domain, any case", std::nullopt, "DEST.example", {0x100, 0x200}},
        {"other domain", std::nullopt, "other.example", {0x100}},
        {"state and domain on the same recipient", RecipientState::deferred, "other.example", {}},
        {"delivered", RecipientState::delivered, "", {}},
    };
    for (const Case& c : cases) {
        std::vector<uint64_t> got;
        for (const QueuedMessage* m : index.select(ListFilter{c.state, c.domain})) {
            got.push_back(m->queue_id);
        }
        EXPECT_EQ(got, c.want) << c.label << ": got " << test::ids_text(got);
    }
}

TEST(QueueListing, Json) {
    QueueIndex index = sample_index();
    auto all = index.select({});
    std::string got = format_listing_json(all);
    std::string want =
        "[{\"id\": \"0000000000000100\", \"arrival\": \"2023-11-14T22:13:20Z\", \"size\": 1234, "
        "\"sender\": \"alice@example.com\", \"recipients\": [{\"address\": \"x@Dest.Example\", "
        "\"state\": \"deferred\", \"next_attempt\": \"2023-11-14T22:14:20Z\", \"attempts\": 2, "
        "\"diagnostic\": \"451 \\\"busy\\\"\\u000d\\u000a\"}, {\"address\": \"y@other.example\", "
        "\"state\": \"pending\", \"next_attempt\": null, \"attempts\": 0, "
        "\"diagnostic\": \"\"}]},\n"
        " {\"id\": \"0000000000000200\", \"arrival\": \"2023-11-14T22:13:20Z\", \"size\": 10, "
        "\"sender\": \"\", \"recipients\": [{\"address\": \"z@dest.example\", \"state\": "
        "\"pending\", \"next_attempt\": null, \"attempts\": 0, \"diagnostic\": \"\"}]}]\n";
    EXPECT_EQ(got, want);
    EXPECT_EQ(format_listing_json({}), "[]\n");
}

TEST(QueueListing, JsonStringsAreAlwaysValid) {
    const struct {
        const char* in;
        const char* want;
    } cases[] = {
        {"plain", "\"plain\""},
        {"ü 用户", "\"ü 用户\""},
        {"bad \xff byte", "\"bad \\ufffd byte\""},
        {"cut \xc3", "\"cut \\ufffd\""},
        {"tab\there", "\"tab\\u0009here\""},
    };
    for (const auto& c : cases) {
        std::string got;
        append_json_string(got, c.in);
        EXPECT_EQ(got, c.want) << "input " << c.in;
    }
}

TEST(QueueListing, Text) {
    QueueIndex index = sample_index();
    auto all = index.select({});
    std::string got = format_listing_text(all);
    std::string want =
        "0000000000000100       1234 2023-11-14T22:13:20Z  alice@example.com\n"
        "    x@Dest.Example  deferred  next 2023-11-14T22:14:20Z  (451 \"busy\"?\?)\n"
        "    y@other.example  pending\n"
        "0000000000000200         10 2023-11-14T22:13:20Z  <>\n"
        "    z@dest.example  pending\n"
        "-- 2 messages, 1244 bytes\n";
    EXPECT_EQ(got, want);
}

TEST(SpoolSnapshot, ReadsEveryShardWithoutChangingAnything) {
    test::SpoolFixture s;  // shard 1
    ASSERT_TRUE(s.commit({0x101, 0x201}, {{0x101, 0, Outcome::deferred, 1, 5, "451"}}));
    SegmentPlanner planner0(1);
    ASSERT_TRUE(s.io.make_dir("/spool/shard-0").has_value());
    SpoolWriter writer0(s.io, "/spool/shard-0", planner0);
    WriteBatch batch;
    std::string content = "c";
    ContentSpan spans[] = {test::span_of(content)};
    ASSERT_TRUE(batch.add_message(test::sample_envelope(0x150), spans).has_value());
    ASSERT_TRUE(writer0.commit(batch).has_value());
    s.write_unsynced({0x301});
    s.io.crash_keeping_prefix(5);  // a torn tail the offline listing must not touch
    std::vector<std::string> before = s.io.paths();
    size_t size_before = s.io.contents(s.seg(1)).size();

    auto snapshot = SpoolSnapshot::read(s.io, "/spool");
    ASSERT_TRUE(snapshot.has_value()) << snapshot.error().message;
    EXPECT_EQ(snapshot->shards().size(), 2u);
    std::vector<uint64_t> got;
    for (const QueuedMessage* m : snapshot->select({})) got.push_back(m->queue_id);
    EXPECT_EQ(got, (std::vector<uint64_t>{0x101, 0x150, 0x201})) << test::ids_text(got);
    ASSERT_NE(snapshot->shard_of(0x150), nullptr);
    EXPECT_EQ(snapshot->shard_of(0x150)->shard, 0u);
    EXPECT_EQ(snapshot->find(0x101)->recipients[0].state, RecipientState::deferred);
    EXPECT_EQ(s.io.paths(), before);
    EXPECT_EQ(s.io.contents(s.seg(1)).size(), size_before) << "offline listing truncated";
    EXPECT_EQ(shard_dir("/spool", 3), "/spool/shard-3");
}

}  // namespace
}  // namespace ringmta::queue
