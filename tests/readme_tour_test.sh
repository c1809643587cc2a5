#!/usr/bin/env bash
# Runs the README's five-minute tour, command for command, against a real
# caselined on a free loopback port, and checks what each command prints.
# Usage: readme_tour_test.sh CASELINED CASELINE
set -euo pipefail
CASELINED=$1
CASELINE_BIN=$2
work=$(mktemp -d)
secure_pid=""
restored_pid=""
trap 'kill $server_pid $secure_pid $restored_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

"$CASELINED" --data_dir "$work/data" --listen 127.0.0.1:0 \
  --listen_address_file "$work/address" --log_level warn \
  --http_listen 127.0.0.1:0 --http_address_file "$work/http_address" &
server_pid=$!
# Up to a minute for the address: a sanitizer build starts far slower.
for _ in $(seq 600); do [ -s "$work/address" ] && break; sleep 0.1; done
caseline() { "$CASELINE_BIN" --server "$(cat "$work/address")" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- the tour, as in README.md ---
echo '{"event_type":"CallReceived","data":{"given_name":"Ada","family_name":"Okafor","line":"housing help"}}' \
  | caseline append --stream intake-1001 --expected-version no-stream > "$work/out1"
grep -q '"first_global_position":"1"' "$work/out1" || fail "first append: $(cat "$work/out1")"

caseline subscribe --from 1 --limit 3 > "$work/subscribed" &
subscriber=$!

caseline append --stream intake-1001 --expected-version 0 > "$work/out2" <<'JSON'
[{"event_type":"ScreeningNoted","data":{"need":"housing","urgency":"routine"}},
 {"event_type":"CallbackScheduled","data":{"by":"org-housing","within_days":2}}]
JSON
grep -q '"last_stream_version":"2"' "$work/out2" || fail "batch append: $(cat "$work/out2")"

caseline read-stream --stream intake-1001 > "$work/stream"
[ "$(wc -l < "$work/stream")" -eq 3 ] || fail "read-stream printed $(wc -l < "$work/stream") lines"
grep -q '"data":{"given_name":"Ada"' "$work/stream" || fail "payload not shown as data"

caseline read-all --type-prefix Callback > "$work/callbacks"
[ "$(wc -l < "$work/callbacks")" -eq 1 ] || fail "read-all filter"
grep -q '"event_type":"CallbackScheduled"' "$work/callbacks" || fail "read-all filter content"

wait "$subscriber"
[ "$(wc -l < "$work/subscribed")" -eq 3 ] || fail "subscribe printed $(wc -l < "$work/subscribed") lines"

caseline verify > "$work/verify"
grep -q '"ok":true' "$work/verify" || fail "verify: $(cat "$work/verify")"
grep -q '"head_position":"3"' "$work/verify" || fail "verify head"

# A stale expected version is refused with ABORTED and exit code 2.
set +e
echo '{"event_type":"CallbackScheduled","data":{}}' \
  | caseline append --stream intake-1001 --expected-version 0 2> "$work/err"
code=$?
set -e
[ "$code" -eq 2 ] || fail "conflict exit code $code"
grep -q 'ABORTED: stream intake-1001: expected version 0 but the stream is at version 2' "$work/err" \
  || fail "conflict message: $(cat "$work/err")"

# --- the care record, as in README.md ---
echo '{"command_id":"setup-1","organization_registered":{"organization_id":"org-hospital","name":"St. Mary Hospital","type":"ORGANIZATION_TYPE_HOSPITAL"}}' \
  | caseline command Organizations.RegisterOrganization --org org-hospital > "$work/c1"
grep -q '"stream_id":"organizations"' "$work/c1" || fail "register org: $(cat "$work/c1")"
echo '{"command_id":"setup-2","organization_registered":{"organization_id":"org-housing","name":"Harbor Housing","type":"ORGANIZATION_TYPE_HOUSING"}}' \
  | caseline command Organizations.RegisterOrganization --org org-housing > /dev/null
echo '{"command_id":"reg-4711","client_id":"4711","client_registered":{"name":{"given":"Ada","family":"Okafor"},"birth_date":{"year":1958,"month":3,"day":14}}}' \
  | caseline command Clients.RegisterClient --org org-hospital --user sw-jones > "$work/c2"
grep -q '"event_types":\["ClientRegistered"\]' "$work/c2" || fail "register client: $(cat "$work/c2")"
echo '{"command_id":"open-4711","client_id":"4711","case_opened":{}}' \
  | caseline command Clients.OpenCase --org org-hospital --user sw-jones > /dev/null

echo '{"command_id":"ref-1","client_id":"4711","referral_sent":{"referral_id":"r-1","to_organization_id":"org-housing","service_category":"SERVICE_CATEGORY_HOUSING","kind":"REFERRAL_KIND_WARM","shared_data_classes":["DATA_CLASS_HOUSING"]}}' \
  > "$work/referral.json"
set +e
caseline command Referrals.SendReferral --org org-hospital --file "$work/referral.json" 2> "$work/err2"
code=$?
set -e
[ "$code" -eq 2 ] || fail "referral without consent exit code $code"
grep -q 'FAILED_PRECONDITION: consent required: no consent of client 4711 in force at .* covers sharing DATA_CLASS_HOUSING with org-housing' "$work/err2" \
  || fail "referral without consent: $(cat "$work/err2")"
echo '{"command_id":"consent-1","client_id":"4711","consent_given":{"consent_id":"k-1","recipient_organization_ids":["org-housing"],"data_classes":["DATA_CLASS_HOUSING"],"method":"CONSENT_METHOD_SIGNED_FORM","document":{"document_id":"form-k-1.pdf","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}}' \
  | caseline command Consents.GiveConsent --org org-hospital > /dev/null
caseline command Referrals.SendReferral --org org-hospital --file "$work/referral.json" > "$work/c3"
grep -q '"already_applied":false' "$work/c3" || fail "referral with consent: $(cat "$work/c3")"
set +e
echo '{"command_id":"acc-0","client_id":"4711","referral_accepted":{"referral_id":"r-1"}}' \
  | caseline command Referrals.AcceptReferral --org org-hospital 2> "$work/err3"
code=$?
set -e
[ "$code" -eq 2 ] && grep -q 'PERMISSION_DENIED: only the receiving organisation (org-housing)' "$work/err3" \
  || fail "accept by the sender: $code $(cat "$work/err3")"
echo '{"command_id":"acc-1","client_id":"4711","referral_accepted":{"referral_id":"r-1"}}' \
  | caseline command Referrals.AcceptReferral --org org-housing > /dev/null
caseline read-stream --stream client-4711 > "$work/record"
[ "$(wc -l < "$work/record")" -eq 5 ] || fail "client stream has $(wc -l < "$work/record") events"
grep -q '"data":{"referral_accepted":{"referral_id":"r-1"}}' "$work/record" || fail "typed events not shown as data"
caseline command --list | grep -q '^Referrals.SendReferral' || fail "command --list"

# --- the views of client 4711, as in README.md ---
caseline summary --client 4711 > "$work/v1"
grep -q '"referral_id":"r-1"' "$work/v1" || fail "summary: $(cat "$work/v1")"
grep -q '"organization_id":"org-housing".*"covered_data_classes":\["DATA_CLASS_HOUSING"\]' "$work/v1" \
  || fail "summary consent coverage: $(cat "$work/v1")"
caseline gaps --client 4711 > "$work/v2"
grep -q 'GAP_REASON_OPEN_CASE_WITHOUT_LEAD' "$work/v2" || fail "gaps: $(cat "$work/v2")"
caseline timeline --client 4711 --format table > "$work/v3"
grep -q 'ReferralAccepted' "$work/v3" && grep -q 'org-housing' "$work/v3" || fail "timeline: $(cat "$work/v3")"
caseline replay --client 4711 --position 9 > "$work/v4"
grep -q '"status":"requested"' "$work/v4" || fail "replay at 9: $(cat "$work/v4")"
caseline disclosures --client 4711 > "$work/v5"
grep -q '"recipient_organization_id":"org-housing"' "$work/v5" && grep -q '"consent_id":"k-1"' "$work/v5" \
  || fail "disclosures: $(cat "$work/v5")"
caseline verify-client --client 4711 > "$work/v6"
grep -q '"ok":true' "$work/v6" || fail "verify-client: $(cat "$work/v6")"
caseline worklist --org org-housing --horizon-days 60 --format table > "$work/v7"
grep -q 'r-1' "$work/v7" || fail "worklist: $(cat "$work/v7")"
caseline referrals --org org-housing --format table > "$work/v8"
grep 'r-1' "$work/v8" | grep -q 'accepted' && grep -q '^1 referral, view position' "$work/v8" \
  || fail "referrals: $(cat "$work/v8")"

# Entered in error, as in README.md.
echo '{"command_id":"ref-2","client_id":"4711","referral_sent":{"referral_id":"r-2","to_organization_id":"org-housing","service_category":"SERVICE_CATEGORY_FOOD","kind":"REFERRAL_KIND_WARM"}}' \
  | caseline command Referrals.SendReferral --org org-hospital > /dev/null
caseline summary --client 4711 | grep -q '"referral_id":"r-2"' || fail "r-2 not in the summary before the correction"
EVENT=$(caseline timeline --client 4711 --type ReferralSent | tail -1 | sed 's/.*"event_id":"\([^"]*\)".*/\1/')
echo "{\"command_id\":\"eie-1\",\"client_id\":\"4711\",\"event_entered_in_error\":{\"event_id\":\"$EVENT\",\"reason\":\"recorded on the wrong client\"}}" \
  | caseline command Clients.MarkEnteredInError --org org-hospital > "$work/eie"
grep -q '"event_types":\["EventEnteredInError"\]' "$work/eie" || fail "MarkEnteredInError: $(cat "$work/eie")"
caseline summary --client 4711 > "$work/eie-summary"
grep -q '"referral_id":"r-1"' "$work/eie-summary" && ! grep -q '"referral_id":"r-2"' "$work/eie-summary" \
  || fail "summary after the correction: $(cat "$work/eie-summary")"
caseline timeline --client 4711 --format table > "$work/eie-timeline"
grep 'referral r-2' "$work/eie-timeline" | grep -q '\[ENTERED IN ERROR at position [0-9]* by org-hospital\]' \
  || fail "timeline after the correction: $(cat "$work/eie-timeline")"
grep -q 'EventEnteredInError' "$work/eie-timeline" || fail "no correction in the timeline"
caseline verify > "$work/eie-verify"
grep -q '"ok":true' "$work/eie-verify" || fail "verify after the correction: $(cat "$work/eie-verify")"

# The demo network (fewer clients than the README's default, to stay quick).
caseline demo --clients 20 > "$work/demo" 2> /dev/null
grep -q '"scenario_clients":10' "$work/demo" || fail "demo summary: $(cat "$work/demo")"
caseline read-stream --stream client-scenario-reentry > "$work/reentry"
grep -q '"event_type":"TeamMeetingHeld"' "$work/reentry" || fail "reentry scenario has no team meeting"
caseline demo --clients 20 > "$work/demo2" 2> /dev/null
grep -q '"events_written":0' "$work/demo2" || fail "demo re-run wrote events: $(cat "$work/demo2")"

# --- the network's views after the demo, as in README.md ---
caseline worklist --org org-mercy-general --at 2026-01-05 --format table > "$work/w1"
grep -q 'transition-due' "$work/w1" && grep -q 'items, view position' "$work/w1" || fail "worklist: $(cat "$work/w1")"
caseline referrals --org org-new-dawn-recovery --direction received --format table > "$work/r1"
grep 'scenario-veteran' "$work/r1" | grep -q 'ref-3' || fail "new-dawn inbox: $(cat "$work/r1")"
caseline referrals --org org-mercy-general --direction sent --status declined,failed,cancelled > "$work/r2"
if grep -v -q -E '"status":"(declined|failed|cancelled)".*"direction":"REFERRAL_DIRECTION_SENT"' "$work/r2"; then
  fail "sent list: $(cat "$work/r2")"
fi
caseline summary --client scenario-veteran --at 2026-01-05 > "$work/w2"
grep -q 'GAP_REASON_REFERRAL_NOT_ANSWERED' "$work/w2" || fail "veteran summary: $(cat "$work/w2")"
caseline findings --kind duplicate-referrals --kind same-day-services > "$work/w3"
grep -q 'FINDING_KIND_DUPLICATE_REFERRALS' "$work/w3" && grep -q 'FINDING_KIND_SAME_DAY_SERVICES' "$work/w3" \
  || fail "findings: $(cat "$work/w3")"
caseline findings --status dismissed > "$work/w4"
grep -q 'duplicate-clients:example-twins-1:example-twins-2' "$work/w4" || fail "dismissed: $(cat "$work/w4")"
# 20 demo clients compare fewer than 1,000 pairs: still the default model.
caseline match-model > "$work/w4m"
grep -q '"fields":\[{"field":"given_name"' "$work/w4m" && grep -q '"next_estimate_at_pairs":"1000"' "$work/w4m" \
  || fail "match model: $(cat "$work/w4m")"
caseline measures --from 2025-01-01 --to 2026-01-05 --counts-only > "$work/w5"
for m in FUH-7 FUH-30 FUM-7 FUM-30 READMISSION-30 REFERRAL-LOOP-CLOSURE \
         TRC-NOTIFICATION TRC-RECEIPT TRC-ENGAGEMENT TRC-MEDICATION-RECONCILIATION; do
  grep -q "\"measure\":\"$m\"" "$work/w5" || fail "measure $m missing: $(cat "$work/w5")"
done
caseline caseload > "$work/w6"
grep -q '"threshold":50' "$work/w6" || fail "caseload: $(cat "$work/w6")"
caseline timeline --client scenario-stroke --format table > "$work/w7"
grep -q 'ClientRegistered' "$work/w7" || fail "stroke timeline: $(cat "$work/w7")"
caseline replay --client scenario-stroke --as-of-occurred 2025-10-08T20:00:00Z > "$work/w8"
grep -q '"admissions":\[{' "$work/w8" || fail "stroke replay: $(cat "$work/w8")"
caseline disclosures --client scenario-foster-teen-1 > "$work/w9"
grep -q 'court order' "$work/w9" && grep -q 'DATA_CLASS_EDUCATION' "$work/w9" || fail "disclosures: $(cat "$work/w9")"
caseline projections status --format table > "$work/w10"
grep -q '^continuity' "$work/w10" && grep -q '^duplication' "$work/w10" && grep -q '^access' "$work/w10" || fail "status: $(cat "$work/w10")"
caseline projections rebuild all > "$work/w11" 2> /dev/null
[ "$(grep -c '"done":true' "$work/w11")" -eq 3 ] || fail "rebuild all: $(cat "$work/w11")"

# --- the console, as in README.md ---
for _ in $(seq 100); do [ -s "$work/http_address" ] && break; sleep 0.1; done
curl -s "http://$(cat "$work/http_address")/api/v1/session" > "$work/console"
grep -q '"authenticated":false' "$work/console" || fail "console session: $(cat "$work/console")"
grep -q '"name":"Mercy General Hospital","organization_id":"org-mercy-general"' "$work/console" \
  || fail "console sign-in choices: $(cat "$work/console")"

# --- FHIR, as in README.md ---
fhir="http://$(cat "$work/http_address")/fhir/r4"
bundle='{
  "resourceType": "Bundle", "type": "transaction", "entry": [
   {"fullUrl": "urn:uuid:8f0c2a6e-1c1e-4f7e-9d43-3d1b2f6a0b11",
    "request": {"method": "POST", "url": "ServiceRequest"},
    "resource": {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
      "identifier": [{"system": "urn:caseline:referral-id", "value": "fhir-ref-1"}],
      "code": {"coding": [{"system": "urn:caseline:service-category", "code": "in-home-care"}]},
      "subject": {"reference": "Patient/scenario-stroke"},
      "requester": {"reference": "Organization/org-mercy-general"},
      "performer": [{"reference": "Organization/org-homecare-partners"}],
      "reasonCode": [{"text": "help with bathing after discharge"}]}},
   {"request": {"method": "POST", "url": "Task"},
    "resource": {"resourceType": "Task", "status": "requested", "intent": "order",
      "focus": {"reference": "urn:uuid:8f0c2a6e-1c1e-4f7e-9d43-3d1b2f6a0b11"},
      "for": {"reference": "Patient/scenario-stroke"},
      "owner": {"reference": "Organization/org-homecare-partners"}}}]}'
curl -s -X POST "$fhir" -H 'Content-Type: application/fhir+json' \
  -H 'x-caseline-org: org-mercy-general' -H 'x-caseline-user: mercy.rivera' -d "$bundle" > "$work/f1"
grep -q '"type":"transaction-response"' "$work/f1" && [ "$(grep -o '"status":"201 Created"' "$work/f1" | wc -l)" -eq 2 ] \
  || fail "FHIR referral bundle: $(cat "$work/f1")"
curl -s -X POST "$fhir" -H 'Content-Type: application/fhir+json' \
  -H 'x-caseline-org: org-mercy-general' -H 'x-caseline-user: mercy.rivera' -d "$bundle" > "$work/f2"
[ "$(grep -o '"status":"200 OK"' "$work/f2" | wc -l)" -eq 2 ] || fail "FHIR bundle retry: $(cat "$work/f2")"
curl -s "$fhir/Task?owner=Organization/org-homecare-partners&status=requested" \
  -H 'x-caseline-org: org-homecare-partners' -H 'x-caseline-user: hc.lee' > "$work/f3"
grep -q '"type":"searchset"' "$work/f3" && grep -q '"resourceType":"Task"' "$work/f3" || fail "FHIR Task search: $(cat "$work/f3")"
curl -s -X PATCH "$fhir/Task/scenario-stroke..fhir-ref-1" \
  -H 'Content-Type: application/json-patch+json' \
  -H 'x-caseline-org: org-homecare-partners' -H 'x-caseline-user: hc.lee' \
  -d '[{"op": "replace", "path": "/status", "value": "accepted"}]' > "$work/f4"
grep -q '"resourceType":"Task"' "$work/f4" && grep -q '"status":"accepted"' "$work/f4" || fail "FHIR accept: $(cat "$work/f4")"
curl -s -D - -o /dev/null "$fhir/\$export" -H 'Prefer: respond-async' > "$work/f5"
grep -q '^HTTP/1.1 202 Accepted' "$work/f5" || fail "FHIR export kick-off: $(cat "$work/f5")"
status_url=$(grep -i '^content-location:' "$work/f5" | tr -d '\r' | cut -d' ' -f2)
for _ in $(seq 600); do
  code=$(curl -s -o "$work/f6" -w '%{http_code}' "$status_url")
  [ "$code" = 200 ] && break
  sleep 0.1
done
clients=$(grep -o '"count":[0-9]*,"type":"Patient"' "$work/f6" | cut -d: -f2 | cut -d, -f1)
[ "$code" = 200 ] && [ "${clients:-0}" -gt 30 ] || fail "FHIR export: $code $(cat "$work/f6")"
patients_url=$(grep -o '"url":"[^"]*Patient-1.ndjson"' "$work/f6" | cut -d'"' -f4)
[ "$(curl -s "$patients_url" | wc -l)" -eq "$clients" ] || fail "FHIR export file $patients_url"
# Every resource of the demo network's export, its AuditEvents and the
# CapabilityStatement validate against the official FHIR R4 JSON schema.
mkdir -p "$work/fhir"
for url in $(grep -o '"url":"[^"]*\.ndjson"' "$work/f6" | cut -d'"' -f4); do
  curl -s "$url" > "$work/fhir/$(basename "$url")"
done
curl -s "$fhir/AuditEvent?patient=Patient/scenario-stroke&_count=1000" > "$work/fhir/audit.json"
curl -s "$fhir/metadata" > "$work/fhir/metadata.json"
curl -s "$fhir/Task/scenario-stroke..fhir-ref-1/_history" > "$work/fhir/history.json"
node "$(dirname "$0")/fhir/validate.js" "$work/fhir"/* > "$work/f7" 2>&1 || fail "FHIR schema: $(cat "$work/f7")"

# --- backup and restore, as in README.md ---
mkdir -p "$work/backups"
caseline backup --to "$work/backups/2026-01-05" > "$work/b1" 2> "$work/b1.err"
grep -q "\"directory\":\"$work/backups/2026-01-05\"" "$work/b1" || fail "backup: $(cat "$work/b1")"
grep -q 'hard links' "$work/b1.err" || fail "backup note: $(cat "$work/b1.err")"
head=$(sed 's/.*"head_position":"\([0-9]*\)".*/\1/' "$work/b1")
hash=$(sed 's/.*"head_hash":"\([0-9a-f]*\)".*/\1/' "$work/b1")
[ "${#hash}" -eq 64 ] && [ "$head" -gt 100 ] || fail "backup head $head hash $hash"
grep -q "\"events_verified\":\"$head\"" "$work/b1" || fail "backup verified: $(cat "$work/b1")"
set +e
caseline backup --to "$work/backups/2026-01-05" > /dev/null 2> "$work/b2.err"
code=$?
set -e
[ "$code" -eq 2 ] && grep -q "FAILED_PRECONDITION: backup directory $work/backups/2026-01-05 already holds a backup" "$work/b2.err" \
  || fail "backup over a backup: $code $(cat "$work/b2.err")"
set +e
"$CASELINED" --restore_from "$work/backups/2026-01-05" --data_dir "$work/data-nokek" \
  --listen 127.0.0.1:0 --log_level warn > /dev/null 2> "$work/nokek.err"
code=$?
set -e
[ "$code" -eq 1 ] && grep -q "FAILED_PRECONDITION: .*is wrapped under KEK version" "$work/nokek.err" \
  && [ ! -e "$work/data-nokek.kek" ] || fail "restore without the KEK: $code $(cat "$work/nokek.err")"
"$CASELINED" --restore_from "$work/backups/2026-01-05" --data_dir "$work/data-restored" \
  --kek_file "$work/data.kek" \
  --listen 127.0.0.1:0 --listen_address_file "$work/restored-address" --log_level warn > "$work/restored" &
restored_pid=$!
for _ in $(seq 300); do [ -s "$work/restored-address" ] && break; sleep 0.1; done
grep -q "\"head_position\":\"$head\",\"head_hash\":\"$hash\"" "$work/restored" || fail "restore: $(cat "$work/restored")"
"$CASELINE_BIN" --server "$(cat "$work/restored-address")" verify > "$work/b3"
grep -q "\"ok\":true,\"events_checked\":\"$head\".*\"head_hash\":\"$hash\"" "$work/b3" || fail "restored verify: $(cat "$work/b3")"
kill -TERM "$restored_pid"
wait "$restored_pid" || fail "restored caselined exited non-zero on SIGTERM"
restored_pid=""
set +e
"$CASELINED" --restore_from "$work/backups/2026-01-05" --data_dir "$work/data-restored" 2> "$work/b4.err"
code=$?
set -e
[ "$code" -eq 1 ] && grep -q "FAILED_PRECONDITION: data directory $work/data-restored already holds a log" "$work/b4.err" \
  || fail "restore over a log: $code $(cat "$work/b4.err")"

# --- erasing a client, as in README.md ---
caseline erase-client --client scenario-stroke --legal-basis "GDPR Art. 17(1)(a)" \
  --reason "the client asked to be forgotten" > "$work/e1"
grep -q '"already_erased":false,"data_key_id":"[0-9a-f]\{32\}","plaintext_events_kept":"0"' "$work/e1" || fail "erase-client: $(cat "$work/e1")"
caseline verify > "$work/e2"
grep -q '"ok":true' "$work/e2" || fail "verify after the erasure: $(cat "$work/e2")"
caseline read-stream --stream client-scenario-stroke > "$work/e3all"
head -1 "$work/e3all" > "$work/e3"
grep -q '"event_type":"ClientRegistered".*"payload_erased":true' "$work/e3" && ! grep -q 'Evelyn' "$work/e3" \
  || fail "erased stream: $(cat "$work/e3")"
caseline erase-client --client scenario-stroke --legal-basis "again" > "$work/e4"
grep -q '"already_erased":true' "$work/e4" || fail "second erasure: $(cat "$work/e4")"

# --- who may see what, as in README.md: mutual TLS ---
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$work"
bash "$repo/deploy/make-dev-certs.sh" certs org-hospital org-housing org-er privacy-office > /dev/null
echo '{"organizations": {"org-hospital": ["agency"], "org-housing": ["agency"], "org-er": ["agency"], "privacy-office": ["auditor"]}}' > access.json
"$CASELINED" --data_dir ./data-secure --listen 127.0.0.1:0 \
  --tls_cert certs/server.pem --tls_key certs/server.key \
  --client_ca certs/ca.pem --access_config access.json \
  --listen_address_file secure-address --log_level warn &
secure_pid=$!
for _ in $(seq 600); do [ -s secure-address ] && break; sleep 0.1; done
C=$CASELINE_BIN
TLS="--server localhost:$(cut -d: -f2 secure-address) --tls-ca certs/ca.pem"
HOSPITAL="$TLS --tls-cert certs/org-hospital.pem --tls-key certs/org-hospital.key"
HOUSING="$TLS --tls-cert certs/org-housing.pem --tls-key certs/org-housing.key"
ER="$TLS --tls-cert certs/org-er.pem --tls-key certs/org-er.key"
AUDITOR="$TLS --tls-cert certs/privacy-office.pem --tls-key certs/privacy-office.key"
echo '{"command_id":"s-1","organization_registered":{"organization_id":"org-hospital","name":"St. Mary Hospital","type":"ORGANIZATION_TYPE_HOSPITAL"}}' \
  | $C $HOSPITAL command Organizations.RegisterOrganization > s1 || fail "secure register: $(cat s1)"
echo '{"command_id":"s-2","organization_registered":{"organization_id":"org-housing","name":"Harbor Housing","type":"ORGANIZATION_TYPE_HOUSING"}}' \
  | $C $HOUSING command Organizations.RegisterOrganization > /dev/null
echo '{"command_id":"s-3","organization_registered":{"organization_id":"org-er","name":"County ER","type":"ORGANIZATION_TYPE_HOSPITAL"}}' \
  | $C $ER command Organizations.RegisterOrganization > /dev/null
echo '{"command_id":"s-4","client_id":"77","client_registered":{"name":{"given":"Sam","family":"Reyes"}}}' \
  | $C $HOSPITAL command Clients.RegisterClient > /dev/null
echo '{"command_id":"s-5","client_id":"77","referral_sent":{"referral_id":"r-1","to_organization_id":"org-housing","kind":"REFERRAL_KIND_WARM","service_category":"SERVICE_CATEGORY_HOUSING"}}' \
  | $C $HOSPITAL command Referrals.SendReferral > /dev/null
$C $HOUSING read-stream --stream client-77 > t1 2> t1.err
[ ! -s t1 ] || fail "housing saw events before consent: $(cat t1)"
grep -q '2 events withheld: no consent .* covers organisation org-housing' t1.err || fail "withheld: $(cat t1.err)"
echo '{"command_id":"s-6","client_id":"77","consent_given":{"consent_id":"k-1","recipient_organization_ids":["org-housing"],"data_classes":["DATA_CLASS_GENERAL","DATA_CLASS_HOUSING"],"method":"CONSENT_METHOD_SIGNED_FORM","document":{"document_id":"form-k-1.pdf","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}}' \
  | $C $HOSPITAL command Consents.GiveConsent > /dev/null
$C $HOUSING read-stream --stream client-77 > t2
[ "$(wc -l < t2)" -eq 3 ] || fail "housing after consent: $(cat t2)"
grep -q '"organization_id":"org-hospital"' t2 || fail "actor: $(cat t2)"
set +e
$C $HOUSING read-all > /dev/null 2> t3; code3=$?
$C $ER read-stream --stream client-77 > /dev/null 2> t4; code4=$?
set -e
[ "$code3" -ne 0 ] && grep -q 'PERMISSION_DENIED' t3 || fail "read-all as agency: $(cat t3)"
[ "$code4" -ne 0 ] && grep -q 'PERMISSION_DENIED: .*org-er is not involved' t4 || fail "uninvolved: $(cat t4)"
head_before=$($C $AUDITOR verify | sed 's/.*"head_position":"\([0-9]*\)".*/\1/')
set +e
echo '{"command_id":"x-1","client_id":"77","care_team_member_added":{"member_id":"er-1","name":{"family":"Stone"},"organization_id":"org-er","discipline":"DISCIPLINE_NURSING","role":"CARE_TEAM_ROLE_MEMBER"}}' \
  | $C $ER command CareTeams.AddCareTeamMember > /dev/null 2> t4w; code4w=$?
$C $ER read-stream --stream client-999 > /dev/null 2> t4u; code4u=$?
set -e
[ "$code4w" -ne 0 ] && grep -q 'PERMISSION_DENIED: client 77 is not known to organisation org-er, or org-er is not involved' t4w \
  || fail "self-involvement: $(cat t4w)"
head_after=$($C $AUDITOR verify | sed 's/.*"head_position":"\([0-9]*\)".*/\1/')
[ "$head_before" = "$head_after" ] || fail "a refused write moved the head: $head_before -> $head_after"
[ "$code4u" -ne 0 ] && [ "$(sed 's/999/77/' t4u)" = "$(cat t4)" ] || fail "unknown vs forbidden: $(cat t4u) / $(cat t4)"
$C $ER --break-glass "unresponsive in the ED, no history" read-stream --stream client-77 > t5
[ "$(wc -l < t5)" -eq 3 ] || fail "break-glass read: $(cat t5)"
$C $AUDITOR timeline --client 77 --format table > t6
grep -q 'RecordAccessed' t6 && grep -q 'org-housing' t6 && grep -q 'BREAK-THE-GLASS' t6 || fail "timeline: $(cat t6)"
$C $AUDITOR disclosures --client 77 > t7
grep -q '"consent_id":"k-1"' t7 && grep -q 'break-the-glass emergency: unresponsive' t7 || fail "disclosures: $(cat t7)"
$C $AUDITOR break-glass list > t8
grep -q '"reason":"unresponsive in the ED, no history"' t8 && grep -q '"organization_id":"org-er"' t8 || fail "break-glass list: $(cat t8)"
$C $AUDITOR break-glass list --include-denied > t8d
grep -q '"outcome":"ACCESS_OUTCOME_DENIED"' t8d && grep -q '"operation":"caseline.v1.EventLog/ReadStream"' t8d \
  || fail "refused read not listed: $(cat t8d)"
ID=$($C $AUDITOR break-glass list | sed 's/.*"access_event_id":"\([^"]*\)".*/\1/')
$C $AUDITOR break-glass review --access-event-id "$ID" --note "confirmed with the ED attending" > t9
grep -q '"global_position"' t9 || fail "review: $(cat t9)"
[ ! -s "$($C $AUDITOR break-glass list > t10; echo t10)" ] || fail "still listed: $(cat t10)"
kill -TERM "$secure_pid"
wait "$secure_pid" || fail "secure caselined exited non-zero on SIGTERM"

# SIGTERM shuts the server down cleanly.
kill -TERM "$server_pid"
wait "$server_pid" || fail "caselined exited non-zero on SIGTERM"
echo "readme tour: all commands behaved as documented"
