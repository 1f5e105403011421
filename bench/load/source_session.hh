// One source session: a client connection that sends messages one transaction after another,
// reconnecting when the server closes. Sends go out with sendmsg straight from the shared
// prepared bodies (no copy), replies are parsed only when no send is in flight, so a reply can
// never race the output it answers. Connection loss before the content went out retries the
// message on a new connection; after, the message counts as failed.
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "bench/load/source_worker.hh"
#include "mta/engine/completion.hh"
#include "mta/tls/tls_stream.hh"

namespace ringmta::bench {

class SourceSession {
  public:
    SourceSession(SourceWorker& worker, unsigned index);
    ~SourceSession();
    SourceSession(const SourceSession&) = delete;
    SourceSession& operator=(const SourceSession&) = delete;

    void start();
    // Called by the worker when the session's due time (rate, backoff) has come.
    void wake();
    // Called once a second: closes a session whose peer has been silent too long.
    void check_timeout(uint64_t now_ns);
    bool finished() const { return phase_ == Phase::finished; }
    bool send_pending() const { return send_.pending; }
    uint64_t due_ns() const { return due_ns_; }

  private:
    enum class Phase : uint8_t { idle, connecting, open, quitting, closing, finished };
    enum class Step : uint8_t {
        greeting,
        ehlo,
        starttls,
        mail,
        rcpt,
        data,
        content_end,
        rset,
        quit
    };
    struct Expected {
        Step step;
        uint32_t count;  // RCPT replies are one entry with a count
    };

    static void on_connect(engine::Completion* c, int result, uint32_t flags);
    static void on_send(engine::Completion* c, int result, uint32_t flags);
    static void on_recv(engine::Completion* c, int result, uint32_t flags);

    void connect();
    void arm_recv();
    void received(const char* data, size_t size);
    void parse_replies();
    void on_reply(int code);
    void note_capabilities(std::string_view line);

    void send_ehlo();
    void after_ehlo();
    void start_tls();
    // Builds the next envelope into `into`; false when no message is available now.
    bool build_envelope(std::string& into);
    void next_transaction();
    void add_content(bool with_terminator);
    void end_transaction(bool accepted);
    void send_quit();

    void expect(Step step, uint32_t count = 1);
    void submit_output();
    void send_iovecs();
    void send_tls_wire();

    void lose_connection();
    void begin_close();
    void maybe_finish_close();
    void after_close();

    SourceWorker& worker_;
    unsigned index_;
    Phase phase_ = Phase::idle;
    int fd_ = -1;
    engine::Completion connect_;
    engine::Completion send_;
    engine::Completion recv_;

    // Server capabilities from the last EHLO.
    bool cap_pipelining_ = false, cap_starttls_ = false, cap_chunking_ = false, cap_8bit_ = false;
    bool pipelining_ = false, bdat_ = false;
    std::string ehlo_text_;  // capability lines of the reply being read

    std::array<Expected, 16> expected_{};
    unsigned expected_head_ = 0, expected_size_ = 0;

    // The transaction in its envelope phase.
    bool have_message_ = false;
    uint64_t sequence_ = 0;
    uint64_t due_ns_ = 0;
    bool in_waiting_list_ = false;
    bool envelope_sent_ = false;
    bool transaction_failed_ = false;
    bool rset_needed_ = false;
    uint32_t rcpts_sent_ = 0, rcpts_ok_ = 0;
    // The message whose content went out and whose final reply is awaited.
    bool final_pending_ = false;
    bool final_stamp_pending_ = false;  // stamped when its send completes
    uint64_t final_sent_ns_ = 0;
    uint64_t final_bytes_ = 0;

    bool exhausted_ = false;  // no message left to claim
    uint32_t messages_on_connection_ = 0;
    uint64_t failing_since_ns_ = 0;  // first of consecutive connection failures, 0: none
    uint32_t failures_in_row_ = 0;
    uint64_t last_io_ns_ = 0;

    // Output: command text before the content, the content pieces, command text after.
    std::string pre_, post_;
    bool content_queued_ = false;
    bool content_terminator_ = false;
    const char* body_ = nullptr;
    size_t body_size_ = 0;
    std::array<char, 1024> header_{};
    size_t header_size_ = 0;
    std::array<iovec, 5> iov_{};
    unsigned iov_count_ = 0, iov_index_ = 0;
    msghdr msg_{};

    std::array<char, 16384> net_buffer_{};
    std::string replies_;  // plaintext replies not yet parsed
    size_t replies_pos_ = 0;

    std::optional<tls::TlsStream> tls_;  // engaged from STARTTLS to the close
    std::string tls_out_, tls_in_flight_;
    size_t tls_sent_ = 0;
    bool tls_handshaking_ = false;
};

}  // namespace ringmta::bench
