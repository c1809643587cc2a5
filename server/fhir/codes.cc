#include "server/fhir/codes.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "caseline/v1/care_events.pb.h"
#include "server/fhir/fhir_common.h"

namespace caseline::server::fhir {
namespace {

using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;

struct StandardCode {
  const EnumDescriptor* type;
  int value;
  const char* system;
  const char* code;
  const char* display;
};

constexpr char kActReason[] =
    "http://terminology.hl7.org/CodeSystem/v3-ActReason";
constexpr char kActCode[] = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
constexpr char kSdoh[] =
    "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/"
    "SDOHCC-CodeSystemTemporaryCodes";
constexpr char kOrganizationType[] =
    "http://terminology.hl7.org/CodeSystem/organization-type";

// The standard codes Caseline's values map to (one at most per value).
const std::vector<StandardCode>& StandardCodes() {
  static const auto* const codes = [] {
    const EnumDescriptor* purpose = v1::PurposeOfUse_descriptor();
    const EnumDescriptor* data = v1::DataClass_descriptor();
    const EnumDescriptor* category = v1::ServiceCategory_descriptor();
    const EnumDescriptor* org = v1::OrganizationType_descriptor();
    return new std::vector<StandardCode>{
        {purpose, v1::PURPOSE_OF_USE_TREATMENT, kActReason, "TREAT", "treatment"},
        {purpose, v1::PURPOSE_OF_USE_CARE_COORDINATION, kActReason, "CAREMGT",
         "care management"},
        {purpose, v1::PURPOSE_OF_USE_PAYMENT, kActReason, "HPAYMT",
         "healthcare payment"},
        {purpose, v1::PURPOSE_OF_USE_OPERATIONS, kActReason, "HOPERAT",
         "healthcare operations"},
        {purpose, v1::PURPOSE_OF_USE_EMERGENCY_TREATMENT, kActReason, "ETREAT",
         "emergency treatment"},
        {purpose, v1::PURPOSE_OF_USE_LEGAL, kActReason, "HLEGAL", "legal"},
        {purpose, v1::PURPOSE_OF_USE_RESEARCH, kActReason, "HRESCH",
         "healthcare research"},
        {data, v1::DATA_CLASS_MENTAL_HEALTH, kActCode, "MH",
         "mental health information sensitivity"},
        {data, v1::DATA_CLASS_SUBSTANCE_USE_PART2, kActCode, "ETH",
         "substance abuse information sensitivity"},
        {data, v1::DATA_CLASS_HIV, kActCode, "HIV",
         "HIV/AIDS information sensitivity"},
        {category, v1::SERVICE_CATEGORY_HOUSING, kSdoh, "housing-instability",
         "Housing Instability"},
        {category, v1::SERVICE_CATEGORY_FOOD, kSdoh, "food-insecurity",
         "Food Insecurity"},
        {category, v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, kSdoh,
         "financial-insecurity", "Financial Insecurity"},
        {category, v1::SERVICE_CATEGORY_TRANSPORTATION, kSdoh,
         "transportation-insecurity", "Transportation Insecurity"},
        {category, v1::SERVICE_CATEGORY_EDUCATION, kSdoh,
         "educational-attainment", "Educational Attainment"},
        {category, v1::SERVICE_CATEGORY_EMPLOYMENT, kSdoh, "employment-status",
         "Employment Status"},
        {category, v1::SERVICE_CATEGORY_DOMESTIC_VIOLENCE, kSdoh,
         "intimate-partner-violence", "Intimate Partner Violence"},
        {org, v1::ORGANIZATION_TYPE_HOSPITAL, kOrganizationType, "prov",
         "Healthcare Provider"},
        {org, v1::ORGANIZATION_TYPE_PAYER, kOrganizationType, "pay", "Payer"},
        {org, v1::ORGANIZATION_TYPE_SCHOOL, kOrganizationType, "edu",
         "Educational Institute"},
        {org, v1::ORGANIZATION_TYPE_COURT_PAROLE, kOrganizationType, "govt",
         "Government"},
        {org, v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY, kOrganizationType, "cg",
         "Community Group"},
    };
  }();
  return *codes;
}

const StandardCode* StandardOf(const EnumDescriptor* type, int value) {
  for (const StandardCode& code : StandardCodes()) {
    if (code.type == type && code.value == value) return &code;
  }
  return nullptr;
}

// "SERVICE_CATEGORY_" for ServiceCategory: the shared prefix of its values.
std::string PrefixOf(const EnumDescriptor* type) {
  return absl::StrCat(
      absl::AsciiStrToUpper(absl::StrReplaceAll(
          SystemOf(type).substr(sizeof(kCaselineSystemPrefix) - 1),
          {{"-", "_"}})),
      "_");
}

// "In home care" for SERVICE_CATEGORY_IN_HOME_CARE.
std::string DisplayOf(const EnumDescriptor* type, int value) {
  std::string code = CodeOf(type, value);
  absl::StrReplaceAll({{"-", " "}}, &code);
  if (!code.empty()) code[0] = absl::ascii_toupper(code[0]);
  return code;
}

}  // namespace

std::string SystemOf(const EnumDescriptor* type) {
  // ServiceCategory -> service-category.
  std::string name;
  for (char c : type->name()) {
    if (absl::ascii_isupper(c) && !name.empty()) name += '-';
    name += absl::ascii_tolower(c);
  }
  return absl::StrCat(kCaselineSystemPrefix, name);
}

std::string CodeOf(const EnumDescriptor* type, int value) {
  const EnumValueDescriptor* v = type->FindValueByNumber(value);
  if (v == nullptr || value == 0) return "";
  std::string name = v->name();
  const std::string prefix = PrefixOf(type);
  if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(absl::StrReplaceAll(name, {{"_", "-"}}));
}

nlohmann::json CaselineCoding(const EnumDescriptor* type, int value) {
  // The unspecified value (0) is the code "unspecified": FHIR has no empty
  // codes.
  const std::string code = CodeOf(type, value);
  return {{"system", SystemOf(type)},
          {"code", code.empty() ? "unspecified" : code},
          {"display", code.empty() ? "Unspecified" : DisplayOf(type, value)}};
}

nlohmann::json Concept(const EnumDescriptor* type, int value) {
  nlohmann::json codeable = {
      {"coding", nlohmann::json::array({CaselineCoding(type, value)})},
      {"text", CodeOf(type, value).empty() ? "Unspecified"
                                           : DisplayOf(type, value)}};
  if (const StandardCode* standard = StandardOf(type, value)) {
    codeable["coding"].push_back({{"system", standard->system},
                                 {"code", standard->code},
                                 {"display", standard->display}});
  }
  return codeable;
}

nlohmann::json StandardCoding(const EnumDescriptor* type, int value) {
  if (const StandardCode* standard = StandardOf(type, value)) {
    return {{"system", standard->system},
            {"code", standard->code},
            {"display", standard->display}};
  }
  return CaselineCoding(type, value);
}

absl::StatusOr<int> ValueOf(const EnumDescriptor* type,
                            const nlohmann::json& coding_or_concept,
                            absl::string_view field) {
  std::vector<const nlohmann::json*> codings;
  if (coding_or_concept.is_object() && coding_or_concept.contains("coding") &&
      coding_or_concept["coding"].is_array()) {
    for (const nlohmann::json& c : coding_or_concept["coding"]) {
      codings.push_back(&c);
    }
  } else if (coding_or_concept.is_object()) {
    codings.push_back(&coding_or_concept);
  }
  const std::string caseline = SystemOf(type);
  for (const nlohmann::json* coding : codings) {
    if (!coding->is_object() || !coding->contains("system") ||
        !coding->contains("code") || !(*coding)["system"].is_string() ||
        !(*coding)["code"].is_string()) {
      continue;
    }
    const std::string system = (*coding)["system"].get<std::string>();
    const std::string code = (*coding)["code"].get<std::string>();
    if (system == caseline) {
      for (int i = 1; i < type->value_count(); ++i) {
        const int number = type->value(i)->number();
        if (CodeOf(type, number) == code) return number;
      }
      continue;
    }
    int found = -1;
    int matches = 0;
    for (const StandardCode& standard : StandardCodes()) {
      if (standard.type == type && system == standard.system &&
          code == standard.code) {
        found = standard.value;
        ++matches;
      }
    }
    if (matches == 1) return found;
  }
  std::vector<std::string> accepted;
  for (int i = 1; i < type->value_count(); ++i) {
    accepted.push_back(CodeOf(type, type->value(i)->number()));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": a coding of system ", caseline, " (one of ",
      absl::StrJoin(accepted, ", "),
      ") or of the standard system docs/fhir.md maps"));
}

}  // namespace caseline::server::fhir
