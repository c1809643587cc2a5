#!/usr/bin/env bash
# The static checks (docs/testing.md "Static checks"), each failing the run:
#   1. layering: tools/check_layering.py;
#   2. tsa: the clang front end over every non-test translation unit (the
#      libraries, the programs, the benchmark and the test harness's
#      libraries) with build-tsa's flags: clang++-14, -Wthread-safety and
#      -Wall -Wextra -Wshadow, all -Werror, plus clang-tidy's one error check,
#      bugprone-use-after-move. It is run as clang-tidy with only that check,
#      so each file is parsed once and nothing is compiled or linked;
#   3. tidy: clang-tidy with all of .clang-tidy's checks over the same files
#      except bench/ and tests/; its errors fail the run, its warnings are
#      printed with their count. About three times the tsa step's time, so
#      CI runs layering and tsa only (.ci/run); run it before sending a change.
# ccache is not involved: nothing is compiled but the generated protos.
#
#   bash tests/run_static_checks.sh [layering|tsa|tidy ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=build-tsa
JOBS=${CASELINE_STATIC_JOBS:-2}
STEPS=("$@")
if [ ${#STEPS[@]} -eq 0 ]; then STEPS=(layering tsa tidy); fi

# Python regular expressions (run-clang-tidy's) on absolute paths: our .cc
# files, never the generated caseline/v1/*.pb.cc or etcd/.../*.pb.cc under
# build-tsa/, nor tests (*_test.cc). CASELINE_TIDY_TESTS=1 gives the tidy
# step the tests and the benchmark too.
ROOT_RE=$(printf '%s' "$ROOT" | sed 's/[.[\*^$()+?{|]/\\&/g')
TSA_FILES="^$ROOT_RE/(base|eventstore|care|projections|services|cluster|server|tools|bench|tests)/(?!.*_test\.cc\$).*\.cc\$"
TIDY_FILES="^$ROOT_RE/(base|eventstore|care|projections|services|cluster|server|tools)/(?!.*_test\.cc\$).*\.cc\$"
if [ "${CASELINE_TIDY_TESTS:-0}" = 1 ]; then
  TIDY_FILES="^$ROOT_RE/(base|eventstore|care|projections|services|cluster|server|tools|bench|tests)/.*\.cc\$"
fi

step() { echo "== $1 ($(date +%T))"; }

layering() {
  step "layering check: tools/check_layering.py"
  python3 tools/check_layering.py
}

# build-tsa's compile_commands.json and the generated headers the sources
# include; nothing else is built.
configure() {
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCASELINE_THREAD_SAFETY=ON -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG=-O0 > /dev/null
  cmake --build "$BUILD" -j "$JOBS" --target caseline_generated > /dev/null
}

# run_tidy FILES_RE [clang-tidy args...]: fails on any error (a -Werror
# diagnostic of the compile command, an error check, a file that does not
# parse); prints the warnings with their count.
run_tidy() {
  local files=$1
  shift
  local log status=0
  log=$(mktemp)
  # run-clang-tidy colours its output (--use-color) and prints each command
  # it runs: drop the colours, keep the findings.
  run-clang-tidy-14 -p "$BUILD" -j "$JOBS" -quiet "$@" "$files" 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g' > "$log" || status=$?
  local warnings errors
  warnings=$(grep -E ': warning: ' "$log" | sort -u || true)
  errors=$(grep -E ': error: ' "$log" | sort -u || true)
  echo "run_static_checks: $(grep -cE '^(/usr/bin/)?clang-tidy(-14)? ' "$log" || true) files checked"
  if [ -n "$warnings" ]; then
    printf '%s\n' "$warnings"
    echo "run_static_checks: $(printf '%s\n' "$warnings" | grep -c . || true) warning(s) (not fatal)"
  fi
  if [ "$status" -ne 0 ] || [ -n "$errors" ]; then
    grep -vE '^(/usr/bin/)?clang-tidy(-14)? |^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter=|^Use -system-headers' "$log" | grep -E ': error: ' -A3 || true
    echo "run_static_checks: $(printf '%s\n' "$errors" | grep -c . || true) error(s), exit status $status" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

tsa() {
  step "clang -Wthread-safety -Werror and bugprone-use-after-move: $BUILD"
  configure
  run_tidy "$TSA_FILES" '-checks=-*,bugprone-use-after-move'
}

tidy() {
  step "clang-tidy: every .clang-tidy check"
  configure
  run_tidy "$TIDY_FILES"
}

for s in "${STEPS[@]}"; do
  case "$s" in
    layering|tsa|tidy) start=$SECONDS; "$s"; echo "== $s passed in $((SECONDS - start)) s" ;;
    *) echo "usage: $0 [layering|tsa|tidy ...]" >&2; exit 2 ;;
  esac
done
