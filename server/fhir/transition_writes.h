// Writing the Transitions of Care (HEDIS TRC) events (docs/fhir.md
// "Communication and Procedure"): a Communication posted by an organisation
// that received an admission notification or discharge information becomes
// Caseline's RecordAdmissionNotification or RecordDischargeInformation
// command, a Procedure (SNOMED CT 430193006) RecordMedicationReconciliation,
// so every rule of those commands applies. Pure functions: the endpoint
// sends the command (as the caller) and answers with its result.
#ifndef CASELINE_SERVER_FHIR_TRANSITION_WRITES_H_
#define CASELINE_SERVER_FHIR_TRANSITION_WRITES_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "care/command_catalog.h"
#include "nlohmann/json.hpp"

namespace caseline::server::fhir {

// A Transitions of Care write: the command and the resource it makes.
struct TransitionWrite {
  care::CommandFields fields;
  std::string resource_type;  // "Communication" or "Procedure"
  std::string logical_id;     // the resource's id once recorded
};

// POST Communication. Required: status "completed"; a category coding
// urn:caseline:event-type|AdmissionNotificationReceived or
// |DischargeInformationReceived (which event); subject (Patient/<id>);
// encounter (Encounter/<client>..<admission>, the same client). Optional:
// received (occurred_at; default now); recipient, exactly one reference to
// the caller's Organization (PERMISSION_DENIED for another organisation:
// the acting organisation is the recipient). The event's id is the
// identifier of the kind's system (urn:caseline:admission-notification-id,
// urn:caseline:discharge-information-id), else the first identifier's
// value, else `named` (If-None-Exist), else "notification-"/"receipt-" and
// 16 random hex digits. command_id "fhir:Communication:notification:<id>" or
// "fhir:Communication:receipt:<id>". INVALID_ARGUMENT naming the element.
absl::StatusOr<TransitionWrite> CommunicationCommandOf(
    const nlohmann::json& communication, absl::string_view caller_organization,
    const std::optional<std::string>& named);

// POST Procedure: a medication reconciliation. Required: status "completed";
// code with SNOMED CT 430193006; subject. Optional: encounter (the admission
// it follows, the same client); performedDateTime (occurred_at; default
// now); performer, at most one: function the discipline (a
// urn:caseline:discipline coding), actor the caller's Organization
// (PERMISSION_DENIED for another). The id: identifier of system
// urn:caseline:medication-reconciliation-id, else the first identifier's
// value, else `named`, else "reconciliation-" and 16 random hex digits;
// command_id "fhir:Procedure:<id>".
absl::StatusOr<TransitionWrite> ProcedureCommandOf(
    const nlohmann::json& procedure, absl::string_view caller_organization,
    const std::optional<std::string>& named);

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_TRANSITION_WRITES_H_
