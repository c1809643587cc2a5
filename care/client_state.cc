#include "care/client_state.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <string>
#include <utility>

namespace caseline::care {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

// An item view's version and updated_at (views.proto, "Versions"); left
// unset while nothing changed that part of the record.
template <typename View>
void SetChange(const LastChange& change, View* view) {
  if (!change.recorded_at.has_value()) return;
  view->set_version(change.version);
  SetTime(*change.recorded_at, view->mutable_updated_at());
}

// Positions the record keeps for its events; the highest is the last event's
// position whenever that event stored one.
uint64_t HighestKnownPosition(const ClientRecord& r) {
  uint64_t p = 0;
  auto keep = [&p](uint64_t q) { p = std::max(p, q); };
  for (const auto& [id, c] : r.consents) {
    keep(c.given_position);
    keep(c.revoked_position);
  }
  for (const auto& [id, x] : r.referrals) {
    keep(x.sent_position);
    keep(x.status_position);
  }
  for (const auto& [id, s] : r.services) {
    keep(s.started_position);
    keep(s.ended_position);
    keep(s.interruption_position);
  }
  for (const auto& [id, m] : r.care_team) {
    keep(m.added_position);
    keep(m.removed_position);
  }
  for (const auto& [id, g] : r.goals) {
    keep(g.set_position);
    keep(g.status_position);
  }
  for (const auto& [domain, need] : r.assessed_needs) keep(need.position);
  for (const auto& [id, m] : r.meetings) keep(m.position);
  for (const auto& [id, f] : r.follow_ups) keep(f.position);
  for (const auto* trc : {&r.admission_notifications, &r.discharge_information,
                          &r.medication_reconciliations}) {
    for (const auto& [id, e] : *trc) keep(e.position);
  }
  keep(r.case_status_position);
  for (const auto& [id, a] : r.admissions) {
    keep(a.admitted_position);
    keep(a.discharged_position);
  }
  for (const auto& [id, t] : r.transitions) {
    keep(t.planned_position);
    keep(t.completed_position);
  }
  for (const auto& [id, d] : r.disclosures) keep(d.position);
  return p;
}

}  // namespace

absl::string_view CaseStatusName(CaseStatus status) {
  switch (status) {
    case CaseStatus::kNotOpened:
      return "not-opened";
    case CaseStatus::kOpen:
      return "open";
    case CaseStatus::kClosed:
      return "closed";
  }
  return "unknown";
}

int32_t ReferralAgeDays(absl::Time sent_at, absl::Time at) {
  absl::Duration remainder;
  const int64_t days =
      at > sent_at
          ? absl::IDivDuration(at - sent_at, absl::Hours(24), &remainder)
          : 0;
  return static_cast<int32_t>(
      std::min<int64_t>(days, std::numeric_limits<int32_t>::max()));
}

v1::ReferralView ReferralViewOf(const std::string& referral_id,
                                const ReferralState& referral, absl::Time at) {
  const v1::ReferralSent& sent = referral.sent;
  v1::ReferralView view;
  view.set_referral_id(referral_id);
  view.set_from_organization_id(sent.from_organization_id());
  view.set_to_organization_id(sent.to_organization_id());
  view.set_service_category(sent.service_category());
  view.set_kind(sent.kind());
  view.set_urgency(sent.urgency());
  view.set_status(std::string(ReferralStatusName(referral.status)));
  SetTime(referral.sent_at, view.mutable_sent_at());
  SetTime(referral.status_changed_at, view.mutable_status_changed_at());
  view.set_age_days(ReferralAgeDays(referral.sent_at, at));
  *view.mutable_shared_data_classes() = sent.shared_data_classes();
  view.set_purpose(sent.purpose());
  SetChange(referral.last_change, &view);
  view.set_reason(sent.reason());
  view.set_status_reason(referral.status_reason);
  view.set_delivered(referral.delivered);
  if (sent.has_start_by()) *view.mutable_start_by() = sent.start_by();
  view.set_target_source(sent.target_source());
  if (referral.received_at.has_value()) {
    SetTime(*referral.received_at, view.mutable_received_at());
  }
  return view;
}

v1::ConsentView ConsentViewOf(const std::string& consent_id,
                              const ConsentState& consent) {
  v1::ConsentView view;
  view.set_consent_id(consent_id);
  *view.mutable_consent() = consent.given;
  view.set_recorded_by_organization_id(consent.granted_at_organization_id);
  SetTime(consent.start, view.mutable_start());
  if (consent.end != absl::InfiniteFuture()) {
    SetTime(consent.end, view.mutable_end());
  }
  if (consent.revocation_received_at.has_value()) {
    SetTime(*consent.revocation_received_at,
            view.mutable_revocation_received_at());
  }
  if (consent.revocation_effective_at.has_value()) {
    SetTime(*consent.revocation_effective_at,
            view.mutable_revocation_effective_at());
  }
  SetChange(consent.last_change, &view);
  return view;
}

v1::ClientState ClientStateOf(const ClientRecord& record, absl::Time at) {
  v1::ClientState state;
  state.set_client_id(record.client_id);
  state.set_registered(record.registered);
  if (record.registered) *state.mutable_details() = record.details;
  state.set_registered_by_organization_id(record.registered_by_organization_id);
  state.set_case_status(std::string(CaseStatusName(record.case_status)));
  for (const std::string& id : record.linked_client_ids) {
    state.add_linked_client_ids(id);
  }

  for (const auto& [id, consent] : record.consents) {
    v1::ConsentView view = ConsentViewOf(id, consent);
    if (consent.InForceAt(at)) *state.add_consents_in_force() = view;
    *state.add_consents() = std::move(view);
  }

  for (const auto& [id, member] : record.care_team) {
    if (!member.active()) continue;
    v1::CareTeamMemberView* view = state.add_care_team();
    view->set_member_id(id);
    *view->mutable_name() = member.added.name();
    view->set_organization_id(member.added.organization_id());
    view->set_discipline(member.added.discipline());
    view->set_role(member.added.role());
    SetTime(member.added_at, view->mutable_added_at());
    SetChange(member.last_change, view);
  }

  for (const auto& [id, service] : record.services) {
    v1::ServiceView* view = state.add_services();
    view->set_service_id(id);
    view->set_provider_organization_id(
        service.started.provider_organization_id());
    view->set_category(service.started.category());
    view->set_level_of_care(service.started.level_of_care());
    view->set_referral_id(service.started.referral_id());
    SetTime(service.started_at, view->mutable_started_at());
    if (service.ended_at.has_value()) {
      SetTime(*service.ended_at, view->mutable_ended_at());
    }
    if (service.interruption_expected_end.has_value()) {
      SetTime(*service.interruption_expected_end,
              view->mutable_interruption_expected_end());
    }
    SetChange(service.last_change, view);
  }

  for (const auto& [id, referral] : record.referrals) {
    *state.add_referrals() = ReferralViewOf(id, referral, at);
  }

  for (const auto& [id, goal] : record.goals) {
    v1::GoalView* view = state.add_goals();
    view->set_goal_id(id);
    view->set_domain(goal.goal.domain());
    view->set_description(goal.goal.description());
    view->set_measure(goal.goal.measure());
    if (goal.goal.has_target_date()) {
      *view->mutable_target_date() = goal.goal.target_date();
    }
    view->set_status(goal.status);
    view->set_percent_achieved(goal.percent_achieved);
    SetChange(goal.last_change, view);
  }

  for (const auto& [id, admission] : record.admissions) {
    v1::AdmissionView* view = state.add_admissions();
    view->set_admission_id(id);
    view->set_facility_organization_id(
        admission.admission.facility_organization_id());
    view->set_level_of_care(admission.admission.level_of_care());
    view->set_primary_need(admission.admission.primary_need());
    SetTime(admission.admitted_at, view->mutable_admitted_at());
    if (admission.discharged_at.has_value()) {
      SetTime(*admission.discharged_at, view->mutable_discharged_at());
    }
    view->set_disposition(admission.disposition);
    SetChange(admission.last_change, view);
  }

  for (const auto& [id, transition] : record.transitions) {
    const v1::TransitionPlanned& planned = transition.planned;
    v1::TransitionView* view = state.add_transitions();
    view->set_transition_id(id);
    view->set_admission_id(planned.admission_id());
    view->set_from_level_of_care(planned.from_level_of_care());
    view->set_from_organization_id(planned.from_organization_id());
    view->set_to_level_of_care(planned.to_level_of_care());
    view->set_to_organization_id(planned.to_organization_id());
    if (planned.has_planned_date()) {
      *view->mutable_planned_date() = planned.planned_date();
    }
    if (planned.has_follow_up_due()) {
      *view->mutable_follow_up_due() = planned.follow_up_due();
    }
    SetTime(transition.planned_at, view->mutable_planned_at());
    if (transition.completed_at.has_value()) {
      SetTime(*transition.completed_at, view->mutable_completed_at());
    }
    SetChange(transition.last_change, view);
  }

  auto add_trc =
      [](const std::map<std::string, TransitionOfCareState>& events,
         google::protobuf::RepeatedPtrField<v1::TransitionOfCareView>* out) {
        for (const auto& [id, event] : events) {
          v1::TransitionOfCareView* view = out->Add();
          view->set_id(id);
          view->set_admission_id(event.admission_id);
          SetTime(event.at, view->mutable_occurred_at());
          view->set_recorded_by_organization_id(
              event.recorded_by_organization_id);
          view->set_performer_discipline(event.performer_discipline);
          SetChange(event.change, view);
        }
      };
  add_trc(record.admission_notifications,
          state.mutable_admission_notifications());
  add_trc(record.discharge_information, state.mutable_discharge_information());
  add_trc(record.medication_reconciliations,
          state.mutable_medication_reconciliations());

  if (record.version.has_value()) {
    state.set_events_applied(*record.version + 1);
    state.set_last_stream_version(*record.version);
  }
  state.set_last_position(HighestKnownPosition(record));
  if (record.details_change.recorded_at.has_value()) {
    state.set_details_version(record.details_change.version);
    SetTime(*record.details_change.recorded_at,
            state.mutable_details_updated_at());
  }
  if (record.case_change.recorded_at.has_value()) {
    state.set_case_version(record.case_change.version);
    SetTime(*record.case_change.recorded_at, state.mutable_case_updated_at());
  }
  if (record.care_team_change.recorded_at.has_value()) {
    state.set_care_team_version(record.care_team_change.version);
    SetTime(*record.care_team_change.recorded_at,
            state.mutable_care_team_updated_at());
  }
  return state;
}

}  // namespace caseline::care
