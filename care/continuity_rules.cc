#include "care/continuity_rules.h"

#include <utility>

namespace caseline::care::continuity_internal {
namespace {

bool NeedsFollowUp(const AdmissionState& a) {
  if (!a.discharged_at.has_value()) return false;
  if (a.disposition == v1::DISCHARGE_DISPOSITION_DECEASED ||
      a.disposition == v1::DISCHARGE_DISPOSITION_TRANSFER) {
    return false;
  }
  const v1::LevelOfCare level = a.admission.level_of_care();
  if (IsInstitutional(level) ||
      level == v1::LEVEL_OF_CARE_PARTIAL_HOSPITALIZATION) {
    return true;
  }
  const v1::ServiceCategory need = a.admission.primary_need();
  return level == v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT &&
         (need == v1::SERVICE_CATEGORY_MENTAL_HEALTH ||
          need == v1::SERVICE_CATEGORY_SUBSTANCE_USE);
}

bool HasFollowUpSince(const ClientRecord& record, absl::Time since) {
  for (const auto& [id, f] : record.follow_ups) {
    if (f.at >= since) return true;
  }
  return false;
}

// The end of the local day discharge + follow_up_window_days.
absl::Time FollowUpDueAt(absl::Time discharged_at, const ViewsConfig& config) {
  const Calendar calendar = CalendarOf(config);
  return calendar.StartOf(calendar.DayOf(discharged_at) +
                          config.follow_up_window_days + 1);
}

bool IsAcceptedReceiver(const ReferralState& r) {
  return r.was_accepted && r.status != ReferralStatus::kDeclined &&
         r.status != ReferralStatus::kFailed &&
         r.status != ReferralStatus::kCancelled;
}

}  // namespace

std::string Category(v1::ServiceCategory category) {
  return v1::ServiceCategory_Name(category);
}

bool IsInstitutional(v1::LevelOfCare level) {
  switch (level) {
    case v1::LEVEL_OF_CARE_INPATIENT:
    case v1::LEVEL_OF_CARE_RESIDENTIAL:
    case v1::LEVEL_OF_CARE_DETOX:
    case v1::LEVEL_OF_CARE_INCARCERATION:
    case v1::LEVEL_OF_CARE_SKILLED_NURSING:
      return true;
    default:
      return false;
  }
}

bool NeedsReceiver(const AdmissionState& a) {
  return a.discharged_at.has_value() &&
         IsInstitutional(a.admission.level_of_care()) &&
         a.disposition != v1::DISCHARGE_DISPOSITION_DECEASED;
}

const TransitionEntry* TransitionFor(const ClientRecord& record,
                                     const AdmissionEntry& admission) {
  const TransitionEntry* linked = nullptr;
  const TransitionEntry* unlinked = nullptr;
  auto later = [](const TransitionEntry* best, const TransitionEntry& t) {
    return best == nullptr || t.second.planned_at >= best->second.planned_at;
  };
  for (const TransitionEntry& t : record.transitions) {
    const v1::TransitionPlanned& planned = t.second.planned;
    if (planned.admission_id() == admission.first) {
      if (later(linked, t)) linked = &t;
    } else if (planned.admission_id().empty() &&
               planned.from_organization_id() ==
                   admission.second.admission.facility_organization_id() &&
               t.second.planned_at >= admission.second.admitted_at) {
      if (later(unlinked, t)) unlinked = &t;
    }
  }
  return linked != nullptr ? linked : unlinked;
}

bool HasLaterStay(const ClientRecord& record, const AdmissionEntry& admission) {
  for (const AdmissionEntry& other : record.admissions) {
    if (other.first == admission.first) continue;
    if (IsInstitutional(other.second.admission.level_of_care()) &&
        other.second.admitted_at >= *admission.second.discharged_at) {
      return true;
    }
  }
  return false;
}

std::vector<PendingFollowUp> PendingFollowUps(const ClientRecord& record,
                                              const ViewsConfig& config) {
  std::vector<PendingFollowUp> pending;
  for (const AdmissionEntry& a : record.admissions) {
    if (!NeedsFollowUp(a.second)) continue;
    if (HasFollowUpSince(record, *a.second.discharged_at)) continue;
    if (HasLaterStay(record, a)) continue;
    pending.push_back({&a, TransitionFor(record, a),
                       FollowUpDueAt(*a.second.discharged_at, config)});
  }
  return pending;
}

bool ReceiverAccepted(const ClientRecord& record, absl::string_view org) {
  for (const auto& [id, r] : record.referrals) {
    if (r.sent.to_organization_id() == org && IsAcceptedReceiver(r))
      return true;
  }
  return false;
}

const ReferralEntry* PendingReferralTo(const ClientRecord& record,
                                       absl::string_view org) {
  for (const ReferralEntry& r : record.referrals) {
    if (r.second.sent.to_organization_id() == org &&
        !IsTerminal(r.second.status) && !r.second.was_accepted) {
      return &r;
    }
  }
  return nullptr;
}

absl::Time ReferralAnswerDeadline(const ReferralState& r,
                                  const ViewsConfig& config) {
  return CalendarOf(config).AddBusinessDays(
      r.sent_at, config.referral_answer_business_days);
}

bool AwaitsStart(const ReferralState& r) {
  return r.accepted_at.has_value() && !r.started_at.has_value() &&
         (r.status == ReferralStatus::kAccepted ||
          r.status == ReferralStatus::kOnHold);
}

absl::Time ReferralStartDeadline(const ReferralState& r,
                                 const ViewsConfig& config) {
  const Calendar calendar = CalendarOf(config);
  // The end of the date the sender asked for (the start of the next day).
  if (r.sent.has_start_by()) {
    return calendar.StartOf(CivilDayOf(r.sent.start_by()) + 1);
  }
  return calendar.AddDays(*r.accepted_at, config.referral_start_days);
}

v1::OrganizationType TypeOf(const OrganizationDirectory& directory,
                            absl::string_view org) {
  const v1::OrganizationRegistered* found = directory.Find(org);
  return found == nullptr ? v1::ORGANIZATION_TYPE_UNSPECIFIED : found->type();
}

std::vector<ConsentNeed> ConsentNeeds(const ClientRecord& record) {
  std::vector<ConsentNeed> needs;
  for (const auto& [id, r] : record.referrals) {
    if (IsTerminal(r.status) || r.sent.shared_data_classes().empty()) continue;
    ConsentNeed need;
    need.subject_id = id;
    need.receiver = r.sent.to_organization_id();
    need.actor = r.sent_by_organization_id;
    need.subject_at = r.sent_at;
    need.position = r.sent_position;
    for (int dc : r.sent.shared_data_classes()) {
      need.classes.push_back(static_cast<v1::DataClass>(dc));
    }
    need.purposes.push_back(r.sent.purpose() == v1::PURPOSE_OF_USE_UNSPECIFIED
                                ? v1::PURPOSE_OF_USE_CARE_COORDINATION
                                : r.sent.purpose());
    needs.push_back(std::move(need));
  }
  for (const auto& [id, t] : record.transitions) {
    if (t.completed_at.has_value()) continue;
    ConsentNeed need;
    need.subject_id = id;
    need.transition = true;
    need.receiver = t.planned.to_organization_id();
    need.actor = t.planned.from_organization_id().empty()
                     ? record.registered_by_organization_id
                     : t.planned.from_organization_id();
    need.subject_at = t.planned_at;
    need.position = t.planned_position;
    need.classes.push_back(v1::DATA_CLASS_GENERAL);
    need.purposes = {v1::PURPOSE_OF_USE_CARE_COORDINATION,
                     v1::PURPOSE_OF_USE_TREATMENT};
    needs.push_back(std::move(need));
  }
  return needs;
}

bool Covered(const ClientRecord& record, absl::string_view org,
             v1::OrganizationType type, v1::DataClass dc,
             const std::vector<v1::PurposeOfUse>& purposes, absl::Time at) {
  for (const auto& [id, consent] : record.consents) {
    for (v1::PurposeOfUse purpose : purposes) {
      if (consent.Covers(org, type, dc, purpose, at)) return true;
    }
  }
  return false;
}

const CareTeamMemberState* FirstLead(const ClientRecord& record,
                                     const std::string** id_out) {
  const CareTeamMemberState* lead = nullptr;
  for (const auto& [id, m] : record.care_team) {
    if (!m.active() || m.added.role() != v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER)
      continue;
    if (lead == nullptr || m.added_at < lead->added_at) {
      lead = &m;
      if (id_out != nullptr) *id_out = &id;
    }
  }
  return lead;
}

}  // namespace caseline::care::continuity_internal
