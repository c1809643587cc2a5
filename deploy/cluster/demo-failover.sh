#!/usr/bin/env bash
# The README's cluster demo (README "A three-node cluster"): appends through
# node-2, each retried with its own event id until acknowledged, while the
# sequencer is SIGKILLed; then every node holds the same log.
#
#   deploy/cluster/demo-failover.sh [DIR] [COUNT]
#
# Run `deploy/cluster/local-cluster.sh start DIR` first. Prints what it did
# and each node's head; exits 1 if an acknowledged append is missing or the
# nodes differ.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-cluster-data}
count=${2:-200}
cluster=$here/local-cluster.sh
caseline=${CASELINE:-$here/../../build/tools/caseline}
base=$(cat "$dir/ports")
node2=127.0.0.1:$((base + 22))
stream=demo-$(date +%s%N)

sequencer=$(bash "$cluster" status "$dir" | sed -n 's/^sequencer: node-//p')
echo "appending $count events to $stream through node-2; the sequencer is node-$sequencer"
(
  for i in $(seq 1 "$count"); do
    id=$(cat /proc/sys/kernel/random/uuid)
    # An identical retry (same event id) of a stored append is answered
    # already_written: retrying until acknowledged stores each event once.
    until echo "{\"event_id\":\"$id\",\"event_type\":\"Noted\",\"data\":{\"i\":$i}}" |
      "$caseline" --server "$node2" --timeout 5 append --stream "$stream" \
        > /dev/null 2>&1; do
      sleep 0.1
    done
  done
) &
appender=$!
sleep 1
killed=$sequencer
[ "$killed" = 2 ] && killed=1  # keep the node the appends go through
echo "SIGKILL node-$killed while the appends run"
bash "$cluster" kill "$killed" "$dir"
wait "$appender"
echo "all $count appends acknowledged"
bash "$cluster" restart "$killed" "$dir"
sleep 1
bash "$cluster" status "$dir"
# Every node holds the whole stream, the same events in the same order.
status=0
reference=""
for n in 1 2 3; do
  events=$("$caseline" --server 127.0.0.1:$((base + 10 * n + 2)) read-stream \
    --stream "$stream" 2> /dev/null | python3 -c '
import json, sys
print(" ".join(json.loads(l)["event_id"] for l in sys.stdin if l.strip()))')
  got=$(echo "$events" | wc -w)
  echo "node-$n: $got of $count events of $stream"
  [ "$got" = "$count" ] || status=1
  [ -z "$reference" ] && reference=$events
  [ "$events" = "$reference" ] || { echo "node-$n differs from node-1"; status=1; }
done
exit $status
