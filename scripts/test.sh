#!/usr/bin/env bash
# The whole test suite, as CI runs it: install dependencies, build twice (release with -Werror,
# and address+undefined sanitizers), run every GoogleTest binary under both builds, then the
# integration tests against real peers on loopback (they start and stop their own servers).
# Ends with one line "N passed, N failed"; exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

SECONDS=0
scripts/install-deps.sh

log_dir=${RINGMTA_TEST_LOGS:-/tmp/ringmta-test-logs}
rm -rf "$log_dir" && mkdir -p "$log_dir"
passed=0
failed=0
skipped=0
failures=()

build() {  # build DIR ONLY_UNIT_TESTS(yes|no) MESON_ARGS...
  local dir=$1 only_unit_tests=$2; shift 2
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$log_dir/setup-$(basename "$dir").log" 2>&1 \
      || { cat "$log_dir/setup-$(basename "$dir").log"; return 1; }
  else
    meson configure "$dir" "$@" >/dev/null 2>&1
  fi
  local targets=()
  if [ "$only_unit_tests" = yes ]; then
    # The sanitizer build exists for the unit tests; skipping the daemon, the load tool and the
    # micro-benchmarks there halves its build time on a 2-core machine.
    ninja -C "$dir" build.ninja >/dev/null 2>&1 || true  # regenerated first: new tests appear
    mapfile -t targets < <(sed -n 's/^build \(tests\/[a-z_]*\/[a-z_]*_test\): .*/\1/p' "$dir/build.ninja")
  fi
  ninja -C "$dir" "${targets[@]}" >"$log_dir/ninja-$(basename "$dir").log" 2>&1 \
    || { tail -50 "$log_dir/ninja-$(basename "$dir").log"; return 1; }
}

# Runs every gtest binary of a build; counts test cases from gtest's own summary lines.
run_unit() {  # run_unit DIR LABEL
  local dir=$1 label=$2
  for t in "$dir"/tests/*/*_test; do
    [ -x "$t" ] || continue
    local name out p f
    name="$label/$(basename "$t")"
    out="$log_dir/unit-$label-$(basename "$t").log"
    "$t" --gtest_brief=1 >"$out" 2>&1
    local rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
    p=${p:-0}; f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed before its summary
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then failures+=("$name"); grep -E "FAILED|Failure|ERROR|Sanitizer" "$out" | head -20; fi
    echo "unit $name: $p passed, $f failed"
  done
}

echo "== release build (-Werror) [${SECONDS}s]"
if build build-ci no -Dbuildtype=release -Dwerror=true; then
  run_unit build-ci release
  # Micro-benchmarks double as tiny tests so they never rot.
  for b in build-ci/bench/*_bench; do
    [ -x "$b" ] || continue
    if "$b" --benchmark_min_time=0.001 >"$log_dir/bench-$(basename "$b").log" 2>&1; then
      passed=$((passed + 1)); echo "bench smoke $(basename "$b"): ok"
    else
      failed=$((failed + 1)); failures+=("bench $(basename "$b")"); tail -5 "$log_dir/bench-$(basename "$b").log"
    fi
  done
else
  failed=$((failed + 1)); failures+=("release build")
fi

echo "== sanitizer build (address, undefined) [${SECONDS}s]"
# -O0 without full debug info: sanitizer reports still name functions, and instrumented code
# builds in half the time it takes at -O1 (the unit tests run in seconds either way).
if build build-asan yes -Doptimization=0 -Ddebug=false -Db_sanitize=address,undefined -Db_lundef=false \
     -Dmimalloc=false -Dwerror=true; then
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 run_unit build-asan asan
else
  failed=$((failed + 1)); failures+=("sanitizer build")
fi

echo "== integration tests (real peers on loopback) [${SECONDS}s]"
if [ -x build-ci/mta/ringmta ]; then
  RINGMTA_BIN="$root/build-ci/mta/ringmta" RINGMTA_BENCH_BIN="$root/build-ci/bench/ringmta-bench" \
    /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider tests/integration \
    --junitxml="$log_dir/integration.xml" 2>&1 | tee "$log_dir/integration.log" | tail -40
  summary=$(tail -1 "$log_dir/integration.log")
  p=$(echo "$summary" | grep -o '[0-9]* passed' | grep -o '[0-9]*'); p=${p:-0}
  f=$(echo "$summary" | grep -o '[0-9]* failed' | grep -o '[0-9]*'); f=${f:-0}
  e=$(echo "$summary" | grep -o '[0-9]* error' | grep -o '[0-9]*'); e=${e:-0}
  s=$(echo "$summary" | grep -o '[0-9]* skipped' | grep -o '[0-9]*'); skipped=${s:-0}
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then e=$((e + 1)); fi  # pytest collected nothing or crashed
  passed=$((passed + p)); failed=$((failed + f + e))
  [ $((f + e)) -eq 0 ] || failures+=("integration")
else
  failed=$((failed + 1)); failures+=("integration (no binary)")
fi

echo "== done [${SECONDS}s]"
[ ${#failures[@]} -eq 0 ] || echo "failing: ${failures[*]} (logs in $log_dir)"
# Skips are counted apart: a test skips only where a peer tool or ../shared is missing, and
# says which in the integration log.
[ "$skipped" -eq 0 ] || grep -h "SKIPPED" "$log_dir/integration.log" | head -20
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
