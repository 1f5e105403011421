// ringmta-bench: the load source and smart-host sink of ringmta (see INTERFACE.md). Parses
// the subcommand and hands over; a usage error prints one line and the usage, exit 2;
// `SUBCOMMAND --help` prints that subcommand's help on stdout, exit 0.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/load/bench_options.hh"
#include "bench/load/sink_runner.hh"
#include "bench/load/source_runner.hh"

namespace {

template <typename Parse, typename Run>
int parse_and_run(const char* command, const char* help, const std::vector<std::string>& args,
                  Parse parse, Run run) {
    auto options = parse(args);
    if (!options) {
        fprintf(stderr, "ringmta-bench %s: %s\n%s", command, options.error().message.c_str(),
                ringmta::bench::bench_usage());
        return 2;
    }
    if (options->help) {
        fputs(help, stdout);
        return 0;
    }
    return run(*options);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ringmta::bench;
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
        fputs(bench_usage(), argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    std::string command = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    if (command == "source")
        return parse_and_run("source", source_help(), args, parse_source_options, run_source);
    if (command == "sink")
        return parse_and_run("sink", sink_help(), args, parse_sink_options, run_sink);
    fprintf(stderr, "ringmta-bench: unknown command '%s'\n%s", command.c_str(), bench_usage());
    return 2;
}
