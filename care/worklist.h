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
// Dates and days are those of config.time_zone. Ordered by organisation,
// due, kind, subject.
std::vector<v1::WorklistItem> WorklistItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config);
// Its three parts, unordered, for a caller that re-derives only what an event
// can change: TRANSITION_DUE items depend on transitions only; FOLLOW_UP_DUE
// items on admissions, follow-ups and transitions; STALE_REFERRAL items on
// referrals only (and all on the case status).
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

}  // namespace caseline::care

#endif  // CASELINE_CARE_WORKLIST_H_
