// The standard codes of the care record's Encounters (docs/fhir.md "Code
// systems"): the HL7 encounter class for a level of care, and the HL7
// discharge disposition for Caseline's. Both are many-to-one (Caseline's
// enums are finer), so every resource also carries Caseline's own coding
// (codes.h), which is what a write is read from first.
#ifndef CASELINE_SERVER_FHIR_CARE_CODES_H_
#define CASELINE_SERVER_FHIR_CARE_CODES_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "caseline/v1/care_events.pb.h"
#include "nlohmann/json.hpp"

namespace caseline::server::fhir {

inline constexpr char kActCodeSystem[] =
    "http://terminology.hl7.org/CodeSystem/v3-ActCode";
inline constexpr char kDischargeDispositionSystem[] =
    "http://terminology.hl7.org/CodeSystem/discharge-disposition";

// Encounter.class (a Coding of v3-ActCode, the R4 ActEncounterCode value
// set): IMP inpatient, EMER emergency department, NONAC residential and
// skilled nursing, AMB partial hospitalisation and (intensive) outpatient,
// HH home, FLD incarceration, community and shelter; v3-NullFlavor UNK for
// an unspecified level.
nlohmann::json EncounterClassOf(v1::LevelOfCare level);

// Encounter.hospitalization.dischargeDisposition: the discharge-disposition
// coding (home, other-hcf, aadvice, exp, alt-home, oth), Caseline's coding
// and text.
nlohmann::json DischargeDispositionOf(v1::DischargeDisposition disposition);

// The level of care an Encounter names: a Caseline level-of-care coding in
// Encounter.type or Encounter.class, else the class's v3-ActCode (IMP and
// ACUTE: inpatient; EMER: emergency department; NONAC: residential; AMB:
// outpatient; HH: home; FLD: community). INVALID_ARGUMENT naming
// "Encounter.class" when neither gives one.
absl::StatusOr<v1::LevelOfCare> LevelOfCareOf(const nlohmann::json& encounter);

// The disposition `codeable` (Encounter.hospitalization.dischargeDisposition)
// names: its Caseline coding, else its discharge-disposition code (home:
// home; other-hcf, hosp, long, psy, rehab, snf: transfer; aadvice: against
// medical advice; exp: deceased; alt-home, oth: other). INVALID_ARGUMENT
// naming `field` otherwise.
absl::StatusOr<v1::DischargeDisposition> DischargeDispositionFrom(
    const nlohmann::json& codeable, absl::string_view field);

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_CARE_CODES_H_
