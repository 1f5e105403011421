// `queue show` and `queue summary`: record reading and rendering (see queue_inspect.hh).
#include "queue/queue_inspect.hh"

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <optional>

#include "queue/message_record.hh"
#include "queue/queue_id.hh"
#include "queue/queue_listing.hh"
#include "queue/segment_planner.hh"

namespace ringmta::queue {
namespace {

const char* body_name(BodyType body) {
    switch (body) {
        case BodyType::seven_bit: return "7BIT";
        case BodyType::eight_bit_mime: return "8BITMIME";
        case BodyType::binary_mime: return "BINARYMIME";
    }
    return "?";
}

const char* ret_name(DsnRet ret) {
    switch (ret) {
        case DsnRet::none: return "";
        case DsnRet::full: return "FULL";
        case DsnRet::hdrs: return "HDRS";
    }
    return "";
}

// RFC 3461 NOTIFY= as written in RCPT TO ("" when the client did not say).
std::string notify_text(uint8_t notify) {
    if (notify == notify_unset) return "";
    if (notify & notify_never) return "NEVER";
    std::string out;
    const std::pair<uint8_t, const char*> names[] = {
        {notify_success, "SUCCESS"}, {notify_failure, "FAILURE"}, {notify_delay, "DELAY"}};
    for (const auto& [bit, name] : names) {
        if (!(notify & bit)) continue;
        if (!out.empty()) out += ',';
        out += name;
    }
    return out;
}

// The header section: everything before the first empty line (CRLF CRLF), capped.
std::string header_section(std::string_view content, bool* cut) {
    size_t end = content.find("\r\n\r\n");
    end = end == std::string_view::npos ? content.size() : end + 2;
    *cut = end > show_headers_max;
    return std::string(content.substr(0, std::min(end, show_headers_max)));
}

std::string lower_domain(std::string_view address) {
    size_t at = address.rfind('@');
    std::string d(at == std::string_view::npos ? std::string_view() : address.substr(at + 1));
    for (char& c : d) {
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    }
    return d;
}

const char* outcome_name(Outcome outcome) {
    switch (outcome) {
        case Outcome::delivered: return "delivered";
        case Outcome::failed: return "failed";
        case Outcome::deferred: return "deferred";
    }
    return "?";
}

// Reads a segment in windows, frame by frame, from `offset` on. Only journal records are read
// whole: a frame too long for the window is skipped by its length unless it is an outcome.
class JournalWalk {
public:
    JournalWalk(SpoolIo& io, std::string path, uint64_t offset)
        : io_(io), path_(std::move(path)), pos_(offset) {}

    // The next valid outcome record's frame, nullopt at the end; errors in *error.
    std::optional<Frame> next_outcome(std::string* error) {
        for (;;) {
            if (!fill(record_header_size, error)) return std::nullopt;
            Frame f = read_frame(std::span(window_).subspan(pos_ - window_at_));
            switch (f.status) {
                case FrameStatus::ok:
                    pos_ += f.record_size;
                    if (f.type == RecordType::outcome) return f;
                    continue;
                case FrameStatus::truncated:
                    if (at_eof_) return std::nullopt;  // a write still in flight, or torn
                    if (f.type != RecordType::outcome) {
                        pos_ += f.record_size;
                        continue;
                    }
                    if (!fill(f.record_size, error)) return std::nullopt;
                    continue;
                case FrameStatus::end: return std::nullopt;
                case FrameStatus::bad_crc: pos_ += f.record_size; continue;
                case FrameStatus::bad_header: pos_ += record_alignment; continue;  // resync
            }
        }
    }

private:
    static constexpr size_t window_size = 1 << 20;

    // Makes `want` bytes at pos_ readable in the window, or what the file has of them. False
    // when the file has nothing at pos_, or on an error.
    bool fill(uint64_t want, std::string* error) {
        uint64_t end = window_at_ + window_.size();
        if (pos_ + want <= end || (at_eof_ && pos_ < end)) return true;
        if (at_eof_) return false;
        size_t size = size_t(std::max<uint64_t>(window_size, want));
        auto bytes = io_.read_range(path_, pos_, size);
        if (!bytes) {
            *error = bytes.error().message;
            return false;
        }
        window_ = std::move(*bytes);
        window_at_ = pos_;
        at_eof_ = window_.size() < size;
        return !window_.empty();
    }

    SpoolIo& io_;
    std::string path_;
    uint64_t pos_;
    std::vector<uint8_t> window_;
    uint64_t window_at_ = 0;
    bool at_eof_ = false;
};

// `, "name": "value"` for each field, in order.
void append_string_fields(std::string& out,
                          std::initializer_list<std::pair<const char*, std::string_view>> fields) {
    for (const auto& [name, value] : fields) {
        out += ", \"";
        out += name;
        out += "\": ";
        append_json_string(out, value);
    }
}

// "history": [...], "history_left_out": N
void append_history_json(std::string& out, const AttemptHistory& h) {
    out += ", \"history\": [";
    for (size_t k = 0; k < h.attempts.size(); ++k) {
        const AttemptEntry& a = h.attempts[k];
        out += k ? ", {\"time\": " : "{\"time\": ";
        append_time_or_null(out, a.at_us);
        out += ", \"attempt\": " + std::to_string(a.attempt) + ", \"result\": \"";
        out += outcome_name(a.outcome);
        out += "\"";
        append_string_fields(out, {{"connector", a.connector}, {"relay", a.relay},
                                   {"dsn", a.status}, {"diagnostic", a.diagnostic}});
        out += "}";
    }
    out += "], \"history_left_out\": " + std::to_string(h.left_out);
}

// One line per attempt, in the words of the log's delivery lines (relay=, connector=, dsn=,
// status word and the reply or reason in parentheses).
void append_history_text(std::string& out, const AttemptHistory& h) {
    if (h.attempts.empty()) return;
    out += "      history (oldest first):\n";
    if (h.left_out > 0)
        out += "        ... " + std::to_string(h.left_out) + " earlier results not shown\n";
    for (const AttemptEntry& a : h.attempts) {
        out += "        " + (a.at_us ? format_rfc3339(a.at_us) : std::string("(time unknown)"));
        out += "  attempt " + std::to_string(a.attempt) + "  ";
        out += outcome_name(a.outcome);
        if (!a.connector.empty()) out += "  connector=" + printable(a.connector);
        out += "  relay=" + (a.relay.empty() ? std::string("none") : printable(a.relay));
        if (!a.status.empty()) out += "  dsn=" + printable(a.status);
        if (!a.diagnostic.empty()) out += "  (" + printable(a.diagnostic) + ")";
        out += '\n';
    }
}

}  // namespace

void load_attempt_history(SpoolIo& io, const std::string& shard_dir, MessageDetail& detail) {
    const QueuedMessage& e = detail.entry;
    detail.history.assign(e.recipients.size(), AttemptHistory{});
    auto entries = io.list(shard_dir);
    if (!entries) {
        detail.history_error = entries.error().message;
        return;
    }
    std::vector<uint64_t> seqs;
    for (const DirEntry& d : *entries) {
        auto seq = parse_segment_file_name(d.name);
        if (seq && !d.is_dir && *seq >= e.segment_seq) seqs.push_back(*seq);
    }
    std::sort(seqs.begin(), seqs.end());
    for (uint64_t seq : seqs) {
        uint64_t start = seq == e.segment_seq ? e.offset + e.record_size : 0;
        JournalWalk walk(io, segment_path(shard_dir, seq), start);
        std::string error;
        while (auto frame = walk.next_outcome(&error)) {
            auto rec = decode_outcome(frame->payload, frame->version);
            if (!rec || rec->queue_id != e.queue_id || rec->restated ||
                rec->recipient_index >= detail.history.size())
                continue;
            AttemptHistory& h = detail.history[rec->recipient_index];
            if (h.attempts.size() == show_attempts_max) {
                h.attempts.erase(h.attempts.begin());
                ++h.left_out;
            }
            h.attempts.push_back({rec->attempt_us, rec->attempts, rec->outcome,
                                  std::move(rec->status), std::move(rec->connector),
                                  std::move(rec->relay), std::move(rec->diagnostic)});
        }
        // E.g. the message went final meanwhile and its segments were deleted.
        if (!error.empty()) {
            detail.history_error = segment_file_name(seq) + ": " + error;
            return;
        }
    }
}

void load_message_record(SpoolIo& io, const std::string& shard_dir, MessageDetail& detail) {
    const QueuedMessage& e = detail.entry;
    auto bytes = io.read_range(segment_path(shard_dir, e.segment_seq), e.offset, e.record_size);
    if (!bytes) {
        detail.read_error = bytes.error().message;
        return;
    }
    auto decoded = decode_message_record(*bytes);
    if (!decoded) {
        detail.read_error = decoded.error().message;
        return;
    }
    if (decoded->envelope.queue_id != e.queue_id) {
        detail.read_error = "the record at its place belongs to another message";
        return;
    }
    detail.envelope = std::move(decoded->envelope);
    std::string_view content(reinterpret_cast<const char*>(decoded->content.data()),
                             decoded->content.size());
    detail.headers = header_section(content, &detail.headers_cut);
}

std::string format_show_json(const MessageDetail& d) {
    const QueuedMessage& m = d.entry;
    const Envelope& e = d.envelope;
    std::string out = "{\"id\": \"" + format_queue_id(m.queue_id) + "\", \"arrival\": ";
    append_json_string(out, format_rfc3339(m.arrival_us));
    out += ", \"size\": " + std::to_string(m.size_bytes);
    out += ", \"held\": ";
    out += m.held ? "true" : "false";
    out += ", \"sender\": ";
    append_json_string(out, m.sender);
    if (d.read_error.empty()) {
        out += ", \"envid\": ";
        append_json_string(out, e.envid);
        out += ", \"ret\": ";
        append_json_string(out, ret_name(e.ret));
        out += ", \"smtputf8\": ";
        out += e.smtputf8 ? "true" : "false";
        out += ", \"body\": ";
        append_json_string(out, body_name(e.body_type));
        out += ", \"client\": {\"ip\": ";
        append_json_string(out, e.client_ip);
        append_string_fields(out, {{"helo", e.helo_name}, {"tls_protocol", e.tls_protocol},
                                   {"tls_cipher", e.tls_cipher}});
        out += "}";
    } else {
        out += ", \"read_error\": ";
        append_json_string(out, d.read_error);
    }
    out += ", \"recipients\": [";
    for (size_t i = 0; i < m.recipients.size(); ++i) {
        const RecipientStatus& r = m.recipients[i];
        out += i ? ", {\"address\": " : "{\"address\": ";
        append_json_string(out, r.address);
        out += ", \"state\": \"";
        out += recipient_state_name(shown_state(m, r));
        out += "\", \"connector\": ";
        append_json_string(out, i < d.connectors.size() ? d.connectors[i] : std::string());
        out += ", \"attempts\": " + std::to_string(r.attempts) + ", \"next_attempt\": ";
        append_time_or_null(out, shown_state(m, r) == RecipientState::deferred ? r.next_attempt_us : 0);
        out += ", \"diagnostic\": ";
        append_json_string(out, r.diagnostic);
        if (d.read_error.empty() && i < e.recipients.size()) {
            out += ", \"notify\": ";
            append_json_string(out, notify_text(e.recipients[i].notify));
            out += ", \"orcpt\": ";
            append_json_string(out, e.recipients[i].orcpt);
        }
        if (i < d.history.size()) append_history_json(out, d.history[i]);
        out += "}";
    }
    out += "], \"headers\": ";
    append_json_string(out, d.headers);
    out += ", \"headers_cut\": ";
    out += d.headers_cut ? "true" : "false";
    if (!d.history_error.empty()) {
        out += ", \"history_error\": ";
        append_json_string(out, d.history_error);
    }
    out += "}\n";
    return out;
}

std::string format_show_text(const MessageDetail& d) {
    const QueuedMessage& m = d.entry;
    const Envelope& e = d.envelope;
    std::string out;
    auto field = [&out](const char* name, std::string_view value) {
        char label[24];
        std::snprintf(label, sizeof label, "%-14s", name);
        out += label;
        out += printable(value);
        out += '\n';
    };
    field("id:", format_queue_id(m.queue_id) + (m.held ? " (on hold)" : ""));
    field("arrival:", format_rfc3339(m.arrival_us));
    field("size:", std::to_string(m.size_bytes) + " bytes");
    field("sender:", m.sender.empty() ? "<>" : "<" + m.sender + ">");
    if (d.read_error.empty()) {
        std::string params = std::string("BODY=") + body_name(e.body_type);
        if (e.smtputf8) params += " SMTPUTF8";
        if (e.ret != DsnRet::none) params += std::string(" RET=") + ret_name(e.ret);
        if (!e.envid.empty()) params += " ENVID=" + e.envid;
        field("parameters:", params);
        std::string client = e.client_ip + " (HELO " + e.helo_name + ")";
        if (!e.tls_protocol.empty()) client += ", " + e.tls_protocol + " " + e.tls_cipher;
        field("client:", client);
    } else {
        field("record:", "unreadable: " + d.read_error);
    }
    out += "recipients:\n";
    for (size_t i = 0; i < m.recipients.size(); ++i) {
        const RecipientStatus& r = m.recipients[i];
        out += "  <" + printable(r.address) + ">  " + recipient_state_name(shown_state(m, r));
        std::string connector = i < d.connectors.size() ? d.connectors[i] : std::string();
        out += "  connector " + (connector.empty() ? std::string("(none)") : printable(connector));
        out += "  attempts " + std::to_string(r.attempts);
        if (shown_state(m, r) == RecipientState::deferred)
            out += "  next " + format_rfc3339(r.next_attempt_us);
        out += '\n';
        if (!r.diagnostic.empty()) out += "      last result: " + printable(r.diagnostic) + "\n";
        if (d.read_error.empty() && i < e.recipients.size()) {
            std::string notify = notify_text(e.recipients[i].notify);
            if (!notify.empty()) out += "      NOTIFY=" + notify + "\n";
            if (!e.recipients[i].orcpt.empty())
                out += "      ORCPT=" + printable(e.recipients[i].orcpt) + "\n";
        }
        if (i < d.history.size()) append_history_text(out, d.history[i]);
    }
    if (!d.history_error.empty()) field("history:", "unreadable: " + d.history_error);
    if (d.read_error.empty()) {
        out += "headers:\n";
        // Header lines as stored, without their CRLF; control characters made visible.
        size_t pos = 0;
        while (pos < d.headers.size()) {
            size_t eol = d.headers.find("\r\n", pos);
            if (eol == std::string::npos) eol = d.headers.size();
            out += "  " + printable(std::string_view(d.headers).substr(pos, eol - pos)) + "\n";
            pos = eol + 2;
        }
        if (d.headers_cut) out += "  ... (cut at " + std::to_string(show_headers_max) + " bytes)\n";
    }
    return out;
}

void SummaryCounts::add(const SummaryCounts& o) {
    messages += o.messages;
    recipients += o.recipients;
    pending += o.pending;
    deferred += o.deferred;
    held += o.held;
    bytes += o.bytes;
    for (size_t i = 0; i < by_age.size(); ++i) by_age[i] += o.by_age[i];
}

void QueueSummary::add_message(const QueuedMessage& m, const std::vector<std::string>& connectors,
                               uint64_t now_us) {
    uint64_t age_min = now_us > m.arrival_us ? (now_us - m.arrival_us) / 60'000'000 : 0;
    size_t bucket = 0;
    while (bucket < summary_age_bounds_min.size() && age_min >= summary_age_bounds_min[bucket])
        ++bucket;
    std::vector<SummaryCounts*> touched;
    for (size_t i = 0; i < m.recipients.size(); ++i) {
        const RecipientStatus& r = m.recipients[i];
        if (is_final(r.state)) continue;
        std::string connector = i < connectors.size() ? connectors[i] : std::string();
        SummaryCounts& row = rows_[{connector, lower_domain(r.address)}];
        for (SummaryCounts* c : {&row, &total_}) {
            ++c->recipients;
            switch (shown_state(m, r)) {
                case RecipientState::deferred: ++c->deferred; break;
                case RecipientState::held: ++c->held; break;
                default: ++c->pending; break;
            }
            ++c->by_age[bucket];
        }
        if (std::find(touched.begin(), touched.end(), &row) == touched.end()) touched.push_back(&row);
    }
    if (touched.empty()) return;
    touched.push_back(&total_);
    for (SummaryCounts* row : touched) {
        ++row->messages;
        row->bytes += m.size_bytes;
    }
}

void QueueSummary::merge(const QueueSummary& other) {
    for (const auto& [key, counts] : other.rows_) rows_[key].add(counts);
    total_.add(other.total_);
}

namespace {

using Row = std::pair<const std::pair<std::string, std::string>*, const SummaryCounts*>;

std::vector<Row> rows_by_size(const std::map<std::pair<std::string, std::string>, SummaryCounts>& rows) {
    std::vector<Row> out;
    for (const auto& [key, counts] : rows) out.push_back({&key, &counts});
    std::stable_sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
        return a.second->recipients > b.second->recipients;
    });
    return out;
}

}  // namespace

std::string QueueSummary::format_text() const {
    const SummaryCounts& total = total_;
    std::string out;
    char buf[64];
    auto line = [&](std::string_view connector, std::string_view domain, const SummaryCounts& c) {
        std::snprintf(buf, sizeof buf, "%-16.16s ", std::string(connector).c_str());
        out += buf;
        std::snprintf(buf, sizeof buf, "%-28.28s", std::string(domain).c_str());
        out += buf;
        const uint64_t fixed[] = {c.messages, c.recipients, c.pending, c.deferred, c.held};
        for (uint64_t v : fixed) {
            std::snprintf(buf, sizeof buf, " %8llu", (unsigned long long)v);
            out += buf;
        }
        for (uint64_t v : c.by_age) {
            std::snprintf(buf, sizeof buf, " %6llu", (unsigned long long)v);
            out += buf;
        }
        out += '\n';
    };
    std::snprintf(buf, sizeof buf, "%-16s %-28s", "connector", "domain");
    out += buf;
    for (const char* h : {"messages", "rcpts", "pending", "deferred", "held"}) {
        std::snprintf(buf, sizeof buf, " %8s", h);
        out += buf;
    }
    for (uint32_t bound : summary_age_bounds_min) {
        std::snprintf(buf, sizeof buf, " %6s", ("<" + std::to_string(bound) + "m").c_str());
        out += buf;
    }
    std::snprintf(buf, sizeof buf, " %6s\n",
                  (std::to_string(summary_age_bounds_min.back()) + "m+").c_str());
    out += buf;
    line("TOTAL", "", total);
    for (const auto& [key, counts] : rows_by_size(rows_))
        line(key->first.empty() ? "(no route)" : printable(key->first), printable(key->second),
             *counts);
    return out;
}

std::string QueueSummary::format_json() const {
    auto counts_json = [](std::string& out, const SummaryCounts& c) {
        out += "\"messages\": " + std::to_string(c.messages) +
               ", \"recipients\": " + std::to_string(c.recipients) +
               ", \"pending\": " + std::to_string(c.pending) +
               ", \"deferred\": " + std::to_string(c.deferred) +
               ", \"held\": " + std::to_string(c.held) + ", \"bytes\": " + std::to_string(c.bytes) +
               ", \"by_age\": [";
        for (size_t i = 0; i < c.by_age.size(); ++i)
            out += (i ? ", " : "") + std::to_string(c.by_age[i]);
        out += "]";
    };
    const SummaryCounts& total = total_;
    std::string out = "{\"age_bounds_minutes\": [";
    for (size_t i = 0; i < summary_age_bounds_min.size(); ++i)
        out += (i ? ", " : "") + std::to_string(summary_age_bounds_min[i]);
    out += "], \"total\": {";
    counts_json(out, total);
    out += "}, \"rows\": [";
    bool first = true;
    for (const auto& [key, counts] : rows_by_size(rows_)) {
        out += first ? "\n {\"connector\": " : ",\n {\"connector\": ";
        first = false;
        append_json_string(out, key->first);
        out += ", \"domain\": ";
        append_json_string(out, key->second);
        out += ", ";
        counts_json(out, *counts);
        out += "}";
    }
    out += "]}\n";
    return out;
}

}  // namespace ringmta::queue
