#!/usr/bin/env bash
# A local Caseline cluster for development and tests (docs/cluster.md): three
# etcd members and three caselined nodes, all on loopback, each with its own
# data directory under DIR.
#
#   deploy/cluster/local-cluster.sh start   [DIR]   start everything (idempotent)
#   deploy/cluster/local-cluster.sh status  [DIR]   the sequencer, each node's head
#   deploy/cluster/local-cluster.sh kill N  [DIR]   SIGKILL caselined node N (1-3)
#   deploy/cluster/local-cluster.sh restart N [DIR] start node N again on its data
#   deploy/cluster/local-cluster.sh kill-etcd N [DIR] / restart-etcd N [DIR]
#   deploy/cluster/local-cluster.sh stop    [DIR]   stop everything (data stays)
#
# DIR defaults to ./cluster-data. Ports: CASELINE_CLUSTER_PORT (default 27000;
# "auto" picks a random base below the kernel's ephemeral range whose 40 ports
# are all free now; remembered in DIR/ports for the other commands) and up: etcd member N listens for clients on base+10N and for peers on
# base+10N+1; caselined node N serves gRPC on base+10N+2, HTTP (console,
# FHIR, /metrics) on base+10N+3 and the peer channel on base+10N+4.
# Binaries: CASELINED (default build/server/caselined), CASELINE (default
# build/tools/caseline), ETCD (default /usr/bin/etcd). CASELINED_FLAGS: more
# flags for every node, e.g. "--cluster_groups_in_flight 1".
# Payload encryption (docs/cluster.md "Encryption"): `start` makes one KEK,
# DIR/cluster.kek, and gives each node its own copy, DIR/node-N.kek
# (--kek_file); CASELINED_FLAGS="--encrypt_payloads=false" writes new events
# in plaintext.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
command=${1:-}
shift || true
node=""
case "$command" in
  kill|restart|kill-etcd|restart-etcd)
    node=${1:?"usage: $0 $command N [DIR]"}
    shift
    case "$node" in 1|2|3) ;; *) echo "$0: N is 1, 2 or 3" >&2; exit 2 ;; esac
    ;;
esac
dir=$(mkdir -p "${1:-cluster-data}" && cd "${1:-cluster-data}" && pwd)
# The ports a cluster started with stay its ports (DIR/ports).
if [ -f "$dir/ports" ]; then
  base=$(cat "$dir/ports")
else
  base=${CASELINE_CLUSTER_PORT:-27000}
fi
if [ "$base" = auto ]; then
  # Below the ephemeral range (32768 and up on Linux), so no port-0 server or
  # outgoing connection of a parallel test takes one of ours after the check.
  base=$(python3 - << 'PICK'
import random, socket
def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
bases = list(range(20000, 32000, 40))
random.shuffle(bases)
for b in bases:
    if all(free(p) for p in range(b, b + 40)):
        print(b)
        break
PICK
  )
  [ -n "$base" ] || { echo "$0: no 40 free ports between 20000 and 32000" >&2; exit 1; }
fi
caselined=${CASELINED:-$here/build/server/caselined}
caseline=${CASELINE:-$here/build/tools/caseline}
etcd=${ETCD:-/usr/bin/etcd}

etcd_client() { echo "127.0.0.1:$((base + 10 * $1))"; }
etcd_peer() { echo "127.0.0.1:$((base + 10 * $1 + 1))"; }
grpc_address() { echo "127.0.0.1:$((base + 10 * $1 + 2))"; }
http_address() { echo "127.0.0.1:$((base + 10 * $1 + 3))"; }
peer_address() { echo "127.0.0.1:$((base + 10 * $1 + 4))"; }
endpoints=$(etcd_client 1),$(etcd_client 2),$(etcd_client 3)

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2> /dev/null; }

start_etcd() {
  local n=$1 pidfile=$dir/etcd-$1.pid
  running "$pidfile" && return 0
  mkdir -p "$dir/etcd-$n"
  setsid "$etcd" --name "etcd-$n" --data-dir "$dir/etcd-$n" \
    --listen-client-urls "http://$(etcd_client "$n")" \
    --advertise-client-urls "http://$(etcd_client "$n")" \
    --listen-peer-urls "http://$(etcd_peer "$n")" \
    --initial-advertise-peer-urls "http://$(etcd_peer "$n")" \
    --initial-cluster "etcd-1=http://$(etcd_peer 1),etcd-2=http://$(etcd_peer 2),etcd-3=http://$(etcd_peer 3)" \
    --initial-cluster-state new --initial-cluster-token caseline-local \
    --heartbeat-interval 50 --election-timeout 500 --pre-vote \
    > "$dir/etcd-$n.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
}

# Every node needs the same KEK: one file, made once, copied to each node
# (each node's copy records the erasures it applies).
node_kek() {
  local n=$1
  if [ ! -f "$dir/cluster.kek" ]; then
    (umask 077 && head -c 32 /dev/urandom > "$dir/cluster.kek")
  fi
  if [ ! -f "$dir/node-$n.kek" ]; then
    cp "$dir/cluster.kek" "$dir/node-$n.kek"
    chmod 600 "$dir/node-$n.kek"
  fi
  echo "$dir/node-$n.kek"
}

start_node() {
  local n=$1 pidfile=$dir/node-$1.pid kek
  running "$pidfile" && return 0
  kek=$(node_kek "$n")
  setsid "$caselined" --data_dir "$dir/node-$n" --listen "$(grpc_address "$n")" \
    --http_listen "$(http_address "$n")" --kek_file "$kek" \
    --cluster_etcd "$endpoints" --cluster_node_id "node-$n" \
    --cluster_peer_listen "$(peer_address "$n")" ${CASELINED_FLAGS:-} \
    > "$dir/node-$n.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  # Serving once the gRPC port answers (it is up before the node has
  # caught up; writes wait for a sequencer).
  for _ in $(seq 1 150); do
    if "$caseline" --server "$(grpc_address "$n")" --timeout 1 verify \
         > /dev/null 2>&1; then
      return 0
    fi
    running "$pidfile" || break
    sleep 0.1
  done
  echo "$0: node $n did not start; its log, $dir/node-$n.log, ends:" >&2
  tail -n 20 "$dir/node-$n.log" >&2
  return 1
}

stop_pid() {
  local pidfile=$1 signal=$2
  if running "$pidfile"; then
    local pid
    pid=$(cat "$pidfile")
    kill "-$signal" "$pid" 2> /dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

sequencer() {
  ETCDCTL_API=3 etcdctl --endpoints "$endpoints" --command-timeout 2s \
    get /caseline/caseline/sequencer --print-value-only 2> /dev/null |
    cut -d' ' -f1
}

case "$command" in
  start)
    echo "$base" > "$dir/ports"
    for n in 1 2 3; do start_etcd "$n"; done
    for n in 1 2 3; do start_node "$n"; done
    for n in 1 2 3; do
      echo "node-$n: gRPC $(grpc_address "$n"), HTTP http://$(http_address "$n")/, peer $(peer_address "$n"), data $dir/node-$n, KEK $dir/node-$n.kek"
    done
    echo "etcd: $endpoints"
    ;;
  status)
    echo "sequencer: $(sequencer)"
    for n in 1 2 3; do
      if running "$dir/node-$n.pid"; then
        # `caseline verify` recomputes the node's whole hash chain.
        "$caseline" --server "$(grpc_address "$n")" --timeout 5 verify 2> /dev/null |
          python3 -c 'import json, sys; v = json.load(sys.stdin); print("node-'"$n"': head", v["head_position"], "hash", v["head_hash"][:16], "chain", "verified" if v["ok"] else "BROKEN")' 2> /dev/null ||
          echo "node-$n: unreachable"
      else
        echo "node-$n: stopped"
      fi
    done
    ;;
  kill) stop_pid "$dir/node-$node.pid" KILL ;;
  restart) start_node "$node" ;;
  kill-etcd) stop_pid "$dir/etcd-$node.pid" KILL ;;
  restart-etcd) start_etcd "$node" ;;
  stop)
    for n in 1 2 3; do stop_pid "$dir/node-$n.pid" TERM; done
    for n in 1 2 3; do stop_pid "$dir/etcd-$n.pid" TERM; done
    ;;
  *)
    sed -n '2,20p' "$0" >&2
    exit 2
    ;;
esac
