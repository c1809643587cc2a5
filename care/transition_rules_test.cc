// The care transition rules (transition_rules.cc): admissions, discharges,
// planned and completed transitions, follow-ups.
#include <string>

#include "care/care_decision.h"
#include "care/decision_test_util.h"
#include "gtest/gtest.h"

namespace caseline::care::test {
namespace {

using C = absl::StatusCode;

// c1 registered and its case opened by org-hospital.
class TransitionRulesTest : public DecisionTest {
 protected:
  void Background() override { GivenRegisteredOpenCase(); }
};

v1::CareEvent FollowUp(const std::string& id,
                       const std::string& transition_id) {
  v1::CareEvent e;
  v1::FollowUpCompleted* f = e.mutable_follow_up_completed();
  f->set_follow_up_id(id);
  f->set_transition_id(transition_id);
  f->set_provider_organization_id("org-housing");
  f->set_contact_kind(v1::CONTACT_KIND_PHONE);
  f->set_provider_discipline(v1::DISCIPLINE_NURSING);
  return e;
}

TEST_F(TransitionRulesTest, AdmissionsAndTransitionsFollowTheirLifecycle) {
  const Command admitted = {"org-hospital", Admission("a1")};
  const Command discharged = {"org-hospital", Discharge("a1")};
  const Command planned = {"org-hospital", Planned("t1", "org-housing")};
  const Command completed = {"org-hospital", TransitionDone("t1")};
  v1::CareEvent no_receiver = Planned("t1", "");
  v1::CareEvent after_admission = Planned("t1", "org-housing");
  after_admission.mutable_transition_planned()->set_admission_id("a9");
  const RuleCase cases[] = {
      {"a transition without a receiver",
       {},
       {"org-hospital", no_receiver},
       C::kInvalidArgument,
       {"transition_planned.to_organization_id: a transition needs a "
        "receiving organisation"}},
      {"a transition", {}, planned, C::kOk},
      {"a transition id already used",
       {planned},
       planned,
       C::kAlreadyExists,
       {"transition t1 already exists for client c1; choose a new id"}},
      {"a transition after an unknown admission",
       {},
       {"org-hospital", after_admission},
       C::kNotFound,
       {"client c1 has no admission a9"}},
      {"an admission to an unregistered facility",
       {},
       {"org-hospital", Admission("a1", "nowhere-org")},
       C::kNotFound,
       {"admission_recorded.facility_organization_id: organisation "
        "nowhere-org is not registered"}},
      {"a discharge from no admission",
       {},
       {"org-hospital", Discharge("adm-none")},
       C::kNotFound,
       {"client c1 has no admission adm-none"}},
      {"a discharge", {admitted}, discharged, C::kOk},
      {"a discharge twice",
       {admitted, discharged},
       discharged,
       C::kFailedPrecondition,
       {"discharge needs an open admission: admission a1 of client c1 was "
        "already discharged"}},
      {"completing an unplanned transition",
       {},
       completed,
       C::kNotFound,
       {"client c1 has no planned transition t1"}},
      {"completing a planned transition", {planned}, completed, C::kOk},
      {"completing it twice",
       {planned, completed},
       completed,
       C::kFailedPrecondition,
       {"transition t1 of client c1 is already completed"}},
      {"a follow-up after an unknown transition",
       {},
       {"org-hospital", FollowUp("f1", "t1")},
       C::kNotFound,
       {"client c1 has no planned transition t1"}},
      {"a follow-up",
       {planned},
       {"org-hospital", FollowUp("f1", "t1")},
       C::kOk},
      {"a follow-up twice",
       {planned, {"org-hospital", FollowUp("f1", "t1")}},
       {"org-hospital", FollowUp("f1", "t1")},
       C::kAlreadyExists,
       {"follow-up f1 is already recorded for client c1"}},
  };
  ExpectCases(cases);
}

}  // namespace
}  // namespace caseline::care::test
