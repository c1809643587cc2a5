// Continuity of care: gaps, the client summary, worklist items, measure index
// entries and caseload entries, each a pure function of one client's record
// (plus the organisation directory and the views' configuration).
//
// No I/O, no clock: callers pass `now`. Thread-compatible.
//
// Calendar days are UTC days: "day N" after an event is the UTC date N days
// after the event's UTC date.
//
// The rules, decided here once for the summary, the gaps, the worklists and
// the measures:
//
//   Case status. A closed case has no gaps and no worklist items (no event but
//   a reopening is accepted on it, so nothing could close them); its measure
//   entries stay (measures look back).
//
//   Discharges that need a receiving organisation: from inpatient,
//   residential, detox, incarceration or skilled nursing, unless the client
//   died. Such a discharge is covered by a transition planned for its
//   admission (TransitionPlanned.admission_id), or, for a transition that
//   names no admission, one planned from the facility at or after the
//   admission. A later stay at one of those levels supersedes the discharge.
//
//   Discharges that need a follow-up contact: from those levels and partial
//   hospitalisation, and emergency-department visits for mental health or
//   substance use; not when the client died or was transferred (the
//   transfer's own admission follows). Any FollowUpCompleted at or after the
//   discharge closes it, whoever made it; a later stay supersedes it. The
//   follow-up is due at the end of UTC day discharge + follow_up_window_days.
//   A late follow-up still closes the gap (the client is connected now); the
//   measures count lateness.
//
//   Accepted receiver: a referral to the receiving organisation that was
//   accepted and has not been declined, failed or cancelled since.
//
//   Referral answer window: the referral must leave "requested" (accepted,
//   declined, on hold, or more) within referral_answer_business_days
//   weekdays: the deadline is sent_at moved forward that many Mondays to
//   Fridays, keeping the time of day; a referral sent on a weekend counts
//   from the following Monday 00:00 UTC.
//
//   Accepted, not started: accepted (still accepted or on hold) and neither
//   started nor completed by accepted_at + referral_start_days.
//
//   Need persists in a category: a goal in that domain in progress (not
//   completed, cancelled, rejected or entered in error), or a latest assessed
//   need level of moderate or higher. Successor: another active service of
//   the category without an interruption notice, or an open referral of the
//   category. One gap per category, about its latest ended or interrupted
//   service.
//
//   Receiver consent: each open referral's receiver needs its shared data
//   classes for the referral's purpose (care coordination when unspecified);
//   each transition not completed needs DATA_CLASS_GENERAL for its receiver
//   (care coordination or treatment). ConsentState::Covers decides, with the
//   organisation's type from the directory (Part 2 needs the organisation
//   named).
//
//   Team meeting overdue: the latest meeting (by business time) has a next
//   review date, and that UTC day has ended.
//
//   Mental-health provider (FUH): a follow-up by psychiatry, psychology or
//   social work, or by an organisation of type BEHAVIORAL_HEALTH.
#ifndef CASELINE_CARE_CONTINUITY_H_
#define CASELINE_CARE_CONTINUITY_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "caseline/v1/views.pb.h"
#include "care/client_record.h"
#include "care/organization_directory.h"
#include "care/views_config.h"

namespace caseline::care {

// Measure names, in the order GetMeasures answers them.
inline constexpr char kMeasureFuh7[] = "FUH-7";
inline constexpr char kMeasureFuh30[] = "FUH-30";
inline constexpr char kMeasureFum7[] = "FUM-7";
inline constexpr char kMeasureFum30[] = "FUM-30";
inline constexpr char kMeasureReadmission30[] = "READMISSION-30";
inline constexpr char kMeasureReferralLoopClosure[] = "REFERRAL-LOOP-CLOSURE";
// All six, in order.
const std::vector<std::string>& MeasureNames();
// The index kind a measure is computed from; UNSPECIFIED for an unknown name.
v1::MeasureIndexKind MeasureIndexKindOf(absl::string_view measure);

// `from` moved forward `days` weekdays (Monday to Friday, UTC), keeping the
// time of day; from a Saturday or Sunday, counting starts at the following
// Monday 00:00.
absl::Time AddBusinessDays(absl::Time from, int days);

// The start of the UTC day of `t`.
absl::Time StartOfUtcDay(absl::Time t);

// Whole UTC calendar days from the date of `from` to the date of `to`
// (negative when `to` is on an earlier date).
int64_t CalendarDaysBetween(absl::Time from, absl::Time to);

// FUH's mental-health provider rule (see the header comment).
bool IsMentalHealthFollowUp(const v1::FollowUpCompleted& follow_up,
                            const OrganizationDirectory& directory);

// The open gaps of the client at `now`, ordered by since, reason, subject.
std::vector<v1::Gap> FindGaps(const ClientRecord& record,
                              const OrganizationDirectory& directory,
                              const ViewsConfig& config, absl::Time now);

// The client's summary at `now`: state (ClientStateOf), lead, active
// services, open referrals, last admission and discharge, planned
// transitions, follow-ups due, consent coverage per involved organisation
// (ordered by organisation id) and FindGaps.
v1::ClientSummary Summarize(const ClientRecord& record,
                            const OrganizationDirectory& directory,
                            const ViewsConfig& config, absl::Time now);

// The worklist items the client gives, one per (kind, subject, organisation),
// each with its due time and overdue unset (judged at query time):
//   TRANSITION_DUE   a transition not completed, due at the start of its
//                    planned date (planned_at without one), for its from and
//                    to organisations;
//   FOLLOW_UP_DUE    a discharge needing a follow-up that has none, due at
//                    the end of the follow-up window, for the facility and
//                    the receiving organisation of its transition;
//   STALE_REFERRAL   a referral still requested, due at the end of its
//                    business-day answer window; or accepted and not
//                    started, due accepted_at + referral_start_days; for the
//                    sender and the receiver.
// Ordered by organisation, due, kind, subject.
std::vector<v1::WorklistItem> WorklistItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config);
// Its three parts, unordered, for a caller that re-derives only what an event
// can change: TRANSITION_DUE items depend on transitions only; FOLLOW_UP_DUE
// items on admissions, follow-ups and transitions; STALE_REFERRAL items on
// referrals only (and all on the case status).
std::vector<v1::WorklistItem> TransitionItemsOf(const ClientRecord& record);
std::vector<v1::WorklistItem> FollowUpItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config);
std::vector<v1::WorklistItem> ReferralItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config);
// The STALE_REFERRAL items of one referral (none for an unknown id).
std::vector<v1::WorklistItem> ReferralItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config,
                                              absl::string_view referral_id);

// The client's measure index entries (see MeasureIndexEntry), ordered by
// kind, time, subject. The directory decides FUH's mental-health providers.
std::vector<v1::MeasureIndexEntry> MeasureEntriesOf(
    const ClientRecord& record, const OrganizationDirectory& directory);
// Its two parts, unordered: FUH, FUM and READMISSION entries (admissions and
// follow-ups), and REFERRAL entries (referrals).
std::vector<v1::MeasureIndexEntry> StayMeasureEntriesOf(
    const ClientRecord& record, const OrganizationDirectory& directory);
std::vector<v1::MeasureIndexEntry> ReferralMeasureEntriesOf(
    const ClientRecord& record);
// The REFERRAL entry of one referral (none for an unknown id).
std::vector<v1::MeasureIndexEntry> ReferralMeasureEntriesOf(
    const ClientRecord& record, absl::string_view referral_id);

// One measure over index entries already chosen for it (the right kind, in
// the period, at the organisation), with the windows of `config`:
//   FUH-N: denominator inpatient mental-health discharges, less exclusions
//     (client deceased; disposition TRANSFER; an inpatient admission within
//     fuh_exclusion_days, day 0 to that day inclusive); numerator those with a
//     mental-health follow-up on day 1..N (the discharge day does not count).
//   FUM-N: ED mental-health visits (client deceased excluded); numerator a
//     follow-up on day 0..N.
//   READMISSION-30: inpatient discharges (deceased excluded); numerator an
//     inpatient admission on day 0..readmission_days.
//   REFERRAL-LOOP-CLOSURE: referrals sent; numerator completed, with the
//     median days from sent to completed (fractional days).
// Members are listed unless counts_only. An unknown name yields a result
// with only the name set (GetMeasures refuses unknown names first).
v1::MeasureResult ComputeMeasure(
    absl::string_view measure,
    const std::vector<v1::MeasureIndexEntry>& entries,
    const ViewsConfig& config, bool counts_only);

// One caseload entry per active lead case manager of an open case (member id,
// name, organisation; active_clients unset). Empty otherwise.
std::vector<v1::WorkerCaseload> CaseloadEntriesOf(const ClientRecord& record);

}  // namespace caseline::care

#endif  // CASELINE_CARE_CONTINUITY_H_
