// One connection of the sink's SMTP server. Input arrives in provided buffers and is parsed in
// place (a partial command line is the only thing copied); replies collect in `out_` and go out
// in one send per batch of input, so a pipelined group is answered with one write. Failure
// injection (4xx/5xx, drops, per-connection limits) is decided here. Objects are pooled: a
// generation number tells a stale delayed flush from a live one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bench/load/data_scanner.hh"
#include "bench/load/sink_worker.hh"
#include "mta/engine/completion.hh"
#include "mta/tls/tls_stream.hh"

namespace ringmta::bench {

class SinkConnection {
  public:
    explicit SinkConnection(SinkWorker& worker);
    ~SinkConnection();
    SinkConnection(const SinkConnection&) = delete;
    SinkConnection& operator=(const SinkConnection&) = delete;

    void open(int fd);
    // The delayed flush of `generation` is due (stale ones are ignored).
    void delayed_flush_due(uint64_t generation);
    void arm_recv();
    void begin_close();
    bool is_open() const { return fd_ >= 0; }

  private:
    enum class Mode : uint8_t { command, data, bdat, closing };

    static void on_recv(engine::Completion* c, int result, uint32_t flags);
    static void on_send(engine::Completion* c, int result, uint32_t flags);

    void received(const char* data, size_t size);
    void consume(const char* data, size_t size);
    void command(std::string_view line);
    void start_message();
    void bdat_chunk_done();
    void content(const char* data, size_t size);
    void end_of_message();
    void reset_transaction();
    void reply(std::string_view text);
    void reply_error(int code, std::string_view text);
    void store_message();

    void flush();
    void send_now();
    void maybe_finish_close();

    SinkWorker& worker_;
    int fd_ = -1;
    uint64_t generation_ = 0;
    engine::Completion recv_;
    engine::Completion send_;
    Mode mode_ = Mode::command;
    bool close_after_send_ = false;
    bool in_delay_ = false;
    bool discard_rest_ = false;  // input after STARTTLS in the same read

    std::string line_;  // a command line split across reads
    std::string out_;   // replies not yet handed to the kernel
    std::string in_flight_;
    size_t sent_ = 0;
    std::string own_buffer_;  // receive buffer when the kernel has no buffer rings

    std::optional<tls::TlsStream> tls_;
    std::string tls_plain_;
    std::string tls_wire_;  // ciphertext (or the plaintext before STARTTLS) to send

    bool mail_ = false;
    uint32_t rcpts_ = 0;
    uint64_t messages_ = 0;
    DataScanner scanner_;
    uint64_t bdat_left_ = 0;
    bool bdat_last_ = false;
    bool bdat_refused_ = false;
    bool bdat_message_ = false;  // a BDAT message has started
    uint64_t message_bytes_ = 0;
    std::string message_;  // kept only with --store; capacity reused
    // The start of each message, enough to find X-Bench-Sent behind the trace headers that
    // relays in between prepend (a Received header is 200-400 bytes).
    char head_[2048] = {};
    size_t head_size_ = 0;
};

}  // namespace ringmta::bench
