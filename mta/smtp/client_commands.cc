// Command building: every line funnels through append_text, which asserts the CR/LF rule, so a
// corrupt envelope cannot smuggle a command to the next hop.
#include "mta/smtp/client_commands.hh"

#include "mta/base/assert.hh"

namespace ringmta::smtp {
namespace {

void append_text(std::string& out, std::string_view text) {
    MTA_ASSERT(text.find_first_of("\r\n", 0) == std::string_view::npos);
    out += text;
}

void append_notify(std::string& out, uint8_t notify) {
    out += " NOTIFY=";
    if (notify & queue::notify_never) {
        out += "NEVER";
        return;
    }
    const char* separator = "";
    for (auto [bit, name] :
         {std::pair{queue::notify_success, "SUCCESS"}, std::pair{queue::notify_failure, "FAILURE"},
          std::pair{queue::notify_delay, "DELAY"}}) {
        if (notify & bit) {
            out += separator;
            out += name;
            separator = ",";
        }
    }
}

}  // namespace

void append_command(std::string& out, std::string_view verb, std::string_view argument) {
    append_text(out, verb);
    if (!argument.empty()) {
        out += ' ';
        append_text(out, argument);
    }
    out += "\r\n";
}

void append_mail_from(std::string& out, const queue::Envelope& envelope,
                      const ServerCapabilities& caps, uint64_t size_bytes) {
    out += "MAIL FROM:<";
    append_text(out, envelope.sender);
    out += '>';
    if (caps.size) out += " SIZE=" + std::to_string(size_bytes);
    if (envelope.body_type == queue::BodyType::binary_mime) {
        out += " BODY=BINARYMIME";
    } else if (envelope.body_type == queue::BodyType::eight_bit_mime && caps.eight_bit_mime) {
        out += " BODY=8BITMIME";
    }
    if (envelope.smtputf8 && caps.smtputf8) out += " SMTPUTF8";
    if (caps.dsn) {
        if (envelope.ret == queue::DsnRet::full) out += " RET=FULL";
        if (envelope.ret == queue::DsnRet::hdrs) out += " RET=HDRS";
        if (!envelope.envid.empty()) {
            out += " ENVID=";
            append_text(out, envelope.envid);
        }
    }
    out += "\r\n";
}

void append_rcpt_to(std::string& out, const queue::Recipient& recipient, bool dsn) {
    out += "RCPT TO:<";
    append_text(out, recipient.address);
    out += '>';
    if (dsn && recipient.notify != queue::notify_unset) append_notify(out, recipient.notify);
    if (dsn && !recipient.orcpt.empty()) {
        out += " ORCPT=";
        append_text(out, recipient.orcpt);
    }
    out += "\r\n";
}

std::string peer_label(std::string_view host_name, std::string_view host_address) {
    std::string out(host_name);
    out += '[';
    out += host_address;
    out += ']';
    return out;
}

std::string diagnostic_said(std::string_view peer, const ClientReply& reply,
                            std::string_view what) {
    std::string out = "host ";
    out += peer;
    out += " said: ";
    out += reply.summary();
    out += " (in reply to ";
    out += what;
    out += ')';
    return out;
}

}  // namespace ringmta::smtp
