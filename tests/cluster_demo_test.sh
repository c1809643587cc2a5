#!/usr/bin/env bash
# ctest cluster_demo: the README's cluster commands (README "A three-node
# cluster"): deploy/cluster/local-cluster.sh starts 3 etcd members and 3
# caselined nodes, deploy/cluster/demo-failover.sh appends through one node
# while the sequencer is SIGKILLed and checks every node holds every
# acknowledged event; then the cluster is stopped.
#
#   tests/cluster_demo_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
export CASELINED=$build/server/caselined CASELINE=$build/tools/caseline
# A random free port range, so that parallel runs do not collide.
export CASELINE_CLUSTER_PORT=auto
cleanup() {
  bash "$repo/deploy/cluster/local-cluster.sh" stop "$work/cluster" || true
  rm -rf "$work"
}
trap cleanup EXIT
bash "$repo/deploy/cluster/local-cluster.sh" start "$work/cluster"
bash "$repo/deploy/cluster/demo-failover.sh" "$work/cluster" 60
