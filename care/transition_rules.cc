// Care transitions: admissions and discharges, a planned transition to
// another organisation or level of care, its completion, the follow-up
// contact after it, and what HEDIS TRC counts around a stay (an admission
// notification, discharge information received, a medication
// reconciliation).
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "care/event_rules.h"
#include "care/event_summary.h"
#include "care/rule_checks.h"

namespace caseline::care::rules {
namespace {

// --- AdmissionRecorded -------------------------------------------------------

absl::Status CheckAdmission(const v1::CareEvent& event) {
  const auto& e = event.admission_recorded();
  RETURN_IF_ERROR(CheckId(e.admission_id(), "admission_recorded.admission_id"));
  RETURN_IF_ERROR(CheckId(e.facility_organization_id(),
                          "admission_recorded.facility_organization_id"));
  return CheckEnum(e.level_of_care(), v1::LevelOfCare_IsValid,
                   "admission_recorded.level_of_care", true);
}

absl::Status DecideAdmission(const RuleInput& input, v1::CareEvent* event) {
  const auto& admission = event->admission_recorded();
  RETURN_IF_ERROR(RequireNew(input.record.admissions, admission.admission_id(),
                             "admission", input.record.client_id));
  return RequireOrganization(input.directory,
                             admission.facility_organization_id(),
                             "admission_recorded.facility_organization_id");
}

std::string SummarizeAdmission(const v1::CareEvent& event) {
  const auto& e = event.admission_recorded();
  return absl::StrCat("admitted (", LevelWord(e.level_of_care()), ") to ",
                      e.facility_organization_id(), ", admission ",
                      e.admission_id());
}

// --- TransitionPlanned -------------------------------------------------------

absl::Status CheckPlanned(const v1::CareEvent& event) {
  const auto& e = event.transition_planned();
  RETURN_IF_ERROR(
      CheckId(e.transition_id(), "transition_planned.transition_id"));
  RETURN_IF_ERROR(
      CheckOptionalId(e.admission_id(), "transition_planned.admission_id"));
  if (e.to_organization_id().empty()) {
    return Invalid("transition_planned.to_organization_id",
                   "a transition needs a receiving organisation");
  }
  RETURN_IF_ERROR(
      CheckId(e.to_organization_id(), "transition_planned.to_organization_id"));
  RETURN_IF_ERROR(CheckOptionalId(e.from_organization_id(),
                                  "transition_planned.from_organization_id"));
  RETURN_IF_ERROR(CheckEnum(e.from_level_of_care(), v1::LevelOfCare_IsValid,
                            "transition_planned.from_level_of_care", false));
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

// A new transition id, registered organisations, and a known admission if it
// names one.
absl::Status DecidePlanned(const RuleInput& input, v1::CareEvent* event) {
  const auto& planned = event->transition_planned();
  const std::string& client = input.record.client_id;
  RETURN_IF_ERROR(RequireNew(input.record.transitions, planned.transition_id(),
                             "transition", client));
  RETURN_IF_ERROR(RequireOrganization(input.directory,
                                      planned.to_organization_id(),
                                      "transition_planned.to_organization_id"));
  if (!planned.from_organization_id().empty()) {
    RETURN_IF_ERROR(
        RequireOrganization(input.directory, planned.from_organization_id(),
                            "transition_planned.from_organization_id"));
  }
  if (!planned.admission_id().empty()) {
    RETURN_IF_ERROR(RequireKnown(input.record.admissions,
                                 planned.admission_id(), "admission", client)
                        .status());
  }
  return absl::OkStatus();
}

std::string SummarizePlanned(const v1::CareEvent& event) {
  const auto& e = event.transition_planned();
  return absl::StrCat("transition ", e.transition_id(), " planned to ",
                      e.to_organization_id(), " (",
                      LevelWord(e.to_level_of_care()), ")");
}

// --- DischargeRecorded -------------------------------------------------------

absl::Status CheckDischarge(const v1::CareEvent& event) {
  RETURN_IF_ERROR(CheckId(event.discharge_recorded().admission_id(),
                          "discharge_recorded.admission_id"));
  return CheckEnum(event.discharge_recorded().disposition(),
                   v1::DischargeDisposition_IsValid,
                   "discharge_recorded.disposition", false);
}

absl::Status DecideDischarge(const RuleInput& input, v1::CareEvent* event) {
  const std::string& client = input.record.client_id;
  const std::string& id = event->discharge_recorded().admission_id();
  ASSIGN_OR_RETURN(
      const AdmissionState* admission,
      RequireKnown(input.record.admissions, id, "admission", client));
  if (!admission->open()) {
    return absl::FailedPreconditionError(
        absl::StrCat("discharge needs an open admission: admission ", id,
                     " of client ", client, " was already discharged"));
  }
  return absl::OkStatus();
}

std::string SummarizeDischarge(const v1::CareEvent& event) {
  return absl::StrCat("discharged from admission ",
                      event.discharge_recorded().admission_id(), " (",
                      EnumWord(v1::DischargeDisposition_Name(
                                   event.discharge_recorded().disposition()),
                               "DISCHARGE_DISPOSITION_"),
                      ")");
}

// --- TransitionCompleted -----------------------------------------------------

absl::Status CheckCompleted(const v1::CareEvent& event) {
  return CheckId(event.transition_completed().transition_id(),
                 "transition_completed.transition_id");
}

absl::Status DecideCompleted(const RuleInput& input, v1::CareEvent* event) {
  const std::string& client = input.record.client_id;
  const std::string& id = event->transition_completed().transition_id();
  ASSIGN_OR_RETURN(
      const TransitionState* transition,
      RequireKnown(input.record.transitions, id, "planned transition", client));
  if (transition->completed_at.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "transition ", id, " of client ", client, " is already completed"));
  }
  return absl::OkStatus();
}

std::string SummarizeCompleted(const v1::CareEvent& event) {
  return absl::StrCat("transition ",
                      event.transition_completed().transition_id(),
                      " completed");
}

// --- FollowUpCompleted -------------------------------------------------------

absl::Status CheckFollowUp(const v1::CareEvent& event) {
  const auto& e = event.follow_up_completed();
  RETURN_IF_ERROR(
      CheckId(e.follow_up_id(), "follow_up_completed.follow_up_id"));
  RETURN_IF_ERROR(
      CheckOptionalId(e.transition_id(), "follow_up_completed.transition_id"));
  RETURN_IF_ERROR(
      CheckOptionalId(e.admission_id(), "follow_up_completed.admission_id"));
  RETURN_IF_ERROR(CheckId(e.provider_organization_id(),
                          "follow_up_completed.provider_organization_id"));
  RETURN_IF_ERROR(CheckEnum(e.contact_kind(), v1::ContactKind_IsValid,
                            "follow_up_completed.contact_kind", true));
  return CheckEnum(e.provider_discipline(), v1::Discipline_IsValid,
                   "follow_up_completed.provider_discipline", true);
}

// A new follow-up id, a registered provider, and the transition and
// admission it names known.
absl::Status DecideFollowUp(const RuleInput& input, v1::CareEvent* event) {
  const auto& follow_up = event->follow_up_completed();
  const std::string& client = input.record.client_id;
  if (input.record.follow_up_ids.count(follow_up.follow_up_id()) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("follow-up ", follow_up.follow_up_id(),
                     " is already recorded for client ", client));
  }
  RETURN_IF_ERROR(
      RequireOrganization(input.directory, follow_up.provider_organization_id(),
                          "follow_up_completed.provider_organization_id"));
  if (!follow_up.transition_id().empty()) {
    RETURN_IF_ERROR(RequireKnown(input.record.transitions,
                                 follow_up.transition_id(),
                                 "planned transition", client)
                        .status());
  }
  if (!follow_up.admission_id().empty()) {
    RETURN_IF_ERROR(RequireKnown(input.record.admissions,
                                 follow_up.admission_id(), "admission", client)
                        .status());
  }
  return absl::OkStatus();
}

std::string SummarizeFollowUp(const v1::CareEvent& event) {
  const auto& e = event.follow_up_completed();
  return absl::StrCat(
      "follow-up ", e.follow_up_id(), " (",
      EnumWord(v1::ContactKind_Name(e.contact_kind()), "CONTACT_KIND_"),
      ") by ", e.provider_organization_id());
}

// --- Transitions of Care (HEDIS TRC) -----------------------------------------

absl::Status CheckNotification(const v1::CareEvent& event) {
  const auto& e = event.admission_notification_received();
  RETURN_IF_ERROR(CheckId(e.notification_id(),
                          "admission_notification_received.notification_id"));
  return CheckId(e.admission_id(),
                 "admission_notification_received.admission_id");
}

// A new id among `recorded`, about an admission of the client.
absl::Status RequireNewAboutAdmission(
    const RuleInput& input,
    const std::map<std::string, TransitionOfCareState>& recorded,
    const std::string& id, absl::string_view what,
    const std::string& admission_id) {
  const std::string& client = input.record.client_id;
  RETURN_IF_ERROR(RequireNew(recorded, id, what, client));
  return RequireKnown(input.record.admissions, admission_id, "admission",
                      client)
      .status();
}

absl::Status DecideNotification(const RuleInput& input, v1::CareEvent* event) {
  const auto& e = event->admission_notification_received();
  return RequireNewAboutAdmission(input, input.record.admission_notifications,
                                  e.notification_id(), "admission notification",
                                  e.admission_id());
}

std::string SummarizeNotification(const v1::CareEvent& event) {
  const auto& e = event.admission_notification_received();
  return absl::StrCat("notification ", e.notification_id(),
                      " of admission ", e.admission_id(), " received");
}

absl::Status CheckReceipt(const v1::CareEvent& event) {
  const auto& e = event.discharge_information_received();
  RETURN_IF_ERROR(
      CheckId(e.receipt_id(), "discharge_information_received.receipt_id"));
  return CheckId(e.admission_id(),
                 "discharge_information_received.admission_id");
}

// A new receipt id, about an admission of the client (its discharge may be
// recorded later: the measure counts only receipts from the discharge date).
absl::Status DecideReceipt(const RuleInput& input, v1::CareEvent* event) {
  const auto& e = event->discharge_information_received();
  return RequireNewAboutAdmission(input, input.record.discharge_information,
                                  e.receipt_id(),
                                  "discharge information receipt",
                                  e.admission_id());
}

std::string SummarizeReceipt(const v1::CareEvent& event) {
  const auto& e = event.discharge_information_received();
  return absl::StrCat("discharge information of admission ", e.admission_id(),
                      " received (receipt ", e.receipt_id(), ")");
}

absl::Status CheckReconciliation(const v1::CareEvent& event) {
  const auto& e = event.medication_reconciliation_recorded();
  RETURN_IF_ERROR(
      CheckId(e.reconciliation_id(),
              "medication_reconciliation_recorded.reconciliation_id"));
  RETURN_IF_ERROR(CheckOptionalId(
      e.admission_id(), "medication_reconciliation_recorded.admission_id"));
  return CheckEnum(e.performer_discipline(), v1::Discipline_IsValid,
                   "medication_reconciliation_recorded.performer_discipline",
                   true);
}

// A new reconciliation id, and the admission it names known.
absl::Status DecideReconciliation(const RuleInput& input,
                                  v1::CareEvent* event) {
  const auto& e = event->medication_reconciliation_recorded();
  const std::string& client = input.record.client_id;
  RETURN_IF_ERROR(RequireNew(input.record.medication_reconciliations,
                             e.reconciliation_id(),
                             "medication reconciliation", client));
  if (!e.admission_id().empty()) {
    RETURN_IF_ERROR(RequireKnown(input.record.admissions, e.admission_id(),
                                 "admission", client)
                        .status());
  }
  return absl::OkStatus();
}

std::string SummarizeReconciliation(const v1::CareEvent& event) {
  const auto& e = event.medication_reconciliation_recorded();
  std::string summary = absl::StrCat(
      "medications reconciled (", e.reconciliation_id(), ", ",
      EnumWord(v1::Discipline_Name(e.performer_discipline()), "DISCIPLINE_"),
      ")");
  if (!e.admission_id().empty()) {
    absl::StrAppend(&summary, " after admission ", e.admission_id());
  }
  return summary;
}

constexpr EventRules kRules[] = {
    {.event = v1::CareEvent::kAdmissionRecorded,
     .check_fields = CheckAdmission,
     .decide = DecideAdmission,
     .summarize = SummarizeAdmission},
    {.event = v1::CareEvent::kTransitionPlanned,
     .check_fields = CheckPlanned,
     .decide = DecidePlanned,
     .summarize = SummarizePlanned},
    {.event = v1::CareEvent::kDischargeRecorded,
     .check_fields = CheckDischarge,
     .decide = DecideDischarge,
     .summarize = SummarizeDischarge},
    {.event = v1::CareEvent::kTransitionCompleted,
     .check_fields = CheckCompleted,
     .decide = DecideCompleted,
     .summarize = SummarizeCompleted},
    {.event = v1::CareEvent::kFollowUpCompleted,
     .check_fields = CheckFollowUp,
     .decide = DecideFollowUp,
     .summarize = SummarizeFollowUp},
    {.event = v1::CareEvent::kAdmissionNotificationReceived,
     .check_fields = CheckNotification,
     .decide = DecideNotification,
     .summarize = SummarizeNotification},
    {.event = v1::CareEvent::kDischargeInformationReceived,
     .check_fields = CheckReceipt,
     .decide = DecideReceipt,
     .summarize = SummarizeReceipt},
    {.event = v1::CareEvent::kMedicationReconciliationRecorded,
     .check_fields = CheckReconciliation,
     .decide = DecideReconciliation,
     .summarize = SummarizeReconciliation},
};

}  // namespace

absl::Span<const EventRules> TransitionRules() { return kRules; }

}  // namespace caseline::care::rules
