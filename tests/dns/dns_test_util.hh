// Builders for the dns tests: decoded records and replies for the pure routing functions, and
// a small DNS wire-format writer for the decoder.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mta/dns/dns_message.hh"
#include "mta/dns/lookup_result.hh"

namespace ringmta::dns::testing {

inline IpAddress ip(const char* text) { return IpAddress::parse(text); }

inline DnsRecord mx(std::string owner, uint16_t preference, std::string exchange,
                    uint32_t ttl_s = 300) {
    DnsRecord r;
    r.owner = std::move(owner);
    r.type = kTypeMx;
    r.ttl_s = ttl_s;
    r.preference = preference;
    r.target = std::move(exchange);
    return r;
}

inline DnsRecord address(std::string owner, const char* text, uint32_t ttl_s = 300) {
    DnsRecord r;
    r.owner = std::move(owner);
    r.address = ip(text);
    r.type = r.address.family == AF_INET ? kTypeA : kTypeAaaa;
    r.ttl_s = ttl_s;
    return r;
}

inline DnsRecord cname(std::string owner, std::string target, uint32_t ttl_s = 300) {
    DnsRecord r;
    r.owner = std::move(owner);
    r.type = kTypeCname;
    r.ttl_s = ttl_s;
    r.target = std::move(target);
    return r;
}

inline DnsReply reply(ReplyStatus status, std::vector<DnsRecord> answers = {},
                      std::vector<DnsRecord> additionals = {}) {
    DnsReply r;
    r.status = status;
    r.message.answers = std::move(answers);
    r.message.additionals = std::move(additionals);
    if (status == ReplyStatus::try_later) r.detail = "timed out";
    return r;
}

inline std::string join(const std::vector<IpAddress>& addresses) {
    std::string s;
    for (const IpAddress& a : addresses) s += (s.empty() ? "" : " ") + a.to_string();
    return s;
}

// "name:pref[addr addr]" per host, space separated: one string to compare in a table.
template <typename Hosts>
std::string describe_hosts(const Hosts& hosts) {
    std::string s;
    for (const auto& h : hosts) {
        if (!s.empty()) s += ' ';
        s += h.name + ":" + std::to_string(h.preference) + "[" + join(h.addresses) + "]";
    }
    return s;
}

inline const char* status_name(LookupStatus s) {
    switch (s) {
        case LookupStatus::found:
            return "found";
        case LookupStatus::permanent_failure:
            return "permanent";
        case LookupStatus::temporary_failure:
            return "temporary";
    }
    return "?";
}

// Checks the verdict of a result: "found", "permanent" or "temporary", and its enhanced code.
inline void expect_outcome(const std::string& label, const LookupOutcome& got,
                           const char* want_status, const char* want_code) {
    std::string status = status_name(got.status);
    EXPECT_EQ(status, want_status)
        << label << ": got " << status << " (" << got.text << "), want " << want_status;
    EXPECT_EQ(got.enhanced_code, want_code) << label << ": " << got.text;
    if (!got.found()) {
        EXPECT_FALSE(got.text.empty()) << label << ": a failure says why";
    }
}

// A DNS message writer with uncompressed names (plus raw bytes for pointer tests).
class WireWriter {
  public:
    WireWriter& header(unsigned rcode, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
        u16(0x1234);
        u16(uint16_t(0x8180 | rcode));
        u16(qd);
        u16(an);
        u16(ns);
        u16(ar);
        return *this;
    }
    WireWriter& name(const std::string& n) {
        size_t start = 0;
        while (start < n.size()) {
            size_t dot = n.find('.', start);
            if (dot == std::string::npos) dot = n.size();
            bytes_.push_back(uint8_t(dot - start));
            bytes_.insert(bytes_.end(), n.begin() + long(start), n.begin() + long(dot));
            start = dot + 1;
        }
        bytes_.push_back(0);
        return *this;
    }
    WireWriter& question(const std::string& n, uint16_t type) {
        name(n);
        u16(type);
        return u16(1);
    }
    // Owner, type, class IN, TTL; the caller appends rdlength and rdata.
    WireWriter& rr(const std::string& owner, uint16_t type, uint32_t ttl_s) {
        name(owner);
        u16(type);
        u16(1);
        return u32(ttl_s);
    }
    WireWriter& u16(uint16_t v) {
        bytes_.push_back(uint8_t(v >> 8));
        bytes_.push_back(uint8_t(v));
        return *this;
    }
    WireWriter& u32(uint32_t v) { return u16(uint16_t(v >> 16)).u16(uint16_t(v)); }
    WireWriter& raw(std::vector<uint8_t> b) {
        bytes_.insert(bytes_.end(), b.begin(), b.end());
        return *this;
    }
    const std::vector<uint8_t>& bytes() const { return bytes_; }

  private:
    std::vector<uint8_t> bytes_;
};

}  // namespace ringmta::dns::testing
