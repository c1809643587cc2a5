// The care plan rules (plan_rules.cc): assessments and SMART goals.
#include <string>

#include "care/care_decision.h"
#include "care/decision_test_util.h"
#include "gtest/gtest.h"

namespace caseline::care::test {
namespace {

using C = absl::StatusCode;

// c1 registered and its case opened by org-hospital.
class PlanRulesTest : public DecisionTest {
 protected:
  void Background() override { GivenRegisteredOpenCase(); }
};

// A SMART housing goal due 2026-02-28, changed by `change`.
template <typename Change>
v1::CareEvent Goal(const std::string& id, Change change) {
  v1::CareEvent e;
  v1::GoalSet* g = e.mutable_goal_set();
  g->set_goal_id(id);
  g->set_domain(v1::SERVICE_CATEGORY_HOUSING);
  g->set_description("Stable housing");
  g->set_measure("Signed lease");
  g->mutable_target_date()->set_year(2026);
  g->mutable_target_date()->set_month(2);
  g->mutable_target_date()->set_day(28);
  change(g);
  return e;
}
v1::CareEvent Goal(const std::string& id) {
  return Goal(id, [](v1::GoalSet*) {});
}

v1::CareEvent Progress(const std::string& goal_id, int percent) {
  v1::CareEvent e;
  e.mutable_goal_progress_recorded()->set_goal_id(goal_id);
  e.mutable_goal_progress_recorded()->set_percent_achieved(percent);
  return e;
}

TEST_F(PlanRulesTest, GoalsAreSmartAndAssessmentsNew) {
  v1::CareEvent status;
  status.mutable_goal_status_changed()->set_goal_id("g-missing");
  status.mutable_goal_status_changed()->set_status(v1::GOAL_STATUS_COMPLETED);
  v1::CareEvent no_domain;
  no_domain.mutable_assessment_recorded()->set_assessment_id("a1");
  const RuleCase cases[] = {
      {"a goal without a measure",
       {},
       {"org-hospital", Goal("g1", [](v1::GoalSet* g) { g->clear_measure(); })},
       C::kInvalidArgument,
       {"goal_set.measure: is required"}},
      {"a goal without a target date",
       {},
       {"org-hospital",
        Goal("g1", [](v1::GoalSet* g) { g->clear_target_date(); })},
       C::kInvalidArgument,
       {"goal_set.target_date: is required (a SMART goal is time-bound)"}},
      {"a target date not in the calendar",
       {},
       {"org-hospital",
        Goal("g1",
             [](v1::GoalSet* g) { g->mutable_target_date()->set_day(30); })},
       C::kInvalidArgument,
       {"goal_set.target_date: 2026-2-30 is not a calendar date"}},
      {"a SMART goal", {}, {"org-hospital", Goal("g1")}, C::kOk},
      {"a goal id already used",
       {{"org-hospital", Goal("g1")}},
       {"org-hospital", Goal("g1")},
       C::kAlreadyExists,
       {"goal g1 already exists for client c1; choose a new id"}},
      {"progress over 100%",
       {{"org-hospital", Goal("g1")}},
       {"org-hospital", Progress("g1", 101)},
       C::kInvalidArgument,
       {"goal_progress_recorded.percent_achieved: must be 0..100"}},
      {"progress",
       {{"org-hospital", Goal("g1")}},
       {"org-hospital", Progress("g1", 40)},
       C::kOk},
      {"the status of an unknown goal",
       {},
       {"org-hospital", status},
       C::kNotFound,
       {"client c1 has no goal g-missing"}},
      {"an assessment of nothing",
       {},
       {"org-hospital", no_domain},
       C::kInvalidArgument,
       {"assessment_recorded.domains: assess at least one domain"}},
      {"an assessment id already used",
       {{"org-hospital", Assessment("a1")}},
       {"org-hospital", Assessment("a1")},
       C::kAlreadyExists,
       {"assessment a1 already exists for client c1; choose a new id"}},
  };
  ExpectCases(cases);
}

}  // namespace
}  // namespace caseline::care::test
