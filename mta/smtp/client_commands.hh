// Command lines the outbound client writes (MAIL FROM with RFC 1870/6152/6531/3030/3461
// parameters, RCPT TO with NOTIFY/ORCPT, the fixed verbs) and the Postfix-style diagnostic
// strings its results carry. Invariant: every appended command ends in CRLF and holds no other
// CR or LF; envelope text that would break this is a bug upstream (the server parsers refuse
// it) and asserts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mta/smtp/client_capabilities.hh"
#include "mta/smtp/client_reply.hh"
#include "queue/envelope.hh"

namespace ringmta::smtp {

// "VERB\r\n" or "VERB argument\r\n".
void append_command(std::string& out, std::string_view verb, std::string_view argument = {});

// "MAIL FROM:<sender>" then, in this order and only when caps offers the extension: SIZE=n,
// BODY=8BITMIME (8bitmime message) or BODY=BINARYMIME (binarymime message; the caller checked
// CHUNKING and BINARYMIME), SMTPUTF8 (the envelope asked for it), RET= and ENVID= (DSN).
void append_mail_from(std::string& out, const queue::Envelope& envelope,
                      const ServerCapabilities& caps, uint64_t size_bytes);

// "RCPT TO:<address>" then NOTIFY= and ORCPT= when dsn (the server offers DSN) and the
// recipient has them. ORCPT is relayed as received ("rfc822;" xtext).
void append_rcpt_to(std::string& out, const queue::Recipient& recipient, bool dsn);

// The peer as Postfix names it in logs: "mx.example.com[192.0.2.1]", or "[192.0.2.1]" alone
// when there is no name.
std::string peer_label(std::string_view host_name, std::string_view host_address);

// "host PEER said: SUMMARY (in reply to WHAT)", what being e.g. "RCPT TO command".
std::string diagnostic_said(std::string_view peer, const ClientReply& reply, std::string_view what);

}  // namespace ringmta::smtp
