#include "mta/smtp/command.hh"

#include <gtest/gtest.h>

#include <string>

namespace ringmta::smtp {
namespace {

using namespace std::string_literals;

struct Case {
    const char* label;
    std::string line;
    Verb verb;
    std::string_view error;  // "" when the command is well formed
    std::string_view argument = "";
    std::string_view path = "";
    std::string_view params = "";
    uint64_t bdat_size = 0;
    bool bdat_last = false;
};

std::string show(const Command& c) {
    return "verb=" + std::string(verb_name(c.verb)) + " arg=\"" + std::string(c.argument) +
           "\" path=\"" + std::string(c.path) + "\" params=\"" + std::string(c.params) +
           "\" bdat=" + std::to_string(c.bdat_size_bytes) + (c.bdat_last ? " LAST" : "") +
           " error=\"" + std::string(c.error_reply) + "\"";
}

TEST(ParseCommand, Table) {
    constexpr std::string_view kMailUsage = "501 5.5.4 Syntax: MAIL FROM:<address>";
    constexpr std::string_view kRcptUsage = "501 5.5.4 Syntax: RCPT TO:<address>";
    constexpr std::string_view kBdatUsage = "501 5.5.4 Syntax: BDAT size [LAST]";
    constexpr std::string_view kUnknown = "500 5.5.1 Command unrecognized";
    const Case cases[] = {
        {"EHLO", "EHLO client.example", Verb::ehlo, "", "client.example"},
        {"ehlo lower case", "ehlo client.example", Verb::ehlo, "", "client.example"},
        {"HELO literal", "HELO [192.0.2.1]", Verb::helo, "", "[192.0.2.1]"},
        {"EHLO without name", "EHLO", Verb::ehlo, "501 5.5.4 Syntax: EHLO hostname"},
        {"HELO spaces only", "HELO   ", Verb::helo, "501 5.5.4 Syntax: HELO hostname"},
        {"MAIL", "MAIL FROM:<a@b.example>", Verb::mail, "", "", "<a@b.example>"},
        {"MAIL mixed case", "mail from:<a@b>", Verb::mail, "", "", "<a@b>"},
        {"MAIL space after colon", "MAIL FROM: <a@b>", Verb::mail, "", "", "<a@b>"},
        {"MAIL null path", "MAIL FROM:<>", Verb::mail, "", "", "<>"},
        {"MAIL params", "MAIL FROM:<a@b> SIZE=100  BODY=8BITMIME", Verb::mail, "", "", "<a@b>",
         "SIZE=100  BODY=8BITMIME"},
        {"MAIL trailing space", "MAIL FROM:<a@b> ", Verb::mail, "", "", "<a@b>"},
        {"MAIL quoted space", "MAIL FROM:<\"a b\"@c> SMTPUTF8", Verb::mail, "", "", "<\"a b\"@c>",
         "SMTPUTF8"},
        {"MAIL quoted escaped quote", "MAIL FROM:<\"a\\\" b\"@c>", Verb::mail, "", "",
         "<\"a\\\" b\"@c>"},
        {"MAIL without brackets (address parser refuses)", "MAIL FROM:a@b", Verb::mail, "", "",
         "a@b"},
        {"MAIL params glued to path", "MAIL FROM:<a@b>SIZE=1", Verb::mail, "", "", "<a@b>SIZE=1"},
        {"MAIL without FROM", "MAIL <a@b>", Verb::mail, kMailUsage},
        {"MAIL TO", "MAIL TO:<a@b>", Verb::mail, kMailUsage},
        {"MAIL FROM without path", "MAIL FROM:", Verb::mail, kMailUsage},
        {"MAIL alone", "MAIL", Verb::mail, kMailUsage},
        {"MAIL FROM space before colon", "MAIL FROM :<a@b>", Verb::mail, kMailUsage},
        {"RCPT", "RCPT TO:<x@y.example> NOTIFY=NEVER", Verb::rcpt, "", "", "<x@y.example>",
         "NOTIFY=NEVER"},
        {"RCPT space after colon", "rcpt to: <x@y>", Verb::rcpt, "", "", "<x@y>"},
        {"RCPT postmaster", "RCPT TO:<Postmaster>", Verb::rcpt, "", "", "<Postmaster>"},
        {"RCPT FROM", "RCPT FROM:<x@y>", Verb::rcpt, kRcptUsage},
        {"RCPT without path", "RCPT TO:  ", Verb::rcpt, kRcptUsage},
        {"DATA", "DATA", Verb::data, ""},
        {"data lower", "data", Verb::data, ""},
        {"DATA with argument", "DATA x", Verb::data, "501 5.5.4 Syntax: DATA"},
        {"QUIT with argument", "QUIT x", Verb::quit, "501 5.5.4 Syntax: QUIT"},
        {"RSET with argument", "RSET now", Verb::rset, "501 5.5.4 Syntax: RSET"},
        {"STARTTLS", "STARTTLS", Verb::starttls, ""},
        {"STARTTLS with argument", "STARTTLS x", Verb::starttls, "501 5.5.4 Syntax: STARTTLS"},
        {"QUIT trailing space", "QUIT ", Verb::quit, ""},
        {"NOOP", "NOOP", Verb::noop, ""},
        {"NOOP with argument", "NOOP hello there", Verb::noop, "", "hello there"},
        {"HELP", "HELP", Verb::help, ""},
        {"HELP topic", "HELP MAIL", Verb::help, "", "MAIL"},
        {"VRFY", "VRFY user", Verb::vrfy, "", "user"},
        {"VRFY without argument", "VRFY", Verb::vrfy, "501 5.5.4 Syntax: VRFY address"},
        {"AUTH", "AUTH PLAIN AGFAAGI=", Verb::auth, "", "PLAIN AGFAAGI="},
        {"AUTH without mechanism", "AUTH", Verb::auth, "501 5.5.4 Syntax: AUTH mechanism"},
        {"BDAT", "BDAT 1000", Verb::bdat, "", "", "", "", 1000},
        {"BDAT LAST", "BDAT 0 LAST", Verb::bdat, "", "", "", "", 0, true},
        {"BDAT last lower case", "bdat 12 last", Verb::bdat, "", "", "", "", 12, true},
        {"BDAT largest", "BDAT 18446744073709551615", Verb::bdat, "", "", "", "",
         18446744073709551615ull},
        {"BDAT overflow", "BDAT 18446744073709551616", Verb::bdat, kBdatUsage},
        {"BDAT without size", "BDAT", Verb::bdat, kBdatUsage},
        {"BDAT LAST without size", "BDAT LAST", Verb::bdat, kBdatUsage},
        {"BDAT negative", "BDAT -1", Verb::bdat, kBdatUsage},
        {"BDAT junk", "BDAT 10 FIRST", Verb::bdat, kBdatUsage},
        {"BDAT glued", "BDAT 10LAST", Verb::bdat, kBdatUsage},
        {"BDAT extra", "BDAT 10 LAST x", Verb::bdat, kBdatUsage},
        {"unknown verb", "EXPN staff", Verb::unknown, kUnknown},
        {"verb glued to argument", "MAILFROM:<a@b>", Verb::unknown, kUnknown},
        {"verb prefix", "DAT", Verb::unknown, kUnknown},
        {"empty line", "", Verb::unknown, "500 5.5.2 Syntax error: empty command"},
        {"blank line", "   ", Verb::unknown, "500 5.5.2 Syntax error: empty command"},
        {"NUL in line", "NOOP a\0b"s, Verb::unknown, "500 5.5.2 Syntax error: invalid character"},
        {"bare CR in line", "NOOP a\rb", Verb::unknown,
         "500 5.5.2 Syntax error: invalid character"},
        {"bare LF in line", "DATA\n", Verb::unknown, "500 5.5.2 Syntax error: invalid character"},
    };
    for (const Case& c : cases) {
        Command got = parse_command(c.line);
        Command want;
        want.verb = c.verb;
        want.error_reply = c.error;
        want.argument = c.argument;
        want.path = c.path;
        want.params = c.params;
        want.bdat_size_bytes = c.bdat_size;
        want.bdat_last = c.bdat_last;
        bool same = got.verb == want.verb && got.error_reply == want.error_reply;
        if (want.error_reply.empty()) {
            same = same && got.argument == want.argument && got.path == want.path &&
                   got.params == want.params && got.bdat_size_bytes == want.bdat_size_bytes &&
                   got.bdat_last == want.bdat_last;
        }
        EXPECT_TRUE(same) << c.label << ": got " << show(got) << ", want " << show(want);
        EXPECT_EQ(got.ok(), c.error.empty()) << c.label;
    }
}

TEST(ParseCommand, VerbNames) {
    EXPECT_EQ(verb_name(Verb::starttls), "STARTTLS");
    EXPECT_EQ(verb_name(Verb::bdat), "BDAT");
    EXPECT_EQ(verb_name(Verb::unknown), "");
}

}  // namespace
}  // namespace ringmta::smtp
