// parse_command: a table of verbs with their argument rule and usage reply, then one small
// parser per rule. Nothing here allocates.
#include "mta/smtp/command.hh"

#include <charconv>

namespace ringmta::smtp {
namespace {

enum class Args : uint8_t { none, optional, required, mail, rcpt, bdat };

struct VerbSpec {
    std::string_view name;
    Verb verb;
    Args args;
    std::string_view usage_reply;
};

constexpr VerbSpec kVerbs[] = {
    {"HELO", Verb::helo, Args::required, "501 5.5.4 Syntax: HELO hostname"},
    {"EHLO", Verb::ehlo, Args::required, "501 5.5.4 Syntax: EHLO hostname"},
    {"MAIL", Verb::mail, Args::mail, "501 5.5.4 Syntax: MAIL FROM:<address>"},
    {"RCPT", Verb::rcpt, Args::rcpt, "501 5.5.4 Syntax: RCPT TO:<address>"},
    {"DATA", Verb::data, Args::none, "501 5.5.4 Syntax: DATA"},
    {"BDAT", Verb::bdat, Args::bdat, "501 5.5.4 Syntax: BDAT size [LAST]"},
    {"RSET", Verb::rset, Args::none, "501 5.5.4 Syntax: RSET"},
    {"NOOP", Verb::noop, Args::optional, ""},
    {"QUIT", Verb::quit, Args::none, "501 5.5.4 Syntax: QUIT"},
    {"VRFY", Verb::vrfy, Args::required, "501 5.5.4 Syntax: VRFY address"},
    {"HELP", Verb::help, Args::optional, ""},
    {"STARTTLS", Verb::starttls, Args::none, "501 5.5.4 Syntax: STARTTLS"},
    {"AUTH", Verb::auth, Args::required, "501 5.5.4 Syntax: AUTH mechanism"},
};

constexpr std::string_view kEmpty = "500 5.5.2 Syntax error: empty command";
constexpr std::string_view kBadChar = "500 5.5.2 Syntax error: invalid character";
constexpr std::string_view kUnrecognized = "500 5.5.1 Command unrecognized";

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

// "FROM:<path> params" / "TO:<path> params", with optional spaces after the colon.
bool parse_path_args(std::string_view args, std::string_view keyword, Command& cmd) {
    if (args.size() < keyword.size() || !ascii_iequals(args.substr(0, keyword.size()), keyword)) {
        return false;
    }
    std::string_view rest = trim(args.substr(keyword.size()));
    if (rest.empty()) return false;
    // The path ends at the first space outside a quoted string ("<\"a b\"@c>").
    size_t end = 0;
    bool quoted = false;
    for (; end < rest.size(); ++end) {
        char c = rest[end];
        if (quoted && c == '\\' && end + 1 < rest.size()) {
            ++end;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ' ' && !quoted) {
            break;
        }
    }
    cmd.path = rest.substr(0, end);
    cmd.params = trim(rest.substr(end));
    return true;
}

// "size" or "size LAST".
bool parse_bdat_args(std::string_view args, Command& cmd) {
    size_t digits = args.find_first_not_of("0123456789");
    std::string_view size = args.substr(0, digits);
    if (size.empty()) return false;
    auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), cmd.bdat_size_bytes);
    if (ec != std::errc() || ptr != size.data() + size.size()) return false;
    if (digits == std::string_view::npos) return true;
    if (!is_blank(args[digits])) return false;
    if (!ascii_iequals(trim(args.substr(digits)), "LAST")) return false;
    cmd.bdat_last = true;
    return true;
}

bool parse_args(const VerbSpec& spec, std::string_view args, Command& cmd) {
    switch (spec.args) {
        case Args::none:
            return args.empty();
        case Args::optional:
            cmd.argument = args;
            return true;
        case Args::required:
            cmd.argument = args;
            return !args.empty();
        case Args::mail:
            return parse_path_args(args, "FROM:", cmd);
        case Args::rcpt:
            return parse_path_args(args, "TO:", cmd);
        case Args::bdat:
            return parse_bdat_args(args, cmd);
    }
    return false;
}

}  // namespace

bool ascii_iequals(std::string_view a, std::string_view b) {
    auto upper = [](char c) { return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c; };
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (upper(a[i]) != upper(b[i])) return false;
    }
    return true;
}

std::string_view verb_name(Verb verb) {
    for (const VerbSpec& spec : kVerbs) {
        if (spec.verb == verb) return spec.name;
    }
    return {};
}

Command parse_command(std::string_view line) {
    Command cmd;
    if (line.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos) {
        cmd.error_reply = kBadChar;
        return cmd;
    }
    line = trim(line);
    if (line.empty()) {
        cmd.error_reply = kEmpty;
        return cmd;
    }
    size_t space = line.find_first_of(" \t");
    std::string_view name = line.substr(0, space);
    std::string_view args = space == std::string_view::npos ? "" : trim(line.substr(space));
    for (const VerbSpec& spec : kVerbs) {
        if (!ascii_iequals(name, spec.name)) continue;
        cmd.verb = spec.verb;
        if (!parse_args(spec, args, cmd)) cmd.error_reply = spec.usage_reply;
        return cmd;
    }
    cmd.error_reply = kUnrecognized;
    return cmd;
}

}  // namespace ringmta::smtp
