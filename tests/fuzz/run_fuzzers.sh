#!/usr/bin/env bash
# CI step: builds the libFuzzer targets (tests/fuzz) with clang-14 in
# build-fuzz and runs each for SECONDS_PER_TARGET (default 60) on a temporary
# copy of its seed corpus (the repository's is never modified) plus its
# regressions. Exits non-zero if any target crashes, printing the crash
# input's path (kept under build-fuzz/fuzz-artifacts/<target>/).
#
#   tests/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET]
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")/../.."
root="$PWD"
build="$root/build-fuzz"
targets=(request_fuzz envelope_fuzz cli_json_fuzz)

cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCASELINE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j2 --target caseline_fuzz

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
for target in "${targets[@]}"; do
  artifacts="$build/fuzz-artifacts/$target"
  rm -rf "$artifacts"
  mkdir -p "$artifacts" "$work/$target"
  cp -R "tests/fuzz/corpus/$target/." "$work/$target/"
  echo "== $target: ${seconds}s on $(ls "$work/$target" | wc -l) seeds" \
       "+ tests/fuzz/regressions/$target"
  # New inputs go to the first directory (the copy); -timeout: one input
  # slower than 25 s is a hang; -rss_limit_mb: the libFuzzer default, stated.
  if "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=25 \
       -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$artifacts/" \
       "$work/$target" "tests/fuzz/regressions/$target" \
       > "$work/$target.log" 2>&1; then
    grep -E "^(stat::number_of_executed_units|stat::new_units_added|Done)" \
      "$work/$target.log" || true
  else
    failed=1
    tail -n 60 "$work/$target.log"
    for crash in "$artifacts"/*; do
      [ -e "$crash" ] && echo "CRASH in $target: $crash"
    done
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "fuzzing found crashes; see docs/testing.md (Fuzzing) to make each a regression test" >&2
fi
exit "$failed"
