#!/usr/bin/env bash
# ctest schema1_fixture: a log written by the release before ReferralSent's
# schema 2 (tests/fixtures/schema1_log/: the demo network's scenario clients,
# 368 events, every ReferralSent in schema 1) opened by today's caselined.
# The record reader upcasts each schema-1 ReferralSent (docs/log_format.md
# "Event schemas and upcasting"), so today's views read it in today's shape;
# the chain still verifies over the bytes as first written; a referral sent
# today is schema 2 beside them.
# Usage: schema1_fixture_test.sh CASELINED CASELINE FIXTURE_DIR
set -euo pipefail
CASELINED=$1
CASELINE_BIN=$2
FIXTURE=$3
work=$(mktemp -d)
server_pid=""
trap 'kill $server_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cp -r "$FIXTURE" "$work/data"
"$CASELINED" --data_dir "$work/data" --listen 127.0.0.1:0 \
  --listen_address_file "$work/address" --log_level warn &
server_pid=$!
for _ in $(seq 600); do [ -s "$work/address" ] && break; sleep 0.1; done
[ -s "$work/address" ] || fail "caselined did not start on the fixture"
caseline() { "$CASELINE_BIN" --server "$(cat "$work/address")" "$@"; }

# The chain covers the bytes as written: unchanged by reading them upcast.
caseline verify > "$work/verify"
grep -q '"ok":true' "$work/verify" || fail "verify: $(cat "$work/verify")"
grep -q '"head_position":"368"' "$work/verify" || fail "verify head: $(cat "$work/verify")"
grep -q '"head_hash":"e131306e8e7f38b6199cdfaa1f0074ea5fb00b98da8ee32a110bbd233bd32e7e"' \
  "$work/verify" || fail "the fixture's head hash changed: $(cat "$work/verify")"

# Every view folds the old log (min-position: after the projections applied
# all 368 events).
caseline --as-org org-mercy-general referrals --org org-mercy-general \
  --min-position 368 --format json > "$work/sent"
[ "$(wc -l < "$work/sent")" -eq 4 ] || fail "referrals of org-mercy-general: $(cat "$work/sent")"
# Each schema-1 referral reads as schema 2: NOT_RECORDED, no start_by, the
# sender named.
[ "$(grep -c '"target_source":"REFERRAL_TARGET_SOURCE_NOT_RECORDED"' "$work/sent")" -eq 4 ] \
  || fail "schema-1 referrals not upcast: $(cat "$work/sent")"
if grep -q '"start_by"' "$work/sent"; then fail "a schema-1 referral has start_by"; fi
[ "$(grep -c '"from_organization_id":"org-mercy-general"' "$work/sent")" -eq 4 ] \
  || fail "sender: $(cat "$work/sent")"
caseline --as-org org-mercy-general worklist --org org-mercy-general \
  --min-position 368 --format json > "$work/worklist"
caseline measures --from 2025-01-01 --to 2027-01-01 --min-position 368 \
  > "$work/measures"
grep -q '"measure":"FUH-7"' "$work/measures" || fail "measures: $(cat "$work/measures")"
caseline projections status --format json > "$work/status"
if grep -q '"state":"failed"' "$work/status"; then fail "a projection failed: $(cat "$work/status")"; fi

# A referral sent today is schema 2, with the date its sender asked for.
echo '{"command_id":"fixture-ref-1","client_id":"scenario-stroke","referral_sent":{"referral_id":"ref-today","to_organization_id":"org-homecare-partners","service_category":"SERVICE_CATEGORY_IN_HOME_CARE","kind":"REFERRAL_KIND_WARM","start_by":{"year":2099,"month":1,"day":15}}}' \
  | caseline command Referrals.SendReferral --org org-mercy-general > "$work/c1"
grep -q '"already_applied":false' "$work/c1" || fail "new referral: $(cat "$work/c1")"
caseline --as-org org-mercy-general referrals --org org-mercy-general \
  --min-position 369 --format json > "$work/sent2"
grep '"referral_id":"ref-today"' "$work/sent2" | grep -q '"target_source":"REFERRAL_TARGET_SOURCE_REQUESTED"' \
  || fail "schema-2 referral: $(cat "$work/sent2")"
grep '"referral_id":"ref-today"' "$work/sent2" | grep -q '"start_by":{"year":2099,"month":1,"day":15}' \
  || fail "start_by: $(cat "$work/sent2")"
caseline verify > "$work/verify2"
grep -q '"ok":true' "$work/verify2" || fail "verify after: $(cat "$work/verify2")"
echo "schema1_fixture: OK"
