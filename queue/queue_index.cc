// In-memory queue index: insert, journal application, removal and listing selection.
#include "queue/queue_index.hh"

#include <algorithm>

namespace ringmta::queue {
namespace {

bool domain_equal(std::string_view address, std::string_view domain) {
    size_t at = address.rfind('@');
    std::string_view d = at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
    if (d.size() != domain.size()) return false;
    for (size_t i = 0; i < d.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(d[i]) != lower(domain[i])) return false;
    }
    return true;
}

}  // namespace

const char* recipient_state_name(RecipientState state) {
    switch (state) {
        case RecipientState::pending: return "pending";
        case RecipientState::deferred: return "deferred";
        case RecipientState::delivered: return "delivered";
        case RecipientState::failed: return "failed";
        case RecipientState::held: return "held";
    }
    return "?";
}

std::optional<RecipientState> parse_recipient_state(std::string_view name) {
    for (auto s : {RecipientState::pending, RecipientState::deferred, RecipientState::delivered,
                   RecipientState::failed, RecipientState::held}) {
        if (name == recipient_state_name(s)) return s;
    }
    return std::nullopt;
}

QueuedMessage summarize(const Envelope& envelope, uint64_t segment_seq, uint64_t offset,
                        uint64_t record_size, uint64_t content_size) {
    QueuedMessage m;
    m.queue_id = envelope.queue_id;
    m.segment_seq = segment_seq;
    m.offset = offset;
    m.record_size = record_size;
    m.arrival_us = envelope.arrival_us;
    m.size_bytes = content_size;
    m.sender = envelope.sender;
    m.recipients.reserve(envelope.recipients.size());
    for (const Recipient& r : envelope.recipients) {
        m.recipients.push_back(RecipientStatus{r.address, RecipientState::pending, 0, 0, {}});
    }
    m.open_recipients = uint32_t(m.recipients.size());
    return m;
}

QueueIndex::QueueIndex(size_t capacity_messages) : capacity_(capacity_messages) {
    messages_.reserve(capacity_messages < 65536 ? capacity_messages : 65536);
}

base::Result<void> QueueIndex::insert(QueuedMessage message) {
    if (messages_.count(message.queue_id)) {
        return base::make_error(base::Errc::invalid, "duplicate queue id");
    }
    if (!has_room()) return base::make_error(base::Errc::no_space, "queue index full");
    message.open_recipients = uint32_t(std::count_if(
        message.recipients.begin(), message.recipients.end(),
        [](const RecipientStatus& r) { return !is_final(r.state); }));
    if (message.open_recipients == 0) return {};
    segments_.add_message(message.segment_seq);
    uint64_t id = message.queue_id;
    messages_.emplace(id, std::move(message));
    return {};
}

QueueIndex::Applied QueueIndex::apply(const OutcomeRecord& outcome, std::string_view status) {
    auto it = messages_.find(outcome.queue_id);
    if (it == messages_.end()) return Applied::unknown_message;
    QueuedMessage& m = it->second;
    if (outcome.recipient_index >= m.recipients.size()) return Applied::unknown_recipient;
    RecipientStatus& r = m.recipients[outcome.recipient_index];
    if (is_final(r.state)) return Applied::already_final;
    r.attempts = outcome.attempts;
    r.diagnostic = outcome.diagnostic;
    r.status = status;
    switch (outcome.outcome) {
        case Outcome::deferred:
            r.state = RecipientState::deferred;
            r.next_attempt_us = outcome.next_attempt_us;
            return Applied::updated;
        case Outcome::delivered: r.state = RecipientState::delivered; break;
        case Outcome::failed: r.state = RecipientState::failed; break;
    }
    r.next_attempt_us = 0;
    if (--m.open_recipients > 0) return Applied::updated;
    erase(it);
    return Applied::message_final;
}

bool QueueIndex::remove(uint64_t queue_id) {
    auto it = messages_.find(queue_id);
    if (it == messages_.end()) return false;
    erase(it);
    return true;
}

bool QueueIndex::set_held(uint64_t queue_id, bool held) {
    auto it = messages_.find(queue_id);
    if (it == messages_.end()) return false;
    it->second.held = held;
    return true;
}

void QueueIndex::relocate(uint64_t queue_id, uint64_t segment_seq, uint64_t offset) {
    auto it = messages_.find(queue_id);
    MTA_ASSERT(it != messages_.end());
    segments_.release_message(it->second.segment_seq);
    segments_.add_message(segment_seq);
    it->second.segment_seq = segment_seq;
    it->second.offset = offset;
}

void QueueIndex::erase(std::unordered_map<uint64_t, QueuedMessage>::iterator it) {
    segments_.release_message(it->second.segment_seq);
    messages_.erase(it);
}

const QueuedMessage* QueueIndex::find(uint64_t queue_id) const {
    auto it = messages_.find(queue_id);
    return it == messages_.end() ? nullptr : &it->second;
}

void sort_by_queue_id(std::vector<const QueuedMessage*>& messages) {
    std::sort(messages.begin(), messages.end(), [](const QueuedMessage* a, const QueuedMessage* b) {
        return a->queue_id < b->queue_id;
    });
}

bool matches(const QueuedMessage& message, const ListFilter& filter) {
    if (!filter.state && filter.domain.empty()) return true;
    return std::any_of(message.recipients.begin(), message.recipients.end(),
                       [&](const RecipientStatus& r) {
                           return (!filter.state || shown_state(message, r) == *filter.state) &&
                                  (filter.domain.empty() || domain_equal(r.address, filter.domain));
                       });
}

std::vector<const QueuedMessage*> QueueIndex::select(const ListFilter& filter) const {
    std::vector<const QueuedMessage*> out;
    for (const auto& [id, m] : messages_) {
        if (matches(m, filter)) out.push_back(&m);
    }
    sort_by_queue_id(out);
    return out;
}

}  // namespace ringmta::queue
