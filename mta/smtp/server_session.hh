// One inbound ESMTP session (RFC 5321 with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, CHUNKING, DSN,
// STARTTLS, ENHANCEDSTATUSCODES). It reads commands from the connection, answers in batches
// (all replies to one read go out in one write), hands finished messages to the spool and
// answers 250 only once the spool says the record is durable. Memory per session is bounded:
// one command line, one receive buffer of pipelined input, and the message being received
// (charged to the shared MemoryBudget).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mta/engine/connection.hh"
#include "mta/engine/shard.hh"
#include "mta/engine/spool_writer.hh"
#include "mta/smtp/bdat_reader.hh"
#include "mta/smtp/data_reader.hh"
#include "mta/smtp/received_header.hh"
#include "mta/smtp/server_context.hh"
#include "mta/tls/tls_stream.hh"
#include "queue/envelope.hh"

namespace ringmta::smtp {

class ServerSession final : public engine::ConnectionHandler {
public:
    ServerSession(engine::Connection& connection, ServerContext& context,
                  engine::AdmissionVerdict verdict);
    ~ServerSession() override;

    void on_receive(const char* data, size_t size) override;
    void on_tick(uint64_t now_ms) override;
    void on_shutdown() override;
    void on_closed() override;

private:
    enum class Mode : uint8_t { command, data, bdat, committing, closing };

    // Content sink that charges the memory budget as the message buffer grows.
    class BudgetSink final : public ContentSink {
    public:
        explicit BudgetSink(ServerSession& session) : session_(session) {}
        void write(const char* p, size_t n) override;

    private:
        ServerSession& session_;
    };

    void consume(const char* data, size_t size);
    size_t consume_command_bytes(const char* data, size_t size);
    size_t consume_content(const char* data, size_t size);
    void execute(std::string_view line);
    void cmd_helo(std::string_view arg, bool extended);
    void cmd_mail(std::string_view path, std::string_view params);
    void cmd_rcpt(std::string_view path, std::string_view params);
    void cmd_data();
    void cmd_bdat(uint64_t size_bytes, bool last);
    void cmd_starttls();
    void consume_empty_chunk();
    void content_finished(ContentOutcome outcome);
    void commit();
    static void on_durable(engine::SpoolAppend* append, bool durable);
    void after_commit(bool durable);
    void reset_transaction();
    void release_content();
    void reply(std::string_view text);
    void flush_replies();
    void count_error();
    void close_with(std::string_view text);
    void close_after_reply();  // close once the replies are out, or final_reply_timeout_s
    bool relay_allowed() const;
    bool starttls_offered() const;
    const config::LimitsConfig& limits() const { return config_->limits; }

    engine::Connection& connection_;
    ServerContext& context_;
    std::shared_ptr<const config::Config> config_;
    Mode mode_ = Mode::command;

    std::string line_;           // the command line being assembled (<= command_line_length_max)
    bool discarding_line_ = false;
    std::string pending_input_;  // input that arrived while the message was committing
    std::string replies_;        // plaintext replies to send with the next write
    uint64_t last_activity_ms_ = 0;
    uint32_t errors_ = 0;
    // For the disconnect line; only an admitted session logs connect and disconnect.
    bool admitted_ = false;
    uint32_t commands_ = 0;
    uint32_t messages_queued_ = 0;
    bool shutdown_requested_ = false;
    bool starttls_pending_ = false;  // replied 220 to STARTTLS; drop the rest of this read
    bool bdat_orphan_ = false;       // BDAT without a transaction: read the chunk, then 503

    // Session facts.
    std::string helo_name_;
    bool have_helo_ = false;
    bool extended_ = false;

    // TLS (after STARTTLS).
    std::unique_ptr<tls::TlsStream> tls_;
    std::string tls_plain_;

    // The transaction.
    bool have_mail_ = false;
    queue::Envelope envelope_;
    uint64_t declared_size_ = 0;
    bool used_bdat_ = false;
    std::string content_;
    uint64_t content_charged_ = 0;
    bool over_budget_ = false;
    BudgetSink sink_{*this};
    std::optional<DataReader> data_reader_;
    std::optional<BdatReader> bdat_reader_;
    std::string received_;
    engine::SpoolAppend append_;
    uint64_t commit_started_us_ = 0;
    uint32_t recipients_rejected_ = 0;
};

}  // namespace ringmta::smtp
