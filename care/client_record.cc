#include "care/client_record.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "care/worklist.h"

namespace caseline::care {
namespace {

// A Transitions of Care event as the record keeps it (TransitionOfCareState).
TransitionOfCareState TransitionOfCareOf(const std::string& admission_id,
                                         absl::Time at,
                                         const CareEventContext& context) {
  TransitionOfCareState state;
  state.admission_id = admission_id;
  state.at = at;
  state.recorded_by_organization_id = context.organization_id;
  state.position = context.global_position;
  state.change.Record(context);
  return state;
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

template <typename Map>
auto* FindOrNull(Map& map, const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

void ApplyCorrection(const v1::ClientDetailsCorrected& c,
                     v1::ClientRegistered* d) {
  if (c.has_name()) *d->mutable_name() = c.name();
  // The birth date and its recorded text are corrected together.
  if (c.has_birth_date() || !c.birth_date_recorded_as().empty()) {
    if (c.has_birth_date()) {
      *d->mutable_birth_date() = c.birth_date();
    } else {
      d->clear_birth_date();
    }
    d->set_birth_date_recorded_as(c.birth_date_recorded_as());
  }
  if (c.sex() != v1::SEX_UNSPECIFIED) d->set_sex(c.sex());
  if (!c.phone().empty()) d->set_phone(c.phone());
  if (c.has_address()) *d->mutable_address() = c.address();
  if (!c.preferred_language().empty())
    d->set_preferred_language(c.preferred_language());
  if (c.has_interpreter_needed())
    d->set_interpreter_needed(c.interpreter_needed());
  for (const auto& id : c.identifiers_added()) *d->add_identifiers() = id;
}

// `status_reason`: the event's reason (declined, on hold, failed, cancelled);
// `delivered`: a completion's.
void SetReferralStatus(ClientRecord& r, const std::string& id,
                       ReferralStatus status, const CareEventContext& context,
                       absl::string_view status_reason = {},
                       absl::string_view delivered = {}) {
  ReferralState* referral = FindOrNull(r.referrals, id);
  if (referral == nullptr) return;
  referral->status = status;
  referral->status_reason = std::string(status_reason);
  referral->delivered = std::string(delivered);
  referral->last_change.Record(context);
  referral->status_changed_at = context.occurred_at;
  referral->status_position = context.global_position;
  if (status == ReferralStatus::kAccepted && !referral->was_accepted) {
    referral->was_accepted = true;
    referral->accepted_at = context.occurred_at;
    referral->accepted_position = context.global_position;
  }
  if (status == ReferralStatus::kReceived && !referral->received_at) {
    referral->received_at = context.occurred_at;
  }
  if (status == ReferralStatus::kInProgress && !referral->started_at) {
    referral->started_at = context.occurred_at;
  }
}

// The item a claim or release names; an empty organisation is the actor's.
template <typename ClaimEvent>
WorklistItemKey WorklistItemKeyOf(const ClaimEvent& e,
                                  const CareEventContext& context) {
  return WorklistItemKey{e.kind(), e.subject_id(),
                         e.organization_id().empty() ? context.organization_id
                                                     : e.organization_id()};
}

void SetCaseStatus(ClientRecord& r, CaseStatus status,
                   const CareEventContext& context) {
  r.case_status = status;
  r.case_status_changed_at = context.occurred_at;
  r.case_status_position = context.global_position;
  r.case_status_organization_id = context.organization_id;
  r.case_change.Record(context);
}

}  // namespace

std::string ClientStreamId(absl::string_view client_id) {
  return absl::StrCat("client-", client_id);
}

const std::string* ReferralIdOf(const v1::CareEvent& e) {
  switch (e.event_case()) {
    case v1::CareEvent::kReferralSent:
      return &e.referral_sent().referral_id();
    case v1::CareEvent::kReferralReceived:
      return &e.referral_received().referral_id();
    case v1::CareEvent::kReferralAccepted:
      return &e.referral_accepted().referral_id();
    case v1::CareEvent::kReferralDeclined:
      return &e.referral_declined().referral_id();
    case v1::CareEvent::kReferralOnHold:
      return &e.referral_on_hold().referral_id();
    case v1::CareEvent::kReferralStarted:
      return &e.referral_started().referral_id();
    case v1::CareEvent::kReferralCompleted:
      return &e.referral_completed().referral_id();
    case v1::CareEvent::kReferralFailed:
      return &e.referral_failed().referral_id();
    case v1::CareEvent::kReferralCancelled:
      return &e.referral_cancelled().referral_id();
    default:
      return nullptr;
  }
}

absl::string_view ReferralStatusName(ReferralStatus status) {
  switch (status) {
    case ReferralStatus::kRequested:
      return "requested";
    case ReferralStatus::kReceived:
      return "received";
    case ReferralStatus::kAccepted:
      return "accepted";
    case ReferralStatus::kDeclined:
      return "declined";
    case ReferralStatus::kOnHold:
      return "on-hold";
    case ReferralStatus::kInProgress:
      return "in-progress";
    case ReferralStatus::kCompleted:
      return "completed";
    case ReferralStatus::kFailed:
      return "failed";
    case ReferralStatus::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

bool IsTerminal(ReferralStatus status) {
  return status == ReferralStatus::kDeclined ||
         status == ReferralStatus::kCompleted ||
         status == ReferralStatus::kFailed ||
         status == ReferralStatus::kCancelled;
}

bool AwaitingAnswer(ReferralStatus status) {
  return status == ReferralStatus::kRequested ||
         status == ReferralStatus::kReceived;
}

bool GoalState::in_progress() const {
  switch (status) {
    case v1::GOAL_STATUS_COMPLETED:
    case v1::GOAL_STATUS_CANCELLED:
    case v1::GOAL_STATUS_ENTERED_IN_ERROR:
    case v1::GOAL_STATUS_REJECTED:
      return false;
    default:
      return true;
  }
}

bool ConsentState::InForceAt(absl::Time at) const {
  if (at < start || at >= end) return false;
  return !revocation_effective_at.has_value() || at < *revocation_effective_at;
}

bool ConsentState::Covers(absl::string_view organization_id,
                          v1::OrganizationType type, v1::DataClass data_class,
                          v1::PurposeOfUse purpose, absl::Time at) const {
  if (!InForceAt(at)) return false;
  const auto& purposes = given.purposes();
  if (!purposes.empty() &&
      std::find(purposes.begin(), purposes.end(), purpose) == purposes.end()) {
    return false;
  }
  const auto& classes = given.data_classes();
  if (std::find(classes.begin(), classes.end(), data_class) == classes.end()) {
    return false;
  }
  const auto& named = given.recipient_organization_ids();
  if (std::find(named.begin(), named.end(), organization_id) != named.end())
    return true;
  if (data_class == v1::DATA_CLASS_SUBSTANCE_USE_PART2)
    return false;  // 42 CFR 2.31
  const auto& types = given.recipient_organization_types();
  return type != v1::ORGANIZATION_TYPE_UNSPECIFIED &&
         std::find(types.begin(), types.end(), type) != types.end();
}

int ClientRecord::ActiveLeadCaseManagers() const {
  int leads = 0;
  for (const auto& [id, member] : care_team) {
    if (member.active() &&
        member.added.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER) {
      ++leads;
    }
  }
  return leads;
}

void ClientRecord::Apply(const v1::CareEvent& event,
                         const CareEventContext& context) {
  version = context.stream_version;
  const absl::Time at = context.occurred_at;
  switch (event.event_case()) {
    case v1::CareEvent::kClientRegistered:
      registered = true;
      details = event.client_registered();
      registered_by_organization_id = context.organization_id;
      details_change.Record(context);
      break;
    case v1::CareEvent::kClientDetailsCorrected:
      ApplyCorrection(event.client_details_corrected(), &details);
      details_change.Record(context);
      break;
    case v1::CareEvent::kClientRecordsLinked:
      linked_client_ids.insert(event.client_records_linked().other_client_id());
      details_change.Record(context);
      break;
    case v1::CareEvent::kClientRecordsUnlinked:
      linked_client_ids.erase(
          event.client_records_unlinked().other_client_id());
      details_change.Record(context);
      break;
    case v1::CareEvent::kCaseOpened:
    case v1::CareEvent::kCaseReopened:
      SetCaseStatus(*this, CaseStatus::kOpen, context);
      case_opened_by_organization_id = context.organization_id;
      break;
    case v1::CareEvent::kDuplicateDismissed:
      dismissed_finding_ids.insert(event.duplicate_dismissed().finding_id());
      break;
    case v1::CareEvent::kEventEnteredInError: {
      const v1::EventEnteredInError& marked = event.event_entered_in_error();
      EnteredInErrorState& state = entered_in_error[marked.event_id()];
      state.marked = marked;
      state.at = at;
      state.organization_id = context.organization_id;
      state.position = context.global_position;
      break;
    }
    case v1::CareEvent::kInformationDisclosed: {
      const auto& disclosed = event.information_disclosed();
      DisclosureState& disclosure = disclosures[disclosed.disclosure_id()];
      disclosure.disclosed = disclosed;
      disclosure.disclosed_at = at;
      disclosure.disclosed_by_organization_id = context.organization_id;
      disclosure.position = context.global_position;
      break;
    }
    case v1::CareEvent::kCaseClosed:
      SetCaseStatus(*this, CaseStatus::kClosed, context);
      break;
    case v1::CareEvent::kConsentGiven: {
      const auto& given = event.consent_given();
      ConsentState& consent = consents[given.consent_id()];
      consent.given = given;
      consent.granted_at_organization_id = context.organization_id;
      consent.start =
          given.period().has_start() ? ToTime(given.period().start()) : at;
      consent.end = given.period().has_end() ? ToTime(given.period().end())
                                             : absl::InfiniteFuture();
      consent.given_position = context.global_position;
      consent.last_change.Record(context);
      break;
    }
    case v1::CareEvent::kConsentRevoked: {
      const auto& revoked = event.consent_revoked();
      if (ConsentState* consent = FindOrNull(consents, revoked.consent_id())) {
        const absl::Time received =
            revoked.has_received_at() ? ToTime(revoked.received_at()) : at;
        consent->revocation_received_at = received;
        consent->revocation_effective_at = revoked.has_effective_at()
                                               ? ToTime(revoked.effective_at())
                                               : received;
        consent->revoked_position = context.global_position;
        consent->last_change.Record(context);
      }
      break;
    }
    case v1::CareEvent::kAssessmentRecorded: {
      const auto& assessment = event.assessment_recorded();
      assessment_ids.insert(assessment.assessment_id());
      for (const v1::DomainAssessment& domain : assessment.domains()) {
        AssessedNeed& need = assessed_needs[domain.domain()];
        need.level = domain.need_level();
        need.assessment_id = assessment.assessment_id();
        need.assessed_at = at;
        need.position = context.global_position;
      }
      break;
    }
    case v1::CareEvent::kGoalSet: {
      GoalState& goal = goals[event.goal_set().goal_id()];
      goal.goal = event.goal_set();
      goal.status = v1::GOAL_STATUS_ACTIVE;
      goal.set_position = context.global_position;
      goal.status_position = 0;
      goal.last_change.Record(context);
      break;
    }
    case v1::CareEvent::kGoalProgressRecorded:
      if (GoalState* goal =
              FindOrNull(goals, event.goal_progress_recorded().goal_id())) {
        goal->percent_achieved =
            event.goal_progress_recorded().percent_achieved();
        goal->last_change.Record(context);
      }
      break;
    case v1::CareEvent::kGoalStatusChanged:
      if (GoalState* goal =
              FindOrNull(goals, event.goal_status_changed().goal_id())) {
        goal->status = event.goal_status_changed().status();
        goal->status_position = context.global_position;
        goal->last_change.Record(context);
      }
      break;
    case v1::CareEvent::kReferralSent: {
      ReferralState& referral = referrals[event.referral_sent().referral_id()];
      referral.sent = event.referral_sent();
      referral.status = ReferralStatus::kRequested;
      referral.sent_at = at;
      referral.status_changed_at = at;
      referral.sent_position = context.global_position;
      referral.status_position = context.global_position;
      // The command and the record reader (for schema 1, care/upcasting.h)
      // fill it; an event folded without either may leave it empty.
      referral.sent_by_organization_id =
          referral.sent.from_organization_id().empty()
              ? context.organization_id
              : referral.sent.from_organization_id();
      referral.was_accepted = false;
      referral.accepted_at.reset();
      referral.accepted_position = 0;
      referral.started_at.reset();
      referral.status_reason.clear();
      referral.delivered.clear();
      referral.last_change.Record(context);
      break;
    }
    case v1::CareEvent::kReferralReceived:
      SetReferralStatus(*this, event.referral_received().referral_id(),
                        ReferralStatus::kReceived, context);
      break;
    case v1::CareEvent::kReferralAccepted:
      SetReferralStatus(*this, event.referral_accepted().referral_id(),
                        ReferralStatus::kAccepted, context);
      break;
    case v1::CareEvent::kReferralDeclined:
      SetReferralStatus(*this, event.referral_declined().referral_id(),
                        ReferralStatus::kDeclined, context,
                        event.referral_declined().reason());
      break;
    case v1::CareEvent::kReferralOnHold:
      SetReferralStatus(*this, event.referral_on_hold().referral_id(),
                        ReferralStatus::kOnHold, context,
                        event.referral_on_hold().reason());
      break;
    case v1::CareEvent::kReferralStarted:
      SetReferralStatus(*this, event.referral_started().referral_id(),
                        ReferralStatus::kInProgress, context);
      break;
    case v1::CareEvent::kReferralCompleted:
      SetReferralStatus(*this, event.referral_completed().referral_id(),
                        ReferralStatus::kCompleted, context, {},
                        event.referral_completed().delivered());
      break;
    case v1::CareEvent::kReferralFailed:
      SetReferralStatus(*this, event.referral_failed().referral_id(),
                        ReferralStatus::kFailed, context,
                        event.referral_failed().reason());
      break;
    case v1::CareEvent::kReferralCancelled:
      SetReferralStatus(*this, event.referral_cancelled().referral_id(),
                        ReferralStatus::kCancelled, context,
                        event.referral_cancelled().reason());
      break;
    case v1::CareEvent::kServiceStarted: {
      ServiceState& service = services[event.service_started().service_id()];
      service.started = event.service_started();
      service.started_at = at;
      service.started_position = context.global_position;
      service.last_change.Record(context);
      break;
    }
    case v1::CareEvent::kServiceEnded:
      if (ServiceState* s =
              FindOrNull(services, event.service_ended().service_id())) {
        s->ended_at = at;
        s->ended_position = context.global_position;
        s->last_change.Record(context);
      }
      break;
    case v1::CareEvent::kServiceInterruptionNotified: {
      const auto& notice = event.service_interruption_notified();
      if (ServiceState* s = FindOrNull(services, notice.service_id())) {
        s->interruption_expected_end =
            notice.has_expected_end() ? ToTime(notice.expected_end()) : at;
        s->interruption_position = context.global_position;
        s->interruption_notified_at = at;
        s->last_change.Record(context);
      }
      break;
    }
    case v1::CareEvent::kCareTeamMemberAdded: {
      CareTeamMemberState& member =
          care_team[event.care_team_member_added().member_id()];
      member.added = event.care_team_member_added();
      member.added_at = at;
      member.added_position = context.global_position;
      member.removed_at.reset();
      member.removed_position = 0;
      member.last_change.Record(context);
      care_team_change.Record(context);
      break;
    }
    case v1::CareEvent::kCareTeamMemberRemoved:
      if (CareTeamMemberState* m = FindOrNull(
              care_team, event.care_team_member_removed().member_id())) {
        m->removed_at = at;
        m->removed_position = context.global_position;
        care_team_change.Record(context);
      }
      break;
    case v1::CareEvent::kTeamMeetingHeld: {
      const auto& held = event.team_meeting_held();
      meeting_ids.insert(held.meeting_id());
      MeetingState& meeting = meetings[held.meeting_id()];
      meeting.meeting = held;
      meeting.held_at = at;
      meeting.recorded_by_organization_id = context.organization_id;
      meeting.position = context.global_position;
      break;
    }
    case v1::CareEvent::kAdmissionRecorded: {
      AdmissionState& admission =
          admissions[event.admission_recorded().admission_id()];
      admission.admission = event.admission_recorded();
      admission.admitted_at = at;
      admission.admitted_position = context.global_position;
      admission.last_change.Record(context);
      break;
    }
    case v1::CareEvent::kTransitionPlanned: {
      TransitionState& transition =
          transitions[event.transition_planned().transition_id()];
      transition.planned = event.transition_planned();
      transition.planned_at = at;
      transition.planned_position = context.global_position;
      transition.last_change.Record(context);
      break;
    }
    case v1::CareEvent::kDischargeRecorded:
      if (AdmissionState* a = FindOrNull(
              admissions, event.discharge_recorded().admission_id())) {
        a->discharged_at = at;
        a->disposition = event.discharge_recorded().disposition();
        a->discharged_position = context.global_position;
        a->last_change.Record(context);
      }
      break;
    case v1::CareEvent::kTransitionCompleted:
      if (TransitionState* t = FindOrNull(
              transitions, event.transition_completed().transition_id())) {
        t->completed_at = at;
        t->completed_position = context.global_position;
        t->last_change.Record(context);
      }
      break;
    case v1::CareEvent::kFollowUpCompleted: {
      const auto& completed = event.follow_up_completed();
      follow_up_ids.insert(completed.follow_up_id());
      FollowUpState& follow_up = follow_ups[completed.follow_up_id()];
      follow_up.follow_up = completed;
      follow_up.at = at;
      follow_up.recorded_by_organization_id = context.organization_id;
      follow_up.position = context.global_position;
      break;
    }
    case v1::CareEvent::kAdmissionNotificationReceived: {
      const auto& received = event.admission_notification_received();
      admission_notifications[received.notification_id()] =
          TransitionOfCareOf(received.admission_id(), at, context);
      break;
    }
    case v1::CareEvent::kDischargeInformationReceived: {
      const auto& received = event.discharge_information_received();
      discharge_information[received.receipt_id()] =
          TransitionOfCareOf(received.admission_id(), at, context);
      break;
    }
    case v1::CareEvent::kMedicationReconciliationRecorded: {
      const auto& recorded = event.medication_reconciliation_recorded();
      TransitionOfCareState& state =
          medication_reconciliations[recorded.reconciliation_id()];
      state = TransitionOfCareOf(recorded.admission_id(), at, context);
      state.performer_discipline = recorded.performer_discipline();
      break;
    }
    case v1::CareEvent::kWorklistItemClaimed: {
      const auto& claimed = event.worklist_item_claimed();
      worklist_claims[WorklistItemKeyOf(claimed, context)] =
          WorklistClaim{context.user_id, at, context.global_position,
                        claimed.note()};
      break;
    }
    case v1::CareEvent::kWorklistItemReleased:
      worklist_claims.erase(
          WorklistItemKeyOf(event.worklist_item_released(), context));
      break;
    case v1::CareEvent::kOrganizationRegistered:
    case v1::CareEvent::kOrganizationUpdated:
    case v1::CareEvent::kRecordAccessed:      // access streams, not records
    case v1::CareEvent::kBreakGlassReviewed:
    // The record of an erasure: every earlier event of the stream reads as
    // payload_erased (EVENT_NOT_SET), and the stream takes no more.
    case v1::CareEvent::kClientErased:
    case v1::CareEvent::EVENT_NOT_SET:
      break;
  }
  // Also after a claim: a claim of an item the record does not give (none
  // through the command services) is no claim.
  if (!worklist_claims.empty()) DropLapsedClaims(*this);
}

}  // namespace caseline::care
