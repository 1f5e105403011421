// `ringmta queue list` output: JSON and text renderings of index entries, for the running
// instance (control socket) and the offline listing alike. Pure formatting; invalid UTF-8 in
// a remote diagnostic becomes U+FFFD so the JSON is always valid.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "queue/queue_index.hh"

namespace ringmta::queue {

// "2023-11-14T22:13:20Z" (seconds; the sub-second part is dropped).
std::string format_rfc3339(uint64_t wall_us);

// [{"id": "0005F3A1B2C3D401", "arrival": RFC 3339, "size": bytes, "sender": "" for <>,
//   "recipients": [{"address", "state", "next_attempt": RFC 3339 or null, "attempts",
//   "diagnostic"}]}]
std::string format_listing_json(std::span<const QueuedMessage* const> messages);

// One line per message (id, size, arrival, sender) then one indented line per recipient,
// then "-- N messages, M bytes".
std::string format_listing_text(std::span<const QueuedMessage* const> messages);

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);
// Appends format_rfc3339(wall_us) as a JSON string, or null for 0.
void append_time_or_null(std::string& out, uint64_t wall_us);
// Text listings are read on a terminal: control characters from remote replies become '?'
// (tabs stay: folded header lines start with one).
std::string printable(std::string_view s);

}  // namespace ringmta::queue
