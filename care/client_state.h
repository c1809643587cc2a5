// ClientStateOf: a ClientRecord rendered as views.proto's ClientState, as it
// stands at one moment (now for a summary, the as-of time for a replay).
//
// Pure: no I/O, no clock. Thread-compatible (reads the record only).
#ifndef CASELINE_CARE_CLIENT_STATE_H_
#define CASELINE_CARE_CLIENT_STATE_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "caseline/v1/views.pb.h"
#include "care/client_record.h"

namespace caseline::care {

// The record's state judged at `at`:
//   - consents_in_force: the consents ConsentState::InForceAt(at); consents:
//     every consent (ConsentViewOf), in id order;
//   - care_team: active members; services, referrals, goals, admissions and
//     transitions: all of them, in id order;
//   - referrals: status as its FHIR Task name (ReferralStatusName) and
//     age_days = whole days from sent_at to `at` (0 when `at` is earlier);
//   - last_stream_version: record.version; events_applied: version + 1 (the
//     stream's events so far; 0 for an empty record);
//   - last_position: the highest global position the record keeps (exact
//     unless the last event is one whose position the record does not keep:
//     registration, corrections, links, goal progress, a dismissed finding; a
//     caller that folded the stream itself overwrites it with the position it
//     stopped at, as ReplayClient does);
//   - each item's version / updated_at, and details_, case_ and care_team_
//     version / updated_at: the LastChange the record keeps for them
//     (views.proto, "Versions"); unset while there is none.
v1::ClientState ClientStateOf(const ClientRecord& record, absl::Time at);

// One referral of a record as ClientState.referrals shows it, with age_days
// judged at `at` (ReferralAgeDays).
v1::ReferralView ReferralViewOf(const std::string& referral_id,
                                const ReferralState& referral, absl::Time at);

// One consent of a record as ClientState.consents (and, when in force,
// consents_in_force) shows it.
v1::ConsentView ConsentViewOf(const std::string& consent_id,
                              const ConsentState& consent);

// Whole days from `sent_at` to `at`; 0 when `at` is not later.
int32_t ReferralAgeDays(absl::Time sent_at, absl::Time at);

// The case status as ClientState names it: "not-opened", "open", "closed".
absl::string_view CaseStatusName(CaseStatus status);

}  // namespace caseline::care

#endif  // CASELINE_CARE_CLIENT_STATE_H_
