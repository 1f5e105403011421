#!/usr/bin/env bash
# Installs the dependencies, builds a release binary and runs the gateway in the foreground on
# the embedded default configuration (listener 127.0.0.1:2525, spool ./spool, everything
# relayed to the smart host 127.0.0.1:2526). Extra arguments go to `ringmta serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build mta/ringmta bench/ringmta-bench 2>/dev/null || ninja -C build mta/ringmta
exec build/mta/ringmta serve "$@"
