// ClientProtocol's message transaction: MAIL, RCPTs, then DATA with dot-stuffed content or BDAT
// chunks, each recipient's fate settled by the reply that decides it. With PIPELINING, RSET
// (when owed), MAIL, every RCPT and DATA leave in one write and the replies are matched in
// order; BDAT waits for the RCPT replies so no content is sent for a message nobody takes.
#include "mta/smtp/client_transaction.hh"

#include <algorithm>

#include "mta/base/assert.hh"
#include "mta/smtp/client_commands.hh"
#include "mta/smtp/client_dot_stuffer.hh"
#include "mta/smtp/client_protocol.hh"

namespace ringmta::smtp {
namespace {

// Whether the concatenated pieces end in CRLF (the CRLF may straddle pieces).
bool ends_with_crlf(const std::vector<std::string_view>& pieces) {
    char tail[2] = {0, 0};
    size_t have = 0;
    for (auto it = pieces.rbegin(); it != pieces.rend() && have < 2; ++it) {
        for (size_t i = it->size(); i > 0 && have < 2; --i) tail[1 - have++] = (*it)[i - 1];
    }
    return have == 2 && tail[0] == '\r' && tail[1] == '\n';
}

bool has_8bit(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return uint8_t(c) >= 0x80; });
}

}  // namespace

bool smtputf8_needed(const queue::Envelope& envelope, std::span<const uint32_t> recipients,
                     std::span<const std::string_view> content) {
    if (has_8bit(envelope.sender)) return true;
    for (uint32_t index : recipients)
        if (has_8bit(envelope.recipients[index].address)) return true;
    // The header section ends at the first empty line (stored content is CRLF-clean). The
    // state carries across pieces, so a line split between pieces is still seen whole.
    bool line_start = true, empty_line_cr = false;
    for (std::string_view piece : content) {
        for (char c : piece) {
            if (uint8_t(c) >= 0x80) return true;
            if (empty_line_cr && c == '\n') return false;
            empty_line_cr = line_start && c == '\r';
            line_start = c == '\n';
        }
    }
    return false;
}

const char* recipient_status_name(RecipientStatus status) {
    static constexpr const char* names[] = {"pending", "accepted", "delivered", "deferred",
                                            "failed"};
    return names[size_t(status)];
}

ClientAction ClientProtocol::send_message(const ClientMessage& message, std::string& out) {
    MTA_ASSERT(phase_ == Phase::idle);
    MTA_ASSERT(message.envelope != nullptr && !message.recipients.empty());
    envelope_ = message.envelope;
    content_.assign(message.content.begin(), message.content.end());
    content_bytes_ = 0;
    for (std::string_view piece : content_) content_bytes_ += piece.size();
    results_.clear();
    for (uint32_t index : message.recipients) {
        MTA_ASSERT(index < envelope_->recipients.size());
        results_.push_back(RecipientResult{.recipient = index});
    }
    mail_ok_ = false;
    txn_error_ = false;
    rcpts_answered_ = 0;
    accepted_ = 0;
    bdat_sent_bytes_ = 0;

    bool binary = envelope_->body_type == queue::BodyType::binary_mime;
    // RFC 6531 3.4: only a message that needs SMTPUTF8 (non-ASCII addresses or header section)
    // bounces; one that merely asked for it goes without the parameter, as Postfix does.
    if (envelope_->smtputf8 && !caps_.smtputf8 &&
        smtputf8_needed(*envelope_, message.recipients, content_)) {
        return refuse_message("5.6.7", "SMTPUTF8 not supported by next hop: host " + peer_ +
                                           " does not offer SMTPUTF8");
    }
    // RFC 3030 3: BINARYMIME content goes only in BDAT to a server offering both; downgrading
    // it to 7bit is a gateway's job, not a relay's.
    if (binary && !(caps_.chunking && caps_.binary_mime)) {
        return refuse_message("5.6.3", "BINARYMIME content cannot be relayed: host " + peer_ +
                                           " does not offer CHUNKING and BINARYMIME");
    }
    if (caps_.size && caps_.size_bytes_max != 0 && content_bytes_ > caps_.size_bytes_max) {
        return refuse_message(
            "5.3.4", "message size " + std::to_string(content_bytes_) + " exceeds size limit " +
                         std::to_string(caps_.size_bytes_max) + " of server " + peer_);
    }
    MTA_ASSERT(binary || content_bytes_ == 0 || ends_with_crlf(content_));
    use_bdat_ = caps_.chunking && (config_.chunking || binary);
    pipelined_ = caps_.pipelining && config_.pipelining;
    phase_ = Phase::transaction;
    if (need_rset_) {
        append_command(out, "RSET");
        expect(Step::rset);
        need_rset_ = false;
        if (!pipelined_) return ClientAction::read;
    }
    return send_mail(out);
}

ClientAction ClientProtocol::refuse_message(const char* enhanced, std::string diagnostic) {
    for (RecipientResult& r : results_) {
        r.status = RecipientStatus::failed;
        r.enhanced = enhanced;
        r.diagnostic = diagnostic;
    }
    return ClientAction::ready;
}

ClientAction ClientProtocol::send_mail(std::string& out) {
    append_mail_from(out, *envelope_, caps_, content_bytes_);
    expect(Step::mail);
    ++transactions_;
    if (pipelined_) {
        for (uint32_t slot = 0; slot < results_.size(); ++slot) send_rcpt(out, slot);
        if (!use_bdat_) {
            append_command(out, "DATA");
            expect(Step::data);
        }
    }
    return ClientAction::read;
}

void ClientProtocol::send_rcpt(std::string& out, uint32_t slot) {
    append_rcpt_to(out, envelope_->recipients[results_[slot].recipient], caps_.dsn);
    expect(Step::rcpt, slot);
}

char ClientProtocol::content_at(uint64_t offset) const {
    for (std::string_view piece : content_) {
        if (offset < piece.size()) return piece[offset];
        offset -= piece.size();
    }
    MTA_UNREACHABLE();
}

// Frames the next chunk of content; returns whether it was the last.
bool ClientProtocol::send_bdat_chunk(std::string& out) {
    uint64_t remaining = content_bytes_ - bdat_sent_bytes_;
    uint64_t size = std::min<uint64_t>(config_.bdat_chunk_bytes, remaining);
    // A chunk never ends between CR and LF: it takes the LF too, so even the framed byte
    // stream holds no bare CR or LF.
    if (size < remaining && content_at(bdat_sent_bytes_ + size - 1) == '\r' &&
        content_at(bdat_sent_bytes_ + size) == '\n') {
        ++size;
    }
    bool last = size == remaining;
    out += "BDAT " + std::to_string(size) + (last ? " LAST\r\n" : "\r\n");
    uint64_t skip = bdat_sent_bytes_;
    uint64_t left = size;
    for (std::string_view piece : content_) {
        if (left == 0) break;
        if (skip >= piece.size()) {
            skip -= piece.size();
            continue;
        }
        std::string_view part = piece.substr(skip, left);
        out += part;
        left -= part.size();
        skip = 0;
    }
    bdat_sent_bytes_ += size;
    expect(last ? Step::bdat_last : Step::bdat);
    return last;
}

// Gives a recipient the fate the reply decides, worded as Postfix does.
void ClientProtocol::settle_one(RecipientResult& r, const ClientReply& reply, Step step) {
    int reply_class = reply.code / 100;
    RecipientStatus to = reply_class == 2   ? RecipientStatus::delivered
                         : reply_class == 4 ? RecipientStatus::deferred
                                            : RecipientStatus::failed;
    r.status = to;
    r.code = reply.code;
    r.enhanced = reply.enhanced_or_default();
    // Postfix logs a delivery as status=sent (250 2.0.0 Ok: queued as ...).
    r.diagnostic = to == RecipientStatus::delivered ? reply.summary()
                                                    : diagnostic_said(peer_, reply, reply_to(step));
}

void ClientProtocol::settle(RecipientStatus from, const ClientReply& reply, Step step) {
    for (RecipientResult& r : results_) {
        if (r.status == from) settle_one(r, reply, step);
    }
}

ClientAction ClientProtocol::end_transaction(bool clean) {
    for (const RecipientResult& r : results_) {
        MTA_ASSERT(r.status != RecipientStatus::pending && r.status != RecipientStatus::accepted);
    }
    MTA_ASSERT(expect_head_ == expects_.size());
    need_rset_ = !clean;
    phase_ = Phase::idle;
    envelope_ = nullptr;
    content_.clear();
    return ClientAction::ready;
}

ClientAction ClientProtocol::on_transaction_reply(Expect owed, const ClientReply& reply,
                                                  std::string& out) {
    int reply_class = reply.code / 100;
    bool error = reply_class == 4 || reply_class == 5;
    switch (owed.step) {
        case Step::rset:
            // A connection that cannot even reset is not one to trust with a message.
            if (reply_class != 2) {
                return fail_reply(error ? ClientFailureKind::rset : ClientFailureKind::protocol,
                                  reply, owed.step, nullptr);
            }
            return pipelined_ ? ClientAction::read : send_mail(out);
        case Step::mail:
            if (reply_class == 2) {
                mail_ok_ = true;
                if (!pipelined_) send_rcpt(out, 0);
                return ClientAction::read;
            }
            if (!error) break;
            settle(RecipientStatus::pending, reply, owed.step);
            txn_error_ = true;
            // Pipelined: the RCPT and DATA replies still come; they only need consuming.
            return pipelined_ ? ClientAction::read : end_transaction(false);
        case Step::rcpt:
            return on_rcpt_reply(owed.slot, reply, out);
        case Step::data:
            if (reply.code == 354) {
                if (mail_ok_ && accepted_ > 0) {
                    append_dot_stuffed(out, content_);
                } else {
                    // A server that says 354 with no recipient gets an empty message it drops.
                    out += ".\r\n";
                    txn_error_ = true;
                }
                expect(Step::end_of_data);
                return ClientAction::read;
            }
            if (!error) break;
            if (!txn_error_) settle(RecipientStatus::accepted, reply, owed.step);
            return end_transaction(false);
        default:
            return on_content_reply(owed.step, reply, out);
    }
    return fail_reply(ClientFailureKind::protocol, reply, owed.step, nullptr);
}

ClientAction ClientProtocol::on_rcpt_reply(uint32_t slot, const ClientReply& reply,
                                           std::string& out) {
    int reply_class = reply.code / 100;
    ++rcpts_answered_;
    if (mail_ok_) {  // after a refused MAIL these replies say nothing about the recipient
        if (reply_class == 2) {
            results_[slot].status = RecipientStatus::accepted;
            ++accepted_;
        } else if (reply_class == 4 || reply_class == 5) {
            settle_one(results_[slot], reply, Step::rcpt);
        } else {
            return fail_reply(ClientFailureKind::protocol, reply, Step::rcpt, nullptr);
        }
    }
    if (rcpts_answered_ < results_.size()) {
        if (!pipelined_) send_rcpt(out, rcpts_answered_);
        return ClientAction::read;
    }
    return after_rcpts(out);
}

ClientAction ClientProtocol::after_rcpts(std::string& out) {
    if (pipelined_ && !use_bdat_) return ClientAction::read;  // DATA was sent; its reply decides
    if (!mail_ok_ || accepted_ == 0) return end_transaction(false);
    if (!use_bdat_) {
        append_command(out, "DATA");
        expect(Step::data);
        return ClientAction::read;
    }
    // With PIPELINING every chunk leaves now and the replies are matched later (RFC 3030 4.2).
    while (!send_bdat_chunk(out) && pipelined_) {
    }
    return ClientAction::read;
}

ClientAction ClientProtocol::on_content_reply(Step step, const ClientReply& reply,
                                              std::string& out) {
    int reply_class = reply.code / 100;
    bool error = reply_class == 4 || reply_class == 5;
    if (reply_class != 2 && !error) {
        return fail_reply(ClientFailureKind::protocol, reply, step, nullptr);
    }
    if (step == Step::bdat) {
        if (error && !txn_error_) {
            settle(RecipientStatus::accepted, reply, step);
            txn_error_ = true;
        }
        if (pipelined_) return ClientAction::read;  // the later chunks' replies still come
        if (txn_error_) return end_transaction(false);
        send_bdat_chunk(out);
        return ClientAction::read;
    }
    MTA_ASSERT(step == Step::end_of_data || step == Step::bdat_last);
    if (!txn_error_) settle(RecipientStatus::accepted, reply, step);
    return end_transaction(reply_class == 2 && !txn_error_);
}

}  // namespace ringmta::smtp
