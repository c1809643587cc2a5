// The audit timeline's words for care events: a one-line summary of each
// event (written beside the event's other rules, care/<topic>_rules.cc), and
// the words of the enums and names it is made of, for other audit texts.
// Pure functions; thread-safe.
#ifndef CASELINE_CARE_EVENT_SUMMARY_H_
#define CASELINE_CARE_EVENT_SUMMARY_H_

#include <string>

#include "absl/strings/string_view.h"
#include "caseline/v1/care_events.pb.h"
#include "google/protobuf/repeated_field.h"

namespace caseline::care {

// A one-line description of a care event, e.g.
// "referral r1 sent to housing-first (housing, warm)"; "empty care event"
// when no event is set.
std::string SummarizeCareEvent(const v1::CareEvent& event);

// An enum value's name without its prefix, in lower case with spaces:
// EnumWord("SERVICE_CATEGORY_MENTAL_HEALTH", "SERVICE_CATEGORY_") is
// "mental health".
std::string EnumWord(const std::string& enum_name, absl::string_view prefix);
std::string CategoryWord(v1::ServiceCategory category);
std::string LevelWord(v1::LevelOfCare level);
std::string PurposeWord(v1::PurposeOfUse purpose);
// "substance use (Part 2)" for DATA_CLASS_SUBSTANCE_USE_PART2.
std::string DataClassWord(int data_class);
// The classes' words joined by ", ".
std::string DataClassesWords(
    const google::protobuf::RepeatedField<int>& classes);
// Given, middle and family name, those that are set, joined by spaces.
std::string NameWords(const v1::PersonName& name);
// `text`, then ": <reason>" when `reason` is not empty.
std::string WithReason(std::string text, const std::string& reason);

}  // namespace caseline::care

#endif  // CASELINE_CARE_EVENT_SUMMARY_H_
