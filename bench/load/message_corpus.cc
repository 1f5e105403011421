// Message preparation: line-end normalisation, dot-stuffing, Message-ID removal for .eml input,
// the generated body and the per-message header block (snprintf into a caller buffer).
#include "bench/load/message_corpus.hh"

#include <dirent.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

namespace ringmta::bench {

std::string normalize_line_ends(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32 + 2);
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\r') {
            out += "\r\n";
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else if (c == '\n') {
            out += "\r\n";
        } else {
            out += c;
        }
    }
    if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
    return out;
}

std::string dot_stuff(std::string_view crlf_text) {
    std::string out;
    out.reserve(crlf_text.size() + crlf_text.size() / 64 + 1);
    bool line_start = true;
    for (char c : crlf_text) {
        if (line_start && c == '.') out += '.';
        out += c;
        line_start = (c == '\n');
    }
    return out;
}

static bool header_named(std::string_view line, std::string_view name) {
    if (line.size() <= name.size() || line[name.size()] != ':') return false;
    for (size_t i = 0; i < name.size(); ++i) {
        auto lower = [](char ch) { return ch >= 'A' && ch <= 'Z' ? char(ch + 32) : ch; };
        if (lower(line[i]) != lower(name[i])) return false;
    }
    return true;
}

std::string remove_header(std::string_view message, std::string_view name) {
    std::string out;
    out.reserve(message.size());
    size_t pos = 0;
    bool dropping = false;
    while (pos < message.size()) {
        size_t eol = message.find("\r\n", pos);
        size_t next = eol == std::string_view::npos ? message.size() : eol + 2;
        std::string_view line = message.substr(pos, next - pos);
        if (line == "\r\n") break;  // end of the header section: the rest is copied as is
        bool continuation = line[0] == ' ' || line[0] == '\t';
        if (!continuation) dropping = header_named(line, name);
        if (!dropping) out += line;
        pos = next;
    }
    out.append(message.substr(pos));
    return out;
}

std::string generated_body(size_t bytes) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    out.reserve(bytes);
    for (size_t k = 0; out.size() + 3 <= bytes; ++k) {
        size_t length = std::min<size_t>(76, bytes - out.size() - 2);
        for (size_t j = 0; j < length; ++j)
            out += (j == 0 && k % 8 == 3) ? '.' : alphabet[(k + j) % 62];
        out += "\r\n";
    }
    return out;
}

static PreparedMessage prepare(std::string name, std::string normalized) {
    PreparedMessage m;
    m.name = std::move(name);
    m.eight_bit = std::any_of(normalized.begin(), normalized.end(),
                              [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    m.stuffed = dot_stuff(normalized);
    m.raw = std::move(normalized);
    return m;
}

// Length of the header block of a generated message, used to size its body.
static constexpr size_t generated_header_estimate_bytes = 260;

MessageCorpus MessageCorpus::generated(size_t size_bytes) {
    MessageCorpus c;
    c.generated_ = true;
    size_t body = size_bytes > generated_header_estimate_bytes
                      ? size_bytes - generated_header_estimate_bytes
                      : 0;
    c.messages_.push_back(prepare("generated", generated_body(body)));
    return c;
}

base::Result<MessageCorpus> MessageCorpus::from_directory(const std::string& dir) {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return base::errno_error(errno, "--eml " + dir);
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 4 && n.ends_with(".eml")) names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    if (names.empty())
        return base::make_error(base::Errc::invalid, "--eml " + dir + ": no .eml file in it");
    MessageCorpus c;
    for (const std::string& n : names) {
        std::ifstream in(dir + "/" + n, std::ios::binary);
        if (!in) return base::errno_error(errno, "--eml " + dir + "/" + n);
        std::stringstream ss;
        ss << in.rdbuf();
        // The sender adds its own unique Message-ID, so the file's is dropped.
        std::string text = remove_header(normalize_line_ends(ss.str()), "Message-ID");
        c.messages_.push_back(prepare(n, std::move(text)));
    }
    return c;
}

size_t format_date(char* out, int64_t unix_s) {
    time_t t = time_t(unix_s);
    tm parts{};
    gmtime_r(&t, &parts);
    return strftime(out, 40, "%a, %d %b %Y %H:%M:%S +0000", &parts);
}

size_t format_headers(char* out, size_t capacity, const HeaderFields& f) {
    int n = snprintf(out, capacity,
                     "X-Bench-Sent: %" PRIu64 "\r\nMessage-ID: <%" PRIu64 ".%" PRIu32
                     "@ringmta-bench.invalid>\r\n",
                     f.sent_unix_ns, f.sequence, f.run_id);
    if (f.full && n > 0 && size_t(n) < capacity) {
        n += snprintf(out + n, capacity - size_t(n),
                      "Date: %.*s\r\nFrom: <%.*s>\r\nTo: <%.*s>\r\n"
                      "Subject: ringmta-bench message %" PRIu64 "\r\n\r\n",
                      int(f.date.size()), f.date.data(), int(f.from.size()), f.from.data(),
                      int(f.to.size()), f.to.data(), f.sequence);
    }
    return n < 0 ? 0 : std::min(size_t(n), capacity - 1);
}

}  // namespace ringmta::bench
