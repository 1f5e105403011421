// ClientReplyParser at every split point, multi-line replies, enhanced codes, malformed input
// and the size bound; EHLO capability parsing; the SASL encodings AUTH sends.
#include "mta/smtp/client_reply.hh"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mta/smtp/client_capabilities.hh"
#include "mta/smtp/client_sasl.hh"
#include "mta/smtp/client_script.hh"

namespace ringmta::smtp {
namespace {

// Everything the parser handed out for one input, as text: "250 [2.0.0] a|b" per reply, then
// "error: why" or "partial" when the input ended inside a reply, and the bytes left unread.
std::string parse_all(const std::vector<std::string_view>& chunks) {
    ClientReplyParser parser;
    std::string out;
    for (std::string_view chunk : chunks) {
        while (!chunk.empty()) {
            ReplyParse r = parser.parse(chunk);
            if (r == ReplyParse::need_more) break;
            if (r == ReplyParse::error) return out + "error: " + parser.error();
            const ClientReply& reply = parser.reply();
            out += std::to_string(reply.code) + " [" + reply.enhanced + "]";
            for (size_t i = 0; i < reply.lines.size(); ++i) {
                out += (i ? "|" : " ") + reply.lines[i];
            }
            out += "\n";
        }
    }
    return parser.partial() ? out + "partial" : out;
}

TEST(ClientReplyParser, EverySplitPoint) {
    struct Case {
        const char* label;
        std::string input;
        std::string want;
    };
    const Case cases[] = {
        {"single line", "250 ok\r\n", "250 [] ok\n"},
        {"enhanced code", "550 5.1.1 <x@y>: user unknown\r\n", "550 [5.1.1] <x@y>: user unknown\n"},
        {"bare code", "250\r\n", "250 [] \n"},
        {"code and space", "354 \r\n", "354 [] \n"},
        {"multi-line", "250-mx.example.com\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
         "250 [] mx.example.com|PIPELINING|SIZE 1000\n"},
        {"enhanced on every line is kept once",
         "550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n",
         "550 [5.7.1] first|second|third\n"},
        {"class mismatch is text", "250 5.1.1 odd\r\n", "250 [] 5.1.1 odd\n"},
        {"enhanced alone", "452 4.3.1\r\n", "452 [4.3.1] \n"},
        {"not an enhanced code", "250 2.0 ok\r\n", "250 [] 2.0 ok\n"},
        {"LF alone ends a line", "220 mx\n250 ok\n", "220 [] mx\n250 [] ok\n"},
        {"pipelined replies", "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n",
         "250 [2.1.0] Ok\n250 [2.1.5] Ok\n354 [] go\n"},
        {"unfinished last line", "250-a\r\n250 b", "partial"},
        {"unfinished line", "250-a\r\n25", "partial"},
        {"malformed: short", "25\r\n", "error: malformed reply line"},
        {"malformed: letters", "2x0 ok\r\n", "error: malformed reply line"},
        {"malformed: separator", "250_ok\r\n", "error: malformed reply line"},
        {"malformed: class 1", "150 ok\r\n", "error: malformed reply line"},
        {"malformed: class 6", "650 ok\r\n", "error: malformed reply line"},
        {"malformed: empty line", "\r\n", "error: malformed reply line"},
        {"malformed after a good reply", "250 ok\r\nhello\r\n",
         "250 [] ok\nerror: malformed reply line"},
        {"mismatched codes", "250-a\r\n251 b\r\n", "error: mismatched codes in multi-line reply"},
    };
    for (const Case& c : cases) {
        for (const auto& chunks : testing::chunkings(c.input)) {
            std::string got = parse_all(chunks);
            EXPECT_EQ(got, c.want)
                << c.label << " in " << chunks.size() << " chunks, first " << chunks[0].size()
                << ": got \"" << got << "\", want \"" << c.want << "\"";
        }
    }
}

TEST(ClientReplyParser, StopsAfterEachReply) {
    ClientReplyParser parser;
    std::string_view in = "250 a\r\n251 b\r\nrest";
    ASSERT_EQ(parser.parse(in), ReplyParse::reply);
    EXPECT_EQ(in, "251 b\r\nrest") << "got \"" << testing::printable(in) << "\"";
    ASSERT_EQ(parser.parse(in), ReplyParse::reply);
    EXPECT_EQ(parser.reply().code, 251);
    EXPECT_EQ(in, "rest");
}

TEST(ClientReplyParser, ResetDropsPartialInput) {
    ClientReplyParser parser;
    std::string_view in = "250-a\r\n25";
    EXPECT_EQ(parser.parse(in), ReplyParse::need_more);
    EXPECT_TRUE(parser.partial());
    parser.reset();
    EXPECT_FALSE(parser.partial());
    in = "220 fresh\r\n";
    ASSERT_EQ(parser.parse(in), ReplyParse::reply);
    EXPECT_EQ(parser.reply().lines, std::vector<std::string>{"fresh"});
}

TEST(ClientReplyParser, Bounded) {
    struct Case {
        const char* label;
        std::string input;
        bool error;
    };
    // A multi-line reply of exactly total octets.
    auto reply_of = [](size_t total) {
        std::string out;
        while (out.size() + 2004 < total) out += "250-" + std::string(996, 'x') + "\r\n";
        return out + "250 " + std::string(total - out.size() - 6, 'y') + "\r\n";
    };
    const size_t max = ClientReplyParser::reply_bytes_max;
    const Case cases[] = {
        {"exactly the limit", reply_of(max), false},
        {"one octet more", reply_of(max + 1), true},
        {"one endless line", std::string(max + 1, 'z'), true},
    };
    for (const Case& c : cases) {
        for (size_t chunk : {size_t(1) << 20, size_t(4096), size_t(7)}) {
            ClientReplyParser parser;
            std::string_view in = c.input;
            ReplyParse last = ReplyParse::need_more;
            while (!in.empty() && last == ReplyParse::need_more) {
                std::string_view piece = in.substr(0, chunk);
                in.remove_prefix(piece.size());
                last = parser.parse(piece);
            }
            EXPECT_EQ(last == ReplyParse::error, c.error)
                << c.label << " in chunks of " << chunk << ": got " << int(last);
        }
    }
}

TEST(ClientReply, Summary) {
    ClientReply reply;
    reply.code = 550;
    reply.enhanced = "5.7.1";
    reply.lines = {"rejected\r", "", "see\x01 policy"};
    EXPECT_EQ(reply.summary(), "550 5.7.1 rejected see? policy");
    EXPECT_EQ(reply.enhanced_or_default(), "5.7.1");
    reply.enhanced.clear();
    reply.code = 421;
    EXPECT_EQ(reply.enhanced_or_default(), "4.0.0");
    reply.lines = {std::string(5000, 'a')};
    EXPECT_EQ(reply.summary().size(), 1000u);
}

ServerCapabilities ehlo(std::vector<std::string> lines) {
    ClientReply reply;
    reply.code = 250;
    reply.lines = std::move(lines);
    return parse_ehlo_reply(reply);
}

TEST(ServerCapabilities, Keywords) {
    struct Case {
        const char* label;
        ServerCapabilities got;
        ServerCapabilities want;
    };
    auto caps = [](auto f) {
        ServerCapabilities c;
        c.esmtp = true;
        f(c);
        return c;
    };
    const Case cases[] = {
        {"greeting line only", ehlo({"mx PIPELINING SIZE"}), caps([](auto&) {})},
        {"everything",
         ehlo({"mx", "PIPELINING", "SIZE 52428800", "8BITMIME", "SMTPUTF8", "CHUNKING",
               "BINARYMIME", "DSN", "STARTTLS", "ENHANCEDSTATUSCODES",
               "AUTH PLAIN LOGIN CRAM-MD5"}),
         caps([](ServerCapabilities& c) {
             c.pipelining = c.size = c.eight_bit_mime = c.smtputf8 = c.chunking = true;
             c.binary_mime = c.dsn = c.starttls = c.enhanced_status_codes = true;
             c.auth_plain = c.auth_login = true;
             c.size_bytes_max = 52428800;
         })},
        {"case-insensitive", ehlo({"mx", "pipelining", "Auth login"}),
         caps([](ServerCapabilities& c) { c.pipelining = c.auth_login = true; })},
        {"old AUTH= form", ehlo({"mx", "AUTH=PLAIN LOGIN"}),
         caps([](ServerCapabilities& c) { c.auth_plain = c.auth_login = true; })},
        {"SIZE without a number", ehlo({"mx", "SIZE"}),
         caps([](ServerCapabilities& c) { c.size = true; })},
        {"SIZE garbage or overflow", ehlo({"mx", "SIZE 12x", "SIZE 99999999999999999999999"}),
         caps([](ServerCapabilities& c) { c.size = true; })},
        {"unknown keywords and prefixes", ehlo({"mx", "XFORWARD NAME", "PIPELININGX", "DSN2"}),
         caps([](auto&) {})},
    };
    for (const Case& c : cases) {
        EXPECT_TRUE(c.got == c.want)
            << c.label << ": got pipelining=" << c.got.pipelining
            << " size=" << c.got.size_bytes_max << " auth_plain=" << c.got.auth_plain;
    }
}

TEST(ClientSasl, Encodings) {
    struct Case {
        std::string got;
        std::string want;
    };
    const Case cases[] = {
        {base64_encode(""), ""},
        {base64_encode("f"), "Zg=="},
        {base64_encode("fo"), "Zm8="},
        {base64_encode("foo"), "Zm9v"},
        {base64_encode("foob"), "Zm9vYg=="},
        {base64_encode("\xff\xfe\x00"), "//4="},
        {base64_encode(std::string("\xff\xfe\x00", 3)), "//4A"},
        {sasl_plain_response("relay", "secret"), "AHJlbGF5AHNlY3JldA=="},
        {sasl_plain_response("user@example.com", "p\xc3\xa4ss"),
         "AHVzZXJAZXhhbXBsZS5jb20AcMOkc3M="},
    };
    for (const Case& c : cases) EXPECT_EQ(c.got, c.want) << "got " << c.got << ", want " << c.want;
}

}  // namespace
}  // namespace ringmta::smtp
