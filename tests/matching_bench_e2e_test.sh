#!/usr/bin/env bash
# The matching benchmark end to end (docs/performance.md "Issue 19"):
# caseline-bench --only matching --strict on FEBRL dataset1.csv (a copy in
# tests/fixtures/febrl), then checks from its --json rows that every quality
# figure was computed: 1000 records, 500 true pairs, precision, recall, F1,
# pair completeness and reduction ratio present and in [0, 1], counts
# consistent, both rates positive. It checks that the figures exist, not
# what they are: the goals of issue 19 are read off the benchmark's output.
# Usage: matching_bench_e2e_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source_dir=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$build/bench/caseline-bench" --strict --only matching \
  --matching_files "$source_dir/tests/fixtures/febrl/dataset1.csv" \
  --matching_callers 4 --json "$out/bench.json" \
  > "$out/stdout" 2> "$out/stderr" || {
  echo "caseline-bench failed:"; tail -30 "$out/stderr"; cat "$out/stdout"; exit 1; }
cat "$out/stdout"
/usr/bin/python3 - "$out/bench.json" <<'PY'
import json
import sys

rows = json.load(open(sys.argv[1]))["rows"]
failures = []


def row(scenario_prefix, system_prefix):
    for r in rows:
        if r["scenario"].startswith(scenario_prefix) and r["system"].startswith(
                system_prefix):
            return r.get("metrics", {})
    failures.append("missing row: %r / %r" % (scenario_prefix, system_prefix))
    return {}


def unit(metrics, name, what):
    value = metrics.get(name)
    if not isinstance(value, (int, float)) or not 0 <= value <= 1:
        failures.append("%s %s is %r, not in [0, 1]" % (what, name, value))


quality = "matching: FEBRL dataset1.csv, 1000 records, 500 true pairs"
refused = row(quality, "caseline: registrations refused")
if refused.get("records") != 1000 or refused.get("true_pairs") != 500:
    failures.append("records/true pairs: %r" % refused)
if refused.get("registered", -1) + refused.get("refused", -1) != 1000:
    failures.append("registered + refused != 1000: %r" % refused)
for system in ("caseline: match (p >=", "caseline: match + review (p >=",
               "baseline: exact surname+given+birth"):
    m = row(quality, system)
    for name in ("precision", "recall", "f1"):
        unit(m, name, system)
    if m.get("true_pairs_found", 1) > m.get("pairs_found", 0):
        failures.append("%s: more true pairs than pairs: %r" % (system, m))
    if m.get("true_pairs_found", 0) > 500:
        failures.append("%s: more than 500 true pairs found" % system)
match = row(quality, "caseline: match (p >=")
review = row(quality, "caseline: match + review (p >=")
band = row(quality, "caseline: review band")
if review.get("pairs_found", -1) != match.get("pairs_found", 0) + band.get(
        "pairs", 0):
    failures.append("match + review != match + band")
blocking = row(quality, "caseline: blocking")
unit(blocking, "pair_completeness", "blocking")
unit(blocking, "reduction_ratio", "blocking")
if not blocking.get("candidate_pairs", 0) > 0:
    failures.append("no candidate pairs: %r" % blocking)
rate = "matching rate: FEBRL dataset1.csv, 1000 records"
for system in ("caseline: RegisterClient over gRPC",
               "caseline: rebuild of duplication"):
    if not row(rate, system).get("registrations_per_second", 0) > 0:
        failures.append("%s: no registrations/s" % system)
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("matching bench: every quality figure computed")
PY
