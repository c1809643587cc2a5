#!/usr/bin/env bash
# The static checks (docs/testing.md "Static checks"), each failing the run:
#   1. the layering check, tools/check_layering.py;
#   2. the clang -Wthread-safety build in build-tsa/ (clang++-14,
#      -DCASELINE_THREAD_SAFETY=ON, -Werror): the libraries and programs are
#      compiled and linked, nothing is run;
#   3. clang-tidy (.clang-tidy) over our .cc files with build-tsa's
#      compile_commands.json: its errors (WarningsAsErrors: use-after-move)
#      fail the run; its warnings are printed, with their count.
# About 20 minutes on 2 cores from a cold build-tsa/; ccache, when installed,
# makes a second run a few minutes.
#
#   bash tests/run_static_checks.sh [layering|tsa|tidy ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=build-tsa
JOBS=${CASELINE_STATIC_JOBS:-2}
STEPS=("$@")
if [ ${#STEPS[@]} -eq 0 ]; then STEPS=(layering tsa tidy); fi

# What clang-tidy reads: our .cc files, not the generated caseline/v1/*.pb.cc
# in build-tsa/. Tests (*_test.cc and tests/) and the benchmark (bench/) are
# left out to keep CI's time bounded (docs/testing.md);
# CASELINE_TIDY_TESTS=1 includes them.
TIDY_DIRS="base|eventstore|care|projections|services|server|tools"
TIDY_SKIP='(?!.*_test\.cc$)'
if [ "${CASELINE_TIDY_TESTS:-0}" = 1 ]; then
  TIDY_DIRS="$TIDY_DIRS|tests|bench"
  TIDY_SKIP=""
fi

step() { echo "== $1 ($(date +%T))"; }

layering() {
  step "layering check: tools/check_layering.py"
  python3 tools/check_layering.py
}

tsa() {
  step "clang -Wthread-safety build: $BUILD"
  local launcher=()
  if command -v ccache > /dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  # -O0 without debug info: the analysis and the warnings are the front end's,
  # and an unoptimised build compiles in about half the time.
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCASELINE_THREAD_SAFETY=ON -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG=-O0 "${launcher[@]}" > /dev/null
  # The libraries and the programs (caselined, caseline, caseline-bench) and
  # the fuzz world; not the test executables.
  cmake --build "$BUILD" -j "$JOBS" --target caselined caseline caseline-bench \
    caseline_fault_injection caseline_fuzz_world
}

tidy() {
  step "clang-tidy: .clang-tidy over $TIDY_DIRS"
  if [ ! -f "$BUILD/compile_commands.json" ]; then
    echo "run_static_checks: no $BUILD/compile_commands.json; run the tsa step first" >&2
    return 1
  fi
  local root_re files log
  root_re=$(printf '%s' "$ROOT" | sed 's/[.[\*^$()+?{|]/\\&/g')
  # A Python regular expression (run-clang-tidy's), on absolute paths.
  files="^$root_re/($TIDY_DIRS)/$TIDY_SKIP.*\\.cc\$"
  log=$(mktemp)
  local status=0
  # run-clang-tidy colours its output (--use-color) and prints each command
  # it runs: drop the colours, keep the findings.
  run-clang-tidy-14 -p "$BUILD" -j "$JOBS" -quiet "$files" 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g' > "$log" || status=$?
  local warnings errors
  warnings=$(grep -E ': warning: ' "$log" | sort -u || true)
  errors=$(grep -E ': error: ' "$log" | sort -u || true)
  if [ -n "$warnings" ]; then
    printf '%s\n' "$warnings"
    echo "run_static_checks: clang-tidy: $(printf '%s\n' "$warnings" | grep -c . || true) warning(s) (not fatal)"
  fi
  if [ "$status" -ne 0 ] || [ -n "$errors" ]; then
    grep -vE '^(/usr/bin/)?clang-tidy(-14)? |^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter=|^Use -system-headers' "$log" | grep -E ': error: ' -A3 || true
    echo "run_static_checks: clang-tidy: $(printf '%s\n' "$errors" | grep -c . || true) error(s), exit status $status" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

for s in "${STEPS[@]}"; do
  case "$s" in
    layering|tsa|tidy) start=$SECONDS; "$s"; echo "== $s passed in $((SECONDS - start)) s" ;;
    *) echo "usage: $0 [layering|tsa|tidy ...]" >&2; exit 2 ;;
  esac
done
