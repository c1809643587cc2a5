// Worklist items: what an organisation must do next for a client, each a
// pure function of the client's record and the views' configuration, by the
// rules stated in care/continuity.h. The continuity projection stores them
// with their due time; GetWorklist judges them overdue at query time.
//
// No I/O, no clock. Thread-compatible.
#ifndef CASELINE_CARE_WORKLIST_H_
#define CASELINE_CARE_WORKLIST_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "care/client_record.h"
#include "care/views_config.h"
#include "caseline/v1/views.pb.h"

namespace caseline::care {

// The worklist items the client gives, one per (kind, subject, organisation),
// each with its due time and overdue unset (judged at query time), and the
// claim in force on it (claimed_by_user_id, claimed_at, claim_position,
// claim_note from record.worklist_claims; unset when none):
//   TRANSITION_DUE   a transition not completed, due at the start of its
//                    planned date (planned_at without one), for its from and
//                    to organisations;
//   FOLLOW_UP_DUE    a discharge needing a follow-up that has none, due at
//                    the end of the follow-up window, for the facility and
//                    the receiving organisation of its transition;
//   STALE_REFERRAL   a referral still requested, due at the end of its
//                    business-day answer window; or accepted and not
//                    started, due accepted_at + referral_start_days; for the
//                    sender and the receiver;
//   DISCHARGE_WITHOUT_ACCEPTED_RECEIVER
//                    each GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER gap
//                    of FindGaps (care/continuity.h), due at its since, with
//                    its description and causes, for the organisation the
//                    gap names (who should act: the receiver that has not
//                    accepted its pending referral, else the discharging
//                    side) and for the discharging organisation (the
//                    transition's from organisation, else its admission's
//                    facility, else the registering organisation; for a
//                    discharge with no transition, its facility), once when
//                    they are the same: the discharging facility's planners
//                    always see it;
//   SERVICE_ENDED_WITHOUT_SUCCESSOR
//                    each GAP_REASON_SERVICE_ENDED_WITHOUT_SUCCESSOR and
//                    ..._INTERRUPTED_WITHOUT_SUCCESSOR gap, due at its since,
//                    with its description (which says ended or interrupted)
//                    and causes, for the organisation it names (the
//                    service's provider).
// The last two are the gaps themselves (one rule, in continuity_gaps.cc),
// which hold at any time, so they are due (and overdue) from the start.
// Dates and days are those of config.time_zone. Whether an item exists does
// not depend on `config`, only its due time and description. Ordered by
// organisation, due, kind, subject.
std::vector<v1::WorklistItem> WorklistItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config);
// Its five parts, unordered, for a caller that re-derives only what an event
// can change: TRANSITION_DUE items depend on transitions only; FOLLOW_UP_DUE
// items on admissions, follow-ups and transitions; STALE_REFERRAL items on
// referrals only; DISCHARGE_WITHOUT_ACCEPTED_RECEIVER items on admissions,
// discharges, transitions, referrals and the registering organisation;
// SERVICE_ENDED_WITHOUT_SUCCESSOR items on services, referrals, goals and
// assessments (and all on the case status, and each on the claims of its
// kind).
std::vector<v1::WorklistItem> TransitionItemsOf(const ClientRecord& record,
                                                const ViewsConfig& config);
std::vector<v1::WorklistItem> FollowUpItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config);
std::vector<v1::WorklistItem> ReferralItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config);
// The STALE_REFERRAL items of one referral (none for an unknown id).
std::vector<v1::WorklistItem> ReferralItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config,
                                              absl::string_view referral_id);
std::vector<v1::WorklistItem> ReceiverItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config);
std::vector<v1::WorklistItem> ServiceItemsOf(const ClientRecord& record,
                                             const ViewsConfig& config);

// The key an item is claimed by.
WorklistItemKey KeyOf(const v1::WorklistItem& item);

// Whether the client's worklist holds the item `key` names now (any due
// time: the horizon is the query's).
bool OnWorklist(const ClientRecord& record, const WorklistItemKey& key);

// Drops the claims of `record` whose item is no longer on the worklist.
// ClientRecord::Apply calls it after each event while a claim is in force.
void DropLapsedClaims(ClientRecord& record);

}  // namespace caseline::care

#endif  // CASELINE_CARE_WORKLIST_H_
