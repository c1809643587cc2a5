#include "server/fhir/care_codes.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/fhir/codes.h"

namespace caseline::server::fhir {
namespace {

constexpr char kNullFlavor[] =
    "http://terminology.hl7.org/CodeSystem/v3-NullFlavor";

struct Code {
  const char* code;
  const char* display;
};

Code ClassCodeOf(v1::LevelOfCare level) {
  switch (level) {
    case v1::LEVEL_OF_CARE_INPATIENT:
    case v1::LEVEL_OF_CARE_DETOX:
      return {"IMP", "inpatient encounter"};
    case v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT:
      return {"EMER", "emergency"};
    case v1::LEVEL_OF_CARE_RESIDENTIAL:
    case v1::LEVEL_OF_CARE_SKILLED_NURSING:
      return {"NONAC", "inpatient non-acute"};
    case v1::LEVEL_OF_CARE_PARTIAL_HOSPITALIZATION:
    case v1::LEVEL_OF_CARE_INTENSIVE_OUTPATIENT:
    case v1::LEVEL_OF_CARE_OUTPATIENT:
      return {"AMB", "ambulatory"};
    case v1::LEVEL_OF_CARE_HOME:
      return {"HH", "home health"};
    case v1::LEVEL_OF_CARE_INCARCERATION:
    case v1::LEVEL_OF_CARE_COMMUNITY:
    case v1::LEVEL_OF_CARE_SHELTER:
      return {"FLD", "field"};
    default:
      return {nullptr, nullptr};
  }
}

// The reverse of ClassCodeOf, one level per code (the most common one).
struct ClassLevel {
  const char* code;
  v1::LevelOfCare level;
};
constexpr ClassLevel kClassLevels[] = {
    {"IMP", v1::LEVEL_OF_CARE_INPATIENT},
    {"ACUTE", v1::LEVEL_OF_CARE_INPATIENT},
    {"EMER", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT},
    {"NONAC", v1::LEVEL_OF_CARE_RESIDENTIAL},
    {"AMB", v1::LEVEL_OF_CARE_OUTPATIENT},
    {"HH", v1::LEVEL_OF_CARE_HOME},
    {"FLD", v1::LEVEL_OF_CARE_COMMUNITY},
};

Code DispositionCodeOf(v1::DischargeDisposition disposition) {
  switch (disposition) {
    case v1::DISCHARGE_DISPOSITION_HOME:
    case v1::DISCHARGE_DISPOSITION_HOME_WITH_SERVICES:
      return {"home", "Home"};
    case v1::DISCHARGE_DISPOSITION_TRANSFER:
      return {"other-hcf", "Other healthcare facility"};
    case v1::DISCHARGE_DISPOSITION_AGAINST_MEDICAL_ADVICE:
      return {"aadvice", "Left against advice"};
    case v1::DISCHARGE_DISPOSITION_DECEASED:
      return {"exp", "Expired"};
    case v1::DISCHARGE_DISPOSITION_SHELTER:
      return {"alt-home", "Alternative home"};
    case v1::DISCHARGE_DISPOSITION_OTHER:
      return {"oth", "Other"};
    default:
      return {nullptr, nullptr};
  }
}

struct DispositionCode {
  const char* code;
  v1::DischargeDisposition disposition;
};
// alt-home reads back as OTHER: it is any residence other than the usual
// home, not only a shelter (Caseline's own coding keeps SHELTER exact).
constexpr DispositionCode kDispositionCodes[] = {
    {"home", v1::DISCHARGE_DISPOSITION_HOME},
    {"other-hcf", v1::DISCHARGE_DISPOSITION_TRANSFER},
    {"hosp", v1::DISCHARGE_DISPOSITION_TRANSFER},
    {"long", v1::DISCHARGE_DISPOSITION_TRANSFER},
    {"psy", v1::DISCHARGE_DISPOSITION_TRANSFER},
    {"rehab", v1::DISCHARGE_DISPOSITION_TRANSFER},
    {"snf", v1::DISCHARGE_DISPOSITION_TRANSFER},
    {"aadvice", v1::DISCHARGE_DISPOSITION_AGAINST_MEDICAL_ADVICE},
    {"exp", v1::DISCHARGE_DISPOSITION_DECEASED},
    {"alt-home", v1::DISCHARGE_DISPOSITION_OTHER},
    {"oth", v1::DISCHARGE_DISPOSITION_OTHER},
};

// The string member `key` of `object`, or "".
std::string StringOf(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// The codes of `type`'s system, for messages.
std::string CaselineCodes(const google::protobuf::EnumDescriptor* type) {
  std::vector<std::string> codes;
  for (int i = 0; i < type->value_count(); ++i) {
    std::string code = CodeOf(type, type->value(i)->number());
    if (!code.empty()) codes.push_back(std::move(code));
  }
  return absl::StrJoin(codes, ", ");
}

// The codings of a Coding or a CodeableConcept.
std::vector<const nlohmann::json*> CodingsOf(const nlohmann::json& value) {
  std::vector<const nlohmann::json*> codings;
  if (!value.is_object()) return codings;
  auto it = value.find("coding");
  if (it != value.end() && it->is_array()) {
    for (const nlohmann::json& c : *it) codings.push_back(&c);
  } else {
    codings.push_back(&value);
  }
  return codings;
}

}  // namespace

nlohmann::json EncounterClassOf(v1::LevelOfCare level) {
  const Code code = ClassCodeOf(level);
  if (code.code == nullptr) {
    return {{"system", kNullFlavor}, {"code", "UNK"}, {"display", "unknown"}};
  }
  return {{"system", kActCodeSystem},
          {"code", code.code},
          {"display", code.display}};
}

nlohmann::json DischargeDispositionOf(v1::DischargeDisposition disposition) {
  nlohmann::json codeable = Concept(disposition);
  const Code code = DispositionCodeOf(disposition);
  if (code.code != nullptr) {
    codeable["coding"].push_back({{"system", kDischargeDispositionSystem},
                                  {"code", code.code},
                                  {"display", code.display}});
  }
  return codeable;
}

absl::StatusOr<v1::LevelOfCare> LevelOfCareOf(const nlohmann::json& encounter) {
  const std::string caseline = SystemOf(v1::LevelOfCare_descriptor());
  auto caseline_level =
      [&](const nlohmann::json& value) -> std::optional<v1::LevelOfCare> {
    for (const nlohmann::json* coding : CodingsOf(value)) {
      if (StringOf(*coding, "system") != caseline) continue;
      absl::StatusOr<v1::LevelOfCare> level =
          ValueOf<v1::LevelOfCare>(*coding, "Encounter.type");
      if (level.ok()) return *level;
    }
    return std::nullopt;
  };
  if (auto types = encounter.find("type");
      types != encounter.end() && types->is_array()) {
    for (const nlohmann::json& type : *types) {
      if (auto level = caseline_level(type)) return *level;
    }
  }
  auto klass = encounter.find("class");
  if (klass != encounter.end()) {
    if (auto level = caseline_level(*klass)) return *level;
    if (StringOf(*klass, "system") == kActCodeSystem) {
      const std::string code = StringOf(*klass, "code");
      for (const ClassLevel& c : kClassLevels) {
        if (code == c.code) return c.level;
      }
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "Encounter.class: a coding of ", kActCodeSystem,
      " (IMP, ACUTE, EMER, NONAC, AMB, HH or FLD), or a coding of ", caseline,
      " (", CaselineCodes(v1::LevelOfCare_descriptor()),
      ") in Encounter.type or Encounter.class, gives the level of care"));
}

absl::StatusOr<v1::DischargeDisposition> DischargeDispositionFrom(
    const nlohmann::json& codeable, absl::string_view field) {
  const std::string caseline = SystemOf(v1::DischargeDisposition_descriptor());
  for (const nlohmann::json* coding : CodingsOf(codeable)) {
    if (StringOf(*coding, "system") == caseline) {
      absl::StatusOr<v1::DischargeDisposition> d =
          ValueOf<v1::DischargeDisposition>(*coding, field);
      if (d.ok()) return *d;
    }
  }
  for (const nlohmann::json* coding : CodingsOf(codeable)) {
    if (StringOf(*coding, "system") != kDischargeDispositionSystem) continue;
    const std::string code = StringOf(*coding, "code");
    for (const DispositionCode& c : kDispositionCodes) {
      if (code == c.code) return c.disposition;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": a coding of ", kDischargeDispositionSystem,
      " (home, alt-home, other-hcf, hosp, long, aadvice, exp, psy, rehab, "
      "snf, oth) or of ",
      caseline, " (", CaselineCodes(v1::DischargeDisposition_descriptor()),
      ")"));
}

}  // namespace caseline::server::fhir
