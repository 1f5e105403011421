#include "mta/smtp/params.hh"

#include <gtest/gtest.h>

#include <string>

namespace ringmta::smtp {
namespace {

std::string show(const MailParams& p) {
    return "size=" + (p.size_given ? std::to_string(p.size_bytes) : std::string("-")) +
           " body=" + std::to_string(int(p.body)) + " smtputf8=" + std::to_string(p.smtputf8) +
           " ret=" + std::to_string(int(p.ret)) + " envid=\"" + p.envid +
           "\" auth=" + std::to_string(p.auth_given);
}

std::string show(const RcptParams& p) {
    return "notify=" + std::to_string(p.notify) + " orcpt=\"" + p.orcpt_type + "\";\"" +
           p.orcpt_xtext + "\" decoded=\"" + p.orcpt_address + "\"";
}

template <typename T>
std::string show(const base::Result<T>& r) {
    return r ? show(*r) : "error \"" + r.error().message + "\"";
}

template <typename T>
struct ParamCase {
    const char* label;
    std::string input;
    T want;
    std::string_view error = "";  // "" when valid
};

template <typename T, size_t N, typename Parse>
void check_table(const ParamCase<T> (&cases)[N], Parse parse) {
    for (const ParamCase<T>& c : cases) {
        auto got = parse(c.input);
        if (!c.error.empty()) {
            EXPECT_TRUE(!got && got.error().message == c.error)
                << c.label << ": got " << show(got) << ", want error \"" << c.error << "\"";
            continue;
        }
        EXPECT_TRUE(got && show(*got) == show(c.want))
            << c.label << ": got " << show(got) << ", want " << show(c.want);
    }
}

constexpr std::string_view kSyntax = "501 5.5.4 Syntax error in parameters";

TEST(MailParams, Table) {
    using Case = ParamCase<MailParams>;
    auto mp = [](auto set) {
        MailParams p;
        set(p);
        return p;
    };
    const Case cases[] = {
        {"none", "", {}},
        {"spaces only", "   ", {}},
        {"SIZE", "SIZE=12345", mp([](MailParams& p) {
             p.size_given = true;
             p.size_bytes = 12345;
         })},
        {"SIZE zero", "size=0", mp([](MailParams& p) { p.size_given = true; })},
        {"BODY 7BIT", "BODY=7BIT", mp([](MailParams& p) { p.body = BodyType::seven_bit; })},
        {"BODY 8BITMIME any case", "body=8bitmime",
         mp([](MailParams& p) { p.body = BodyType::eight_bit_mime; })},
        {"BODY BINARYMIME", "BODY=BINARYMIME",
         mp([](MailParams& p) { p.body = BodyType::binary_mime; })},
        {"SMTPUTF8", "SMTPUTF8", mp([](MailParams& p) { p.smtputf8 = true; })},
        {"RET FULL", "RET=FULL", mp([](MailParams& p) { p.ret = DsnReturn::full; })},
        {"RET HDRS", "RET=hdrs", mp([](MailParams& p) { p.ret = DsnReturn::headers; })},
        {"ENVID", "ENVID=QQ314159+2Bx", mp([](MailParams& p) { p.envid = "QQ314159+2Bx"; })},
        {"AUTH null", "AUTH=<>", mp([](MailParams& p) { p.auth_given = true; })},
        {"AUTH mailbox", "AUTH=e+3Dmc2@example.com",
         mp([](MailParams& p) { p.auth_given = true; })},
        {"all together", "SIZE=1 BODY=8BITMIME  SMTPUTF8 RET=HDRS ENVID=x AUTH=<>",
         mp([](MailParams& p) {
             p.size_given = true;
             p.size_bytes = 1;
             p.body = BodyType::eight_bit_mime;
             p.smtputf8 = true;
             p.ret = DsnReturn::headers;
             p.envid = "x";
             p.auth_given = true;
         })},
        {"unknown keyword", "FOO=1", {}, "555 5.5.4 Unsupported option: FOO"},
        {"unknown flag keyword", "SIZE=1 XYZZY", {}, "555 5.5.4 Unsupported option: XYZZY"},
        {"RCPT keyword on MAIL", "NOTIFY=NEVER", {}, "555 5.5.4 Unsupported option: NOTIFY"},
        {"duplicate", "SIZE=1 size=2", {}, "501 5.5.4 Duplicate parameter: size"},
        {"duplicate flag", "SMTPUTF8 SMTPUTF8", {}, "501 5.5.4 Duplicate parameter: SMTPUTF8"},
        {"SIZE not a number", "SIZE=12a", {}, "501 5.5.4 Invalid SIZE value"},
        {"SIZE negative", "SIZE=-1", {}, "501 5.5.4 Invalid SIZE value"},
        {"SIZE overflow", "SIZE=18446744073709551616", {}, "501 5.5.4 Invalid SIZE value"},
        {"SIZE without value", "SIZE", {}, "501 5.5.4 Invalid SIZE value"},
        {"SIZE with empty value", "SIZE=", {}, kSyntax},
        {"BODY unknown", "BODY=9BIT", {}, "501 5.5.4 Invalid BODY value"},
        {"SMTPUTF8 with value", "SMTPUTF8=yes", {}, "501 5.5.4 Invalid SMTPUTF8 value"},
        {"RET unknown", "RET=ALL", {}, "501 5.5.4 Invalid RET value"},
        {"ENVID bad escape", "ENVID=a+2", {}, "501 5.5.4 Invalid ENVID value"},
        {"ENVID lower-case escape taken", "ENVID=a+2b",
         mp([](MailParams& p) { p.envid = "a+2b"; })},
        {"ENVID too long", "ENVID=" + std::string(101, 'e'), {}, "501 5.5.4 Invalid ENVID value"},
        {"ENVID non-ASCII", "ENVID=\xc3\xa9", {}, "501 5.5.4 Invalid ENVID value"},
        {"value with =", "ENVID=a=b", {}, kSyntax},
        {"empty keyword", "=1", {}, kSyntax},
        {"keyword starting with hyphen", "-X=1", {}, kSyntax},
        {"control character", "ENVID=a\x01", {}, kSyntax},
    };
    check_table(cases, parse_mail_params);
}

TEST(RcptParams, Table) {
    using Case = ParamCase<RcptParams>;
    auto rp = [](uint8_t notify, std::string type = "", std::string xtext = "",
                 std::string decoded = "") {
        return RcptParams{notify, type, xtext, decoded};
    };
    const Case cases[] = {
        {"none", "", {}},
        {"NOTIFY NEVER", "NOTIFY=NEVER", rp(notify_never)},
        {"NOTIFY list", "NOTIFY=SUCCESS,failure,DELAY",
         rp(notify_success | notify_failure | notify_delay)},
        {"NOTIFY one", "notify=Delay", rp(notify_delay)},
        {"ORCPT", "ORCPT=rfc822;bob@example.com",
         rp(0, "rfc822", "bob@example.com", "bob@example.com")},
        {"ORCPT xtext", "ORCPT=rfc822;a+2Bb+3Dc@example.com",
         rp(0, "rfc822", "a+2Bb+3Dc@example.com", "a+b=c@example.com")},
        {"ORCPT utf-8 escape", "ORCPT=utf-8;j\\x{F6}rg@example.com",
         rp(0, "utf-8", "j\\x{F6}rg@example.com", "j\xc3\xb6rg@example.com")},
        {"ORCPT utf-8 unitext", "ORCPT=UTF-8;j\xc3\xb6rg@example.com",
         rp(0, "UTF-8", "j\xc3\xb6rg@example.com", "j\xc3\xb6rg@example.com")},
        {"both", "NOTIFY=FAILURE ORCPT=rfc822;x@y", rp(notify_failure, "rfc822", "x@y", "x@y")},
        {"NEVER with another", "NOTIFY=NEVER,SUCCESS", {}, "501 5.5.4 Invalid NOTIFY value"},
        {"another with NEVER", "NOTIFY=DELAY,NEVER", {}, "501 5.5.4 Invalid NOTIFY value"},
        {"NOTIFY unknown", "NOTIFY=ALWAYS", {}, "501 5.5.4 Invalid NOTIFY value"},
        {"NOTIFY empty item", "NOTIFY=SUCCESS,", {}, "501 5.5.4 Invalid NOTIFY value"},
        {"NOTIFY without value", "NOTIFY", {}, "501 5.5.4 Invalid NOTIFY value"},
        {"ORCPT without type", "ORCPT=bob@example.com", {}, "501 5.5.4 Invalid ORCPT value"},
        {"ORCPT empty address", "ORCPT=rfc822;", {}, "501 5.5.4 Invalid ORCPT value"},
        {"ORCPT bad xtext", "ORCPT=rfc822;a+ZZb", {}, "501 5.5.4 Invalid ORCPT value"},
        {"ORCPT bad utf-8 escape", "ORCPT=utf-8;a\\x{D800}", {}, "501 5.5.4 Invalid ORCPT value"},
        {"ORCPT too long",
         "ORCPT=rfc822;" + std::string(500, 'a'),
         {},
         "501 5.5.4 Invalid ORCPT value"},
        {"MAIL keyword on RCPT", "SIZE=1", {}, "555 5.5.4 Unsupported option: SIZE"},
        {"duplicate NOTIFY",
         "NOTIFY=NEVER NOTIFY=NEVER",
         {},
         "501 5.5.4 Duplicate parameter: NOTIFY"},
    };
    check_table(cases, parse_rcpt_params);
}

TEST(Xtext, Decode) {
    struct {
        std::string_view input;
        const char* want;  // nullptr: invalid
    } cases[] = {
        {"", ""},        {"abc", "abc"},   {"+2B+3D", "+="}, {"+41", "A"},     {"a+2", nullptr},
        {"a+", nullptr}, {"a=b", nullptr}, {"a b", nullptr}, {"+G0", nullptr},
    };
    for (const auto& c : cases) {
        auto got = decode_xtext(c.input);
        if (!c.want) {
            EXPECT_FALSE(got) << "\"" << c.input << "\": got \"" << (got ? *got : "")
                              << "\", want invalid";
        } else {
            EXPECT_TRUE(got && *got == c.want)
                << "\"" << c.input << "\": got " << (got ? *got : "invalid") << ", want " << c.want;
        }
    }
}

}  // namespace
}  // namespace ringmta::smtp
