// `queue show` (record read back, JSON and text) and `queue summary` (qshape-like counts).
#include <gtest/gtest.h>

#include "queue/queue_inspect.hh"
#include "tests/queue/spool_fixture.hh"

namespace ringmta::queue {
namespace {

TEST(QueueShow, ReadsTheRecordAndRendersEveryField) {
    test::SpoolFixture s;
    Envelope e = test::sample_envelope(0x101, 2);
    e.recipients[1].orcpt = "rfc822;orig@dest.example";
    e.tls_protocol = "TLSv1.3";
    e.tls_cipher = "TLS_AES_256_GCM_SHA384";
    std::string content = "Received: from x\r\n\tby y\r\nSubject: hi\x01\r\n\r\nbody\r\n";
    WriteBatch batch;
    ContentSpan spans[] = {test::span_of(content)};
    ASSERT_TRUE(batch.add_message(e, spans).has_value());
    batch.add_outcome({0x101, 0, Outcome::deferred, 3, 1'700'000'600'000'000, "451 4.3.0 busy"});
    ASSERT_TRUE(s.writer.commit(batch).has_value());
    RecoveryReport r = s.recover();
    ASSERT_NE(r.index.find(0x101), nullptr);

    MessageDetail d;
    d.entry = *r.index.find(0x101);
    d.connectors = {"pgp", "default"};
    load_message_record(s.io, s.dir, d);
    ASSERT_EQ(d.read_error, "");
    EXPECT_EQ(d.envelope, e);
    EXPECT_EQ(d.headers, "Received: from x\r\n\tby y\r\nSubject: hi\x01\r\n");
    EXPECT_FALSE(d.headers_cut);

    std::string want_json =
        "{\"id\": \"0000000000000101\", \"arrival\": \"2023-11-14T22:13:20Z\", \"size\": " +
        std::to_string(content.size()) +
        ", \"held\": false, \"sender\": \"alice@example.com\", \"envid\": \"ENV-257\", "
        "\"ret\": \"HDRS\", \"smtputf8\": false, \"body\": \"8BITMIME\", \"client\": {\"ip\": "
        "\"192.0.2.10\", \"helo\": \"exchange.example.com\", \"tls_protocol\": \"TLSv1.3\", "
        "\"tls_cipher\": \"TLS_AES_256_GCM_SHA384\"}, \"recipients\": [{\"address\": "
        "\"rcpt0@dest.example\", \"state\": \"deferred\", \"connector\": \"pgp\", \"attempts\": 3, "
        "\"next_attempt\": \"2023-11-14T22:23:20Z\", \"diagnostic\": \"451 4.3.0 busy\", "
        "\"notify\": \"FAILURE,DELAY\", \"orcpt\": \"\"}, {\"address\": \"rcpt1@dest.example\", "
        "\"state\": \"pending\", \"connector\": \"default\", \"attempts\": 0, \"next_attempt\": "
        "null, \"diagnostic\": \"\", \"notify\": \"FAILURE,DELAY\", \"orcpt\": "
        "\"rfc822;orig@dest.example\"}], \"headers\": \"Received: from x\\u000d\\u000a\\u0009by "
        "y\\u000d\\u000aSubject: hi\\u0001\\u000d\\u000a\", \"headers_cut\": false}\n";
    EXPECT_EQ(format_show_json(d), want_json);

    std::string want_text =
        "id:           0000000000000101\n"
        "arrival:      2023-11-14T22:13:20Z\n"
        "size:         " + std::to_string(content.size()) + " bytes\n"
        "sender:       <alice@example.com>\n"
        "parameters:   BODY=8BITMIME RET=HDRS ENVID=ENV-257\n"
        "client:       192.0.2.10 (HELO exchange.example.com), TLSv1.3 TLS_AES_256_GCM_SHA384\n"
        "recipients:\n"
        "  <rcpt0@dest.example>  deferred  connector pgp  attempts 3  next 2023-11-14T22:23:20Z\n"
        "      last result: 451 4.3.0 busy\n"
        "      NOTIFY=FAILURE,DELAY\n"
        "  <rcpt1@dest.example>  pending  connector default  attempts 0\n"
        "      NOTIFY=FAILURE,DELAY\n"
        "      ORCPT=rfc822;orig@dest.example\n"
        "headers:\n"
        "  Received: from x\n"
        "  \tby y\n"
        "  Subject: hi?\n";
    EXPECT_EQ(format_show_text(d), want_text);

    // Held, and its record gone (the message left the queue between the two steps).
    d.entry.held = true;
    d.entry.segment_seq = 77;
    MessageDetail gone;
    gone.entry = d.entry;
    load_message_record(s.io, s.dir, gone);
    EXPECT_NE(gone.read_error, "");
    std::string text = format_show_text(gone);
    EXPECT_NE(text.find("id:           0000000000000101 (on hold)\n"), std::string::npos) << text;
    EXPECT_NE(text.find("record:       unreadable: "), std::string::npos) << text;
    EXPECT_NE(text.find("  <rcpt0@dest.example>  held  connector (none)"), std::string::npos) << text;
    EXPECT_NE(format_show_json(gone).find("\"held\": true"), std::string::npos);
}

TEST(QueueShow, LongHeaderSectionIsCut) {
    test::SpoolFixture s;
    std::string content = "X-Long: " + std::string(show_headers_max, 'a') + "\r\n\r\nbody";
    WriteBatch batch;
    ContentSpan spans[] = {test::span_of(content)};
    ASSERT_TRUE(batch.add_message(test::sample_envelope(0x101, 1), spans).has_value());
    ASSERT_TRUE(s.writer.commit(batch).has_value());
    RecoveryReport r = s.recover();
    MessageDetail d;
    d.entry = *r.index.find(0x101);
    load_message_record(s.io, s.dir, d);
    EXPECT_TRUE(d.headers_cut);
    EXPECT_EQ(d.headers.size(), show_headers_max);
    EXPECT_NE(format_show_text(d).find("... (cut at 65536 bytes)"), std::string::npos);
}

OutcomeRecord attempt(uint64_t id, uint32_t index, Outcome outcome, uint32_t n,
                      std::string diagnostic, uint64_t at_us, std::string status,
                      std::string connector, std::string relay) {
    OutcomeRecord r{id, index, outcome, n, outcome == Outcome::deferred ? at_us + 600'000'000 : 0,
                    std::move(diagnostic)};
    r.attempt_us = at_us;
    r.status = std::move(status);
    r.connector = std::move(connector);
    r.relay = std::move(relay);
    return r;
}

// The history comes from the outcome records after the message record, over segments, with
// other messages' records, a message too big for one read window, a version 1 record (time and
// relay unknown) and a salvage restatement (not an attempt) in between.
TEST(QueueShow, AttemptHistoryFromTheJournal) {
    test::SpoolFixture s(4096);  // small segments: every batch below starts a new one
    const uint64_t t0 = 1'700'000'000'000'000;
    ASSERT_TRUE(s.commit({0x101, 0x102}));
    WriteBatch second;
    std::string big(3 << 20, 'x');  // three read windows
    ContentSpan spans[] = {test::span_of(big)};
    ASSERT_TRUE(second.add_message(test::sample_envelope(0x103, 1), spans).has_value());
    second.add_raw_record(test::outcome_v1_bytes(
        {0x101, 0, Outcome::deferred, 1, t0 + 1, "connect to 127.0.0.1:2526: Connection refused"}));
    second.add_outcome(attempt(0x102, 0, Outcome::deferred, 1, "not this one", t0, "4.0.0", "x",
                               "y[1.1.1.1]:25"));
    ASSERT_TRUE(s.writer.commit(second).has_value());
    OutcomeRecord restated = attempt(0x101, 1, Outcome::deferred, 1, "salvaged", 0, "", "", "");
    restated.restated = true;
    ASSERT_TRUE(s.commit({}, {attempt(0x101, 0, Outcome::deferred, 2,
                                      "host sink[127.0.0.1] said: 450 4.2.0 busy (in reply to "
                                      "RCPT TO command)",
                                      t0 + 60'000'000, "4.2.0", "outbound", "sink[127.0.0.1]:2526"),
                              restated,
                              attempt(0x101, 1, Outcome::failed, 1, "no route to <rcpt1@dest.example>",
                                      t0 + 120'000'000, "5.4.4", "", "")}));
    RecoveryReport r = s.recover();
    ASSERT_NE(r.index.find(0x101), nullptr);
    ASSERT_GE(r.next_segment_seq, 4u) << "the test wants three segments";

    MessageDetail d;
    d.entry = *r.index.find(0x101);
    d.connectors = {"outbound", ""};
    load_message_record(s.io, s.dir, d);
    load_attempt_history(s.io, s.dir, d);
    ASSERT_EQ(d.history_error, "");
    ASSERT_EQ(d.history.size(), 2u);
    ASSERT_EQ(d.history[0].attempts.size(), 2u);
    ASSERT_EQ(d.history[1].attempts.size(), 1u);

    std::string json = format_show_json(d);
    std::string want_rcpt0 =
        "\"history\": [{\"time\": null, \"attempt\": 1, \"result\": \"deferred\", \"connector\": "
        "\"\", \"relay\": \"\", \"dsn\": \"\", \"diagnostic\": \"connect to 127.0.0.1:2526: "
        "Connection refused\"}, {\"time\": \"2023-11-14T22:14:20Z\", \"attempt\": 2, \"result\": "
        "\"deferred\", \"connector\": \"outbound\", \"relay\": \"sink[127.0.0.1]:2526\", \"dsn\": "
        "\"4.2.0\", \"diagnostic\": \"host sink[127.0.0.1] said: 450 4.2.0 busy (in reply to RCPT "
        "TO command)\"}], \"history_left_out\": 0}";
    EXPECT_NE(json.find(want_rcpt0), std::string::npos) << json;
    std::string want_rcpt1 =
        "\"history\": [{\"time\": \"2023-11-14T22:15:20Z\", \"attempt\": 1, \"result\": "
        "\"failed\", \"connector\": \"\", \"relay\": \"\", \"dsn\": \"5.4.4\", \"diagnostic\": "
        "\"no route to <rcpt1@dest.example>\"}], \"history_left_out\": 0}";
    EXPECT_NE(json.find(want_rcpt1), std::string::npos) << json;
    EXPECT_EQ(json.find("not this one"), std::string::npos) << json;
    EXPECT_EQ(json.find("salvaged"), std::string::npos) << json;

    std::string text = format_show_text(d);
    std::string want_text =
        "  <rcpt0@dest.example>  deferred  connector outbound  attempts 2  next 2023-11-14T22:24:20Z\n"
        "      last result: host sink[127.0.0.1] said: 450 4.2.0 busy (in reply to RCPT TO command)\n"
        "      NOTIFY=FAILURE,DELAY\n"
        "      history (oldest first):\n"
        "        (time unknown)  attempt 1  deferred  relay=none  (connect to 127.0.0.1:2526: "
        "Connection refused)\n"
        "        2023-11-14T22:14:20Z  attempt 2  deferred  connector=outbound  "
        "relay=sink[127.0.0.1]:2526  dsn=4.2.0  (host sink[127.0.0.1] said: 450 4.2.0 busy (in "
        "reply to RCPT TO command))\n"
        "  <rcpt1@dest.example>  failed  connector (none)  attempts 1\n"
        "      last result: no route to <rcpt1@dest.example>\n"
        "      NOTIFY=FAILURE,DELAY\n"
        "      history (oldest first):\n"
        "        2023-11-14T22:15:20Z  attempt 1  failed  relay=none  dsn=5.4.4  (no route to "
        "<rcpt1@dest.example>)\n"
        "headers:\n";
    EXPECT_NE(text.find(want_text), std::string::npos) << text;

    // Offline, from a read-only recovery of the same files: the same history.
    RecoveryReport offline = s.recover(true);
    MessageDetail again;
    again.entry = *offline.index.find(0x101);
    again.connectors = d.connectors;
    load_message_record(s.io, s.dir, again);
    load_attempt_history(s.io, s.dir, again);
    EXPECT_EQ(format_show_json(again), json);
}

// Only the last show_attempts_max results per recipient are kept, and the rest counted.
TEST(QueueShow, AttemptHistoryIsBounded) {
    test::SpoolFixture s;
    const uint64_t t0 = 1'700'000'000'000'000;
    std::vector<OutcomeRecord> outcomes;
    for (uint32_t n = 1; n <= show_attempts_max + 7; ++n)
        outcomes.push_back(attempt(0x101, 0, Outcome::deferred, n, "451 busy " + std::to_string(n),
                                   t0 + n * 1'000'000, "4.0.0", "outbound", "h[192.0.2.1]:25"));
    ASSERT_TRUE(s.commit({0x101}, outcomes));
    RecoveryReport r = s.recover();
    MessageDetail d;
    d.entry = *r.index.find(0x101);
    load_attempt_history(s.io, s.dir, d);
    ASSERT_EQ(d.history[0].attempts.size(), show_attempts_max);
    EXPECT_EQ(d.history[0].left_out, 7u);
    EXPECT_EQ(d.history[0].attempts.front().attempt, 8u);
    EXPECT_EQ(d.history[0].attempts.back().attempt, show_attempts_max + 7);
    EXPECT_TRUE(d.history[1].attempts.empty());
    std::string text = format_show_text(d);
    EXPECT_NE(text.find("      history (oldest first):\n        ... 7 earlier results not shown\n"
                        "        2023-11-14T22:13:28Z  attempt 8  deferred"),
              std::string::npos)
        << text;
    EXPECT_NE(format_show_json(d).find("\"history_left_out\": 7}"), std::string::npos);

    // A shard directory that cannot be listed: said so, the rest of `show` still prints.
    MessageDetail lost;
    lost.entry = d.entry;
    load_attempt_history(s.io, "/spool/shard-9", lost);
    EXPECT_NE(lost.history_error, "");
    EXPECT_NE(format_show_text(lost).find("history:      unreadable: "), std::string::npos);
}

QueuedMessage message(uint64_t id, uint64_t arrival_us, std::vector<std::string> rcpts,
                      uint64_t size = 100) {
    QueuedMessage m;
    m.queue_id = id;
    m.arrival_us = arrival_us;
    m.size_bytes = size;
    for (auto& r : rcpts) m.recipients.push_back({r, RecipientState::pending, 0, 0, {}});
    return m;
}

TEST(QueueSummary, CountsByConnectorDomainStateAndAge) {
    const uint64_t now = 1'700'000'000'000'000;
    const uint64_t minute = 60'000'000;
    QueueSummary shard0, shard1;
    QueuedMessage a = message(1, now - 2 * minute, {"a@X.example", "b@x.example", "c@y.example"});
    a.recipients[1].state = RecipientState::deferred;
    shard0.add_message(a, {"pgp", "pgp", "default"}, now);
    QueuedMessage b = message(2, now - 30 * minute, {"d@x.example", "e@x.example"}, 50);
    b.recipients[1].state = RecipientState::delivered;  // final: not counted
    b.held = true;
    shard1.add_message(b, {"pgp", ""}, now);
    QueuedMessage c = message(3, now - 2000 * minute, {"f@nowhere.example"}, 7);
    shard1.add_message(c, {""}, now);
    shard0.merge(shard1);

    std::string want_json =
        "{\"age_bounds_minutes\": [5, 10, 20, 40, 80, 160, 320, 640, 1280], \"total\": "
        "{\"messages\": 3, \"recipients\": 5, \"pending\": 3, \"deferred\": 1, \"held\": 1, "
        "\"bytes\": 157, \"by_age\": [3, 0, 0, 1, 0, 0, 0, 0, 0, 1]}, \"rows\": [\n"
        " {\"connector\": \"pgp\", \"domain\": \"x.example\", \"messages\": 2, \"recipients\": 3, "
        "\"pending\": 1, \"deferred\": 1, \"held\": 1, \"bytes\": 150, \"by_age\": [2, 0, 0, 1, "
        "0, 0, 0, 0, 0, 0]},\n"
        " {\"connector\": \"\", \"domain\": \"nowhere.example\", \"messages\": 1, \"recipients\": "
        "1, \"pending\": 1, \"deferred\": 0, \"held\": 0, \"bytes\": 7, \"by_age\": [0, 0, 0, 0, "
        "0, 0, 0, 0, 0, 1]},\n"
        " {\"connector\": \"default\", \"domain\": \"y.example\", \"messages\": 1, \"recipients\": "
        "1, \"pending\": 1, \"deferred\": 0, \"held\": 0, \"bytes\": 100, \"by_age\": [1, 0, 0, "
        "0, 0, 0, 0, 0, 0, 0]}]}\n";
    EXPECT_EQ(shard0.format_json(), want_json);

    std::string text = shard0.format_text();
    EXPECT_EQ(text.substr(0, text.find('\n')),
              "connector        domain                       messages    rcpts  pending deferred "
              "    held    <5m   <10m   <20m   <40m   <80m  <160m  <320m  <640m <1280m 1280m+");
    EXPECT_NE(text.find("\nTOTAL                                                3        5        3 "
                        "       1        1      3      0      0      1      0      0      0      0"
                        "      0      1\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\n(no route)       nowhere.example"), std::string::npos) << text;
}

}  // namespace
}  // namespace ringmta::queue
