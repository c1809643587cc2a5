#include "server/fhir/encounter_writes.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/proto_time.h"
#include "server/fhir/care_codes.h"
#include "server/fhir/codes.h"
#include "server/fhir/fhir_common.h"
#include "server/fhir/resources.h"
#include "server/fhir/writes.h"

namespace caseline::server::fhir {
namespace {

using nlohmann::json;
using Kind = EncounterWrite::Kind;

absl::Status CheckResourceType(const json& encounter) {
  if (!encounter.is_object() ||
      StringAt(encounter, "resourceType") != "Encounter") {
    return absl::InvalidArgumentError(
        "Encounter.resourceType: the body must be a FHIR Encounter "
        "(\"resourceType\": \"Encounter\")");
  }
  return absl::OkStatus();
}

absl::StatusOr<Kind> KindOf(const json& encounter) {
  const std::optional<std::string> status = StringAt(encounter, "status");
  if (status == "in-progress" || status == "arrived") return Kind::kAdmission;
  if (status == "finished") return Kind::kDischarge;
  return absl::InvalidArgumentError(absl::StrCat(
      "Encounter.status: ",
      status.has_value() ? absl::StrCat("\"", *status, "\" is not written")
                         : std::string("is required"),
      "; \"in-progress\" or \"arrived\" records an admission, \"finished\" "
      "the discharge of a recorded one"));
}

// The admission id the identifiers give: the admission-id system's, else
// the first identifier's value; nullopt when there are none.
absl::StatusOr<std::optional<std::string>> IdentifiedAdmission(
    const json& encounter) {
  const json* identifiers = Member(encounter, "identifier");
  if (identifiers == nullptr) return std::nullopt;
  if (!identifiers->is_array()) {
    return absl::InvalidArgumentError(
        "Encounter.identifier: an array of Identifiers");
  }
  std::optional<std::string> first;
  for (const json& identifier : *identifiers) {
    std::optional<std::string> value = StringAt(identifier, "value");
    if (!value.has_value()) continue;
    if (StringAt(identifier, "system") == kAdmissionIdSystem) {
      first = std::move(value);
      break;
    }
    if (!first.has_value()) first = std::move(value);
  }
  if (!first.has_value()) return std::nullopt;
  // Caseline's id rule (care/rule_checks.h) less ':', which no FHIR id can
  // hold (the Encounter's id is made of it, fhir_common.h EncodeId).
  bool ok = !first->empty() && first->size() <= 64 &&
            absl::ascii_isalnum(static_cast<unsigned char>((*first)[0]));
  for (char c : *first) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                c == '.' || c == '_' || c == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Encounter.identifier: \"", first->substr(0, 80),
        "\" is not an admission id; use 1 to 64 of A-Z a-z 0-9 . _ -, "
        "starting with a letter or digit"));
  }
  return first;
}

absl::StatusOr<std::string> ClientOf(const json& encounter) {
  const json* subject = Member(encounter, "subject");
  if (subject == nullptr) {
    return absl::InvalidArgumentError(
        "Encounter.subject: is required, a reference to the client's "
        "Patient, e.g. {\"reference\": \"Patient/<id>\"}");
  }
  ASSIGN_OR_RETURN(std::string id,
                   ReferencedId(*subject, "Patient", "Encounter.subject"));
  absl::StatusOr<std::vector<std::string>> parts = DecodeId(id, 1);
  if (!parts.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Encounter.subject: \"Patient/", id,
        "\" is not a Patient of this server (ids as docs/fhir.md \"Logical "
        "ids\" writes them)"));
  }
  return (*parts)[0];
}

// The time `period.<end>` gives, into `request`'s occurred_at; left unset
// (the server's now) without one.
template <typename Request>
absl::Status SetOccurred(const json& encounter, const char* end,
                         Request& request) {
  const json* period = Member(encounter, "period");
  if (period == nullptr) return absl::OkStatus();
  const json* value = Member(*period, end);
  if (value == nullptr) return absl::OkStatus();
  const std::string field = absl::StrCat("Encounter.period.", end);
  if (!value->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": a FHIR dateTime string"));
  }
  ASSIGN_OR_RETURN(absl::Time t,
                   ParseDateTime(value->get<std::string>(), field));
  care::SetTimestamp(t, request.mutable_occurred_at());
  return absl::OkStatus();
}

// The first reasonCode naming a service category (Caseline's coding or a
// Gravity SDOH category, codes.h); a reason Caseline has no category for
// (e.g. a diagnosis) names no need. A Caseline service-category coding with
// an unknown code is an error.
absl::StatusOr<v1::ServiceCategory> PrimaryNeedOf(const json& encounter) {
  const json* reasons = Member(encounter, "reasonCode");
  if (reasons == nullptr) return v1::SERVICE_CATEGORY_UNSPECIFIED;
  if (!reasons->is_array()) {
    return absl::InvalidArgumentError(
        "Encounter.reasonCode: an array of CodeableConcepts");
  }
  const std::string caseline = SystemOf(v1::ServiceCategory_descriptor());
  for (const json& reason : *reasons) {
    absl::StatusOr<v1::ServiceCategory> need =
        ValueOf<v1::ServiceCategory>(reason, "Encounter.reasonCode");
    if (need.ok()) return *need;
    if (const json* codings = Member(reason, "coding");
        codings != nullptr && codings->is_array()) {
      for (const json& coding : *codings) {
        if (StringAt(coding, "system") == caseline) return need.status();
      }
    }
  }
  return v1::SERVICE_CATEGORY_UNSPECIFIED;
}

absl::StatusOr<EncounterWrite> Admission(const json& encounter,
                                         std::string client_id,
                                         std::string admission_id, bool given) {
  EncounterWrite write;
  write.kind = Kind::kAdmission;
  write.client_id = std::move(client_id);
  write.admission_id = std::move(admission_id);
  write.admission_id_given = given;
  const json* provider = Member(encounter, "serviceProvider");
  if (provider == nullptr) {
    return absl::InvalidArgumentError(
        "Encounter.serviceProvider: is required, the admitting facility, "
        "e.g. {\"reference\": \"Organization/<id>\"}");
  }
  ASSIGN_OR_RETURN(
      std::string facility_id,
      ReferencedId(*provider, "Organization", "Encounter.serviceProvider"));
  absl::StatusOr<std::vector<std::string>> facility_parts =
      DecodeId(facility_id, 1);
  if (!facility_parts.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Encounter.serviceProvider: ", facility_parts.status().message()));
  }
  const std::string& facility = (*facility_parts)[0];
  ASSIGN_OR_RETURN(v1::LevelOfCare level, LevelOfCareOf(encounter));
  ASSIGN_OR_RETURN(v1::ServiceCategory need, PrimaryNeedOf(encounter));
  v1::RecordAdmissionRequest& request = write.admission;
  request.set_command_id(
      EncounterCommandId(write.admission_id, Kind::kAdmission));
  request.set_client_id(write.client_id);
  RETURN_IF_ERROR(SetOccurred(encounter, "start", request));
  v1::AdmissionRecorded& admitted = *request.mutable_admission_recorded();
  admitted.set_admission_id(write.admission_id);
  admitted.set_facility_organization_id(facility);
  admitted.set_level_of_care(level);
  admitted.set_primary_need(need);
  return write;
}

absl::StatusOr<EncounterWrite> Discharge(const json& encounter,
                                         std::string client_id,
                                         std::string admission_id) {
  EncounterWrite write;
  write.kind = Kind::kDischarge;
  write.client_id = std::move(client_id);
  write.admission_id = std::move(admission_id);
  write.admission_id_given = true;
  v1::DischargeDisposition disposition = v1::DISCHARGE_DISPOSITION_UNSPECIFIED;
  if (const json* hospitalization = Member(encounter, "hospitalization")) {
    if (const json* d = Member(*hospitalization, "dischargeDisposition")) {
      ASSIGN_OR_RETURN(
          disposition,
          DischargeDispositionFrom(
              *d, "Encounter.hospitalization.dischargeDisposition"));
    }
  }
  v1::RecordDischargeRequest& request = write.discharge;
  request.set_command_id(
      EncounterCommandId(write.admission_id, Kind::kDischarge));
  request.set_client_id(write.client_id);
  RETURN_IF_ERROR(SetOccurred(encounter, "end", request));
  v1::DischargeRecorded& discharged = *request.mutable_discharge_recorded();
  discharged.set_admission_id(write.admission_id);
  discharged.set_disposition(disposition);
  return write;
}

}  // namespace

std::string EncounterCommandId(absl::string_view admission_id,
                               EncounterWrite::Kind kind) {
  return absl::StrCat("fhir:Encounter:", admission_id,
                      kind == Kind::kAdmission ? ":admit" : ":discharge");
}

absl::StatusOr<EncounterWrite> EncounterPost(const json& encounter) {
  RETURN_IF_ERROR(CheckResourceType(encounter));
  ASSIGN_OR_RETURN(const Kind kind, KindOf(encounter));
  ASSIGN_OR_RETURN(std::string client_id, ClientOf(encounter));
  ASSIGN_OR_RETURN(std::optional<std::string> identified,
                   IdentifiedAdmission(encounter));
  if (kind == Kind::kDischarge) {
    if (!identified.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Encounter.identifier: a finished Encounter discharges a recorded "
          "admission; give its identifier (system ",
          kAdmissionIdSystem, "), or PUT Encounter/<id>"));
    }
    return Discharge(encounter, std::move(client_id), *std::move(identified));
  }
  const bool given = identified.has_value();
  std::string admission_id;
  if (given) {
    admission_id = *std::move(identified);
  } else {
    admission_id = NewId("adm");
  }
  return Admission(encounter, std::move(client_id), std::move(admission_id),
                   given);
}

absl::StatusOr<EncounterWrite> EncounterPut(absl::string_view id,
                                            const json& encounter) {
  ASSIGN_OR_RETURN(std::vector<std::string> parts, DecodeId(id, 2));
  RETURN_IF_ERROR(CheckResourceType(encounter));
  if (std::optional<std::string> body_id = StringAt(encounter, "id");
      body_id.has_value() && *body_id != id) {
    return absl::InvalidArgumentError(
        absl::StrCat("Encounter.id: \"", *body_id,
                     "\" is not the id of the URL (\"", id, "\")"));
  }
  ASSIGN_OR_RETURN(const Kind kind, KindOf(encounter));
  if (Member(encounter, "subject") != nullptr) {
    ASSIGN_OR_RETURN(std::string client_id, ClientOf(encounter));
    if (client_id != parts[0]) {
      return absl::InvalidArgumentError(
          absl::StrCat("Encounter.subject: Patient/", EncodeId({client_id}),
                       " is not the client of Encounter/", id));
    }
  }
  if (const json* identifiers = Member(encounter, "identifier");
      identifiers != nullptr && identifiers->is_array()) {
    for (const json& identifier : *identifiers) {
      if (StringAt(identifier, "system") != kAdmissionIdSystem) continue;
      if (StringAt(identifier, "value") != parts[1]) {
        return absl::InvalidArgumentError(
            absl::StrCat("Encounter.identifier: the ", kAdmissionIdSystem,
                         " identifier is not the admission of Encounter/", id));
      }
    }
  }
  if (kind == Kind::kDischarge) {
    return Discharge(encounter, std::move(parts[0]), std::move(parts[1]));
  }
  return Admission(encounter, std::move(parts[0]), std::move(parts[1]),
                   /*given=*/true);
}

}  // namespace caseline::server::fhir
