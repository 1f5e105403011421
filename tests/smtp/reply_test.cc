#include "mta/smtp/reply.hh"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace ringmta::smtp {
namespace {

TEST(Reply, Formats) {
    struct Case {
        const char* label;
        std::string got;
        std::string want;
    };
    auto build = [](auto f) {
        std::string out = "prior|";  // replies append; what was there stays
        f(out);
        return out;
    };
    const std::array<std::string_view, 3> three = {"first", "second", "last"};
    const std::array<std::string_view, 1> one = {"only"};
    const std::array<std::string_view, 3> extensions = {"PIPELINING", "SIZE 26214400", "CHUNKING"};
    const Case cases[] = {
        {"single line", build([](std::string& o) { append_reply(o, 250, "2.1.0", "Ok"); }),
         "prior|250 2.1.0 Ok\r\n"},
        {"no enhanced code", build([](std::string& o) { append_reply(o, 220, "", "gw ESMTP"); }),
         "prior|220 gw ESMTP\r\n"},
        {"preformatted line",
         build([](std::string& o) { append_reply_line(o, "501 5.1.7 Bad sender address syntax"); }),
         "prior|501 5.1.7 Bad sender address syntax\r\n"},
        {"multi-line",
         build([&](std::string& o) { append_multiline_reply(o, 214, "2.0.0", three); }),
         "prior|214-2.0.0 first\r\n214-2.0.0 second\r\n214 2.0.0 last\r\n"},
        {"multi-line of one",
         build([&](std::string& o) { append_multiline_reply(o, 250, "", one); }),
         "prior|250 only\r\n"},
        {"EHLO", build([&](std::string& o) {
             append_ehlo_reply(o, "gw.example.com", "client.example", extensions);
         }),
         "prior|250-gw.example.com Hello client.example\r\n250-PIPELINING\r\n"
         "250-SIZE 26214400\r\n250 CHUNKING\r\n"},
        {"EHLO without extensions",
         build([](std::string& o) { append_ehlo_reply(o, "gw", "c", {}); }),
         "prior|250 gw Hello c\r\n"},
        {"CRLF injection in client name",
         build([&](std::string& o) { append_ehlo_reply(o, "gw", "evil\r\n250 fake\r\nx", one); }),
         "prior|250-gw Hello evil250 fakex\r\n250 only\r\n"},
        {"control characters in text",
         build([](std::string& o) { append_reply(o, 250, "2.0.0", "a\x01\tb\x7f\rc\nd"); }),
         "prior|250 2.0.0 a?\tb?cd\r\n"},
        {"bare LF in preformatted line",
         build([](std::string& o) { append_reply_line(o, "555 5.5.4 Unsupported option: A\nB"); }),
         "prior|555 5.5.4 Unsupported option: AB\r\n"},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(c.got, c.want) << c.label << ": got \"" << c.got << "\", want \"" << c.want
                                 << "\"";
    }
}

TEST(Reply, SanitizedLengthIsBounded) {
    std::string out;
    append_sanitized(out, std::string(1000, 'x'), 10);
    EXPECT_EQ(out, std::string(10, 'x')) << "got " << out.size() << " octets, want 10";
}

}  // namespace
}  // namespace ringmta::smtp
