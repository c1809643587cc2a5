#!/usr/bin/env bash
# Runs caseline-bench with every scenario scaled down (a fraction of a second
# each, a few thousand events) and checks that every scenario printed its
# figure beside each of its baselines, with no failed call (--strict) and a
# JSON file. It measures nothing: figures come from full runs
# (docs/performance.md).
# Usage: bench_smoke_test.sh BUILD_DIR
set -euo pipefail
build=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$build/bench/caseline-bench" --strict --seconds 0.3 --warmup 0.1 \
  --callers 1,4 --batch_callers 2 --mixed_callers 4 --subscribers 3 \
  --fanout_appenders 2 --command_clients 2 --idle_subscriptions 20 \
  --verify_events 2000 --events 3000 --queries 30 --encryption_events 1000 --encryption_rounds 2 \
  --json "$out/bench.json" \
  > "$out/stdout" 2> "$out/stderr" || {
  echo "caseline-bench failed:"; tail -30 "$out/stderr"; cat "$out/stdout"; exit 1; }
cat "$out/stdout"
expect() {  # scenario system
  if ! grep -E "^$1 +$2" "$out/stdout" > /dev/null; then
    echo "missing row: scenario '$1', system '$2'"; exit 1
  fi
}
for s in "durable append, 1 event" "durable append, 100-event batch"; do
  expect "$s" "caseline over gRPC"
  expect "$s" "storage ceiling: raw RocksDB"
  expect "$s" "postgresql 15"
done
expect "durable append, 1 event" "transport ceiling: empty call"
expect "mixed: 80% reads \(20 events\), 20% appends" "caseline over gRPC"
expect "mixed: 80% reads \(20 events\), 20% appends" "transport ceiling"
expect "mixed: 80% reads \(20 events\), 20% appends" "postgresql 15"
expect "subscription fan-out, 3 subscribers" "caseline: append sent"
expect "subscription fan-out, 3 subscribers" "baseline: the append's own ack"
expect "care command: read, decide, append 1" "caseline: RecordFollowUp command"
expect "care command: read, decide, append 1" "baseline: raw Append, 1 event"
expect "care command: read, decide, append 1" "postgresql 15"
expect "cost of 20 idle subscriptions" "caseline: client\+server process"
expect "cost of 20 idle subscriptions" "baseline: same process, none open"
expect "append with 20 idle subscriptions" "caseline: subscriptions open"
expect "append with 20 idle subscriptions" "baseline: none open"
expect "append beside reads, [0-9]+-event log" "baseline: append, nothing beside"
expect "append beside reads, [0-9]+-event log" "caseline: \+ 8 VerifyChain loops"
expect "append beside reads, [0-9]+-event log" "caseline: \+ 64 ReadAll 1000-pages"
expect "projection rebuild, [0-9]+ events" "baseline: bare log scan"
for p in continuity duplication access "all, concurrently"; do
  expect "projection rebuild, [0-9]+ events" "caseline: $p"
done
expect "view query, [0-9]+ events, 1 caller" "caseline: worklist"
expect "view query, [0-9]+ events, 1 caller" "caseline: summary as an agency"
expect "caselined start-up, [0-9]+ events" "caselined: loaded directory"
expect "caselined start-up, [0-9]+ events" "baseline: caselined, empty"
for s in "encryption: durable append to client streams, 1 event, in-process" \
    "encryption: care command \(RecordFollowUp\)" \
    "encryption: rebuild of all projections, [0-9]+ events" \
    "encryption: bare log scan \(ReadAll\), [0-9]+ events"; do
  expect "$s" "caseline: client payloads encrypted"
  expect "$s" "baseline: client payloads plaintext"
done
grep -q '"scenario": "durable append, 1 event"' "$out/bench.json" ||
  { echo "bench.json lacks the append rows"; exit 1; }
echo "bench smoke: every scenario and baseline present"
