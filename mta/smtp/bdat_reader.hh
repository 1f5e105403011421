// BdatReader: the content of a BDAT (RFC 3030) transaction, chunk after chunk. The session
// announces each chunk's size; the reader consumes exactly that many bytes across any number of
// feed() calls, with no dot processing and the same bare CR/LF policy and limits as DATA.
// Invariant: a CRLF split between two chunks is a CRLF; a CR left pending at LAST is bare.
// Fails only as a ContentOutcome (see newline_normalizer.hh), readable after any chunk.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mta/smtp/data_reader.hh"
#include "mta/smtp/newline_normalizer.hh"

namespace ringmta::smtp {

class BdatReader {
  public:
    // binary: the transaction said BODY=BINARYMIME; content is stored byte for byte, only the
    // size limit applies, and no CRLF is added at the end.
    BdatReader(ContentSink& sink, const ContentLimits& limits, bool binary);

    // Starts the next chunk ("BDAT size [LAST]"). The previous chunk must be done, and no chunk
    // may follow a LAST one.
    void begin_chunk(uint64_t size_bytes, bool last);

    // Consumes at most what is left of the chunk from p[0, n). Returns need_more, chunk_done
    // (the chunk is consumed; reply 250 and wait for the next BDAT) or complete (the LAST chunk
    // is consumed and the content finalised). With nothing left in the chunk (BDAT 0 [LAST]) it
    // answers at once, consuming nothing; n may be 0 and p null then.
    FeedResult feed(const char* p, size_t n);

    bool in_chunk() const { return in_chunk_; }
    bool failed() const { return normalizer_.failed(); }
    ContentOutcome outcome() const { return normalizer_.outcome(); }
    uint64_t content_size() const { return normalizer_.content_size(); }

  private:
    NewlineNormalizer normalizer_;
    uint64_t remaining_bytes_ = 0;
    bool in_chunk_ = false;
    bool last_ = false;
};

}  // namespace ringmta::smtp
