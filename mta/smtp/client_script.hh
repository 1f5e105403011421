// Scripted dialogues for ClientProtocol, in the spirit of Postfix's golden .in/.ref files: a
// test (or the engine's tests) writes what the server says and what the client must write,
// byte for byte, and gets back every difference. Test support only: it lives in its own
// library (smtp_client_testing_dep) and never in the gateway binary.
//
// One directive per line:
//   S: text      the server sends "text\r\n" (consecutive S: lines arrive in one receive())
//   S~ text      the server sends text (\r \n \0 \\ escapes, no line end added) in a
//                receive() of its own
//   C: text      the client must have written "text\r\n" since the previous event
//   C~ text      as C:, with escapes and no line end added
//   !send [n]    send_message(messages[n]) (default: the next message in order)
//   !quit  !tls  !tlsfail  !timeout  !lost   quit(), tls_ready(), tls_failed(), timed_out(),
//                connection_lost()
//   = action     the last event returned read, start_tls, ready or close
//   W: wait      waiting_for() is this (wait_name)
//   R: i status [code [enhanced]]   results()[i] (recipient_status_name)
//   D: i text    results()[i].diagnostic is exactly text
//   F: kind [code [enhanced]]       failure() (failure_kind_name)
//   FD: text     failure().diagnostic is exactly text
//   T: n  X: n   transactions() and discarded_bytes()
// A line ending in "\" goes on with the next line, whose leading spaces are dropped. Lines
// that are empty or start with "#" are ignored. Every write is also checked for a bare
// CR or LF unless allow_bare_newlines (BINARYMIME content in BDAT).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mta/smtp/client_protocol.hh"

namespace ringmta::smtp::testing {

// Every difference, one per line: "line N: what: got X, want Y"; empty when all matched.
std::string run_client_script(ClientProtocol& protocol, std::span<const ClientMessage> messages,
                              std::string_view script, bool allow_bare_newlines = false);

// CR, LF and NUL spelled out, for messages.
std::string printable(std::string_view bytes);

// The ways a test feeds bytes: whole, split in two at every point, and one byte at a time.
std::vector<std::vector<std::string_view>> chunkings(std::string_view bytes);

// Whether bytes hold a CR not followed by LF or an LF not preceded by CR.
bool has_bare_newline(std::string_view bytes);

}  // namespace ringmta::smtp::testing
