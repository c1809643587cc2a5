#!/usr/bin/env bash
# Runs the image build-rootfs.sh made, the way a container engine would start
# it, and calls it from outside:
#
#   deploy/container/test_rootfs.sh OUT_DIR CASELINE_CLI
#
# Unpacks OUT_DIR/rootfs.tar, then in a private mount and PID namespace
# (unshare; proc and the host's /dev mounted inside, gone when it exits)
# chroots into it as the image's user (caseline, uid 999) and runs the image's
# entrypoint with --listen and --http_listen on loopback port 0. It shares
# the host's network, as `podman run --network=host` does. From outside, the
# host's CLI CASELINE_CLI appends and verifies over gRPC, curl fetches the
# console and the FHIR capability statement, the image's health-check command
# succeeds, and SIGTERM stops caselined cleanly (exit 0, "stopped cleanly").
# Needs root.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 OUT_DIR CASELINE_CLI" >&2; exit 2; }
out=$(readlink -f "$1")
cli=$(readlink -f "$2")
[[ $(id -u) -eq 0 ]] || { echo "$0: run as root (chroot, unshare)" >&2; exit 1; }
[[ -s $out/rootfs.tar ]] || { echo "$0: no $out/rootfs.tar: run build-rootfs.sh first" >&2; exit 1; }

root=$(mktemp -d /tmp/caseline-rootfs.XXXXXX)
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2> /dev/null; then kill -KILL "$pid" 2> /dev/null || true; fi
  rm -rf "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$out/rootfs.tar"

failures=0
check() {  # check DESCRIPTION COMMAND...
  local description=$1
  shift
  if "$@"; then echo "ok: $description"; else echo "FAIL: $description"; failures=$((failures + 1)); fi
}
check "the image's user is caseline, uid 999" grep -q '^caseline:x:999:999:' "$root/etc/passwd"
check "/var/lib/caseline belongs to caseline" test "$(stat -c %u:%g "$root/var/lib/caseline")" = 999:999

# The entrypoint, as the image configuration has it (oci_layout.py read it
# from the Containerfile).
mapfile -t entrypoint < <(/usr/bin/python3 -c '
import json, sys
index = json.load(open(sys.argv[1] + "/index.json"))
blob = lambda d: json.load(open(sys.argv[1] + "/blobs/sha256/" + d.split(":")[1]))
config = blob(blob(index["manifests"][0]["digest"])["config"]["digest"])["config"]
print("\n".join(config["Entrypoint"]))' "$out/oci")
state=$root/var/lib/caseline
log=$out/caselined-in-rootfs.log
unshare --mount --pid --fork --propagation private bash -c '
  root=$1; shift
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  exec chroot --userspec=999:999 "$root" env -i HOME=/var/lib/caseline \
    PATH=/usr/local/bin:/usr/bin:/bin "$@"' _ "$root" \
  "${entrypoint[@]}" --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 \
  --listen_address_file=/var/lib/caseline/grpc.addr \
  --http_address_file=/var/lib/caseline/http.addr > "$log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  [[ -s $state/grpc.addr && -s $state/http.addr ]] && break
  kill -0 "$pid" 2> /dev/null || break
  sleep 0.1
done
if [[ ! -s $state/grpc.addr || ! -s $state/http.addr ]]; then
  echo "FAIL: caselined did not start in the root file system within 30 s:"
  cat "$log"
  exit 1
fi
grpc=$(cat "$state/grpc.addr")
http=$(cat "$state/http.addr")
echo "caselined in the root file system serves gRPC on $grpc, HTTP on $http"

append() {
  echo '{"event_type":"ImageChecked","data":{"by":"test_rootfs.sh"}}' |
    "$cli" --server "$grpc" append --stream image-check-1 --expected-version no-stream |
    grep -q '"last_global_position":"1"'
}
check "caseline append from outside" append
check "caseline verify from outside" bash -c "'$cli' --server '$grpc' verify | grep -q '\"ok\":true'"
check "the console's page over HTTP" bash -c "curl -fsS 'http://$http/' | grep -qi '<html'"
check "the FHIR capability statement over HTTP" \
  bash -c "curl -fsS 'http://$http/fhir/r4/metadata' | grep -q CapabilityStatement"
check "the log is in the volume, owned by caseline" \
  test "$(stat -c %u "$state/data")" = 999
# The Containerfile's HEALTHCHECK command, run inside the root file system.
port=${grpc##*:}
check "the image's health check" chroot --userspec=999:999 "$root" \
  env CASELINE_HEALTH_HOST=127.0.0.1 CASELINE_HEALTH_PORT="$port" \
  bash -c 'exec 3<>/dev/tcp/$CASELINE_HEALTH_HOST/$CASELINE_HEALTH_PORT'

# SIGTERM to caselined (PID 1 of the namespace, as in a container: unshare's
# child is our $pid's child), then a clean exit.
inner=$(pgrep -P "$pid" | head -1)
kill -TERM "$inner"
status=0
wait "$pid" || status=$?
pid=""
check "SIGTERM: exit status 0" test "$status" -eq 0
check "SIGTERM: stopped cleanly" grep -q "stopped cleanly" "$log"

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed; caselined's log:"
  cat "$log"
  exit 1
fi
echo "all image checks passed"
