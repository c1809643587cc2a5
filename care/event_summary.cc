#include "care/event_summary.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "care/event_rules.h"

namespace caseline::care {

std::string SummarizeCareEvent(const v1::CareEvent& event) {
  const rules::EventRules* rules = rules::FindEventRules(event.event_case());
  if (rules == nullptr) return "empty care event";
  return rules->summarize(event);
}

std::string EnumWord(const std::string& enum_name, absl::string_view prefix) {
  std::string out = absl::AsciiStrToLower(
      absl::StripPrefix(absl::string_view(enum_name), prefix));
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

std::string CategoryWord(v1::ServiceCategory category) {
  return EnumWord(v1::ServiceCategory_Name(category), "SERVICE_CATEGORY_");
}

std::string LevelWord(v1::LevelOfCare level) {
  return EnumWord(v1::LevelOfCare_Name(level), "LEVEL_OF_CARE_");
}

std::string PurposeWord(v1::PurposeOfUse purpose) {
  return EnumWord(v1::PurposeOfUse_Name(purpose), "PURPOSE_OF_USE_");
}

std::string DataClassWord(int data_class) {
  if (data_class == v1::DATA_CLASS_SUBSTANCE_USE_PART2) {
    return "substance use (Part 2)";
  }
  return EnumWord(v1::DataClass_Name(static_cast<v1::DataClass>(data_class)),
                  "DATA_CLASS_");
}

std::string DataClassesWords(
    const google::protobuf::RepeatedField<int>& classes) {
  std::vector<std::string> words;
  for (int c : classes) words.push_back(DataClassWord(c));
  return absl::StrJoin(words, ", ");
}

std::string NameWords(const v1::PersonName& name) {
  std::vector<std::string> parts;
  for (const std::string* p : {&name.given(), &name.middle(), &name.family()}) {
    if (!p->empty()) parts.push_back(*p);
  }
  return absl::StrJoin(parts, " ");
}

std::string WithReason(std::string text, const std::string& reason) {
  if (!reason.empty()) absl::StrAppend(&text, ": ", reason);
  return text;
}

}  // namespace caseline::care
