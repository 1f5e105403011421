// Journal record codec and its application to the queue index.
#include <gtest/gtest.h>

#include "queue/journal_record.hh"
#include "queue/queue_index.hh"
#include "queue/record_format.hh"
#include "tests/queue/test_support.hh"

namespace ringmta::queue {
namespace {

std::vector<uint8_t> encoded_outcome(const OutcomeRecord& r) {
    std::vector<uint8_t> out(outcome_record_size(r));
    EXPECT_EQ(encode_outcome(r, out), out.size());
    return out;
}

TEST(JournalRecord, OutcomeRoundTrip) {
    const OutcomeRecord cases[] = {
        {1, 0, Outcome::delivered, 1, 0, "250 2.0.0 Ok: queued as 123"},
        {2, 7, Outcome::failed, 3, 0, "550 5.1.1 <x@y>: user unknown"},
        {3, 999, Outcome::deferred, 12, 1'700'000'060'000'000, "451 4.4.0 connect timeout"},
        {~uint64_t(0), 0, Outcome::deferred, 0, 0, ""},
        {4, 1, Outcome::failed, 1, 0, "554 5.0.0 bücher ünd ümlaute"},
    };
    for (const OutcomeRecord& want : cases) {
        std::vector<uint8_t> bytes = encoded_outcome(want);
        EXPECT_EQ(bytes.size() % 8, 0u);
        Frame f = read_frame(bytes);
        ASSERT_EQ(f.status, FrameStatus::ok) << "got " << frame_status_name(f.status);
        ASSERT_EQ(f.type, RecordType::outcome);
        auto got = decode_outcome(f.payload);
        ASSERT_TRUE(got.has_value()) << got.error().message;
        EXPECT_EQ(*got, want) << "got diagnostic \"" << got->diagnostic << "\"";
    }
}

OutcomeRecord with_attempt(OutcomeRecord r, uint64_t at_us, std::string status,
                           std::string connector, std::string relay, bool restated = false) {
    r.attempt_us = at_us;
    r.status = std::move(status);
    r.connector = std::move(connector);
    r.relay = std::move(relay);
    r.restated = restated;
    return r;
}

TEST(JournalRecord, OutcomeVersion2CarriesTheAttempt) {
    const OutcomeRecord cases[] = {
        with_attempt({5, 1, Outcome::deferred, 2, 1'700'000'600'000'000,
                      "host sink[127.0.0.1] said: 450 4.2.0 busy (in reply to RCPT TO command)"},
                     1'700'000'000'123'456, "4.2.0", "outbound", "sink[127.0.0.1]:2526"),
        with_attempt({6, 0, Outcome::failed, 1, 0, "no route"}, 1, "5.4.4", "", ""),
        with_attempt({7, 3, Outcome::deferred, 4, 9, "restated"}, 0, "", "", "", true),
        with_attempt({8, 0, Outcome::delivered, 1, 0, "250 ok"}, 2, "2.0.0",
                     std::string(255, 'c'), std::string(320, 'r')),
    };
    for (const OutcomeRecord& want : cases) {
        std::vector<uint8_t> bytes = encoded_outcome(want);
        Frame f = read_frame(bytes);
        ASSERT_EQ(f.status, FrameStatus::ok) << frame_status_name(f.status);
        EXPECT_EQ(f.version, 2);
        auto got = decode_outcome(f.payload, f.version);
        ASSERT_TRUE(got.has_value()) << got.error().message;
        EXPECT_EQ(*got, want) << "queue id " << want.queue_id;
    }
    // The documented layout: fixed part, then diagnostic, status, connector, relay.
    std::vector<uint8_t> bytes =
        encoded_outcome(with_attempt({0x11, 2, Outcome::deferred, 3, 0x44, "d"}, 0x55, "4.0.0",
                                     "cn", "r:1", true));
    auto p = read_frame(bytes).payload;
    std::vector<uint8_t> want_payload = {
        0x11, 0, 0, 0, 0, 0, 0, 0,  2, 0, 0, 0,  3, 1,  1, 0,  3, 0, 0, 0,  0, 0, 0, 0,
        0x44, 0, 0, 0, 0, 0, 0, 0,  0x55, 0, 0, 0, 0, 0, 0, 0,  5, 2,  3, 0,  0, 0, 0, 0,
        'd', '4', '.', '0', '.', '0', 'c', 'n', 'r', ':', '1'};
    EXPECT_EQ(std::vector<uint8_t>(p.begin(), p.end()), want_payload);
    // Longer than their maxima: cut, not refused.
    auto cut = decode_outcome(read_frame(encoded_outcome(with_attempt(
        {9, 0, Outcome::failed, 1, 0, ""}, 1, std::string(20, '5'), std::string(300, 'c'),
        std::string(400, 'r')))).payload);
    ASSERT_TRUE(cut.has_value());
    EXPECT_EQ(cut->status.size(), outcome_status_max);
    EXPECT_EQ(cut->connector.size(), outcome_connector_max);
    EXPECT_EQ(cut->relay.size(), outcome_relay_max);
}

// Spools written before version 2 keep reading; versions nobody wrote are damage.
TEST(JournalRecord, OutcomeVersion1StillReads) {
    OutcomeRecord old{0x42, 1, Outcome::deferred, 2, 1'700'000'600'000'000, "451 4.3.0 busy"};
    std::vector<uint8_t> bytes = test::outcome_v1_bytes(old);
    Frame f = read_frame(bytes);
    ASSERT_EQ(f.status, FrameStatus::ok) << frame_status_name(f.status);
    EXPECT_EQ(f.version, 1);
    auto got = decode_outcome(f.payload, f.version);
    ASSERT_TRUE(got.has_value()) << got.error().message;
    EXPECT_EQ(*got, old);
    EXPECT_FALSE(decode_outcome(f.payload, 2).has_value()) << "v1 payload read as v2";
    EXPECT_FALSE(decode_outcome(f.payload, 3).has_value()) << "version 3 accepted";

    // Version 3 of an outcome, version 2 of a hold: headers no writer produces.
    auto reversioned = [](std::vector<uint8_t> b, uint8_t version) {
        b[3] = version;
        uint32_t crc = base::crc32c(base::crc32c(0, b.data(), 8), b.data() + 16,
                                    b[4] | (b[5] << 8) | (b[6] << 16) | (uint32_t(b[7]) << 24));
        ByteWriter w{std::span<uint8_t>(b).subspan(8, 8)};
        w.u32(crc);
        w.u32(base::crc32c(0, b.data(), 12));
        return b;
    };
    EXPECT_EQ(read_frame(reversioned(bytes, 2)).status, FrameStatus::ok) << "test helper broken";
    EXPECT_EQ(read_frame(reversioned(bytes, 3)).status, FrameStatus::bad_header);
    EXPECT_EQ(read_frame(reversioned(bytes, 0)).status, FrameStatus::bad_header);
    std::vector<uint8_t> hold(hold_record_size);
    encode_hold({1, true}, hold);
    EXPECT_EQ(read_frame(hold).version, 1);
    EXPECT_EQ(read_frame(reversioned(hold, 2)).status, FrameStatus::bad_header);
}

TEST(JournalRecord, DiagnosticIsCutAtACharacterBoundary) {
    // 'ü' is two bytes; 399 ASCII bytes then 'ü' would split it at 400.
    OutcomeRecord r{1, 0, Outcome::failed, 1, 0, std::string(399, 'a') + "üüü"};
    std::vector<uint8_t> bytes = encoded_outcome(r);
    auto got = decode_outcome(read_frame(bytes).payload);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->diagnostic, std::string(399, 'a'))
        << "got " << got->diagnostic.size() << " bytes, want 399";
}

TEST(JournalRecord, RemovalRoundTrip) {
    for (auto reason :
         {RemovalReason::deleted, RemovalReason::all_final, RemovalReason::write_aborted}) {
        RemovalRecord want{0x1234, reason};
        std::vector<uint8_t> bytes(removal_record_size);
        EXPECT_EQ(encode_removal(want, bytes), removal_record_size);
        Frame f = read_frame(bytes);
        ASSERT_EQ(f.status, FrameStatus::ok);
        auto got = decode_removal(f.payload);
        ASSERT_TRUE(got.has_value());
        EXPECT_EQ(*got, want) << "reason " << int(reason);
    }
}

TEST(JournalRecord, HoldRoundTrip) {
    for (bool held : {true, false}) {
        HoldRecord want{0xABCDEF0102, held};
        std::vector<uint8_t> bytes(hold_record_size);
        EXPECT_EQ(encode_hold(want, bytes), hold_record_size);
        Frame f = read_frame(bytes);
        ASSERT_EQ(f.status, FrameStatus::ok);
        EXPECT_EQ(f.type, RecordType::hold);
        auto got = decode_hold(f.payload);
        ASSERT_TRUE(got.has_value());
        EXPECT_EQ(*got, want) << "held " << held;
        // The payload bytes are the documented layout: id, then the flag, then zeros.
        std::vector<uint8_t> want_payload = {0x02, 0x01, 0xEF, 0xCD, 0xAB, 0, 0, 0,
                                             uint8_t(held ? 1 : 0), 0, 0, 0, 0, 0, 0, 0};
        EXPECT_EQ(std::vector<uint8_t>(f.payload.begin(), f.payload.end()), want_payload);
    }
    std::vector<uint8_t> bad(16, 0);
    bad[8] = 2;
    EXPECT_FALSE(decode_hold(bad).has_value()) << "hold flag 2 accepted";
    EXPECT_FALSE(decode_hold(std::span(bad).first(15)).has_value()) << "short payload accepted";
}

TEST(JournalRecord, DecoderRejectsBadValues) {
    std::vector<uint8_t> bytes = encoded_outcome({1, 0, Outcome::delivered, 1, 0, "ok"});
    auto frame_payload = read_frame(bytes).payload;
    std::vector<uint8_t> payload(frame_payload.begin(), frame_payload.end());
    payload[12] = 9;  // outcome
    EXPECT_FALSE(decode_outcome(payload).has_value()) << "outcome 9 accepted";
    payload[12] = 1;
    payload[14] = 200;  // diagnostic size beyond the payload
    EXPECT_FALSE(decode_outcome(payload).has_value()) << "diagnostic size past end accepted";
    std::vector<uint8_t> removal(16, 0);
    removal[8] = 0;
    EXPECT_FALSE(decode_removal(removal).has_value()) << "removal reason 0 accepted";
}

// Journal application: a table of outcome sequences and the state they leave.
TEST(QueueIndex, ApplyJournal) {
    using A = QueueIndex::Applied;
    struct Step {
        OutcomeRecord outcome;
        A want;
    };
    struct Case {
        const char* label;
        std::vector<Step> steps;
        bool want_present;
        std::vector<RecipientState> want_states;
    };
    const std::vector<Case> cases = {
        {"nothing yet", {}, true, {RecipientState::pending, RecipientState::pending}},
        {"one delivered",
         {{{7, 0, Outcome::delivered, 1, 0, "250"}, A::updated}},
         true,
         {RecipientState::delivered, RecipientState::pending}},
        {"deferred then delivered",
         {{{7, 1, Outcome::deferred, 1, 5000, "451"}, A::updated},
          {{7, 1, Outcome::delivered, 2, 0, "250"}, A::updated}},
         true,
         {RecipientState::pending, RecipientState::delivered}},
        {"all final",
         {{{7, 0, Outcome::failed, 1, 0, "550"}, A::updated},
          {{7, 1, Outcome::delivered, 1, 0, "250"}, A::message_final}},
         false,
         {}},
        {"final is final",
         {{{7, 0, Outcome::delivered, 1, 0, "250"}, A::updated},
          {{7, 0, Outcome::deferred, 2, 9, "451"}, A::already_final}},
         true,
         {RecipientState::delivered, RecipientState::pending}},
        {"unknown id and recipient",
         {{{8, 0, Outcome::delivered, 1, 0, ""}, A::unknown_message},
          {{7, 2, Outcome::delivered, 1, 0, ""}, A::unknown_recipient}},
         true,
         {RecipientState::pending, RecipientState::pending}},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.label);
        QueueIndex index(10);
        index.segments().open(1);
        ASSERT_TRUE(index.insert(summarize(test::sample_envelope(7), 1, 0, 64, 10)).has_value());
        for (const Step& s : c.steps) {
            A got = index.apply(s.outcome);
            EXPECT_EQ(got, s.want) << "got " << int(got) << ", want " << int(s.want);
        }
        const QueuedMessage* m = index.find(7);
        ASSERT_EQ(m != nullptr, c.want_present);
        EXPECT_EQ(index.segments().live_count(1), c.want_present ? 1u : 0u);
        if (!m) continue;
        for (size_t i = 0; i < c.want_states.size(); ++i) {
            EXPECT_EQ(m->recipients[i].state, c.want_states[i])
                << "recipient " << i << ": got " << recipient_state_name(m->recipients[i].state)
                << ", want " << recipient_state_name(c.want_states[i]);
        }
    }
}

TEST(QueueIndex, DeferredKeepsNextAttemptAndDiagnostic) {
    QueueIndex index(10);
    index.segments().open(1);
    ASSERT_TRUE(index.insert(summarize(test::sample_envelope(7), 1, 0, 64, 10)).has_value());
    index.apply({7, 1, Outcome::deferred, 3, 123456, "451 4.7.1 greylisted"});
    const RecipientStatus& r = index.find(7)->recipients[1];
    EXPECT_EQ(r.attempts, 3u);
    EXPECT_EQ(r.next_attempt_us, 123456u);
    EXPECT_EQ(r.diagnostic, "451 4.7.1 greylisted");
}

TEST(QueueIndex, CapacityDuplicatesAndRemoval) {
    QueueIndex index(2);
    index.segments().open(1);
    index.segments().open(2);
    ASSERT_TRUE(index.insert(summarize(test::sample_envelope(1), 1, 0, 64, 1)).has_value());
    auto dup = index.insert(summarize(test::sample_envelope(1), 2, 0, 64, 1));
    ASSERT_FALSE(dup.has_value());
    EXPECT_EQ(dup.error().code, base::Errc::invalid);
    ASSERT_TRUE(index.insert(summarize(test::sample_envelope(2), 2, 0, 64, 1)).has_value());
    EXPECT_FALSE(index.has_room());
    auto full = index.insert(summarize(test::sample_envelope(3), 2, 64, 64, 1));
    ASSERT_FALSE(full.has_value());
    EXPECT_EQ(full.error().code, base::Errc::no_space);
    EXPECT_TRUE(index.remove(1));
    EXPECT_FALSE(index.remove(1));
    EXPECT_EQ(index.segments().live_count(1), 0u);
    EXPECT_EQ(index.segments().live_count(2), 1u);
    EXPECT_TRUE(index.has_room());
}

}  // namespace
}  // namespace ringmta::queue
