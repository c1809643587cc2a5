#include "care/care_decision.h"

#include <algorithm>
#include <initializer_list>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "care/access_policy.h"
#include "care/care_event_context.h"
#include "eventstore/event.h"

namespace caseline::care {
namespace {

using care::CaseStatus;
using care::ClientRecord;
using care::OrganizationDirectory;
using care::ReferralState;
using care::ReferralStatus;

constexpr size_t kMaxIdBytes = 64;
constexpr size_t kMaxCommandIdBytes = 128;
constexpr size_t kMaxTextBytes = 4096;
constexpr size_t kMaxFindingIdBytes = 200;
constexpr size_t kMaxDocumentIdBytes = 256;
// Findings about a pair of clients: duplicate-clients:<id>:<id>.
constexpr absl::string_view kDuplicateClientsPrefix = "duplicate-clients:";

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(time);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

bool IsIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '-' || c == ':';
}

// 1..64 of A-Z a-z 0-9 . _ - :, starting with a letter or digit.
absl::Status CheckId(absl::string_view value, absl::string_view field) {
  bool ok = !value.empty() && value.size() <= kMaxIdBytes &&
            absl::ascii_isalnum(static_cast<unsigned char>(value[0]));
  for (char c : value) ok = ok && IsIdChar(c);
  if (ok) return absl::OkStatus();
  return Invalid(
      field,
      absl::StrCat("\"", value.substr(0, 80),
                   "\" is not an id; use 1 to 64 of A-Z a-z 0-9 . _ - :, "
                   "starting with a letter or digit"));
}

absl::Status CheckOptionalId(absl::string_view value, absl::string_view field) {
  return value.empty() ? absl::OkStatus() : CheckId(value, field);
}

absl::Status CheckText(absl::string_view value, absl::string_view field,
                       bool required) {
  if (required && value.empty()) return Invalid(field, "is required");
  if (value.size() > kMaxTextBytes) {
    return Invalid(field, absl::StrCat("is ", value.size(),
                                       " bytes; the limit is ", kMaxTextBytes));
  }
  return absl::OkStatus();
}

// An enum field: a known value, and not UNSPECIFIED (0) when required.
template <typename IsValid>
absl::Status CheckEnum(int value, IsValid is_valid, absl::string_view field,
                       bool required) {
  if (!is_valid(value)) {
    return Invalid(field, absl::StrCat(value, " is not a known value"));
  }
  if (required && value == 0)
    return Invalid(field, "is required (not UNSPECIFIED)");
  return absl::OkStatus();
}

absl::Status CheckDate(const v1::Date& date, absl::string_view field) {
  const absl::CivilDay day(date.year(), date.month(), date.day());
  if (date.year() < 1 || date.year() > 9999 || day.year() != date.year() ||
      day.month() != date.month() || day.day() != date.day()) {
    return Invalid(field, absl::StrCat(date.year(), "-", date.month(), "-",
                                       date.day(), " is not a calendar date"));
  }
  return absl::OkStatus();
}

absl::Status CheckTimestamp(const google::protobuf::Timestamp& t,
                            absl::string_view field) {
  if (t.nanos() < 0 || t.nanos() > 999'999'999) {
    return Invalid(field, "nanos must be 0..999999999");
  }
  return absl::OkStatus();
}

// --- Field checks per event (no state)
// ----------------------------------------

absl::Status CheckName(const v1::PersonName& name, absl::string_view field) {
  if (name.given().empty() && name.family().empty()) {
    return Invalid(field, "needs a given or a family name");
  }
  RETURN_IF_ERROR(
      CheckText(name.given(), absl::StrCat(field, ".given"), false));
  RETURN_IF_ERROR(
      CheckText(name.middle(), absl::StrCat(field, ".middle"), false));
  return CheckText(name.family(), absl::StrCat(field, ".family"), false);
}

absl::Status CheckIdentifiers(
    const google::protobuf::RepeatedPtrField<v1::ClientIdentifier>& ids,
    absl::string_view field) {
  for (int i = 0; i < ids.size(); ++i) {
    const std::string f = absl::StrCat(field, "[", i, "]");
    RETURN_IF_ERROR(
        CheckId(ids[i].organization_id(), absl::StrCat(f, ".organization_id")));
    RETURN_IF_ERROR(
        CheckText(ids[i].system(), absl::StrCat(f, ".system"), true));
    RETURN_IF_ERROR(CheckText(ids[i].value(), absl::StrCat(f, ".value"), true));
  }
  return absl::OkStatus();
}

absl::Status CheckDataClasses(
    const google::protobuf::RepeatedField<int>& classes,
    absl::string_view field) {
  for (int i = 0; i < classes.size(); ++i) {
    RETURN_IF_ERROR(CheckEnum(classes[i], v1::DataClass_IsValid,
                              absl::StrCat(field, "[", i, "]"), true));
  }
  return absl::OkStatus();
}

// A duplication finding id (views.proto Finding.finding_id): 1..200
// printable ASCII characters without spaces, e.g. "duplicate-clients:c1:c2".
absl::Status CheckFindingId(absl::string_view value, absl::string_view field) {
  if (value.empty()) return Invalid(field, "is required");
  if (value.size() > kMaxFindingIdBytes) {
    return Invalid(field,
                   absl::StrCat("is ", value.size(), " bytes; the limit is ",
                                kMaxFindingIdBytes));
  }
  for (char c : value) {
    if (c <= ' ' || c > '~') {
      return Invalid(field,
                     "use the finding id as the duplication view gives it "
                     "(printable characters, no spaces)");
    }
  }
  return absl::OkStatus();
}

// How a consent was obtained (docs/access.md "Consent provenance"), and the
// Part 2 rule that a consent to recipient types can never cover Part 2 data.
absl::Status CheckConsentProvenance(const v1::ConsentGiven& e) {
  const bool part2 =
      std::find(e.data_classes().begin(), e.data_classes().end(),
                v1::DATA_CLASS_SUBSTANCE_USE_PART2) != e.data_classes().end();
  if (part2 && !e.recipient_organization_types().empty()) {
    return Invalid(
        "consent_given.recipient_organization_types",
        "a consent that lists DATA_CLASS_SUBSTANCE_USE_PART2 must name its "
        "recipients by id (42 CFR 2.31): a consent to recipient types can "
        "never cover Part 2 data; record the other data classes in a "
        "separate consent to types");
  }
  RETURN_IF_ERROR(CheckEnum(e.method(), v1::ConsentMethod_IsValid,
                            "consent_given.method", true));
  if (e.method() == v1::CONSENT_METHOD_VERBAL_WITH_WITNESS) {
    if (!e.has_witness()) {
      return Invalid("consent_given.witness",
                     "a verbal consent needs the witness's name");
    }
    RETURN_IF_ERROR(CheckName(e.witness(), "consent_given.witness"));
  }
  if (e.has_obtained_at()) {
    RETURN_IF_ERROR(
        CheckTimestamp(e.obtained_at(), "consent_given.obtained_at"));
  }
  const v1::ConsentDocument& document = e.document();
  if (document.document_id().empty()) {
    return Invalid("consent_given.document.document_id",
                   "is required: the reference of the signed form, "
                   "electronic signature record or verbal-consent "
                   "attestation");
  }
  if (document.document_id().size() > kMaxDocumentIdBytes) {
    return Invalid("consent_given.document.document_id",
                   absl::StrCat("is ", document.document_id().size(),
                                " bytes; the limit is ", kMaxDocumentIdBytes));
  }
  bool hex = document.sha256().size() == 64;
  for (char c : document.sha256()) {
    hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  if (!hex) {
    return Invalid("consent_given.document.sha256",
                   "must be the document's SHA-256: 64 lowercase hex digits "
                   "(e.g. the output of sha256sum)");
  }
  return absl::OkStatus();
}

absl::Status CheckEventFields(const v1::CareEvent& event) {
  switch (event.event_case()) {
    case v1::CareEvent::kClientRegistered: {
      const auto& e = event.client_registered();
      RETURN_IF_ERROR(CheckName(e.name(), "client_registered.name"));
      if (e.has_birth_date()) {
        RETURN_IF_ERROR(
            CheckDate(e.birth_date(), "client_registered.birth_date"));
      }
      RETURN_IF_ERROR(
          CheckEnum(e.sex(), v1::Sex_IsValid, "client_registered.sex", false));
      RETURN_IF_ERROR(CheckText(e.phone(), "client_registered.phone", false));
      return CheckIdentifiers(e.identifiers(), "client_registered.identifiers");
    }
    case v1::CareEvent::kClientDetailsCorrected: {
      const auto& e = event.client_details_corrected();
      if (!e.has_name() && !e.has_birth_date() &&
          e.sex() == v1::SEX_UNSPECIFIED && e.phone().empty() &&
          !e.has_address() && e.preferred_language().empty() &&
          !e.has_interpreter_needed() && e.identifiers_added().empty()) {
        return Invalid("client_details_corrected", "sets no field to correct");
      }
      if (e.has_name())
        RETURN_IF_ERROR(CheckName(e.name(), "client_details_corrected.name"));
      if (e.has_birth_date()) {
        RETURN_IF_ERROR(
            CheckDate(e.birth_date(), "client_details_corrected.birth_date"));
      }
      RETURN_IF_ERROR(CheckEnum(e.sex(), v1::Sex_IsValid,
                                "client_details_corrected.sex", false));
      return CheckIdentifiers(e.identifiers_added(),
                              "client_details_corrected.identifiers_added");
    }
    case v1::CareEvent::kClientRecordsLinked:
      return CheckId(event.client_records_linked().other_client_id(),
                     "client_records_linked.other_client_id");
    case v1::CareEvent::kClientRecordsUnlinked:
      return CheckId(event.client_records_unlinked().other_client_id(),
                     "client_records_unlinked.other_client_id");
    case v1::CareEvent::kCaseOpened:
      return CheckText(event.case_opened().reason(), "case_opened.reason",
                       false);
    case v1::CareEvent::kCaseClosed:
      return CheckEnum(event.case_closed().reason(),
                       v1::CaseClosureReason_IsValid, "case_closed.reason",
                       true);
    case v1::CareEvent::kCaseReopened:
      return CheckText(event.case_reopened().reason(), "case_reopened.reason",
                       false);
    case v1::CareEvent::kDuplicateDismissed: {
      const auto& e = event.duplicate_dismissed();
      RETURN_IF_ERROR(
          CheckFindingId(e.finding_id(), "duplicate_dismissed.finding_id"));
      return CheckText(e.reason(), "duplicate_dismissed.reason", true);
    }
    case v1::CareEvent::kInformationDisclosed: {
      const auto& e = event.information_disclosed();
      RETURN_IF_ERROR(
          CheckId(e.disclosure_id(), "information_disclosed.disclosure_id"));
      RETURN_IF_ERROR(
          CheckId(e.recipient_organization_id(),
                  "information_disclosed.recipient_organization_id"));
      if (e.data_classes().empty()) {
        return Invalid("information_disclosed.data_classes",
                       "name at least one data class disclosed");
      }
      RETURN_IF_ERROR(CheckDataClasses(e.data_classes(),
                                       "information_disclosed.data_classes"));
      RETURN_IF_ERROR(CheckEnum(e.purpose(), v1::PurposeOfUse_IsValid,
                                "information_disclosed.purpose", true));
      RETURN_IF_ERROR(CheckText(e.description(),
                                "information_disclosed.description", false));
      RETURN_IF_ERROR(
          CheckOptionalId(e.consent_id(), "information_disclosed.consent_id"));
      RETURN_IF_ERROR(CheckText(e.legal_basis(),
                                "information_disclosed.legal_basis", false));
      if (e.consent_id().empty() && e.legal_basis().empty()) {
        return Invalid(
            "information_disclosed.consent_id, information_disclosed."
            "legal_basis",
            "a disclosure relies on a consent or on a legal basis (e.g. "
            "\"court order ...\"); give one of them");
      }
      return absl::OkStatus();
    }
    case v1::CareEvent::kConsentGiven: {
      const auto& e = event.consent_given();
      RETURN_IF_ERROR(CheckId(e.consent_id(), "consent_given.consent_id"));
      if (e.has_representative()) {
        RETURN_IF_ERROR(CheckEnum(
            e.representative().authority(), v1::RepresentativeAuthority_IsValid,
            "consent_given.representative.authority", true));
        RETURN_IF_ERROR(CheckName(e.representative().name(),
                                  "consent_given.representative.name"));
      }
      if (e.recipient_organization_ids().empty() &&
          e.recipient_organization_types().empty()) {
        return Invalid("consent_given.recipient_organization_ids",
                       "name at least one recipient organisation (or "
                       "recipient_organization_types)");
      }
      for (int i = 0; i < e.recipient_organization_ids_size(); ++i) {
        RETURN_IF_ERROR(CheckId(
            e.recipient_organization_ids(i),
            absl::StrCat("consent_given.recipient_organization_ids[", i, "]")));
      }
      for (int i = 0; i < e.recipient_organization_types_size(); ++i) {
        RETURN_IF_ERROR(CheckEnum(
            e.recipient_organization_types(i), v1::OrganizationType_IsValid,
            absl::StrCat("consent_given.recipient_organization_types[", i, "]"),
            true));
      }
      if (e.data_classes().empty()) {
        return Invalid("consent_given.data_classes",
                       "name at least one data class");
      }
      RETURN_IF_ERROR(
          CheckDataClasses(e.data_classes(), "consent_given.data_classes"));
      for (int i = 0; i < e.purposes_size(); ++i) {
        RETURN_IF_ERROR(
            CheckEnum(e.purposes(i), v1::PurposeOfUse_IsValid,
                      absl::StrCat("consent_given.purposes[", i, "]"), true));
      }
      if (e.period().has_start()) {
        RETURN_IF_ERROR(
            CheckTimestamp(e.period().start(), "consent_given.period.start"));
      }
      if (e.period().has_end()) {
        RETURN_IF_ERROR(
            CheckTimestamp(e.period().end(), "consent_given.period.end"));
        if (e.period().has_start() &&
            ToTime(e.period().end()) <= ToTime(e.period().start())) {
          return Invalid("consent_given.period.end",
                         "must be after period.start");
        }
      }
      return CheckConsentProvenance(e);
    }
    case v1::CareEvent::kConsentRevoked: {
      const auto& e = event.consent_revoked();
      RETURN_IF_ERROR(CheckId(e.consent_id(), "consent_revoked.consent_id"));
      if (e.has_received_at()) {
        RETURN_IF_ERROR(
            CheckTimestamp(e.received_at(), "consent_revoked.received_at"));
      }
      if (e.has_effective_at()) {
        RETURN_IF_ERROR(
            CheckTimestamp(e.effective_at(), "consent_revoked.effective_at"));
      }
      if (e.has_received_at() && e.has_effective_at() &&
          ToTime(e.effective_at()) < ToTime(e.received_at())) {
        return Invalid(
            "consent_revoked.effective_at",
            "is before received_at; a revocation takes effect no earlier "
            "than it is received");
      }
      return CheckText(e.reason(), "consent_revoked.reason", false);
    }
    case v1::CareEvent::kAssessmentRecorded: {
      const auto& e = event.assessment_recorded();
      RETURN_IF_ERROR(
          CheckId(e.assessment_id(), "assessment_recorded.assessment_id"));
      if (e.domains().empty()) {
        return Invalid("assessment_recorded.domains",
                       "assess at least one domain");
      }
      for (int i = 0; i < e.domains_size(); ++i) {
        const std::string f =
            absl::StrCat("assessment_recorded.domains[", i, "]");
        RETURN_IF_ERROR(CheckEnum(e.domains(i).domain(),
                                  v1::ServiceCategory_IsValid,
                                  absl::StrCat(f, ".domain"), true));
        RETURN_IF_ERROR(CheckEnum(e.domains(i).need_level(),
                                  v1::NeedLevel_IsValid,
                                  absl::StrCat(f, ".need_level"), true));
      }
      return absl::OkStatus();
    }
    case v1::CareEvent::kGoalSet: {
      const auto& e = event.goal_set();
      RETURN_IF_ERROR(CheckId(e.goal_id(), "goal_set.goal_id"));
      RETURN_IF_ERROR(CheckEnum(e.domain(), v1::ServiceCategory_IsValid,
                                "goal_set.domain", true));
      RETURN_IF_ERROR(CheckText(e.description(), "goal_set.description", true));
      // SMART: measurable and time-bound.
      RETURN_IF_ERROR(CheckText(e.measure(), "goal_set.measure", true));
      if (!e.has_target_date()) {
        return Invalid("goal_set.target_date",
                       "is required (a SMART goal is time-bound)");
      }
      return CheckDate(e.target_date(), "goal_set.target_date");
    }
    case v1::CareEvent::kGoalProgressRecorded: {
      const auto& e = event.goal_progress_recorded();
      RETURN_IF_ERROR(CheckId(e.goal_id(), "goal_progress_recorded.goal_id"));
      if (e.percent_achieved() < 0 || e.percent_achieved() > 100) {
        return Invalid("goal_progress_recorded.percent_achieved",
                       "must be 0..100");
      }
      return CheckText(e.note(), "goal_progress_recorded.note", false);
    }
    case v1::CareEvent::kGoalStatusChanged:
      RETURN_IF_ERROR(CheckId(event.goal_status_changed().goal_id(),
                              "goal_status_changed.goal_id"));
      return CheckEnum(event.goal_status_changed().status(),
                       v1::GoalStatus_IsValid, "goal_status_changed.status",
                       true);
    case v1::CareEvent::kReferralSent: {
      const auto& e = event.referral_sent();
      RETURN_IF_ERROR(CheckId(e.referral_id(), "referral_sent.referral_id"));
      RETURN_IF_ERROR(CheckOptionalId(e.from_organization_id(),
                                      "referral_sent.from_organization_id"));
      RETURN_IF_ERROR(
          CheckId(e.to_organization_id(), "referral_sent.to_organization_id"));
      RETURN_IF_ERROR(CheckEnum(e.service_category(),
                                v1::ServiceCategory_IsValid,
                                "referral_sent.service_category", true));
      RETURN_IF_ERROR(CheckEnum(e.kind(), v1::ReferralKind_IsValid,
                                "referral_sent.kind", true));
      RETURN_IF_ERROR(CheckEnum(e.urgency(), v1::Urgency_IsValid,
                                "referral_sent.urgency", false));
      RETURN_IF_ERROR(CheckEnum(e.purpose(), v1::PurposeOfUse_IsValid,
                                "referral_sent.purpose", false));
      RETURN_IF_ERROR(CheckText(e.reason(), "referral_sent.reason", false));
      return CheckDataClasses(e.shared_data_classes(),
                              "referral_sent.shared_data_classes");
    }
    case v1::CareEvent::kReferralAccepted:
      return CheckId(event.referral_accepted().referral_id(),
                     "referral_accepted.referral_id");
    case v1::CareEvent::kReferralDeclined:
      return CheckId(event.referral_declined().referral_id(),
                     "referral_declined.referral_id");
    case v1::CareEvent::kReferralOnHold:
      return CheckId(event.referral_on_hold().referral_id(),
                     "referral_on_hold.referral_id");
    case v1::CareEvent::kReferralStarted:
      return CheckId(event.referral_started().referral_id(),
                     "referral_started.referral_id");
    case v1::CareEvent::kReferralCompleted:
      return CheckId(event.referral_completed().referral_id(),
                     "referral_completed.referral_id");
    case v1::CareEvent::kReferralFailed:
      return CheckId(event.referral_failed().referral_id(),
                     "referral_failed.referral_id");
    case v1::CareEvent::kReferralCancelled:
      return CheckId(event.referral_cancelled().referral_id(),
                     "referral_cancelled.referral_id");
    case v1::CareEvent::kServiceStarted: {
      const auto& e = event.service_started();
      RETURN_IF_ERROR(CheckId(e.service_id(), "service_started.service_id"));
      RETURN_IF_ERROR(CheckId(e.provider_organization_id(),
                              "service_started.provider_organization_id"));
      RETURN_IF_ERROR(CheckEnum(e.category(), v1::ServiceCategory_IsValid,
                                "service_started.category", true));
      RETURN_IF_ERROR(CheckEnum(e.level_of_care(), v1::LevelOfCare_IsValid,
                                "service_started.level_of_care", false));
      return CheckOptionalId(e.referral_id(), "service_started.referral_id");
    }
    case v1::CareEvent::kServiceEnded:
      return CheckId(event.service_ended().service_id(),
                     "service_ended.service_id");
    case v1::CareEvent::kServiceInterruptionNotified: {
      const auto& e = event.service_interruption_notified();
      RETURN_IF_ERROR(
          CheckId(e.service_id(), "service_interruption_notified.service_id"));
      if (e.has_expected_end()) {
        RETURN_IF_ERROR(CheckTimestamp(
            e.expected_end(), "service_interruption_notified.expected_end"));
      }
      return absl::OkStatus();
    }
    case v1::CareEvent::kCareTeamMemberAdded: {
      const auto& e = event.care_team_member_added();
      RETURN_IF_ERROR(
          CheckId(e.member_id(), "care_team_member_added.member_id"));
      RETURN_IF_ERROR(CheckId(e.organization_id(),
                              "care_team_member_added.organization_id"));
      RETURN_IF_ERROR(CheckEnum(e.discipline(), v1::Discipline_IsValid,
                                "care_team_member_added.discipline", true));
      return CheckEnum(e.role(), v1::CareTeamRole_IsValid,
                       "care_team_member_added.role", true);
    }
    case v1::CareEvent::kCareTeamMemberRemoved:
      return CheckId(event.care_team_member_removed().member_id(),
                     "care_team_member_removed.member_id");
    case v1::CareEvent::kTeamMeetingHeld: {
      const auto& e = event.team_meeting_held();
      RETURN_IF_ERROR(CheckId(e.meeting_id(), "team_meeting_held.meeting_id"));
      for (int i = 0; i < e.attendee_member_ids_size(); ++i) {
        RETURN_IF_ERROR(CheckId(
            e.attendee_member_ids(i),
            absl::StrCat("team_meeting_held.attendee_member_ids[", i, "]")));
      }
      if (e.attendee_member_ids().empty()) {
        return Invalid("team_meeting_held.attendee_member_ids",
                       "a team meeting needs at least one team member");
      }
      if (e.has_next_review_date()) {
        RETURN_IF_ERROR(CheckDate(e.next_review_date(),
                                  "team_meeting_held.next_review_date"));
      }
      return absl::OkStatus();
    }
    case v1::CareEvent::kAdmissionRecorded: {
      const auto& e = event.admission_recorded();
      RETURN_IF_ERROR(
          CheckId(e.admission_id(), "admission_recorded.admission_id"));
      RETURN_IF_ERROR(CheckId(e.facility_organization_id(),
                              "admission_recorded.facility_organization_id"));
      return CheckEnum(e.level_of_care(), v1::LevelOfCare_IsValid,
                       "admission_recorded.level_of_care", true);
    }
    case v1::CareEvent::kTransitionPlanned: {
      const auto& e = event.transition_planned();
      RETURN_IF_ERROR(
          CheckId(e.transition_id(), "transition_planned.transition_id"));
      RETURN_IF_ERROR(
          CheckOptionalId(e.admission_id(), "transition_planned.admission_id"));
      if (e.to_organization_id().empty()) {
        return Invalid("transition_planned.to_organization_id",
                       "a transition needs a receiving organisation");
      }
      RETURN_IF_ERROR(CheckId(e.to_organization_id(),
                              "transition_planned.to_organization_id"));
      RETURN_IF_ERROR(CheckOptionalId(
          e.from_organization_id(), "transition_planned.from_organization_id"));
      RETURN_IF_ERROR(CheckEnum(e.from_level_of_care(), v1::LevelOfCare_IsValid,
                                "transition_planned.from_level_of_care",
                                false));
      RETURN_IF_ERROR(CheckEnum(e.to_level_of_care(), v1::LevelOfCare_IsValid,
                                "transition_planned.to_level_of_care", true));
      if (e.has_planned_date()) {
        RETURN_IF_ERROR(
            CheckDate(e.planned_date(), "transition_planned.planned_date"));
      }
      if (e.has_follow_up_due()) {
        RETURN_IF_ERROR(
            CheckDate(e.follow_up_due(), "transition_planned.follow_up_due"));
      }
      return absl::OkStatus();
    }
    case v1::CareEvent::kDischargeRecorded:
      RETURN_IF_ERROR(CheckId(event.discharge_recorded().admission_id(),
                              "discharge_recorded.admission_id"));
      return CheckEnum(event.discharge_recorded().disposition(),
                       v1::DischargeDisposition_IsValid,
                       "discharge_recorded.disposition", false);
    case v1::CareEvent::kTransitionCompleted:
      return CheckId(event.transition_completed().transition_id(),
                     "transition_completed.transition_id");
    case v1::CareEvent::kFollowUpCompleted: {
      const auto& e = event.follow_up_completed();
      RETURN_IF_ERROR(
          CheckId(e.follow_up_id(), "follow_up_completed.follow_up_id"));
      RETURN_IF_ERROR(CheckOptionalId(e.transition_id(),
                                      "follow_up_completed.transition_id"));
      RETURN_IF_ERROR(CheckOptionalId(e.admission_id(),
                                      "follow_up_completed.admission_id"));
      RETURN_IF_ERROR(CheckId(e.provider_organization_id(),
                              "follow_up_completed.provider_organization_id"));
      RETURN_IF_ERROR(CheckEnum(e.contact_kind(), v1::ContactKind_IsValid,
                                "follow_up_completed.contact_kind", true));
      return CheckEnum(e.provider_discipline(), v1::Discipline_IsValid,
                       "follow_up_completed.provider_discipline", true);
    }
    case v1::CareEvent::kOrganizationRegistered: {
      const auto& e = event.organization_registered();
      RETURN_IF_ERROR(CheckId(e.organization_id(),
                              "organization_registered.organization_id"));
      RETURN_IF_ERROR(
          CheckText(e.name(), "organization_registered.name", true));
      RETURN_IF_ERROR(CheckEnum(e.type(), v1::OrganizationType_IsValid,
                                "organization_registered.type", true));
      for (int i = 0; i < e.service_categories_size(); ++i) {
        RETURN_IF_ERROR(CheckEnum(
            e.service_categories(i), v1::ServiceCategory_IsValid,
            absl::StrCat("organization_registered.service_categories[", i, "]"),
            true));
      }
      return absl::OkStatus();
    }
    case v1::CareEvent::kOrganizationUpdated: {
      const auto& e = event.organization_updated();
      RETURN_IF_ERROR(
          CheckId(e.organization_id(), "organization_updated.organization_id"));
      RETURN_IF_ERROR(CheckEnum(e.type(), v1::OrganizationType_IsValid,
                                "organization_updated.type", false));
      for (int i = 0; i < e.service_categories_size(); ++i) {
        RETURN_IF_ERROR(CheckEnum(
            e.service_categories(i), v1::ServiceCategory_IsValid,
            absl::StrCat("organization_updated.service_categories[", i, "]"),
            true));
      }
      return absl::OkStatus();
    }
    case v1::CareEvent::kRecordAccessed:
    case v1::CareEvent::kBreakGlassReviewed:
      return Invalid("event",
                     "access records are written by the server itself, never "
                     "through a command");
    case v1::CareEvent::EVENT_NOT_SET:
      break;
  }
  return Invalid("event", "the command carries no care event");
}

// --- State rules
// -------------------------------------------------------------------

absl::Status RequireOrganization(const OrganizationDirectory& directory,
                                 absl::string_view organization_id,
                                 absl::string_view field) {
  if (directory.Contains(organization_id)) return absl::OkStatus();
  return absl::NotFoundError(
      absl::StrCat(field, ": organisation ", organization_id,
                   " is not registered; register it with "
                   "Organizations.RegisterOrganization first"));
}

template <typename Map>
absl::Status RequireNew(const Map& map, const std::string& id,
                        absl::string_view what, absl::string_view client_id) {
  if (map.count(id) == 0) return absl::OkStatus();
  return absl::AlreadyExistsError(absl::StrCat(what, " ", id,
                                               " already exists for client ",
                                               client_id, "; choose a new id"));
}

template <typename Map>
auto RequireKnown(const Map& map, const std::string& id, absl::string_view what,
                  absl::string_view client_id)
    -> absl::StatusOr<const typename Map::mapped_type*> {
  auto it = map.find(id);
  if (it != map.end()) return &it->second;
  return absl::NotFoundError(
      absl::StrCat("client ", client_id, " has no ", what, " ", id));
}

// Referral commands other than sending: who may do it, and from which states.
struct ReferralRule {
  const char* verb;
  bool receiver_only;  // else either side
  std::initializer_list<ReferralStatus> from;
  bool from_on_hold_needs_acceptance;  // on-hold counts only if accepted before
};

// Which side of a referral may take the step.
absl::Status CheckReferralSide(const ReferralState& referral,
                               const ReferralRule& rule,
                               const std::string& referral_id,
                               const std::string& acting_organization_id) {
  const std::string& to = referral.sent.to_organization_id();
  const std::string& from = referral.sent_by_organization_id;
  if (rule.receiver_only && acting_organization_id != to) {
    return absl::PermissionDeniedError(absl::StrCat(
        "only the receiving organisation (", to, ") may ", rule.verb,
        " referral ", referral_id, "; ", acting_organization_id, " is not it"));
  }
  if (!rule.receiver_only && acting_organization_id != to &&
      acting_organization_id != from) {
    return absl::PermissionDeniedError(absl::StrCat(
        "only the sending (", from, ") or receiving (", to,
        ") organisation may ", rule.verb, " referral ", referral_id));
  }
  return absl::OkStatus();
}

// From which states the step may be taken.
absl::Status CheckReferralStep(const ReferralState& referral,
                               const ReferralRule& rule,
                               const std::string& referral_id) {
  bool allowed = false;
  std::vector<std::string> names;
  for (ReferralStatus s : rule.from) {
    const bool needs_acceptance =
        s == ReferralStatus::kOnHold && rule.from_on_hold_needs_acceptance;
    names.push_back(std::string(care::ReferralStatusName(s)) +
                    (needs_acceptance ? " (after acceptance)" : ""));
    if (referral.status == s && (!needs_acceptance || referral.was_accepted)) {
      allowed = true;
    }
  }
  if (allowed) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "referral lifecycle: referral ", referral_id, " is ",
      care::ReferralStatusName(referral.status), "; to ", rule.verb,
      " it, it must be ", absl::StrJoin(names, " or ")));
}

const ReferralRule* RuleFor(v1::CareEvent::EventCase event_case) {
  using RS = ReferralStatus;
  static const ReferralRule kAccept{
      "accept", true, {RS::kRequested, RS::kOnHold}, false};
  static const ReferralRule kDecline{"decline", true, {RS::kRequested}, false};
  static const ReferralRule kHold{
      "put on hold",
      true,
      {RS::kRequested, RS::kAccepted, RS::kInProgress},
      false};
  static const ReferralRule kStart{
      "start", true, {RS::kAccepted, RS::kOnHold}, true};
  static const ReferralRule kComplete{
      "complete", true, {RS::kAccepted, RS::kInProgress}, false};
  static const ReferralRule kFail{
      "fail", true, {RS::kAccepted, RS::kInProgress, RS::kOnHold}, true};
  static const ReferralRule kCancel{
      "cancel",
      false,
      {RS::kRequested, RS::kAccepted, RS::kOnHold, RS::kInProgress},
      false};
  switch (event_case) {
    case v1::CareEvent::kReferralAccepted:
      return &kAccept;
    case v1::CareEvent::kReferralDeclined:
      return &kDecline;
    case v1::CareEvent::kReferralOnHold:
      return &kHold;
    case v1::CareEvent::kReferralStarted:
      return &kStart;
    case v1::CareEvent::kReferralCompleted:
      return &kComplete;
    case v1::CareEvent::kReferralFailed:
      return &kFail;
    case v1::CareEvent::kReferralCancelled:
      return &kCancel;
    default:
      return nullptr;
  }
}

// A referral that shares data needs, at occurred_at, a consent covering the
// receiving organisation for every shared class (Part 2: naming it).
//
// The refusal is FAILED_PRECONDITION, not the PERMISSION_DENIED that
// ../shared/STYLE.md suggests for "no consent": on the write side a missing
// consent is a state of the client's record that a GiveConsent command
// repairs (the gRPC status guide's "fix the state, then retry"), while
// PERMISSION_DENIED is kept for who the caller is and what its standing
// allows (docs/access.md, "Who may write what").
absl::Status CheckConsentForSharing(const ClientRecord& record,
                                    const OrganizationDirectory& directory,
                                    const v1::ReferralSent& referral,
                                    absl::Time at) {
  const v1::OrganizationRegistered* receiver =
      directory.Find(referral.to_organization_id());
  const v1::OrganizationType type = receiver != nullptr
                                        ? receiver->type()
                                        : v1::ORGANIZATION_TYPE_UNSPECIFIED;
  for (int data_class : referral.shared_data_classes()) {
    const auto dc = static_cast<v1::DataClass>(data_class);
    bool covered = false;
    for (const auto& [id, consent] : record.consents) {
      if (consent.Covers(referral.to_organization_id(), type, dc,
                         referral.purpose(), at)) {
        covered = true;
        break;
      }
    }
    if (!covered) {
      const bool part2 = dc == v1::DATA_CLASS_SUBSTANCE_USE_PART2;
      return absl::FailedPreconditionError(absl::StrCat(
          "consent required: no consent of client ", record.client_id,
          " in force at ", absl::FormatTime(at), " covers sharing ",
          v1::DataClass_Name(dc), " with ", referral.to_organization_id(),
          " for ", v1::PurposeOfUse_Name(referral.purpose()),
          "; record ConsentGiven ",
          part2 ? "naming that organisation (42 CFR Part 2 requires the "
                  "recipient by name)"
                : "for that organisation (or its type)",
          " and that data class (and purpose, if it lists purposes) first, or "
          "share fewer "
          "data classes"));
    }
  }
  return absl::OkStatus();
}

// A disclosure outside a referral: a new id, a registered recipient, and
// either a legal basis or a consent that covers, at occurred_at, every data
// class for the recipient and purpose (42 CFR Part 2: naming the recipient).
// FAILED_PRECONDITION as for referrals (see CheckConsentForSharing).
absl::Status CheckDisclosure(const ClientRecord& record,
                             const OrganizationDirectory& directory,
                             const v1::InformationDisclosed& disclosed,
                             absl::Time at) {
  const std::string& client = record.client_id;
  if (record.disclosures.count(disclosed.disclosure_id()) > 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "disclosure ", disclosed.disclosure_id(),
        " is already recorded for client ", client, "; choose a new id"));
  }
  const std::string& recipient = disclosed.recipient_organization_id();
  RETURN_IF_ERROR(RequireOrganization(
      directory, recipient, "information_disclosed.recipient_organization_id"));
  if (disclosed.consent_id().empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(
      const care::ConsentState* consent,
      RequireKnown(record.consents, disclosed.consent_id(), "consent", client));
  const v1::OrganizationType type = directory.Find(recipient)->type();
  for (int data_class : disclosed.data_classes()) {
    const auto dc = static_cast<v1::DataClass>(data_class);
    if (consent->Covers(recipient, type, dc, disclosed.purpose(), at)) {
      continue;
    }
    const bool part2 = dc == v1::DATA_CLASS_SUBSTANCE_USE_PART2;
    return absl::FailedPreconditionError(absl::StrCat(
        "consent required: consent ", disclosed.consent_id(), " of client ",
        client,
        consent->InForceAt(at) ? "" : " is not in force at that time and",
        " does not cover disclosing ", v1::DataClass_Name(dc), " to ",
        recipient, " for ", v1::PurposeOfUse_Name(disclosed.purpose()), " at ",
        absl::FormatTime(at), "; name a consent that does",
        part2 ? " (42 CFR Part 2 requires the recipient by name)" : "",
        ", disclose fewer data classes, or give the legal_basis relied on"));
  }
  return absl::OkStatus();
}

// --- Who may write what (docs/access.md) -------------------------------------

// The one answer for a client the acting organisation may not act on and for
// a client that does not exist, so that writes cannot probe which exist.
absl::Status NotKnownOrNotInvolved(absl::string_view field,
                                   absl::string_view client,
                                   absl::string_view organization,
                                   const v1::CareEvent& event) {
  return absl::PermissionDeniedError(absl::StrCat(
      field.empty() ? "" : absl::StrCat(field, ": "), "client ", client,
      " is not known to organisation ", organization, ", or ", organization,
      " is not involved in its care and may not record ",
      care::CareEventName(event),
      "; an organisation becomes involved by registering the client, or by "
      "an involved organisation's act (a referral or transition sent to it, "
      "a service it provides, a care team member of it added by the lead "
      "case manager's organisation)"));
}

bool IsLeadOrganization(const ClientRecord& record,
                        absl::string_view organization_id) {
  for (const auto& [id, member] : record.care_team) {
    if (member.active() &&
        member.added.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER &&
        member.added.organization_id() == organization_id) {
      return true;
    }
  }
  return false;
}

// Steps 5 and 6 of "Who may write what": the acting organisation's standing
// on the client, then the command's own rule. Unknown sub-ids (a consent,
// service, member or referral the record lacks) pass here and are answered by
// the state rules.
absl::Status CheckWriteRule(
    const ClientRecord& record,
    absl::FunctionRef<bool(absl::string_view)> involved_in_other,
    const CareCommand& command) {
  const v1::CareEvent& event = command.event;
  const std::string& org = command.organization_id;
  const std::string& client = record.client_id;
  if (event.has_client_registered()) return absl::OkStatus();
  if (!record.registered || !care::Involved(record, org)) {
    return NotKnownOrNotInvolved("", client, org, event);
  }
  switch (event.event_case()) {
    case v1::CareEvent::kClientRecordsLinked: {
      const std::string& other =
          event.client_records_linked().other_client_id();
      if (other != client && !involved_in_other(other)) {
        return NotKnownOrNotInvolved("client_records_linked.other_client_id",
                                     other, org, event);
      }
      return absl::OkStatus();
    }
    case v1::CareEvent::kConsentRevoked: {
      const v1::ConsentRevoked& revoked = event.consent_revoked();
      auto it = record.consents.find(revoked.consent_id());
      if (it == record.consents.end() ||
          it->second.granted_at_organization_id == org ||
          revoked.on_client_request()) {
        return absl::OkStatus();
      }
      return absl::PermissionDeniedError(absl::StrCat(
          "consent ", revoked.consent_id(), " was recorded by ",
          it->second.granted_at_organization_id, "; only ",
          it->second.granted_at_organization_id,
          " revokes it, or an involved organisation on the client's request "
          "(set consent_revoked.on_client_request)"));
    }
    case v1::CareEvent::kCaseClosed: {
      // A case never opened has no opener: the state rule answers.
      const std::string& opener = record.case_opened_by_organization_id;
      if (opener.empty() || opener == org) return absl::OkStatus();
      return absl::PermissionDeniedError(
          absl::StrCat("the case of client ", client, " was opened by ", opener,
                       "; only ", opener, " closes it"));
    }
    case v1::CareEvent::kServiceEnded:
    case v1::CareEvent::kServiceInterruptionNotified: {
      const bool ended = event.has_service_ended();
      const std::string& id =
          ended ? event.service_ended().service_id()
                : event.service_interruption_notified().service_id();
      auto it = record.services.find(id);
      if (it == record.services.end() ||
          it->second.started.provider_organization_id() == org) {
        return absl::OkStatus();
      }
      return absl::PermissionDeniedError(absl::StrCat(
          "service ", id, " is provided by ",
          it->second.started.provider_organization_id(), "; only its provider ",
          ended ? "ends it" : "notifies its interruption"));
    }
    case v1::CareEvent::kCareTeamMemberAdded:
      if (record.ActiveLeadCaseManagers() == 0 ||
          IsLeadOrganization(record, org)) {
        return absl::OkStatus();
      }
      return absl::PermissionDeniedError(absl::StrCat(
          "care team changes: only the organisation of a lead case manager "
          "of client ",
          client, " adds team members, and ", org,
          " has none; ask the lead case manager's organisation to add them"));
    case v1::CareEvent::kCareTeamMemberRemoved: {
      auto it =
          record.care_team.find(event.care_team_member_removed().member_id());
      if (it == record.care_team.end() ||
          it->second.added.organization_id() == org ||
          IsLeadOrganization(record, org)) {
        return absl::OkStatus();
      }
      return absl::PermissionDeniedError(absl::StrCat(
          "care team changes: team member ", it->first, " is of ",
          it->second.added.organization_id(),
          "; only that organisation or the organisation of a lead case "
          "manager removes them"));
    }
    case v1::CareEvent::kReferralSent: {
      const std::string& from = event.referral_sent().from_organization_id();
      if (from.empty() || from == org) return absl::OkStatus();
      return absl::PermissionDeniedError(absl::StrCat(
          "referral_sent.from_organization_id is ", from,
          " but the acting organisation is ", org,
          "; an organisation sends referrals only in its own name"));
    }
    default:
      break;
  }
  if (const ReferralRule* rule = RuleFor(event.event_case())) {
    const std::string& id = *care::ReferralIdOf(event);
    auto it = record.referrals.find(id);
    if (it != record.referrals.end()) {
      return CheckReferralSide(it->second, *rule, id, org);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCareCommand(const CareCommand& command, absl::Time now) {
  if (command.command_id.empty() ||
      command.command_id.size() > kMaxCommandIdBytes) {
    return Invalid(
        "command_id",
        "give every command a unique id of 1 to 128 characters; a retry "
        "with the same id returns the original result");
  }
  const bool organization_command =
      command.event.has_organization_registered() ||
      command.event.has_organization_updated();
  if (!organization_command)
    RETURN_IF_ERROR(CheckId(command.client_id, "client_id"));
  if (command.organization_id.empty()) {
    return Invalid("x-caseline-org",
                   "request metadata must name the acting organisation");
  }
  if (command.occurred_at > now + kMaxFutureSkew) {
    return Invalid(
        "occurred_at",
        absl::StrCat(absl::FormatTime(command.occurred_at),
                     " is more than 5 minutes ahead of the server clock (",
                     absl::FormatTime(now),
                     "); record events once they happen"));
  }
  // Else the log would refuse the append, naming its own field.
  RETURN_IF_ERROR(
      eventstore::ValidateEventTime(command.occurred_at, "occurred_at"));
  return CheckEventFields(command.event);
}

absl::StatusOr<std::vector<v1::CareEvent>> DecideClientCommand(
    const ClientRecord& record, const OrganizationDirectory& directory,
    absl::FunctionRef<bool(absl::string_view)> involved_in_other,
    const CareCommand& command) {
  RETURN_IF_ERROR(RequireOrganization(directory, command.organization_id,
                                      "x-caseline-org"));
  RETURN_IF_ERROR(CheckWriteRule(record, involved_in_other, command));
  const v1::CareEvent& proposed = command.event;
  const std::string& client = record.client_id;
  if (proposed.has_client_registered() && record.registered) {
    return absl::AlreadyExistsError(
        absl::StrCat("client ", client,
                     " is already registered; correct details with "
                     "CorrectClientDetails, or register the new person under "
                     "another client_id"));
  }
  // A closed case still accepts what is about the record rather than the
  // care: a dismissed finding, and a release of information (records of a
  // closed case are still subpoenaed, and the release must be accounted for).
  if (record.case_status == CaseStatus::kClosed &&
      !proposed.has_case_reopened() && !proposed.has_duplicate_dismissed() &&
      !proposed.has_information_disclosed()) {
    return absl::FailedPreconditionError(
        absl::StrCat("closed case: the case of client ", client,
                     " is closed; only ReopenCase (and DismissDuplicate, "
                     "RecordDisclosure) are accepted until it is reopened"));
  }

  v1::CareEvent event = proposed;  // defaults are filled in below
  const absl::Time at = command.occurred_at;
  switch (event.event_case()) {
    case v1::CareEvent::kClientRegistered:
      for (int i = 0; i < event.client_registered().identifiers_size(); ++i) {
        RETURN_IF_ERROR(RequireOrganization(
            directory,
            event.client_registered().identifiers(i).organization_id(),
            absl::StrCat("client_registered.identifiers[", i,
                         "].organization_id")));
      }
      break;
    case v1::CareEvent::kClientDetailsCorrected:
      break;
    case v1::CareEvent::kClientRecordsLinked: {
      const std::string& other =
          event.client_records_linked().other_client_id();
      if (other == client) {
        return Invalid("client_records_linked.other_client_id",
                       "is this client itself");
      }
      if (record.linked_client_ids.count(other) > 0) {
        return absl::AlreadyExistsError(absl::StrCat(
            "clients ", client, " and ", other, " are already linked"));
      }
      break;
    }
    case v1::CareEvent::kClientRecordsUnlinked: {
      const std::string& other =
          event.client_records_unlinked().other_client_id();
      if (record.linked_client_ids.count(other) == 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("clients ", client, " and ", other,
                         " are not linked; nothing to unlink"));
      }
      break;
    }
    case v1::CareEvent::kCaseOpened:
      if (record.case_status == CaseStatus::kOpen) {
        return absl::FailedPreconditionError(
            absl::StrCat("the case of client ", client, " is already open"));
      }
      break;
    case v1::CareEvent::kCaseClosed:
      if (record.case_status != CaseStatus::kOpen) {
        return absl::FailedPreconditionError(
            absl::StrCat("the case of client ", client,
                         " is not open; open it with OpenCase first"));
      }
      break;
    case v1::CareEvent::kCaseReopened:
      if (record.case_status != CaseStatus::kClosed) {
        return absl::FailedPreconditionError(
            absl::StrCat("the case of client ", client,
                         " is not closed; only a closed case reopens"));
      }
      break;
    case v1::CareEvent::kDuplicateDismissed: {
      const std::string& finding = event.duplicate_dismissed().finding_id();
      if (absl::StartsWith(finding, kDuplicateClientsPrefix)) {
        const std::vector<absl::string_view> ids = absl::StrSplit(
            absl::string_view(finding).substr(kDuplicateClientsPrefix.size()),
            ':');
        if (std::find(ids.begin(), ids.end(), absl::string_view(client)) ==
            ids.end()) {
          return Invalid("duplicate_dismissed.finding_id",
                         absl::StrCat("finding ", finding,
                                      " is about other clients, not ", client,
                                      "; dismiss it on one of the clients it "
                                      "names"));
        }
      }
      if (record.dismissed_finding_ids.count(finding) > 0) {
        return absl::AlreadyExistsError(absl::StrCat(
            "finding ", finding, " is already dismissed for client ", client));
      }
      break;
    }
    case v1::CareEvent::kInformationDisclosed:
      RETURN_IF_ERROR(CheckDisclosure(record, directory,
                                      event.information_disclosed(), at));
      break;
    case v1::CareEvent::kConsentGiven: {
      v1::ConsentGiven* given = event.mutable_consent_given();
      RETURN_IF_ERROR(
          RequireNew(record.consents, given->consent_id(), "consent", client));
      for (int i = 0; i < given->recipient_organization_ids_size(); ++i) {
        RETURN_IF_ERROR(RequireOrganization(
            directory, given->recipient_organization_ids(i),
            absl::StrCat("consent_given.recipient_organization_ids[", i, "]")));
      }
      if (!given->period().has_start()) {
        SetTimestamp(at, given->mutable_period()->mutable_start());
      }
      if (!given->has_obtained_at()) {
        SetTimestamp(at, given->mutable_obtained_at());
      } else if (ToTime(given->obtained_at()) > at) {
        return Invalid(
            "consent_given.obtained_at",
            absl::StrCat("is after occurred_at (", absl::FormatTime(at),
                         "): record a consent once it is given"));
      }
      if (given->period().has_end() &&
          ToTime(given->period().end()) <= ToTime(given->period().start())) {
        return Invalid("consent_given.period.end",
                       "must be after the period's start");
      }
      break;
    }
    case v1::CareEvent::kConsentRevoked: {
      v1::ConsentRevoked* revoked = event.mutable_consent_revoked();
      ASSIGN_OR_RETURN(const care::ConsentState* consent,
                       RequireKnown(record.consents, revoked->consent_id(),
                                    "consent", client));
      if (!revoked->has_received_at())
        SetTimestamp(at, revoked->mutable_received_at());
      if (!revoked->has_effective_at()) {
        *revoked->mutable_effective_at() = revoked->received_at();
      }
      const absl::Time effective = ToTime(revoked->effective_at());
      if (consent->revocation_effective_at.has_value()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "revocation needs an active consent: consent ",
            revoked->consent_id(), " was already revoked effective ",
            absl::FormatTime(*consent->revocation_effective_at)));
      }
      if (consent->end <= ToTime(revoked->received_at())) {
        return absl::FailedPreconditionError(
            absl::StrCat("revocation needs an active consent: consent ",
                         revoked->consent_id(), " ended at ",
                         absl::FormatTime(consent->end)));
      }
      if (effective < consent->start) {
        return absl::FailedPreconditionError(absl::StrCat(
            "consent_revoked.effective_at (", absl::FormatTime(effective),
            ") is before consent ", revoked->consent_id(), " starts (",
            absl::FormatTime(consent->start),
            "); a revocation cannot predate its consent"));
      }
      break;
    }
    case v1::CareEvent::kAssessmentRecorded:
      if (record.assessment_ids.count(
              event.assessment_recorded().assessment_id()) > 0) {
        return absl::AlreadyExistsError(absl::StrCat(
            "assessment ", event.assessment_recorded().assessment_id(),
            " already exists for client ", client, "; choose a new id"));
      }
      break;
    case v1::CareEvent::kGoalSet:
      RETURN_IF_ERROR(
          RequireNew(record.goals, event.goal_set().goal_id(), "goal", client));
      break;
    case v1::CareEvent::kGoalProgressRecorded:
      RETURN_IF_ERROR(RequireKnown(record.goals,
                                   event.goal_progress_recorded().goal_id(),
                                   "goal", client)
                          .status());
      break;
    case v1::CareEvent::kGoalStatusChanged:
      RETURN_IF_ERROR(RequireKnown(record.goals,
                                   event.goal_status_changed().goal_id(),
                                   "goal", client)
                          .status());
      break;
    case v1::CareEvent::kReferralSent: {
      v1::ReferralSent* sent = event.mutable_referral_sent();
      RETURN_IF_ERROR(RequireNew(record.referrals, sent->referral_id(),
                                 "referral", client));
      if (sent->from_organization_id().empty()) {
        sent->set_from_organization_id(command.organization_id);
      }
      RETURN_IF_ERROR(RequireOrganization(directory, sent->to_organization_id(),
                                          "referral_sent.to_organization_id"));
      if (sent->to_organization_id() == sent->from_organization_id()) {
        return Invalid("referral_sent.to_organization_id",
                       "is the sending organisation itself");
      }
      if (sent->urgency() == v1::URGENCY_UNSPECIFIED)
        sent->set_urgency(v1::URGENCY_ROUTINE);
      // A referral is care coordination unless it says otherwise.
      if (sent->purpose() == v1::PURPOSE_OF_USE_UNSPECIFIED) {
        sent->set_purpose(v1::PURPOSE_OF_USE_CARE_COORDINATION);
      }
      RETURN_IF_ERROR(CheckConsentForSharing(record, directory, *sent, at));
      break;
    }
    case v1::CareEvent::kReferralAccepted:
    case v1::CareEvent::kReferralDeclined:
    case v1::CareEvent::kReferralOnHold:
    case v1::CareEvent::kReferralStarted:
    case v1::CareEvent::kReferralCompleted:
    case v1::CareEvent::kReferralFailed:
    case v1::CareEvent::kReferralCancelled: {
      const std::string& id = *care::ReferralIdOf(event);
      ASSIGN_OR_RETURN(const ReferralState* referral,
                       RequireKnown(record.referrals, id, "referral", client));
      RETURN_IF_ERROR(
          CheckReferralStep(*referral, *RuleFor(event.event_case()), id));
      break;
    }
    case v1::CareEvent::kServiceStarted: {
      const auto& started = event.service_started();
      RETURN_IF_ERROR(
          RequireNew(record.services, started.service_id(), "service", client));
      RETURN_IF_ERROR(
          RequireOrganization(directory, started.provider_organization_id(),
                              "service_started.provider_organization_id"));
      if (!started.referral_id().empty()) {
        RETURN_IF_ERROR(RequireKnown(record.referrals, started.referral_id(),
                                     "referral", client)
                            .status());
      }
      break;
    }
    case v1::CareEvent::kServiceEnded:
    case v1::CareEvent::kServiceInterruptionNotified: {
      const std::string& id =
          event.has_service_ended()
              ? event.service_ended().service_id()
              : event.service_interruption_notified().service_id();
      ASSIGN_OR_RETURN(const care::ServiceState* service,
                       RequireKnown(record.services, id, "service", client));
      if (!service->active()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "service ", id, " of client ", client, " has already ended"));
      }
      break;
    }
    case v1::CareEvent::kCareTeamMemberAdded: {
      const auto& added = event.care_team_member_added();
      auto it = record.care_team.find(added.member_id());
      if (it != record.care_team.end() && it->second.active()) {
        return absl::AlreadyExistsError(
            absl::StrCat("team member ", added.member_id(),
                         " is already on the care team of client ", client));
      }
      RETURN_IF_ERROR(
          RequireOrganization(directory, added.organization_id(),
                              "care_team_member_added.organization_id"));
      break;
    }
    case v1::CareEvent::kCareTeamMemberRemoved: {
      const std::string& id = event.care_team_member_removed().member_id();
      ASSIGN_OR_RETURN(
          const care::CareTeamMemberState* member,
          RequireKnown(record.care_team, id, "team member", client));
      if (!member->active()) {
        return absl::FailedPreconditionError(
            absl::StrCat("team member ", id, " was already removed"));
      }
      if (member->added.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER &&
          record.case_status == CaseStatus::kOpen &&
          record.ActiveLeadCaseManagers() == 1) {
        return absl::FailedPreconditionError(
            absl::StrCat("lead case manager required: ", id,
                         " is the only lead case manager of the "
                         "open case of client ",
                         client,
                         "; add another lead case manager first, or "
                         "close the case"));
      }
      break;
    }
    case v1::CareEvent::kTeamMeetingHeld: {
      const auto& meeting = event.team_meeting_held();
      if (record.meeting_ids.count(meeting.meeting_id()) > 0) {
        return absl::AlreadyExistsError(
            absl::StrCat("team meeting ", meeting.meeting_id(),
                         " is already recorded for client ", client));
      }
      for (const std::string& attendee : meeting.attendee_member_ids()) {
        ASSIGN_OR_RETURN(
            const care::CareTeamMemberState* member,
            RequireKnown(record.care_team, attendee, "team member", client));
        if (!member->active()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "team meeting attendees must be current team members: ", attendee,
              " was removed from the care team; the client attends with "
              "client_attended"));
        }
      }
      break;
    }
    case v1::CareEvent::kAdmissionRecorded: {
      const auto& admission = event.admission_recorded();
      RETURN_IF_ERROR(RequireNew(record.admissions, admission.admission_id(),
                                 "admission", client));
      RETURN_IF_ERROR(
          RequireOrganization(directory, admission.facility_organization_id(),
                              "admission_recorded.facility_organization_id"));
      break;
    }
    case v1::CareEvent::kTransitionPlanned: {
      const auto& planned = event.transition_planned();
      RETURN_IF_ERROR(RequireNew(record.transitions, planned.transition_id(),
                                 "transition", client));
      RETURN_IF_ERROR(
          RequireOrganization(directory, planned.to_organization_id(),
                              "transition_planned.to_organization_id"));
      if (!planned.from_organization_id().empty()) {
        RETURN_IF_ERROR(
            RequireOrganization(directory, planned.from_organization_id(),
                                "transition_planned.from_organization_id"));
      }
      if (!planned.admission_id().empty()) {
        RETURN_IF_ERROR(RequireKnown(record.admissions, planned.admission_id(),
                                     "admission", client)
                            .status());
      }
      break;
    }
    case v1::CareEvent::kDischargeRecorded: {
      const std::string& id = event.discharge_recorded().admission_id();
      ASSIGN_OR_RETURN(
          const care::AdmissionState* admission,
          RequireKnown(record.admissions, id, "admission", client));
      if (!admission->open()) {
        return absl::FailedPreconditionError(
            absl::StrCat("discharge needs an open admission: admission ", id,
                         " of client ", client, " was already discharged"));
      }
      break;
    }
    case v1::CareEvent::kTransitionCompleted: {
      const std::string& id = event.transition_completed().transition_id();
      ASSIGN_OR_RETURN(
          const care::TransitionState* transition,
          RequireKnown(record.transitions, id, "planned transition", client));
      if (transition->completed_at.has_value()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "transition ", id, " of client ", client, " is already completed"));
      }
      break;
    }
    case v1::CareEvent::kFollowUpCompleted: {
      const auto& follow_up = event.follow_up_completed();
      if (record.follow_up_ids.count(follow_up.follow_up_id()) > 0) {
        return absl::AlreadyExistsError(
            absl::StrCat("follow-up ", follow_up.follow_up_id(),
                         " is already recorded for client ", client));
      }
      RETURN_IF_ERROR(
          RequireOrganization(directory, follow_up.provider_organization_id(),
                              "follow_up_completed.provider_organization_id"));
      if (!follow_up.transition_id().empty()) {
        RETURN_IF_ERROR(RequireKnown(record.transitions,
                                     follow_up.transition_id(),
                                     "planned transition", client)
                            .status());
      }
      if (!follow_up.admission_id().empty()) {
        RETURN_IF_ERROR(RequireKnown(record.admissions,
                                     follow_up.admission_id(), "admission",
                                     client)
                            .status());
      }
      break;
    }
    case v1::CareEvent::kOrganizationRegistered:
    case v1::CareEvent::kOrganizationUpdated:
      return Invalid("event",
                     "organisation events go to Organizations, not a client");
    case v1::CareEvent::kRecordAccessed:
    case v1::CareEvent::kBreakGlassReviewed:
      return Invalid("event",
                     "access records are written by the server itself, never "
                     "through a command");
    case v1::CareEvent::EVENT_NOT_SET:
      return Invalid("event", "the command carries no care event");
  }
  return std::vector<v1::CareEvent>{std::move(event)};
}

absl::StatusOr<std::vector<v1::CareEvent>> DecideOrganizationCommand(
    const OrganizationDirectory& directory, const CareCommand& command) {
  const v1::CareEvent& event = command.event;
  if (event.has_organization_registered()) {
    const std::string& id = event.organization_registered().organization_id();
    if (directory.Contains(id)) {
      return absl::AlreadyExistsError(
          absl::StrCat("organisation ", id,
                       " is already registered; change it with "
                       "UpdateOrganization"));
    }
  } else if (event.has_organization_updated()) {
    RETURN_IF_ERROR(RequireOrganization(
        directory, event.organization_updated().organization_id(),
        "organization_updated.organization_id"));
  } else {
    return Invalid("event",
                   "Organizations takes OrganizationRegistered or "
                   "OrganizationUpdated");
  }
  return std::vector<v1::CareEvent>{event};
}

}  // namespace caseline::care
