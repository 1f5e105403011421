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
