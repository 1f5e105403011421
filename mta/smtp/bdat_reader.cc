// BdatReader: counts the announced chunk down and hands the bytes to NewlineNormalizer, whose
// pending-CR state carries a CRLF across chunk boundaries. At LAST, finish() decides the rest.
#include "mta/smtp/bdat_reader.hh"

#include <algorithm>

#include "mta/base/assert.hh"

namespace ringmta::smtp {

BdatReader::BdatReader(ContentSink& sink, const ContentLimits& limits, bool binary)
    : normalizer_(sink, limits, binary) {}

void BdatReader::begin_chunk(uint64_t size_bytes, bool last) {
    MTA_ASSERT(!in_chunk_ && !last_);
    remaining_bytes_ = size_bytes;
    last_ = last;
    in_chunk_ = true;
}

FeedResult BdatReader::feed(const char* p, size_t n) {
    MTA_ASSERT(in_chunk_);
    size_t take = size_t(std::min<uint64_t>(remaining_bytes_, n));
    if (take > 0) {
        size_t used = normalizer_.copy(p, take, /*stop_at_dot=*/false);
        MTA_ASSERT(used == take);
        remaining_bytes_ -= take;
    }
    if (remaining_bytes_ > 0) return {ContentStatus::need_more, take};
    in_chunk_ = false;
    if (!last_) return {ContentStatus::chunk_done, take};
    normalizer_.finish();
    return {ContentStatus::complete, take};
}

}  // namespace ringmta::smtp
