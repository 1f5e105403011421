// DNS wire format decoding (RFC 1035 §4) with c-ares's name decompression.
#include "mta/dns/dns_message.hh"

#include <ares.h>

#include <algorithm>

namespace ringmta::dns {

namespace {

constexpr size_t kCnameChainMax = 8;

base::Error malformed(const char* what) {
    return base::make_error(base::Errc::corrupt, std::string("malformed DNS reply: ") + what);
}

uint16_t read16(const unsigned char* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t read32(const unsigned char* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

class Reader {
  public:
    Reader(const unsigned char* packet, int length) : packet_(packet), length_(length) {}

    bool name(std::string* out) {
        char* expanded = nullptr;
        long used = 0;
        if (at_ >= length_ ||
            ares_expand_name(packet_ + at_, packet_, length_, &expanded, &used) != ARES_SUCCESS)
            return false;
        *out = normalize_name(expanded);
        ares_free_string(expanded);
        at_ += int(used);
        return true;
    }
    bool skip_question() {
        std::string ignored;
        if (!name(&ignored) || remaining() < 4) return false;
        at_ += 4;
        return true;
    }
    // Decodes one resource record. `keep` is false for types routing ignores.
    bool record(DnsRecord* rr, bool* keep, DnsMessage* message) {
        if (!name(&rr->owner) || remaining() < 10) return false;
        rr->type = read16(packet_ + at_);
        uint16_t klass = read16(packet_ + at_ + 2);
        rr->ttl_s = read32(packet_ + at_ + 4);
        // A TTL with the top bit set is treated as zero (RFC 2181 §8).
        if (rr->ttl_s > 0x7fffffffu) rr->ttl_s = 0;
        uint16_t rdlength = read16(packet_ + at_ + 8);
        at_ += 10;
        if (remaining() < rdlength) return false;
        int rdata = at_;
        int end = at_ + rdlength;
        *keep = klass == 1;
        bool ok = true;
        switch (rr->type) {
            case kTypeA:
                ok = rdlength == 4;
                if (ok) rr->address = IpAddress::v4(packet_ + rdata);
                break;
            case kTypeAaaa:
                ok = rdlength == 16;
                if (ok) rr->address = IpAddress::v6(packet_ + rdata);
                break;
            case kTypeCname:
                ok = name(&rr->target);
                break;
            case kTypeMx:
                ok = rdlength >= 3;
                if (ok) {
                    rr->preference = read16(packet_ + rdata);
                    at_ += 2;
                    ok = name(&rr->target);
                }
                break;
            case kTypeSoa: {
                std::string mname, rname;
                ok = name(&mname) && name(&rname) && end - at_ == 20;
                if (ok) {
                    uint32_t minimum = read32(packet_ + at_ + 16);
                    message->has_soa = true;
                    message->negative_ttl_s = std::min(rr->ttl_s, minimum);
                }
                *keep = false;
                break;
            }
            default:
                *keep = false;
        }
        if (!ok || at_ > end) return false;
        at_ = end;
        return true;
    }
    int remaining() const { return length_ - at_; }
    void skip(int n) { at_ += n; }

  private:
    const unsigned char* packet_;
    int length_;
    int at_ = 0;
};

}  // namespace

std::string DnsMessage::canonical_name(std::string_view name) const {
    std::string current = normalize_name(name);
    for (size_t hop = 0; hop < kCnameChainMax; ++hop) {
        auto it = std::find_if(answers.begin(), answers.end(), [&](const DnsRecord& r) {
            return r.type == kTypeCname && r.owner == current;
        });
        if (it == answers.end()) break;
        current = it->target;
    }
    return current;
}

std::vector<const DnsRecord*> DnsMessage::answers_for(std::string_view name, uint16_t type) const {
    std::string owner = canonical_name(name);
    std::vector<const DnsRecord*> out;
    for (const DnsRecord& r : answers)
        if (r.type == type && r.owner == owner) out.push_back(&r);
    return out;
}

base::Result<DnsMessage> parse_dns_message(const unsigned char* packet, int length) {
    if (packet == nullptr || length < 12) return malformed("shorter than a header");
    DnsMessage message;
    message.rcode = packet[3] & 0x0f;
    uint16_t counts[4] = {read16(packet + 4), read16(packet + 6), read16(packet + 8),
                          read16(packet + 10)};
    Reader reader(packet, length);
    reader.skip(12);
    for (uint16_t i = 0; i < counts[0]; ++i)
        if (!reader.skip_question()) return malformed("question");
    for (int section = 1; section < 4; ++section) {
        for (uint16_t i = 0; i < counts[section]; ++i) {
            DnsRecord rr;
            bool keep = false;
            if (!reader.record(&rr, &keep, &message)) return malformed("resource record");
            if (!keep) continue;
            if (section == 1) {
                message.answers.push_back(std::move(rr));
            } else if (section == 3 && (rr.type == kTypeA || rr.type == kTypeAaaa)) {
                message.additionals.push_back(std::move(rr));
            }
        }
    }
    return message;
}

}  // namespace ringmta::dns
