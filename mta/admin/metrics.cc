// Renders a MetricsSnapshot as Prometheus text. Names follow the Prometheus conventions (base
// units, counters end in _total); label values are escaped; histogram buckets are cumulative and
// end with le="+Inf", whose count equals _count. Floats use the shortest round-trip form in
// fixed notation ("0.0005", not "5e-04").
#include "mta/admin/metrics.hh"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

namespace ringmta::admin {

const char* reject_reason_name(RejectReason reason) {
    switch (reason) {
        case RejectReason::relay_denied:
            return "relay_denied";
        case RejectReason::size:
            return "size";
        case RejectReason::recipients:
            return "recipients";
        case RejectReason::bare_newline:
            return "bare_newline";
        case RejectReason::line_length:
            return "line_length";
        case RejectReason::policy:
            return "policy";
        case RejectReason::storage:
            return "storage";
        case RejectReason::other:
            return "other";
    }
    MTA_UNREACHABLE();
}

void ShardMetrics::add(const ShardMetrics& o) {
    connections_open += o.connections_open;
    connections_accepted += o.connections_accepted;
    messages_accepted += o.messages_accepted;
    bytes_accepted += o.bytes_accepted;
    for (size_t i = 0; i < kRejectReasonCount; ++i) messages_rejected[i] += o.messages_rejected[i];
    recipients_delivered += o.recipients_delivered;
    recipients_deferred += o.recipients_deferred;
    recipients_bounced += o.recipients_bounced;
    dsn_sent += o.dsn_sent;
    queue_messages += o.queue_messages;
    for (const QueueDepth& d : o.queue_depth) {
        auto same = [&](const QueueDepth& x) {
            return x.connector == d.connector && x.state == d.state;
        };
        auto it = std::find_if(queue_depth.begin(), queue_depth.end(), same);
        if (it == queue_depth.end())
            queue_depth.push_back(d);
        else
            it->recipients += d.recipients;
    }
    spool_commits += o.spool_commits;
    spool_messages_committed += o.spool_messages_committed;
    spool_bytes_written += o.spool_bytes_written;
    spool_commit_failures += o.spool_commit_failures;
    spool_bytes += o.spool_bytes;
    pool_connections_open += o.pool_connections_open;
    pool_connections_idle += o.pool_connections_idle;
    pool_connections_opened += o.pool_connections_opened;
    pool_connections_reused += o.pool_connections_reused;
    dns_lookups += o.dns_lookups;
    dns_cache_hits += o.dns_cache_hits;
    accept_latency_us.merge(o.accept_latency_us);
    delivery_latency_us.merge(o.delivery_latency_us);
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string escape_help(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

namespace {

std::string format_double(double v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    return std::string(buf, r.ptr);
}

// Appends families in order; each family is HELP, TYPE, then its samples.
class Exposition {
  public:
    void family(const char* name, const char* type, std::string_view help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += escape_help(help);
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    // `labels` is already rendered: `a="x",b="y"` or empty.
    void sample(std::string_view name, std::string_view labels, std::string_view value) {
        out_ += name;
        if (!labels.empty()) {
            out_ += '{';
            out_ += labels;
            out_ += '}';
        }
        out_ += ' ';
        out_ += value;
        out_ += '\n';
    }
    void sample(std::string_view name, std::string_view labels, uint64_t value) {
        sample(name, labels, std::to_string(value));
    }
    void single(const char* name, const char* type, std::string_view help, uint64_t value) {
        family(name, type, help);
        sample(name, "", value);
    }
    // Buckets, sum and count; observations are scaled by 1/divisor into the base unit.
    void histogram(const char* name, std::string_view help, const MetricsHistogram& h,
                   double divisor) {
        family(name, "histogram", help);
        std::string base = name;
        uint64_t cumulative = 0;
        std::span<const uint64_t> bounds = h.bounds();
        for (size_t i = 0; i <= bounds.size(); ++i) {
            cumulative += h.bucket(i);
            std::string le = i < bounds.size() ? format_double(double(bounds[i]) / divisor)
                                               : std::string("+Inf");
            sample(base + "_bucket", "le=\"" + le + "\"", cumulative);
        }
        sample(base + "_sum", "", format_double(double(h.sum()) / divisor));
        sample(base + "_count", "", h.count());
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

// A series with no labels, read from one ShardMetrics field.
struct Scalar {
    const char* name;
    const char* type;
    const char* help;
    uint64_t ShardMetrics::*field;
};

constexpr Scalar kInbound[] = {
    {"ringmta_connections_open", "gauge", "Inbound SMTP connections open now.",
     &ShardMetrics::connections_open},
    {"ringmta_connections_accepted_total", "counter", "Inbound SMTP connections accepted.",
     &ShardMetrics::connections_accepted},
    {"ringmta_messages_accepted_total", "counter",
     "Messages accepted: durable in the spool and answered 250.", &ShardMetrics::messages_accepted},
    {"ringmta_accepted_bytes_total", "counter", "Bytes of accepted messages as spooled.",
     &ShardMetrics::bytes_accepted},
};

constexpr Scalar kDelivery[] = {
    {"ringmta_recipients_delivered_total", "counter",
     "Recipients delivered to a smart host or MX (remote 250).",
     &ShardMetrics::recipients_delivered},
    {"ringmta_recipients_deferred_total", "counter",
     "Recipient delivery attempts that failed temporarily and will be retried.",
     &ShardMetrics::recipients_deferred},
    {"ringmta_recipients_bounced_total", "counter",
     "Recipients that failed for good (5xx, expired or unroutable).",
     &ShardMetrics::recipients_bounced},
    {"ringmta_dsn_sent_total", "counter", "Non-delivery notifications generated.",
     &ShardMetrics::dsn_sent},
    {"ringmta_queue_messages", "gauge", "Messages in the queue with recipients not final.",
     &ShardMetrics::queue_messages},
};

constexpr Scalar kSpoolPoolsDns[] = {
    {"ringmta_spool_commits_total", "counter", "Spool group commits (one fdatasync each).",
     &ShardMetrics::spool_commits},
    {"ringmta_spool_committed_messages_total", "counter",
     "Messages made durable by spool group commits.", &ShardMetrics::spool_messages_committed},
    {"ringmta_spool_written_bytes_total", "counter", "Bytes written to spool segments.",
     &ShardMetrics::spool_bytes_written},
    {"ringmta_spool_commit_failures_total", "counter",
     "Spool batches whose write or fdatasync failed.", &ShardMetrics::spool_commit_failures},
    {"ringmta_spool_bytes", "gauge",
     "Bytes of spool segment files on disk now (their size, preallocation included).",
     &ShardMetrics::spool_bytes},
    {"ringmta_pool_connections_open", "gauge",
     "Outbound SMTP connections open in the delivery pools.", &ShardMetrics::pool_connections_open},
    {"ringmta_pool_connections_idle", "gauge",
     "Outbound SMTP connections idle in the delivery pools.", &ShardMetrics::pool_connections_idle},
    {"ringmta_pool_connections_opened_total", "counter", "Outbound SMTP connections opened.",
     &ShardMetrics::pool_connections_opened},
    {"ringmta_pool_connections_reused_total", "counter",
     "Transactions started on an already used outbound connection.",
     &ShardMetrics::pool_connections_reused},
    {"ringmta_dns_lookups_total", "counter", "DNS lookups sent to a resolver.",
     &ShardMetrics::dns_lookups},
    {"ringmta_dns_cache_hits_total", "counter", "DNS lookups answered from the cache.",
     &ShardMetrics::dns_cache_hits},
};

void format_scalars(Exposition& e, const ShardMetrics& t, std::span<const Scalar> scalars) {
    for (const Scalar& s : scalars) e.single(s.name, s.type, s.help, t.*s.field);
}

void format_rejected(Exposition& e, const ShardMetrics& t) {
    e.family("ringmta_messages_rejected_total", "counter",
             "Messages refused after MAIL, by reason.");
    for (size_t i = 0; i < kRejectReasonCount; ++i) {
        std::string labels = "reason=\"";
        labels += reject_reason_name(RejectReason(i));
        labels += '"';
        e.sample("ringmta_messages_rejected_total", labels, t.messages_rejected[i]);
    }
}

// Sorted by (connector, state) so the output does not depend on the shards' order. Every
// connector configured or counted gets every state, so each series exists from the start.
void format_queue_depth(Exposition& e, const MetricsSnapshot& s) {
    e.family("ringmta_queue_recipients", "gauge",
             "Recipients not final, by connector and state (ready, deferred, in_flight).");
    std::map<std::pair<std::string, std::string>, uint64_t> rows;
    std::vector<std::string> connectors = s.connectors;
    for (const QueueDepth& d : s.totals.queue_depth) {
        rows[{d.connector, d.state}] += d.recipients;
        connectors.push_back(d.connector);
    }
    for (const std::string& c : connectors)
        for (const char* state : kQueueDepthStates) rows[{c, state}] += 0;
    for (const auto& [key, n] : rows) {
        e.sample("ringmta_queue_recipients",
                 "connector=\"" + escape_label_value(key.first) + "\",state=\"" +
                     escape_label_value(key.second) + "\"",
                 n);
    }
}

}  // namespace

std::string format_prometheus(const MetricsSnapshot& s) {
    Exposition e;
    e.family("ringmta_build_info", "gauge", "Always 1; the version is a label.");
    e.sample("ringmta_build_info", "version=\"" + escape_label_value(s.version) + "\"", 1);
    e.single("ringmta_shards", "gauge", "Shards (threads with their own io_uring) configured.",
             s.shards);
    e.single("ringmta_shards_running", "gauge", "Shards running and not stopping.",
             s.shards_running);
    e.single("ringmta_route_table_generation", "gauge",
             "Generation of the route table in force (grows on each reload).",
             s.route_table_generation);
    e.single("ringmta_memory_buffered_bytes", "gauge",
             "Message content held in memory by inbound sessions.", s.memory_buffered_bytes);
    format_scalars(e, s.totals, kInbound);
    format_rejected(e, s.totals);
    format_scalars(e, s.totals, kDelivery);
    format_queue_depth(e, s);
    format_scalars(e, s.totals, kSpoolPoolsDns);
    e.histogram("ringmta_accept_latency_seconds",
                "End of DATA to the 250 reply (the spool commit included).",
                s.totals.accept_latency_us, 1e6);
    e.histogram("ringmta_delivery_latency_seconds",
                "Arrival to remote 250, per delivered recipient.", s.totals.delivery_latency_us,
                1e6);
    return e.take();
}

}  // namespace ringmta::admin
