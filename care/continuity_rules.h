// Internal to care/continuity_*.cc: the rules that the gaps, the summary, the
// worklists and the measures share, each decided once (stated at the top of
// care/continuity.h). Callers outside care/ include care/continuity.h,
// care/worklist.h or care/measures.h instead.
#ifndef CASELINE_CARE_CONTINUITY_RULES_H_
#define CASELINE_CARE_CONTINUITY_RULES_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "care/calendar.h"
#include "care/client_record.h"
#include "care/organization_directory.h"
#include "care/views_config.h"
#include "caseline/v1/views.pb.h"

namespace caseline::care::continuity_internal {

using TransitionEntry = std::pair<const std::string, TransitionState>;
using AdmissionEntry = std::pair<const std::string, AdmissionState>;
using ReferralEntry = std::pair<const std::string, ReferralState>;

// The days of the network's zone.
inline Calendar CalendarOf(const ViewsConfig& config) {
  return Calendar(config.time_zone);
}

// "SERVICE_CATEGORY_HOUSING".
std::string Category(v1::ServiceCategory category);

// --- Discharges

// Levels whose discharge needs a receiving organisation (and after which a new
// stay supersedes an earlier discharge).
bool IsInstitutional(v1::LevelOfCare level);
// A discharge that needs a receiving organisation.
bool NeedsReceiver(const AdmissionState& a);
// The latest transition planned for the admission: one naming it, else one
// naming no admission, planned from the facility at or after the admission.
// nullptr when there is none.
const TransitionEntry* TransitionFor(const ClientRecord& record,
                                     const AdmissionEntry& admission);
// An institutional stay that began at or after the admission's discharge.
bool HasLaterStay(const ClientRecord& record, const AdmissionEntry& admission);

// A discharge that needs a follow-up, has none and no later stay.
struct PendingFollowUp {
  const AdmissionEntry* admission;
  const TransitionEntry* transition;  // may be null
  absl::Time due;  // the first instant after the follow-up window
};
std::vector<PendingFollowUp> PendingFollowUps(const ClientRecord& record,
                                              const ViewsConfig& config);

// --- Referrals

// A referral to `org` accepted and not declined, failed or cancelled since.
bool ReceiverAccepted(const ClientRecord& record, absl::string_view org);
// An open referral to `org` still awaiting its acceptance; nullptr if none.
const ReferralEntry* PendingReferralTo(const ClientRecord& record,
                                       absl::string_view org);
// When a requested referral must have been answered.
absl::Time ReferralAnswerDeadline(const ReferralState& r,
                                  const ViewsConfig& config);
// Accepted (still accepted or on hold) and not started.
bool AwaitsStart(const ReferralState& r);
// When an accepted referral must have started: the end of ReferralSent.start_by
// (the start of the next day) when the sender gave one, else
// referral_start_days after the acceptance.
absl::Time ReferralStartDeadline(const ReferralState& r,
                                 const ViewsConfig& config);

// --- Consent

// The organisation's type in the directory (UNSPECIFIED when unknown).
v1::OrganizationType TypeOf(const OrganizationDirectory& directory,
                            absl::string_view org);

// What one organisation needs covered for one referral or transition.
struct ConsentNeed {
  std::string subject_id;
  bool transition = false;
  std::string receiver;
  std::string actor;  // who should obtain the consent
  absl::Time subject_at;
  uint64_t position = 0;
  std::vector<v1::DataClass> classes;
  std::vector<v1::PurposeOfUse> purposes;  // any one of them suffices
};
// Each open referral's and each transition not completed.
std::vector<ConsentNeed> ConsentNeeds(const ClientRecord& record);
// Whether a consent of the record covers `dc` for `org` for any of
// `purposes` at `at`.
bool Covered(const ClientRecord& record, absl::string_view org,
             v1::OrganizationType type, v1::DataClass dc,
             const std::vector<v1::PurposeOfUse>& purposes, absl::Time at);

// --- Gaps that the worklists list too

// A GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER gap and the organisation
// that discharges the client (care/worklist.h says which).
struct ReceiverGap {
  v1::Gap gap;
  std::string discharging_organization_id;
};
// The client's receiver gaps, unordered: each transition not completed whose
// receiver has not accepted, and each discharge that needs a receiver and
// has no transition (nor a later stay). Not for a closed case (the caller
// checks).
std::vector<ReceiverGap> ReceiverGapsOf(const ClientRecord& record,
                                        const Calendar& calendar);
// The client's SERVICE_ENDED_WITHOUT_SUCCESSOR and
// SERVICE_INTERRUPTED_WITHOUT_SUCCESSOR gaps, unordered: one per category.
// Not for a closed case (the caller checks).
std::vector<v1::Gap> ServiceGapsOf(const ClientRecord& record,
                                   const Calendar& calendar);

// --- Care team

// The earliest-added active lead case manager (and its id in *id_out when
// given); nullptr when there is none.
const CareTeamMemberState* FirstLead(const ClientRecord& record,
                                     const std::string** id_out);

}  // namespace caseline::care::continuity_internal

#endif  // CASELINE_CARE_CONTINUITY_RULES_H_
