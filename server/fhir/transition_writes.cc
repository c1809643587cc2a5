#include "server/fhir/transition_writes.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/proto_time.h"
#include "caseline/v1/care_events.pb.h"
#include "server/fhir/codes.h"
#include "server/fhir/fhir_common.h"
#include "server/fhir/resources.h"
#include "server/fhir/writes.h"

namespace caseline::server::fhir {
namespace {

using nlohmann::json;

absl::Status RequireCompleted(const json& resource, absl::string_view type,
                              absl::string_view what) {
  const std::optional<std::string> status = StringAt(resource, "status");
  if (status == "completed") return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      type, ".status: ",
      status.has_value() ? absl::StrCat("\"", *status, "\" is not written")
                         : std::string("is required"),
      "; ", what, " is \"completed\""));
}

absl::StatusOr<std::string> ClientOf(const json& resource,
                                     absl::string_view type) {
  const std::string field = absl::StrCat(type, ".subject");
  const json* subject = Member(resource, "subject");
  if (subject == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(field,
                     ": is required, a reference to the client's Patient, e.g. "
                     "{\"reference\": \"Patient/<id>\"}"));
  }
  ASSIGN_OR_RETURN(std::string id, ReferencedId(*subject, "Patient", field));
  absl::StatusOr<std::vector<std::string>> parts = DecodeId(id, 1);
  if (!parts.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": \"Patient/", id,
        "\" is not a Patient of this server (ids as docs/fhir.md \"Logical "
        "ids\" writes them)"));
  }
  return (*parts)[0];
}

// The admission `encounter` names, an Encounter of `client_id`; nullopt
// when there is no encounter element.
absl::StatusOr<std::optional<std::string>> AdmissionOf(
    const json& resource, absl::string_view type,
    const std::string& client_id) {
  const std::string field = absl::StrCat(type, ".encounter");
  const json* encounter = Member(resource, "encounter");
  if (encounter == nullptr) return std::nullopt;
  ASSIGN_OR_RETURN(std::string id,
                   ReferencedId(*encounter, "Encounter", field));
  absl::StatusOr<std::vector<std::string>> parts = DecodeId(id, 2);
  if (!parts.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"Encounter/", id,
                     "\" is not an Encounter of this server "
                     "(Encounter/<client>..<admission>)"));
  }
  if ((*parts)[0] != client_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": Encounter/", id, " is another client's than the subject's (",
        "Patient/", EncodeId({client_id}), ")"));
  }
  return (*parts)[1];
}

// The id the identifiers give: the value of `system`'s, else the first
// identifier's; else `named`; else a new one with `prefix`.
absl::StatusOr<std::string> IdOf(const json& resource, absl::string_view type,
                                 absl::string_view system,
                                 const std::optional<std::string>& named,
                                 absl::string_view prefix) {
  const json* identifiers = Member(resource, "identifier");
  std::optional<std::string> first;
  if (identifiers != nullptr) {
    if (!identifiers->is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ".identifier: an array of Identifiers"));
    }
    for (const json& identifier : *identifiers) {
      std::optional<std::string> value = StringAt(identifier, "value");
      if (!value.has_value()) continue;
      if (StringAt(identifier, "system") == system) return *value;
      if (!first.has_value()) first = std::move(value);
    }
  }
  if (first.has_value()) return *first;
  if (named.has_value()) return *named;
  return NewId(prefix);
}

// The organisation `reference` names must be the caller (the acting
// organisation records the event as its own).
absl::Status RequireCaller(const json& reference, absl::string_view field,
                           absl::string_view role,
                           absl::string_view caller_organization) {
  ASSIGN_OR_RETURN(std::string id,
                   ReferencedId(reference, "Organization", field));
  absl::StatusOr<std::vector<std::string>> parts = DecodeId(id, 1);
  const std::string organization = parts.ok() ? (*parts)[0] : id;
  if (caller_organization.empty() || organization == caller_organization) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      field, ": Organization/", id, " is not the acting organisation (",
      caller_organization, "); the ", role,
      " is the organisation that records it: omit it or name yourself"));
}

// `element` (a FHIR dateTime) into fields.occurred_at, when present.
absl::Status SetOccurred(const json& resource, absl::string_view type,
                         absl::string_view element,
                         care::CommandFields& fields) {
  const json* value = Member(resource, element);
  if (value == nullptr) return absl::OkStatus();
  const std::string field = absl::StrCat(type, ".", element);
  if (!value->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": a FHIR dateTime string"));
  }
  ASSIGN_OR_RETURN(absl::Time t,
                   ParseDateTime(value->get<std::string>(), field));
  fields.occurred_at = t;
  return absl::OkStatus();
}

// Whether `codeable` (a CodeableConcept) has a coding `system`|`code`.
bool HasCoding(const json& codeable, absl::string_view system,
               absl::string_view code) {
  const json* codings = Member(codeable, "coding");
  if (codings == nullptr || !codings->is_array()) return false;
  for (const json& coding : *codings) {
    if (StringAt(coding, "system") == system &&
        StringAt(coding, "code") == code) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<TransitionWrite> CommunicationCommandOf(
    const json& communication, absl::string_view caller_organization,
    const std::optional<std::string>& named) {
  RETURN_IF_ERROR(RequireCompleted(
      communication, "Communication",
      "a received admission notification or discharge information"));
  bool notification = false;
  bool receipt = false;
  if (const json* categories = Member(communication, "category");
      categories != nullptr && categories->is_array()) {
    for (const json& category : *categories) {
      notification = notification || HasCoding(category, kEventTypeSystem,
                                               "AdmissionNotificationReceived");
      receipt = receipt || HasCoding(category, kEventTypeSystem,
                                     "DischargeInformationReceived");
    }
  }
  if (notification == receipt) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Communication.category: required, exactly one coding ",
        kEventTypeSystem, "|AdmissionNotificationReceived or ",
        kEventTypeSystem,
        "|DischargeInformationReceived (the Transitions of Care event it "
        "records)"));
  }
  TransitionWrite write;
  write.resource_type = "Communication";
  ASSIGN_OR_RETURN(write.fields.client_id,
                   ClientOf(communication, "Communication"));
  ASSIGN_OR_RETURN(
      std::optional<std::string> admission,
      AdmissionOf(communication, "Communication", write.fields.client_id));
  if (!admission.has_value()) {
    return absl::InvalidArgumentError(
        "Communication.encounter: is required, a reference to the "
        "admission's Encounter (Encounter/<client>..<admission>)");
  }
  if (const json* recipients = Member(communication, "recipient");
      recipients != nullptr) {
    if (!recipients->is_array() || recipients->size() != 1) {
      return absl::InvalidArgumentError(
          "Communication.recipient: at most one, the acting organisation's "
          "Organization");
    }
    RETURN_IF_ERROR(RequireCaller((*recipients)[0], "Communication.recipient",
                                  "recipient", caller_organization));
  }
  RETURN_IF_ERROR(
      SetOccurred(communication, "Communication", "received", write.fields));
  const char* part = notification ? kNotificationIdPart : kReceiptIdPart;
  ASSIGN_OR_RETURN(std::string id,
                   IdOf(communication, "Communication",
                        notification ? kAdmissionNotificationIdSystem
                                     : kDischargeInformationIdSystem,
                        named, notification ? "notification" : "receipt"));
  if (notification) {
    v1::AdmissionNotificationReceived* e =
        write.fields.event.mutable_admission_notification_received();
    e->set_notification_id(id);
    e->set_admission_id(*admission);
  } else {
    v1::DischargeInformationReceived* e =
        write.fields.event.mutable_discharge_information_received();
    e->set_receipt_id(id);
    e->set_admission_id(*admission);
  }
  write.fields.command_id = absl::StrCat("fhir:Communication:", part, ":", id);
  write.logical_id = EncodeId({write.fields.client_id, part, id});
  return write;
}

absl::StatusOr<TransitionWrite> ProcedureCommandOf(
    const json& procedure, absl::string_view caller_organization,
    const std::optional<std::string>& named) {
  RETURN_IF_ERROR(RequireCompleted(procedure, "Procedure",
                                   "a recorded medication reconciliation"));
  const json* code = Member(procedure, "code");
  if (code == nullptr ||
      !HasCoding(*code, kSnomedSystem, kMedicationReconciliationCode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Procedure.code: required, a coding ", kSnomedSystem, "|",
        kMedicationReconciliationCode,
        " (Medication reconciliation (procedure)); Caseline records no other "
        "procedure"));
  }
  if (Member(procedure, "performedPeriod") != nullptr ||
      Member(procedure, "performedString") != nullptr ||
      Member(procedure, "performedAge") != nullptr ||
      Member(procedure, "performedRange") != nullptr) {
    return absl::InvalidArgumentError(
        "Procedure.performed[x]: a performedDateTime (when it was done)");
  }
  TransitionWrite write;
  write.resource_type = "Procedure";
  ASSIGN_OR_RETURN(write.fields.client_id, ClientOf(procedure, "Procedure"));
  ASSIGN_OR_RETURN(std::optional<std::string> admission,
                   AdmissionOf(procedure, "Procedure", write.fields.client_id));
  v1::MedicationReconciliationRecorded* e =
      write.fields.event.mutable_medication_reconciliation_recorded();
  if (admission.has_value()) e->set_admission_id(*admission);
  if (const json* performers = Member(procedure, "performer");
      performers != nullptr) {
    if (!performers->is_array() || performers->size() > 1) {
      return absl::InvalidArgumentError(
          "Procedure.performer: at most one (the acting organisation, with "
          "the discipline as function)");
    }
    if (!performers->empty()) {
      const json& performer = (*performers)[0];
      if (const json* function = Member(performer, "function");
          function != nullptr) {
        ASSIGN_OR_RETURN(
            v1::Discipline discipline,
            ValueOf<v1::Discipline>(*function, "Procedure.performer.function"));
        e->set_performer_discipline(discipline);
      }
      if (const json* actor = Member(performer, "actor"); actor != nullptr) {
        RETURN_IF_ERROR(RequireCaller(*actor, "Procedure.performer.actor",
                                      "performer", caller_organization));
      }
    }
  }
  RETURN_IF_ERROR(
      SetOccurred(procedure, "Procedure", "performedDateTime", write.fields));
  ASSIGN_OR_RETURN(std::string id, IdOf(procedure, "Procedure",
                                        kMedicationReconciliationIdSystem,
                                        named, "reconciliation"));
  e->set_reconciliation_id(id);
  write.fields.command_id = absl::StrCat("fhir:Procedure:", id);
  write.logical_id = EncodeId({write.fields.client_id, id});
  return write;
}

}  // namespace caseline::server::fhir
