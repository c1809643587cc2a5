// Writing an Encounter (docs/fhir.md "Writes"): a FHIR Encounter posted or
// put by a hospital becomes Caseline's RecordAdmission or RecordDischarge
// command, so every rule of those commands applies. Pure functions: the
// endpoint sends the request (as the caller) and answers with its result.
#ifndef CASELINE_SERVER_FHIR_ENCOUNTER_WRITES_H_
#define CASELINE_SERVER_FHIR_ENCOUNTER_WRITES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "caseline/v1/care_record.pb.h"
#include "nlohmann/json.hpp"

namespace caseline::server::fhir {

// What an Encounter write asks for: exactly one of the two requests.
struct EncounterWrite {
  enum class Kind { kAdmission, kDischarge };
  Kind kind = Kind::kAdmission;
  std::string client_id;
  std::string admission_id;
  // False when the admission id was generated (the Encounter had no
  // identifier): a retry of such a POST records a second admission.
  bool admission_id_given = false;
  v1::RecordAdmissionRequest admission;  // kind kAdmission
  v1::RecordDischargeRequest discharge;  // kind kDischarge
};

// POST Encounter. Encounter.status:
//   - "in-progress" or "arrived": an admission. The admission id is
//     identifier[system urn:caseline:admission-id].value, else the first
//     identifier's value, else "adm-" and 16 random hex digits; the client
//     is subject (Patient/<id>), the facility serviceProvider
//     (Organization/<id>), the level of care Encounter.type's Caseline
//     coding or Encounter.class (care_codes.h), the primary need the first
//     reasonCode naming a service category, occurred_at period.start.
//   - "finished": the discharge of the existing admission the identifier
//     names (required), with hospitalization.dischargeDisposition and
//     occurred_at period.end.
// command_id is "fhir:Encounter:<admission id>:admit" or ":discharge", so a
// retried write with the same identifier writes nothing new.
// INVALID_ARGUMENT naming the FHIR element ("Encounter.subject: ...").
absl::StatusOr<EncounterWrite> EncounterPost(const nlohmann::json& encounter);

// PUT Encounter/<id> with id "<client>..<admission>" (fhir_common.h
// EncodeId): as EncounterPost with the client and admission from the id
// (subject and an admission-id identifier, when given, must agree):
// "finished" discharges the admission, "in-progress"/"arrived" records it
// (an update that creates). NOT_FOUND for an id that is not an Encounter's;
// INVALID_ARGUMENT as EncounterPost, and when the body's id, subject or
// identifier disagree with the URL's id.
absl::StatusOr<EncounterWrite> EncounterPut(absl::string_view id,
                                            const nlohmann::json& encounter);

// The command id of an Encounter write of `admission_id`.
std::string EncounterCommandId(absl::string_view admission_id,
                               EncounterWrite::Kind kind);

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_ENCOUNTER_WRITES_H_
