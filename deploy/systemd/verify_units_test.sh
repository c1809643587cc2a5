#!/usr/bin/env bash
# Checks the systemd units in deploy/systemd without a running systemd (no
# systemd is PID 1 on the development machines or in CI; none is needed):
#
#   verify_units_test.sh CASELINED_PATH
#
# - `systemd-analyze verify` on each unit (templates as an instance). It
#   reports unknown keys and bad values only as warnings and still exits 0,
#   so any output fails the test; a copy with a planted typo must be
#   reported, which shows the check can fail. It also requires ExecStart's
#   binary to exist, so the units are checked in a temporary copy whose
#   /usr/local/bin/caselined is the built CASELINED_PATH (`--root=` would need
#   a whole systemd tree, sysinit.target and all, under the root).
# - `systemd-analyze security --offline=true`: each unit's exposure score
#   stays at or under the level it has now (a dropped sandbox line fails).
# - `systemd-sysusers --dry-run` on caseline.sysusers.
# - Every --flag in the example env files is one `caselined --help` lists
#   (the --cluster_* ones once caselined has them) and none the unit sets
#   (--data_dir, --cluster_node_id: caselined refuses a flag given twice);
#   every ETCD_* variable is one `etcd --help` lists.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 CASELINED_PATH" >&2; exit 2; }
caselined=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
for tool in systemd-analyze systemd-sysusers; do
  command -v "$tool" > /dev/null ||
    { echo "FAIL: $tool is missing (Debian package systemd; deploy/install_deps.sh)"; exit 1; }
done
[[ -x /usr/bin/etcd ]] ||
  { echo "FAIL: /usr/bin/etcd is missing (Debian package etcd-server; deploy/install_deps.sh)"; exit 1; }
echo "PID 1 is $(cat /proc/1/comm 2>/dev/null || echo '?'); $(systemd-analyze --version | head -1)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in "$here"/*.service; do
  sed "s|/usr/local/bin/caselined|$caselined|g" "$unit" > "$work/$(basename "$unit")"
done

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# verify prints nothing for a clean unit.
verify() {
  local out
  if ! out=$(cd "$work" && systemd-analyze verify --man=no "./$1" 2>&1) || [[ -n $out ]]; then
    echo "$out"
    return 1
  fi
}
units=(caselined.service caselined-cluster@node-1.service caseline-etcd@etcd-1.service)
for unit in "${units[@]}"; do
  if verify "$unit"; then echo "ok: systemd-analyze verify $unit"; else fail "systemd-analyze verify $unit"; fi
done

# The check itself: a misspelt key and a bad value must be reported.
sed -e 's/^ProtectSystem=/ProtectSystm=/' -e 's/^Restart=on-failure/Restart=sometimes/' \
  "$work/caselined.service" > "$work/planted-typo.service"
if out=$(verify planted-typo.service); then
  fail "systemd-analyze verify did not report a planted typo"
elif ! grep -q ProtectSystm <<< "$out" || ! grep -q sometimes <<< "$out"; then
  fail "systemd-analyze verify did not name both planted typos: $out"
else
  echo "ok: a planted typo is reported"
fi
rm "$work/planted-typo.service"

# Exposure scores (0 safest .. 10) as systemd 252 rates these units; a
# dropped sandbox setting raises the score above its ceiling.
declare -A ceiling=([caselined.service]=1.4 [caselined-cluster@node-1.service]=1.4
                    [caseline-etcd@etcd-1.service]=1.4)
for unit in "${units[@]}"; do
  if out=$(cd "$work" && systemd-analyze security --offline=true --no-pager \
             --threshold=0 "./$unit" 2>&1); then :; fi
  score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<< "$out")
  if [[ -z $score ]]; then
    fail "systemd-analyze security $unit printed no score: $out"
  elif awk -v s="$score" -v c="${ceiling[$unit]}" 'BEGIN { exit !(s > c) }'; then
    fail "$unit: exposure $score is above ${ceiling[$unit]}"
    grep '✗' <<< "$out" || true
  else
    echo "ok: $unit exposure $score (ceiling ${ceiling[$unit]})"
  fi
done

if out=$(systemd-sysusers --dry-run "$here/caseline.sysusers" 2>&1) &&
   grep -q "Creating user 'caseline'" <<< "$out"; then
  echo "ok: systemd-sysusers --dry-run caseline.sysusers"
else
  fail "systemd-sysusers --dry-run caseline.sysusers: $out"
fi

# The flags the example env files set, read as systemd reads them (simple
# KEY="value" lines, which bash reads the same way).
help=$("$caselined" --help)
check_caselined_flags() {
  local file=$1 flag
  for flag in $(env -i bash -c 'set -a; . "$1"; echo $CASELINED_CLUSTER_OPTS $CASELINED_OPTS' _ "$file" |
                tr ' ' '\n' | sed -n 's/^\(--[a-z_]*\).*/\1/p'); do
    if [[ $flag == --data_dir || $flag == --cluster_node_id ]]; then
      # The units set these; caselined refuses a flag given twice.
      fail "$(basename "$file") sets $flag, which the unit sets already"
    elif [[ $flag == --cluster_* ]] && ! grep -q -- '--cluster_etcd' <<< "$help"; then
      echo "skip: $flag (caselined has no --cluster_* flags yet)"
    elif grep -q -- "^ *$flag\b" <<< "$help"; then
      echo "ok: $(basename "$file") $flag"
    else
      fail "$(basename "$file") sets $flag, which caselined --help does not list"
    fi
  done
}
check_caselined_flags "$here/caselined.default"
check_caselined_flags "$here/cluster/node-1.env"
etcd_help=$(/usr/bin/etcd --help 2>&1)
for var in $(sed -n 's/^\(ETCD_[A-Z_]*\)=.*/\1/p' "$here/cluster/etcd-1.env"); do
  flag=--$(tr 'A-Z_' 'a-z-' <<< "${var#ETCD_}")
  if grep -q -- "^ *$flag\b" <<< "$etcd_help"; then
    echo "ok: etcd-1.env $var ($flag)"
  else
    fail "etcd-1.env sets $var, but etcd --help lists no $flag"
  fi
done

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all unit checks passed"
