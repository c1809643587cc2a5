#include "tools/demo/events.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "openssl/sha.h"
#include "tools/demo/history.h"

namespace caseline::tools::demo {

v1::PersonName Name(const std::string& given, const std::string& family,
                    const std::string& middle) {
  v1::PersonName name;
  name.set_given(given);
  name.set_middle(middle);
  name.set_family(family);
  return name;
}

v1::CareEvent ClientRegisteredEvent(const Person& p, const Org& org,
                                    const std::string& identifier) {
  v1::CareEvent event;
  v1::ClientRegistered* e = event.mutable_client_registered();
  *e->mutable_name() = Name(p.given, p.family, p.middle);
  *e->mutable_birth_date() = ToDate(p.birth);
  e->set_sex(p.sex);
  e->set_phone(p.phone);
  if (!p.line1.empty()) {
    v1::PostalAddress* address = e->mutable_address();
    address->set_line1(p.line1);
    address->set_city(p.city);
    address->set_region("OR");
    address->set_postal_code(p.postal_code);
    address->set_country("US");
  }
  e->set_preferred_language(p.language);
  e->set_interpreter_needed(p.interpreter);
  v1::ClientIdentifier* id = e->add_identifiers();
  id->set_organization_id(org.id);
  id->set_system(org.id_system);
  id->set_value(identifier);
  return event;
}

v1::CareEvent CaseOpenedEvent(const std::string& reason) {
  v1::CareEvent event;
  event.mutable_case_opened()->set_reason(reason);
  return event;
}

v1::CareEvent CaseClosedEvent(v1::CaseClosureReason reason,
                              const std::string& note) {
  v1::CareEvent event;
  event.mutable_case_closed()->set_reason(reason);
  event.mutable_case_closed()->set_note(note);
  return event;
}

v1::CareEvent CaseReopenedEvent(const std::string& reason) {
  v1::CareEvent event;
  event.mutable_case_reopened()->set_reason(reason);
  return event;
}

v1::CareEvent DuplicateDismissedEvent(const std::string& finding_id,
                                      const std::string& reason) {
  v1::CareEvent event;
  event.mutable_duplicate_dismissed()->set_finding_id(finding_id);
  event.mutable_duplicate_dismissed()->set_reason(reason);
  return event;
}

v1::CareEvent RecordsLinkedEvent(const std::string& other,
                                 const std::string& reason) {
  v1::CareEvent event;
  event.mutable_client_records_linked()->set_other_client_id(other);
  event.mutable_client_records_linked()->set_reason(reason);
  return event;
}

v1::CareEvent PhoneCorrectedEvent(const std::string& phone,
                                  const std::string& reason) {
  v1::CareEvent event;
  event.mutable_client_details_corrected()->set_phone(phone);
  event.mutable_client_details_corrected()->set_reason(reason);
  return event;
}

v1::Representative Rep(const std::string& given, const std::string& family,
                       v1::RepresentativeAuthority authority) {
  v1::Representative rep;
  *rep.mutable_name() = Name(given, family);
  rep.set_authority(authority);
  return rep;
}

v1::CareEvent ConsentGivenEvent(const Consent& c) {
  v1::CareEvent event;
  v1::ConsentGiven* e = event.mutable_consent_given();
  e->set_consent_id(c.id);
  if (c.representative.has_value())
    *e->mutable_representative() = *c.representative;
  for (const std::string& org : c.organizations)
    e->add_recipient_organization_ids(org);
  for (v1::OrganizationType type : c.types)
    e->add_recipient_organization_types(type);
  for (v1::DataClass data_class : c.classes) e->add_data_classes(data_class);
  for (v1::PurposeOfUse purpose : c.purposes) e->add_purposes(purpose);
  if (c.end != absl::InfiniteFuture())
    SetTime(c.end, e->mutable_period()->mutable_end());
  // Provenance: the demo's forms are signed on paper, scanned as
  // consent-<id>.pdf; the digest is of the synthetic form's text.
  e->set_method(v1::CONSENT_METHOD_SIGNED_FORM);
  e->mutable_document()->set_document_id(
      absl::StrCat("consent-", c.id, ".pdf"));
  const std::string form = absl::StrCat("Caseline demo consent form ", c.id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(form.data()), form.size(),
         digest);
  e->mutable_document()->set_sha256(absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest), sizeof(digest))));
  return event;
}

v1::CareEvent InformationDisclosedEvent(
    const std::string& id, const std::string& recipient,
    const std::vector<v1::DataClass>& classes, v1::PurposeOfUse purpose,
    const std::string& description, const std::string& consent_id,
    const std::string& legal_basis) {
  v1::CareEvent event;
  v1::InformationDisclosed* e = event.mutable_information_disclosed();
  e->set_disclosure_id(id);
  e->set_recipient_organization_id(recipient);
  for (v1::DataClass data_class : classes) e->add_data_classes(data_class);
  e->set_purpose(purpose);
  e->set_description(description);
  e->set_consent_id(consent_id);
  e->set_legal_basis(legal_basis);
  return event;
}

v1::CareEvent ConsentRevokedEvent(const std::string& id, absl::Time received,
                                  absl::Time effective,
                                  const std::string& reason) {
  v1::CareEvent event;
  v1::ConsentRevoked* e = event.mutable_consent_revoked();
  e->set_consent_id(id);
  SetTime(received, e->mutable_received_at());
  SetTime(effective, e->mutable_effective_at());
  e->set_reason(reason);
  return event;
}

v1::DomainAssessment Domain(v1::ServiceCategory domain, v1::NeedLevel level,
                            const std::string& strengths,
                            const std::string& risks) {
  v1::DomainAssessment d;
  d.set_domain(domain);
  d.set_need_level(level);
  d.set_strengths(strengths);
  d.set_risks(risks);
  return d;
}

v1::CareEvent AssessmentEvent(
    const std::string& id, const std::vector<v1::DomainAssessment>& domains) {
  v1::CareEvent event;
  event.mutable_assessment_recorded()->set_assessment_id(id);
  for (const auto& d : domains)
    *event.mutable_assessment_recorded()->add_domains() = d;
  return event;
}

v1::CareEvent GoalSetEvent(const std::string& id, v1::ServiceCategory domain,
                           const std::string& description,
                           const std::string& measure, absl::CivilDay target) {
  v1::CareEvent event;
  v1::GoalSet* e = event.mutable_goal_set();
  e->set_goal_id(id);
  e->set_domain(domain);
  e->set_description(description);
  e->set_measure(measure);
  *e->mutable_target_date() = ToDate(target);
  return event;
}

v1::CareEvent GoalProgressEvent(const std::string& id, const std::string& note,
                                int percent) {
  v1::CareEvent event;
  event.mutable_goal_progress_recorded()->set_goal_id(id);
  event.mutable_goal_progress_recorded()->set_note(note);
  event.mutable_goal_progress_recorded()->set_percent_achieved(percent);
  return event;
}

v1::CareEvent GoalStatusEvent(const std::string& id, v1::GoalStatus status,
                              const std::string& reason) {
  v1::CareEvent event;
  event.mutable_goal_status_changed()->set_goal_id(id);
  event.mutable_goal_status_changed()->set_status(status);
  event.mutable_goal_status_changed()->set_reason(reason);
  return event;
}

v1::CareEvent ReferralSentEvent(const std::string& id, const std::string& from,
                                const std::string& to,
                                v1::ServiceCategory category,
                                v1::ReferralKind kind, v1::Urgency urgency,
                                const std::string& reason,
                                const std::vector<v1::DataClass>& shared,
                                v1::PurposeOfUse purpose) {
  v1::CareEvent event;
  v1::ReferralSent* e = event.mutable_referral_sent();
  e->set_referral_id(id);
  e->set_from_organization_id(from);
  e->set_to_organization_id(to);
  e->set_service_category(category);
  e->set_kind(kind);
  e->set_urgency(urgency);
  e->set_reason(reason);
  for (v1::DataClass data_class : shared)
    e->add_shared_data_classes(data_class);
  e->set_purpose(purpose);
  return event;
}

v1::CareEvent ReferralStepEvent(Step step, const std::string& id,
                                const std::string& text) {
  v1::CareEvent event;
  switch (step) {
    case Step::kAccept:
      event.mutable_referral_accepted()->set_referral_id(id);
      break;
    case Step::kDecline:
      event.mutable_referral_declined()->set_referral_id(id);
      event.mutable_referral_declined()->set_reason(text);
      break;
    case Step::kHold:
      event.mutable_referral_on_hold()->set_referral_id(id);
      event.mutable_referral_on_hold()->set_reason(text);
      break;
    case Step::kStart:
      event.mutable_referral_started()->set_referral_id(id);
      break;
    case Step::kComplete:
      event.mutable_referral_completed()->set_referral_id(id);
      event.mutable_referral_completed()->set_delivered(text);
      break;
    case Step::kFail:
      event.mutable_referral_failed()->set_referral_id(id);
      event.mutable_referral_failed()->set_reason(text);
      break;
    case Step::kCancel:
      event.mutable_referral_cancelled()->set_referral_id(id);
      event.mutable_referral_cancelled()->set_reason(text);
      break;
  }
  return event;
}

v1::CareEvent ServiceStartedEvent(const std::string& id,
                                  const std::string& provider,
                                  v1::ServiceCategory category,
                                  v1::LevelOfCare level,
                                  const std::string& referral_id) {
  v1::CareEvent event;
  v1::ServiceStarted* e = event.mutable_service_started();
  e->set_service_id(id);
  e->set_provider_organization_id(provider);
  e->set_category(category);
  e->set_level_of_care(level);
  e->set_referral_id(referral_id);
  return event;
}

v1::CareEvent ServiceEndedEvent(const std::string& id,
                                const std::string& reason) {
  v1::CareEvent event;
  event.mutable_service_ended()->set_service_id(id);
  event.mutable_service_ended()->set_reason(reason);
  return event;
}

v1::CareEvent InterruptionEvent(const std::string& id, absl::Time expected_end,
                                const std::string& reason) {
  v1::CareEvent event;
  v1::ServiceInterruptionNotified* e =
      event.mutable_service_interruption_notified();
  e->set_service_id(id);
  SetTime(expected_end, e->mutable_expected_end());
  e->set_reason(reason);
  return event;
}

v1::CareEvent MemberAddedEvent(const Staff& staff, v1::CareTeamRole role) {
  v1::CareEvent event;
  v1::CareTeamMemberAdded* e = event.mutable_care_team_member_added();
  e->set_member_id(staff.user_id);
  *e->mutable_name() = Name(staff.given, staff.family);
  e->set_organization_id(staff.organization_id);
  e->set_discipline(staff.discipline);
  e->set_role(role);
  return event;
}

v1::CareEvent MemberRemovedEvent(const std::string& member_id,
                                 const std::string& reason) {
  v1::CareEvent event;
  event.mutable_care_team_member_removed()->set_member_id(member_id);
  event.mutable_care_team_member_removed()->set_reason(reason);
  return event;
}

v1::CareEvent MeetingEvent(const std::string& id,
                           const std::vector<std::string>& attendees,
                           bool client_attended,
                           const std::vector<std::string>& decisions,
                           absl::CivilDay next_review) {
  v1::CareEvent event;
  v1::TeamMeetingHeld* e = event.mutable_team_meeting_held();
  e->set_meeting_id(id);
  for (const std::string& a : attendees) e->add_attendee_member_ids(a);
  e->set_client_attended(client_attended);
  for (const std::string& d : decisions) e->add_decisions(d);
  *e->mutable_next_review_date() = ToDate(next_review);
  return event;
}

v1::CareEvent AdmissionEvent(const std::string& id, const std::string& facility,
                             v1::LevelOfCare level, v1::ServiceCategory need) {
  v1::CareEvent event;
  v1::AdmissionRecorded* e = event.mutable_admission_recorded();
  e->set_admission_id(id);
  e->set_facility_organization_id(facility);
  e->set_level_of_care(level);
  e->set_primary_need(need);
  return event;
}

v1::CareEvent TransitionEvent(const std::string& id,
                              const std::string& admission_id,
                              v1::LevelOfCare from_level,
                              const std::string& from_org,
                              v1::LevelOfCare to_level,
                              const std::string& to_org, absl::CivilDay planned,
                              absl::CivilDay follow_up_due) {
  v1::CareEvent event;
  v1::TransitionPlanned* e = event.mutable_transition_planned();
  e->set_transition_id(id);
  e->set_admission_id(admission_id);
  e->set_from_level_of_care(from_level);
  e->set_from_organization_id(from_org);
  e->set_to_level_of_care(to_level);
  e->set_to_organization_id(to_org);
  *e->mutable_planned_date() = ToDate(planned);
  *e->mutable_follow_up_due() = ToDate(follow_up_due);
  return event;
}

v1::CareEvent WorklistItemClaimedEvent(v1::WorklistItemKind kind,
                                       const std::string& subject_id,
                                       const std::string& note) {
  v1::CareEvent event;
  v1::WorklistItemClaimed* e = event.mutable_worklist_item_claimed();
  e->set_kind(kind);
  e->set_subject_id(subject_id);
  e->set_note(note);
  return event;
}

v1::CareEvent DischargeEvent(const std::string& admission_id,
                             v1::DischargeDisposition disposition) {
  v1::CareEvent event;
  event.mutable_discharge_recorded()->set_admission_id(admission_id);
  event.mutable_discharge_recorded()->set_disposition(disposition);
  return event;
}

v1::CareEvent TransitionCompletedEvent(const std::string& id) {
  v1::CareEvent event;
  event.mutable_transition_completed()->set_transition_id(id);
  return event;
}

v1::CareEvent FollowUpEvent(const std::string& id,
                            const std::string& transition_id,
                            const std::string& admission_id,
                            v1::ContactKind kind, const Staff& provider) {
  v1::CareEvent event;
  v1::FollowUpCompleted* e = event.mutable_follow_up_completed();
  e->set_follow_up_id(id);
  e->set_transition_id(transition_id);
  e->set_admission_id(admission_id);
  e->set_contact_kind(kind);
  e->set_provider_organization_id(provider.organization_id);
  e->set_provider_discipline(provider.discipline);
  return event;
}

v1::CareEvent DischargeInformationEvent(const std::string& id,
                                        const std::string& admission_id) {
  v1::CareEvent event;
  v1::DischargeInformationReceived* e =
      event.mutable_discharge_information_received();
  e->set_receipt_id(id);
  e->set_admission_id(admission_id);
  return event;
}

v1::CareEvent MedicationReconciliationEvent(const std::string& id,
                                            const std::string& admission_id,
                                            v1::Discipline performer) {
  v1::CareEvent event;
  v1::MedicationReconciliationRecorded* e =
      event.mutable_medication_reconciliation_recorded();
  e->set_reconciliation_id(id);
  e->set_admission_id(admission_id);
  e->set_performer_discipline(performer);
  return event;
}

v1::CareEvent EnteredInErrorEvent(const std::string& target_id,
                                  const std::string& reason) {
  v1::CareEvent event;
  v1::EventEnteredInError* e = event.mutable_event_entered_in_error();
  e->set_event_id(CorrectionTarget(target_id));
  e->set_reason(reason);
  return event;
}

v1::CareEvent DetailsCorrectedEvent(const std::string& phone,
                                    const std::string& line1,
                                    const std::string& city,
                                    const std::string& postal_code,
                                    const std::string& reason) {
  v1::CareEvent event;
  v1::ClientDetailsCorrected* e = event.mutable_client_details_corrected();
  if (!phone.empty()) e->set_phone(phone);
  if (!line1.empty()) {
    e->mutable_address()->set_line1(line1);
    e->mutable_address()->set_city(city);
    e->mutable_address()->set_region("OR");
    e->mutable_address()->set_postal_code(postal_code);
    e->mutable_address()->set_country("US");
  }
  e->set_reason(reason);
  return event;
}

}  // namespace caseline::tools::demo
