#include "mta/smtp/received_header.hh"

#include <gtest/gtest.h>

#include <string>

namespace ringmta::smtp {
namespace {

TEST(ReceivedHeader, Protocol) {
    struct {
        bool esmtp, tls, auth, utf8;
        std::string_view want;
    } cases[] = {
        {false, false, false, false, "SMTP"},   {true, false, false, false, "ESMTP"},
        {true, true, false, false, "ESMTPS"},   {true, false, true, false, "ESMTPA"},
        {true, true, true, false, "ESMTPSA"},   {true, false, false, true, "UTF8SMTP"},
        {true, true, false, true, "UTF8SMTPS"}, {true, false, true, true, "UTF8SMTPA"},
        {true, true, true, true, "UTF8SMTPSA"},
    };
    for (const auto& c : cases) {
        std::string_view got = received_protocol(c.esmtp, c.tls, c.auth, c.utf8);
        EXPECT_EQ(got, c.want) << "got " << got << ", want " << c.want;
    }
}

TEST(ReceivedHeader, Dates) {
    struct {
        int64_t time_s;
        int offset_min;
        std::string_view want;
    } cases[] = {
        {0, 0, "Thu, 1 Jan 1970 00:00:00 +0000"},
        {1057056757, 120, "Tue, 1 Jul 2003 12:52:37 +0200"},
        {951782400, 0, "Tue, 29 Feb 2000 00:00:00 +0000"},
        {1709164800, -330, "Wed, 28 Feb 2024 18:30:00 -0530"},
        {4102444799, 0, "Thu, 31 Dec 2099 23:59:59 +0000"},
    };
    for (const auto& c : cases) {
        std::string got;
        append_rfc5322_date(got, c.time_s, c.offset_min);
        EXPECT_EQ(got, c.want) << "got " << got << ", want " << c.want;
    }
}

TEST(ReceivedHeader, Format) {
    ReceivedFields base;
    base.helo = "client.example";
    base.reverse_name = "mail.client.example";
    base.client_ip = "192.0.2.7";
    base.hostname = "gw.example.com";
    base.queue_id = "4Qx7Zz1";
    base.time_s = 1057056757;

    struct Case {
        const char* label;
        ReceivedFields fields;
        std::string want;
    };
    std::vector<Case> cases;
    {
        ReceivedFields f = base;
        f.recipient = "bob@example.net";
        cases.push_back({"one recipient", f,
                         "Received: from client.example (mail.client.example [192.0.2.7])\r\n"
                         "\tby gw.example.com (ringmta) with ESMTP id 4Qx7Zz1\r\n"
                         "\tfor <bob@example.net>; Tue, 1 Jul 2003 10:52:37 +0000\r\n"});
    }
    {
        ReceivedFields f = base;
        f.reverse_name = "";
        f.client_ip = "2001:db8::7";
        f.esmtp = false;
        cases.push_back({"several recipients, no reverse name, IPv6", f,
                         "Received: from client.example (unknown [IPv6:2001:db8::7])\r\n"
                         "\tby gw.example.com (ringmta) with SMTP id 4Qx7Zz1;\r\n"
                         "\tTue, 1 Jul 2003 10:52:37 +0000\r\n"});
    }
    {
        ReceivedFields f = base;
        f.tls = true;
        f.authenticated = true;
        f.tls_protocol = "TLSv1.3";
        f.tls_cipher = "TLS_AES_256_GCM_SHA384";
        cases.push_back({"TLS", f,
                         "Received: from client.example (mail.client.example [192.0.2.7])\r\n"
                         "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
                         "\tby gw.example.com (ringmta) with ESMTPSA id 4Qx7Zz1;\r\n"
                         "\tTue, 1 Jul 2003 10:52:37 +0000\r\n"});
    }
    {
        ReceivedFields f = base;
        f.helo = "evil\r\nX-Injected: 1 (\n)";
        f.reverse_name = "a(b)c";
        cases.push_back({"hostile HELO", f,
                         "Received: from evilX-Injected: 1 ?? (a?b?c [192.0.2.7])\r\n"
                         "\tby gw.example.com (ringmta) with ESMTP id 4Qx7Zz1;\r\n"
                         "\tTue, 1 Jul 2003 10:52:37 +0000\r\n"});
    }
    {
        ReceivedFields f = base;
        f.helo = "\xc3\xa9vil.example";
        cases.push_back({"8-bit HELO, no SMTPUTF8", f,
                         "Received: from ??vil.example (mail.client.example [192.0.2.7])\r\n"
                         "\tby gw.example.com (ringmta) with ESMTP id 4Qx7Zz1;\r\n"
                         "\tTue, 1 Jul 2003 10:52:37 +0000\r\n"});
        f.smtputf8 = true;
        cases.push_back({"8-bit HELO under SMTPUTF8", f,
                         "Received: from \xc3\xa9vil.example (mail.client.example [192.0.2.7])\r\n"
                         "\tby gw.example.com (ringmta) with UTF8SMTP id 4Qx7Zz1;\r\n"
                         "\tTue, 1 Jul 2003 10:52:37 +0000\r\n"});
    }
    for (const Case& c : cases) {
        std::string got;
        append_received_header(got, c.fields);
        EXPECT_EQ(got, c.want) << c.label << ": got \"" << got << "\", want \"" << c.want << "\"";
        for (size_t i = 0; i < got.size(); ++i) {
            bool paired = got[i] == '\r' ? i + 1 < got.size() && got[i + 1] == '\n'
                                         : got[i] != '\n' || (i > 0 && got[i - 1] == '\r');
            ASSERT_TRUE(paired) << c.label << ": bare CR or LF at " << i;
        }
    }
}

}  // namespace
}  // namespace ringmta::smtp
