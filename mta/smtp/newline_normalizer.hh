// NewlineNormalizer: the core shared by the DATA and BDAT readers. It copies message content to
// a sink in runs, turns each stray CR or LF into CRLF and records the conditions (size, long
// line, NUL, bare newline) that the session reports once the content has ended.
// Invariant: the sink never receives a bare CR or LF. Once a condition makes the message fail,
// the sink receives nothing more; its content is then incomplete and must be discarded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringmta::smtp {

// relay.bare_newline: what a CR not followed by LF, or an LF not preceded by CR, does.
enum class BareNewline : uint8_t {
    normalize,  // it becomes CRLF in the content
    reject,     // the message is refused after its end: 550 5.6.0
};

struct ContentLimits {
    // Content octets as stored (after unstuffing and normalising), RFC 1870's measure. Never 0.
    uint64_t message_size_bytes_max = 26214400;
    // Octets in one line, CRLF excluded. RFC 5321 4.5.3.1.6 says 998 is what everyone must take;
    // we take much longer lines but not unbounded ones. Never 0.
    uint64_t line_length_bytes_max = 65536;
    BareNewline bare_newline = BareNewline::normalize;
};

// What the content amounted to, known when it has ended. When several conditions hold, the one
// listed first here is reported (so the answer never depends on how the bytes were chunked).
enum class ContentOutcome : uint8_t {
    ok,
    too_big,        // 552 5.3.4 Message size exceeds fixed limit          (RFC 1870, RFC 3463)
    bare_newline,   // 550 5.6.0 Message contains bare CR or LF            (policy reject only)
    nul,            // 554 5.6.0 Message contains NUL character            (RFC 6152: never in text)
    line_too_long,  // 500 5.5.2 Line too long                              (INTERFACE.md)
};

// The reply for an outcome, without CRLF; empty for ok.
std::string_view content_reply(ContentOutcome outcome);

// Where content goes. Called with runs of many lines at once, never with an empty run.
class ContentSink {
  public:
    virtual ~ContentSink() = default;
    virtual void write(const char* p, size_t n) = 0;
};

// Appends to a caller-owned string.
class StringSink final : public ContentSink {
  public:
    explicit StringSink(std::string* out) : out_(out) {}
    void write(const char* p, size_t n) override { out_->append(p, n); }

  private:
    std::string* out_;
};

class NewlineNormalizer {
  public:
    // binary: BODY=BINARYMIME over BDAT; bytes pass untouched and only the size is checked.
    NewlineNormalizer(ContentSink& sink, const ContentLimits& limits, bool binary);

    // Consumes content from p[0, n) and returns how much it consumed: n, or, when stop_at_dot
    // is set, the index of a "." that begins a CRLF-delimited line (not consumed).
    size_t copy(const char* p, size_t n, bool stop_at_dot);

    // After the caller consumed a line-initial "." itself: the line goes on.
    void continue_line() { at_line_start_ = false; }
    // As continue_line(), and a CR the caller consumed after the "." is pending.
    void continue_line_after_cr() {
        at_line_start_ = false;
        pending_cr_ = true;
    }

    // The content has ended without a terminator of its own (BDAT LAST): a pending CR is bare,
    // and text content that does not end with CRLF gets one, so stored content always ends with
    // CRLF or is empty.
    void finish();

    ContentOutcome outcome() const;
    bool failed() const { return conditions_ != 0; }
    uint64_t content_size() const { return size_; }

  private:
    void emit(const char* p, size_t n);
    void end_line(uint64_t length);
    void bare_newline();

    ContentSink& sink_;
    ContentLimits limits_;
    uint64_t size_ = 0;          // content octets so far, written or not
    uint64_t line_length_ = 0;   // octets of the current line copied in earlier calls
    uint8_t conditions_ = 0;     // bit (1 << ContentOutcome) per condition seen
    bool pending_cr_ = false;    // the last byte seen was a CR; its meaning depends on the next
    bool at_line_start_ = true;  // just after a real CRLF, or at the very start
    bool binary_;
};

}  // namespace ringmta::smtp
