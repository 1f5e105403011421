// ringmta-bench: the load source and smart-host sink of ringmta (see INTERFACE.md). Parses
// the subcommand and hands over; a usage error prints one line and the usage, exit 2.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/load/bench_options.hh"
#include "bench/load/sink_runner.hh"
#include "bench/load/source_runner.hh"

int main(int argc, char** argv) {
    using namespace ringmta::bench;
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
        fputs(bench_usage(), argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    std::string command = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    if (command == "source") {
        auto options = parse_source_options(args);
        if (!options) {
            fprintf(stderr, "ringmta-bench source: %s\n%s", options.error().message.c_str(), bench_usage());
            return 2;
        }
        return run_source(*options);
    }
    if (command == "sink") {
        auto options = parse_sink_options(args);
        if (!options) {
            fprintf(stderr, "ringmta-bench sink: %s\n%s", options.error().message.c_str(), bench_usage());
            return 2;
        }
        return run_sink(*options);
    }
    fprintf(stderr, "ringmta-bench: unknown command '%s'\n%s", command.c_str(), bench_usage());
    return 2;
}
