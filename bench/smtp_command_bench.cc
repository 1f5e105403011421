// SMTP command-line parsing as the server session does it (items/s and bytes/s): parse_command,
// then for MAIL the parameters and the reverse path, for RCPT the parameters and the forward
// path, over a fixed mix of sessions (EHLO, MAIL FROM with SIZE and BODY, RCPT TO with NOTIFY
// and ORCPT, DATA, RSET, QUIT). Lines come without CRLF, as the session hands them over.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "mta/smtp/address.hh"
#include "mta/smtp/command.hh"
#include "mta/smtp/params.hh"

namespace ringmta::smtp {
namespace {

constexpr size_t kSessions = 64;

const char* const kDomains[] = {"example.com", "mail.example.net", "customers.example.org",
                                "eu.shop-example.de", "example.co.uk", "list.example.io"};
const char* const kNotify[] = {"SUCCESS,FAILURE", "FAILURE", "FAILURE,DELAY", "NEVER"};

std::string mailbox(std::mt19937_64& rng, const char* prefix) {
    return std::string(prefix) + std::to_string(rng() % 100000) + "." +
           std::to_string(rng() % 1000) + "@" + kDomains[rng() % 6];
}

// Per session: EHLO, one to three transactions of MAIL, 1-8 RCPT and DATA (a RSET before the
// second and later ones, as clients that reset between messages do), QUIT. Every third MAIL
// carries no BODY; every other RCPT carries NOTIFY and ORCPT.
std::vector<std::string> make_lines() {
    std::mt19937_64 rng(7);
    std::vector<std::string> lines;
    for (size_t s = 0; s < kSessions; ++s) {
        lines.push_back("EHLO mta" + std::to_string(s) + ".out." + kDomains[rng() % 6]);
        for (uint64_t t = 0, n = 1 + rng() % 3; t < n; ++t) {
            if (t > 0) lines.push_back("RSET");
            std::string mail = "MAIL FROM:<" + mailbox(rng, "bounces+") + "> SIZE=" +
                               std::to_string(1024 + rng() % 200000);
            if (rng() % 3 != 0) mail += " BODY=8BITMIME";
            lines.push_back(mail);
            for (uint64_t r = 0, k = 1 + rng() % 8; r < k; ++r) {
                std::string to = mailbox(rng, "user");
                std::string rcpt = "RCPT TO:<" + to + ">";
                if (r % 2 == 0)
                    rcpt += std::string(" NOTIFY=") + kNotify[rng() % 4] + " ORCPT=rfc822;" + to;
                lines.push_back(rcpt);
            }
            lines.push_back("DATA");
        }
        lines.push_back("QUIT");
    }
    return lines;
}

// What ServerSession::execute and its cmd_mail/cmd_rcpt parse for one line; returns a value
// that depends on every parse so none is optimised away, and 0 when the line was refused.
size_t parse_like_server(std::string_view line) {
    Command cmd = parse_command(line);
    if (!cmd.ok()) return 0;
    switch (cmd.verb) {
        case Verb::mail: {
            auto params = parse_mail_params(cmd.params);
            if (!params) return 0;
            auto path = parse_reverse_path(cmd.path, params->smtputf8);
            return path ? path->mailbox.size() + params->size_bytes : 0;
        }
        case Verb::rcpt: {
            auto params = parse_rcpt_params(cmd.params);
            if (!params) return 0;
            auto path = parse_forward_path(cmd.path, false);
            return path ? path->mailbox.size() + params->orcpt_address.size() + params->notify : 0;
        }
        default: return cmd.argument.size() + size_t(cmd.verb);
    }
}

int64_t total_bytes(const std::vector<std::string>& lines) {
    int64_t n = 0;
    for (const std::string& l : lines) n += int64_t(l.size()) + 2;  // CRLF was on the wire
    return n;
}

// One iteration parses every line of `lines`; items are lines, bytes count CRLF too.
template <typename Parse>
void run_lines(benchmark::State& state, const std::vector<std::string>& lines, Parse parse) {
    for (const std::string& l : lines) {
        if (parse(l) == 0) {  // a broken workload must fail the smoke test, not be timed
            std::fprintf(stderr, "refused: %s\n", l.c_str());
            std::abort();
        }
    }
    for (auto _ : state) {
        for (const std::string& l : lines) benchmark::DoNotOptimize(parse(l));
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(lines.size()));
    state.SetBytesProcessed(int64_t(state.iterations()) * total_bytes(lines));
}

std::vector<std::string> only(const std::vector<std::string>& lines, const char* prefix) {
    std::vector<std::string> out;
    for (const std::string& l : lines)
        if (l.starts_with(prefix)) out.push_back(l);
    return out;
}

// The whole mix, parsed as the server does.
void BM_SessionMix(benchmark::State& state) { run_lines(state, make_lines(), parse_like_server); }
BENCHMARK(BM_SessionMix);

// The same mix through parse_command alone: the verb split, without parameters and paths.
void BM_SessionMixVerbOnly(benchmark::State& state) {
    run_lines(state, make_lines(), [](std::string_view l) {
        Command cmd = parse_command(l);
        return cmd.path.size() + cmd.params.size() + cmd.argument.size() + size_t(cmd.verb) + 1;
    });
}
BENCHMARK(BM_SessionMixVerbOnly);

void BM_MailFrom(benchmark::State& state) {
    run_lines(state, only(make_lines(), "MAIL"), parse_like_server);
}
BENCHMARK(BM_MailFrom);

void BM_RcptTo(benchmark::State& state) {
    run_lines(state, only(make_lines(), "RCPT"), parse_like_server);
}
BENCHMARK(BM_RcptTo);

}  // namespace
}  // namespace ringmta::smtp
