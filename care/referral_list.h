// Referral lists: each organisation's referrals across all its clients, the
// ones it received (its inbox) and the ones it sent, as pure functions of one
// client's record. The continuity projection stores the entries per
// organisation (projections/continuity_projection.h) and
// ContinuityViews.ListReferrals pages through them. The referral's state is
// the record's (care/client_record.h); nothing here decides a lifecycle.
//
// No I/O, no clock. Thread-compatible.
#ifndef CASELINE_CARE_REFERRAL_LIST_H_
#define CASELINE_CARE_REFERRAL_LIST_H_

#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "care/client_record.h"
#include "caseline/v1/views.pb.h"

namespace caseline::care {

// The list entries the client's referrals give: for each referral (in id
// order) one RECEIVED entry for its receiver (to_organization_id) and one
// SENT entry for its sender (ReferralState::sent_by_organization_id); none
// for an empty organisation id. Every referral is listed whatever its status
// and whatever the case's: a closed case keeps its referrals' statuses, and
// a command on one is refused until the case is reopened. The entries'
// referral.age_days is 0: ages are judged when the list is asked for.
std::vector<v1::ReferralListEntry> ReferralListEntriesOf(
    const ClientRecord& record);
// The entries of one referral (none for an unknown id).
std::vector<v1::ReferralListEntry> ReferralListEntriesOf(
    const ClientRecord& record, absl::string_view referral_id);

// The status whose ReferralStatusName is `name` ("requested", "on-hold",
// ...); nullopt for any other string.
std::optional<ReferralStatus> ReferralStatusNamed(absl::string_view name);

// Every status, in ReferralStatus's order.
std::vector<ReferralStatus> AllReferralStatuses();

// How urgent a referral is for the receiver's list: 0 for emergent, 1
// urgent, 2 routine, 3 unspecified (or a value this build does not know).
// Lists show the lowest rank first.
int UrgencyRank(v1::Urgency urgency);

}  // namespace caseline::care

#endif  // CASELINE_CARE_REFERRAL_LIST_H_
