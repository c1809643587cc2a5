// The care plan: needs assessments and SMART goals with their progress and
// status.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "care/event_rules.h"
#include "care/event_summary.h"
#include "care/rule_checks.h"

namespace caseline::care::rules {
namespace {

// --- AssessmentRecorded ------------------------------------------------------

absl::Status CheckAssessed(const v1::CareEvent& event) {
  const auto& e = event.assessment_recorded();
  RETURN_IF_ERROR(
      CheckId(e.assessment_id(), "assessment_recorded.assessment_id"));
  if (e.domains().empty()) {
    return Invalid("assessment_recorded.domains", "assess at least one domain");
  }
  for (int i = 0; i < e.domains_size(); ++i) {
    const std::string f = absl::StrCat("assessment_recorded.domains[", i, "]");
    RETURN_IF_ERROR(CheckEnum(e.domains(i).domain(),
                              v1::ServiceCategory_IsValid,
                              absl::StrCat(f, ".domain"), true));
    RETURN_IF_ERROR(CheckEnum(e.domains(i).need_level(), v1::NeedLevel_IsValid,
                              absl::StrCat(f, ".need_level"), true));
  }
  return absl::OkStatus();
}

absl::Status DecideAssessed(const RuleInput& input, v1::CareEvent* event) {
  const std::string& id = event->assessment_recorded().assessment_id();
  if (input.record.assessment_ids.count(id) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("assessment ", id, " already exists for client ",
                     input.record.client_id, "; choose a new id"));
  }
  return absl::OkStatus();
}

std::string SummarizeAssessed(const v1::CareEvent& event) {
  const auto& e = event.assessment_recorded();
  std::vector<std::string> domains;
  for (const auto& d : e.domains()) {
    domains.push_back(absl::StrCat(
        CategoryWord(d.domain()), " ",
        EnumWord(v1::NeedLevel_Name(d.need_level()), "NEED_LEVEL_")));
  }
  return absl::StrCat("assessment ", e.assessment_id(), ": ",
                      absl::StrJoin(domains, ", "));
}

// --- GoalSet -----------------------------------------------------------------

absl::Status CheckGoalSet(const v1::CareEvent& event) {
  const auto& e = event.goal_set();
  RETURN_IF_ERROR(CheckId(e.goal_id(), "goal_set.goal_id"));
  RETURN_IF_ERROR(CheckEnum(e.domain(), v1::ServiceCategory_IsValid,
                            "goal_set.domain", true));
  RETURN_IF_ERROR(CheckText(e.description(), "goal_set.description", true));
  // SMART: measurable and time-bound.
  RETURN_IF_ERROR(CheckText(e.measure(), "goal_set.measure", true));
  if (!e.has_target_date()) {
    return Invalid("goal_set.target_date",
                   "is required (a SMART goal is time-bound)");
  }
  return CheckDate(e.target_date(), "goal_set.target_date");
}

absl::Status DecideGoalSet(const RuleInput& input, v1::CareEvent* event) {
  return RequireNew(input.record.goals, event->goal_set().goal_id(), "goal",
                    input.record.client_id);
}

std::string SummarizeGoalSet(const v1::CareEvent& event) {
  return absl::StrCat("goal ", event.goal_set().goal_id(), " set (",
                      CategoryWord(event.goal_set().domain()),
                      "): ", event.goal_set().description());
}

// --- GoalProgressRecorded ----------------------------------------------------

absl::Status CheckProgress(const v1::CareEvent& event) {
  const auto& e = event.goal_progress_recorded();
  RETURN_IF_ERROR(CheckId(e.goal_id(), "goal_progress_recorded.goal_id"));
  if (e.percent_achieved() < 0 || e.percent_achieved() > 100) {
    return Invalid("goal_progress_recorded.percent_achieved", "must be 0..100");
  }
  return CheckText(e.note(), "goal_progress_recorded.note", false);
}

absl::Status DecideProgress(const RuleInput& input, v1::CareEvent* event) {
  return RequireKnown(input.record.goals,
                      event->goal_progress_recorded().goal_id(), "goal",
                      input.record.client_id)
      .status();
}

std::string SummarizeProgress(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("goal ", event.goal_progress_recorded().goal_id(), " at ",
                   event.goal_progress_recorded().percent_achieved(), "%"),
      event.goal_progress_recorded().note());
}

// --- GoalStatusChanged -------------------------------------------------------

absl::Status CheckGoalStatus(const v1::CareEvent& event) {
  RETURN_IF_ERROR(CheckId(event.goal_status_changed().goal_id(),
                          "goal_status_changed.goal_id"));
  return CheckEnum(event.goal_status_changed().status(), v1::GoalStatus_IsValid,
                   "goal_status_changed.status", true);
}

absl::Status DecideGoalStatus(const RuleInput& input, v1::CareEvent* event) {
  return RequireKnown(input.record.goals,
                      event->goal_status_changed().goal_id(), "goal",
                      input.record.client_id)
      .status();
}

std::string SummarizeGoalStatus(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat(
          "goal ", event.goal_status_changed().goal_id(), " ",
          EnumWord(v1::GoalStatus_Name(event.goal_status_changed().status()),
                   "GOAL_STATUS_")),
      event.goal_status_changed().reason());
}

constexpr EventRules kRules[] = {
    {.event = v1::CareEvent::kAssessmentRecorded,
     .check_fields = CheckAssessed,
     .decide = DecideAssessed,
     .summarize = SummarizeAssessed},
    {.event = v1::CareEvent::kGoalSet,
     .check_fields = CheckGoalSet,
     .decide = DecideGoalSet,
     .summarize = SummarizeGoalSet},
    {.event = v1::CareEvent::kGoalProgressRecorded,
     .check_fields = CheckProgress,
     .decide = DecideProgress,
     .summarize = SummarizeProgress},
    {.event = v1::CareEvent::kGoalStatusChanged,
     .check_fields = CheckGoalStatus,
     .decide = DecideGoalStatus,
     .summarize = SummarizeGoalStatus},
};

}  // namespace

absl::Span<const EventRules> PlanRules() { return kRules; }

}  // namespace caseline::care::rules
