// Caseline's enums as FHIR codings, and back (docs/fhir.md "Code systems").
//
// Every enum value is a code of its own system "urn:caseline:<enum>"
// (e.g. "urn:caseline:service-category"), its code the value's name without
// the enum's prefix, lower case, '-' for '_' (SERVICE_CATEGORY_IN_HOME_CARE ->
// "in-home-care"). Where a FHIR or HL7 code system has the concept, a second
// coding gives it (purposes of use: v3-ActReason; data classes: v3-ActCode
// sensitivity codes; SDOH domains: the Gravity SDOH category codes).
#ifndef CASELINE_SERVER_FHIR_CODES_H_
#define CASELINE_SERVER_FHIR_CODES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/generated_enum_reflection.h"
#include "nlohmann/json.hpp"

namespace caseline::server::fhir {

// "urn:caseline:service-category" for caseline.v1.ServiceCategory.
std::string SystemOf(const google::protobuf::EnumDescriptor* type);
// The code of `value` in SystemOf(type); empty for the unspecified value (0).
std::string CodeOf(const google::protobuf::EnumDescriptor* type, int value);

// {"system", "code", "display"} in Caseline's system.
nlohmann::json CaselineCoding(const google::protobuf::EnumDescriptor* type,
                              int value);
// A CodeableConcept: Caseline's coding, the standard one when there is one,
// and text.
nlohmann::json Concept(const google::protobuf::EnumDescriptor* type, int value);
// A coding alone: the standard one when there is one, else Caseline's (for
// elements of type Coding, e.g. Consent.provision.purpose).
nlohmann::json StandardCoding(const google::protobuf::EnumDescriptor* type,
                              int value);

// The enum value a Coding or CodeableConcept names: the first coding in
// Caseline's system or in the standard system this file maps. INVALID_ARGUMENT
// naming `field` and the accepted codes otherwise.
absl::StatusOr<int> ValueOf(const google::protobuf::EnumDescriptor* type,
                            const nlohmann::json& coding_or_concept,
                            absl::string_view field);

template <typename Enum>
nlohmann::json Concept(Enum value) {
  return Concept(google::protobuf::GetEnumDescriptor<Enum>(),
                 static_cast<int>(value));
}
template <typename Enum>
nlohmann::json StandardCoding(Enum value) {
  return StandardCoding(google::protobuf::GetEnumDescriptor<Enum>(),
                        static_cast<int>(value));
}
template <typename Enum>
absl::StatusOr<Enum> ValueOf(const nlohmann::json& coding_or_concept,
                             absl::string_view field) {
  absl::StatusOr<int> value =
      ValueOf(google::protobuf::GetEnumDescriptor<Enum>(), coding_or_concept,
              field);
  if (!value.ok()) return value.status();
  return static_cast<Enum>(*value);
}

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_CODES_H_
