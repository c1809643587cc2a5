// Continuity of care: gaps, the client summary, worklist items, measure index
// entries and caseload entries, each a pure function of one client's record
// (plus the organisation directory and the views' configuration).
//
// This header states the rules and declares the gaps, the summary and the
// caseload entries (continuity_gaps.cc, continuity_summary.cc); it includes
// the worklist items (care/worklist.h), the measures (care/measures.h) and
// the calendar (care/calendar.h), which apply the same rules.
//
// No I/O, no clock: callers pass `now`. Thread-compatible.
//
// Calendar days are the dates of the network's time zone
// (ViewsConfig::time_zone, UTC by default): "day N" after an event is the
// date N days after the event's local date, and a day ends at local midnight.
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
//   follow-up is due at the end of the day discharge + follow_up_window_days.
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
//   from the following Monday 00:00.
//
//   Accepted, not started: accepted (still accepted or on hold) and neither
//   started nor completed by accepted_at + referral_start_days (the same
//   time of day, that many days later).
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
//   review date, and that day has ended.
//
//   Mental-health provider (FUH): a follow-up by psychiatry, psychology or
//   social work, or by an organisation of type BEHAVIORAL_HEALTH.
#ifndef CASELINE_CARE_CONTINUITY_H_
#define CASELINE_CARE_CONTINUITY_H_

#include <vector>

#include "absl/time/time.h"
#include "care/calendar.h"  // IWYU pragma: export
#include "care/client_record.h"
#include "care/measures.h"  // IWYU pragma: export
#include "care/organization_directory.h"
#include "care/views_config.h"
#include "care/worklist.h"  // IWYU pragma: export
#include "caseline/v1/views.pb.h"

namespace caseline::care {

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

// One caseload entry per active lead case manager of an open case (member id,
// name, organisation; active_clients unset). Empty otherwise.
std::vector<v1::WorkerCaseload> CaseloadEntriesOf(const ClientRecord& record);

}  // namespace caseline::care

#endif  // CASELINE_CARE_CONTINUITY_H_
