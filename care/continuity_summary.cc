// Summarize and CaseloadEntriesOf (care/continuity.h states the rules).
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "care/client_state.h"
#include "care/continuity.h"
#include "care/continuity_rules.h"
#include "care/proto_time.h"

namespace caseline::care {
namespace {

using continuity_internal::ConsentNeed;
using continuity_internal::ConsentNeeds;
using continuity_internal::Covered;
using continuity_internal::FirstLead;
using continuity_internal::PendingFollowUp;
using continuity_internal::PendingFollowUps;

void AddCoverage(const ClientRecord& record,
                 const OrganizationDirectory& directory, absl::Time now,
                 v1::ClientSummary* summary) {
  // Involvement reasons in a fixed order.
  static const char* const kReasons[] = {
      "registered",        "care-team",        "referral-sender",
      "referral-receiver", "service-provider", "transition-receiver",
      "facility"};
  std::map<std::string, std::set<int>> involved;
  auto involve = [&involved](const std::string& org, int reason) {
    if (!org.empty()) involved[org].insert(reason);
  };
  involve(record.registered_by_organization_id, 0);
  for (const auto& [id, m] : record.care_team) {
    if (m.active()) involve(m.added.organization_id(), 1);
  }
  for (const auto& [id, r] : record.referrals) {
    if (r.status == ReferralStatus::kDeclined ||
        r.status == ReferralStatus::kCancelled ||
        r.status == ReferralStatus::kFailed) {
      continue;
    }
    involve(r.sent_by_organization_id, 2);
    involve(r.sent.to_organization_id(), 3);
  }
  for (const auto& [id, s] : record.services) {
    if (s.active()) involve(s.started.provider_organization_id(), 4);
  }
  for (const auto& [id, t] : record.transitions) {
    involve(t.planned.to_organization_id(), 5);
  }
  for (const auto& [id, a] : record.admissions) {
    involve(a.admission.facility_organization_id(), 6);
  }

  const std::vector<ConsentNeed> needs = ConsentNeeds(record);
  for (const auto& [org, reasons] : involved) {
    v1::ConsentCoverage* coverage = summary->add_consent_coverage();
    coverage->set_organization_id(org);
    const v1::OrganizationRegistered* registered = directory.Find(org);
    const v1::OrganizationType type = registered == nullptr
                                          ? v1::ORGANIZATION_TYPE_UNSPECIFIED
                                          : registered->type();
    if (registered != nullptr)
      coverage->set_organization_name(registered->name());
    coverage->set_organization_type(type);
    for (int reason : reasons) coverage->add_involvement(kReasons[reason]);
    std::set<std::string> consent_ids;
    for (int dc = v1::DataClass_MIN; dc <= v1::DataClass_MAX; ++dc) {
      if (!v1::DataClass_IsValid(dc) || dc == v1::DATA_CLASS_UNSPECIFIED)
        continue;
      bool covered = false;
      for (const auto& [id, consent] : record.consents) {
        for (v1::PurposeOfUse purpose : {v1::PURPOSE_OF_USE_CARE_COORDINATION,
                                         v1::PURPOSE_OF_USE_TREATMENT}) {
          if (consent.Covers(org, type, static_cast<v1::DataClass>(dc), purpose,
                             now)) {
            covered = true;
            consent_ids.insert(id);
          }
        }
      }
      if (covered)
        coverage->add_covered_data_classes(static_cast<v1::DataClass>(dc));
    }
    for (const std::string& id : consent_ids) coverage->add_consent_ids(id);
    std::set<int> missing;
    for (const ConsentNeed& need : needs) {
      if (need.receiver != org) continue;
      for (v1::DataClass dc : need.classes) {
        if (!Covered(record, org, type, dc, need.purposes, now))
          missing.insert(dc);
      }
    }
    for (int dc : missing)
      coverage->add_missing_data_classes(static_cast<v1::DataClass>(dc));
  }
}

}  // namespace

v1::ClientSummary Summarize(const ClientRecord& record,
                            const OrganizationDirectory& directory,
                            const ViewsConfig& config, absl::Time now) {
  v1::ClientSummary summary;
  *summary.mutable_state() = ClientStateOf(record, now);
  const v1::ClientState& state = summary.state();

  const std::string* lead_id = nullptr;
  if (FirstLead(record, &lead_id) != nullptr) {
    for (const v1::CareTeamMemberView& member : state.care_team()) {
      if (member.member_id() == *lead_id) {
        *summary.mutable_lead_case_manager() = member;
      }
    }
  }
  for (const v1::ServiceView& service : state.services()) {
    if (!service.has_ended_at()) *summary.add_active_services() = service;
  }
  for (const v1::ReferralView& referral : state.referrals()) {
    auto it = record.referrals.find(referral.referral_id());
    if (it != record.referrals.end() && !IsTerminal(it->second.status)) {
      *summary.add_open_referrals() = referral;
    }
  }
  const v1::AdmissionView* last_admission = nullptr;
  const v1::AdmissionView* last_discharge = nullptr;
  for (const v1::AdmissionView& admission : state.admissions()) {
    if (last_admission == nullptr || ToTime(admission.admitted_at()) >=
                                         ToTime(last_admission->admitted_at()))
      last_admission = &admission;
    if (admission.has_discharged_at() &&
        (last_discharge == nullptr ||
         ToTime(admission.discharged_at()) >=
             ToTime(last_discharge->discharged_at()))) {
      last_discharge = &admission;
    }
  }
  if (last_admission != nullptr)
    *summary.mutable_last_admission() = *last_admission;
  if (last_discharge != nullptr)
    *summary.mutable_last_discharge() = *last_discharge;
  for (const v1::TransitionView& transition : state.transitions()) {
    if (!transition.has_completed_at())
      *summary.add_planned_transitions() = transition;
  }
  if (record.case_status != CaseStatus::kClosed) {
    for (const PendingFollowUp& p : PendingFollowUps(record, config)) {
      v1::FollowUpDue* due = summary.add_follow_ups_due();
      due->set_admission_id(p.admission->first);
      if (p.transition != nullptr) due->set_transition_id(p.transition->first);
      SetTimestamp(*p.admission->second.discharged_at,
                   due->mutable_discharged_at());
      SetTimestamp(p.due, due->mutable_due());
      due->set_overdue(now >= p.due);
    }
  }
  AddCoverage(record, directory, now, &summary);
  for (v1::Gap& gap : FindGaps(record, directory, config, now)) {
    *summary.add_gaps() = std::move(gap);
  }
  return summary;
}

std::vector<v1::WorkerCaseload> CaseloadEntriesOf(const ClientRecord& record) {
  std::vector<v1::WorkerCaseload> entries;
  if (record.case_status != CaseStatus::kOpen) return entries;
  for (const auto& [id, m] : record.care_team) {
    if (!m.active() || m.added.role() != v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER)
      continue;
    v1::WorkerCaseload entry;
    entry.set_member_id(id);
    *entry.mutable_name() = m.added.name();
    entry.set_organization_id(m.added.organization_id());
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace caseline::care
