// The script runner: output written since the previous event is compared with the C: lines
// gathered since then whenever the next event (or the end) comes, so a mismatch names the
// script line that set the expectation.
#include "mta/smtp/client_script.hh"

#include <cstdlib>

namespace ringmta::smtp::testing {
namespace {

std::string unescape(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            out += text[i];
            continue;
        }
        char c = text[++i];
        out += c == 'r' ? '\r' : c == 'n' ? '\n' : c == '0' ? '\0' : c;
    }
    return out;
}

const char* action_name(ClientAction action) {
    static constexpr const char* names[] = {"read", "start_tls", "ready", "close"};
    return names[size_t(action)];
}

std::string_view next_word(std::string_view& text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    size_t end = std::min(text.find(' '), text.size());
    std::string_view word = text.substr(0, end);
    text.remove_prefix(end);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    return word;
}

class Runner {
  public:
    Runner(ClientProtocol& protocol, std::span<const ClientMessage> messages, bool allow_bare)
        : protocol_(protocol), messages_(messages), allow_bare_(allow_bare) {}

    void line(size_t number, std::string_view text) {
        number_ = number;
        std::string_view rest = text;
        std::string_view tag = next_word(rest);
        if (tag.empty() || tag[0] == '#') return;
        if (tag == "S:") {
            pending_in_ += std::string(rest) + "\r\n";
            return;
        }
        flush_input();
        if (tag == "S~") {
            pending_in_ = unescape(rest);
            return flush_input();
        }
        if (tag == "C:" || tag == "C~") {
            if (want_out_.empty()) want_line_ = number;
            want_out_ += tag == "C:" ? std::string(rest) + "\r\n" : unescape(rest);
            return;
        }
        if (tag[0] == '!') return event(tag, rest);
        check(tag, rest);
    }

    void finish() {
        flush_input();
        check_output();
    }

    std::vector<std::string> mismatches_;

  private:
    void mismatch(const std::string& what, std::string_view got, std::string_view want) {
        mismatches_.push_back("line " + std::to_string(number_) + ": " + what + ": got \"" +
                              printable(got) + "\", want \"" + printable(want) + "\"");
    }

    void check_output() {
        if (out_ != want_out_) {
            size_t saved = number_;
            number_ = want_out_.empty() ? number_ : want_line_;
            mismatch("client wrote", out_, want_out_);
            number_ = saved;
        }
        if (!allow_bare_ && has_bare_newline(out_)) mismatch("bare CR or LF in output", out_, "");
        out_.clear();
        want_out_.clear();
    }

    void flush_input() {
        if (pending_in_.empty()) return;
        check_output();
        action_ = protocol_.receive(pending_in_, out_);
        pending_in_.clear();
    }

    void event(std::string_view tag, std::string_view arg) {
        check_output();
        if (tag == "!send") {
            size_t index =
                arg.empty() ? next_message_ : size_t(std::atoi(std::string(arg).c_str()));
            next_message_ = index + 1;
            if (index >= messages_.size()) return mismatch("!send", "no such message", "");
            action_ = protocol_.send_message(messages_[index], out_);
        } else if (tag == "!quit") {
            action_ = protocol_.quit(out_);
        } else if (tag == "!tls") {
            action_ = protocol_.tls_ready(out_);
        } else if (tag == "!tlsfail") {
            action_ = protocol_.tls_failed(arg);
        } else if (tag == "!timeout") {
            action_ = protocol_.timed_out();
        } else if (tag == "!lost") {
            action_ = protocol_.connection_lost(arg);
        } else {
            mismatch("unknown event", tag, "");
        }
    }

    // "R: 1 failed 550 5.1.1" style checks: the fields given must match, later ones may be left
    // out.
    void check_fields(const std::string& what, std::string_view want, const std::string& got) {
        std::string_view got_view = got;
        for (std::string_view w = want; !w.empty();) {
            if (next_word(w) != next_word(got_view)) return mismatch(what, got, want);
        }
    }

    void check(std::string_view tag, std::string_view rest) {
        if (tag == "=") {
            if (rest != action_name(action_)) mismatch("action", action_name(action_), rest);
        } else if (tag == "W:") {
            std::string_view got = wait_name(protocol_.waiting_for());
            if (rest != got) mismatch("waiting for", got, rest);
        } else if (tag == "R:" || tag == "D:") {
            size_t index = size_t(std::atoi(std::string(next_word(rest)).c_str()));
            auto results = protocol_.results();
            if (index >= results.size()) return mismatch("result", "none", std::string(tag));
            const RecipientResult& r = results[index];
            if (tag == "D:") {
                if (r.diagnostic != rest) mismatch("diagnostic", r.diagnostic, rest);
                return;
            }
            check_fields("result", rest,
                         std::string(recipient_status_name(r.status)) + " " +
                             std::to_string(r.code) + " " + r.enhanced);
        } else if (tag == "F:") {
            const ClientFailure& f = protocol_.failure();
            check_fields("failure", rest,
                         std::string(failure_kind_name(f.kind)) + " " + std::to_string(f.code) +
                             " " + f.enhanced);
        } else if (tag == "FD:") {
            if (protocol_.failure().diagnostic != rest) {
                mismatch("failure diagnostic", protocol_.failure().diagnostic, rest);
            }
        } else if (tag == "T:" || tag == "X:") {
            size_t got = tag == "T:" ? protocol_.transactions() : protocol_.discarded_bytes();
            if (std::to_string(got) != rest) mismatch(std::string(tag), std::to_string(got), rest);
        } else {
            mismatch("unknown directive", tag, "");
        }
    }

    ClientProtocol& protocol_;
    std::span<const ClientMessage> messages_;
    bool allow_bare_;
    size_t number_ = 0;
    size_t want_line_ = 0;
    size_t next_message_ = 0;
    std::string pending_in_;
    std::string out_;
    std::string want_out_;
    ClientAction action_ = ClientAction::read;
};

}  // namespace

std::string printable(std::string_view bytes) {
    std::string out;
    for (char c : bytes) {
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\0') {
            out += "\\0";
        } else {
            out += c;
        }
    }
    return out;
}

std::vector<std::vector<std::string_view>> chunkings(std::string_view bytes) {
    std::vector<std::vector<std::string_view>> all = {{bytes}};
    for (size_t split = 0; split <= bytes.size(); ++split) {
        all.push_back({bytes.substr(0, split), bytes.substr(split)});
    }
    std::vector<std::string_view> one_by_one;
    for (size_t i = 0; i < bytes.size(); ++i) one_by_one.push_back(bytes.substr(i, 1));
    all.push_back(std::move(one_by_one));
    return all;
}

bool has_bare_newline(std::string_view bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] == '\r' && (i + 1 == bytes.size() || bytes[i + 1] != '\n')) return true;
        if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) return true;
    }
    return false;
}

std::string run_client_script(ClientProtocol& protocol, std::span<const ClientMessage> messages,
                              std::string_view script, bool allow_bare_newlines) {
    Runner runner(protocol, messages, allow_bare_newlines);
    size_t number = 0;
    std::string joined;  // a directive continued over lines ending in "\"
    while (!script.empty()) {
        size_t end = std::min(script.find('\n'), script.size());
        std::string_view line = script.substr(0, end);
        script.remove_prefix(std::min(end + 1, script.size()));
        ++number;
        if (!line.empty() && line.back() == '\\') {
            joined += line.substr(0, line.size() - 1);
            continue;
        }
        if (!joined.empty()) {
            while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
            joined += line;
            runner.line(number, joined);
            joined.clear();
            continue;
        }
        runner.line(number, line);
    }
    runner.finish();
    std::string report;
    for (const std::string& m : runner.mismatches_) report += m + "\n";
    return report;
}

}  // namespace ringmta::smtp::testing
