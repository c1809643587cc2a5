// The care transition rules (transition_rules.cc): admissions, discharges,
// planned and completed transitions, follow-ups, and the TRC events
// (admission notification, discharge information, medication
// reconciliation).
#include <string>

#include "care/care_decision.h"
#include "care/continuity_test_util.h"
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

// The TRC events' builders are the continuity tests' own.
using continuity_testing::Notification;
using continuity_testing::Receipt;
using continuity_testing::Reconciliation;

TEST_F(TransitionRulesTest, TransitionsOfCareEventsNameAKnownAdmission) {
  const Command admitted = {"org-hospital", Admission("a1")};
  const Command notified = {"org-hospital", Notification("n1", "a1")};
  const Command received = {"org-hospital", Receipt("i1", "a1")};
  const Command reconciled = {"org-hospital", Reconciliation("m1", "a1")};
  const RuleCase cases[] = {
      {"a notification without an admission",
       {},
       {"org-hospital", Notification("n1", "")},
       C::kInvalidArgument,
       {"admission_notification_received.admission_id"}},
      {"a notification of an unknown admission",
       {},
       {"org-hospital", Notification("n1", "a9")},
       C::kNotFound,
       {"client c1 has no admission a9"}},
      {"a notification", {admitted}, notified, C::kOk},
      {"a notification id twice",
       {admitted, notified},
       notified,
       C::kAlreadyExists,
       {"admission notification n1 already exists for client c1"}},
      {"discharge information without an admission",
       {},
       {"org-hospital", Receipt("i1", "")},
       C::kInvalidArgument,
       {"discharge_information_received.admission_id"}},
      {"discharge information of an unknown admission",
       {},
       received,
       C::kNotFound,
       {"client c1 has no admission a1"}},
      // The discharge may be recorded after its information arrived.
      {"discharge information before the discharge is recorded",
       {admitted},
       received,
       C::kOk},
      {"a receipt id twice",
       {admitted, received},
       received,
       C::kAlreadyExists,
       {"discharge information receipt i1 already exists for client c1"}},
      {"a reconciliation without a discipline",
       {admitted},
       {"org-hospital",
        Reconciliation("m1", "a1", v1::DISCIPLINE_UNSPECIFIED)},
       C::kInvalidArgument,
       {"medication_reconciliation_recorded.performer_discipline"}},
      {"a reconciliation after an unknown admission",
       {},
       reconciled,
       C::kNotFound,
       {"client c1 has no admission a1"}},
      {"a reconciliation naming no admission",
       {},
       {"org-hospital", Reconciliation("m1", "")},
       C::kOk},
      {"a reconciliation", {admitted}, reconciled, C::kOk},
      {"a reconciliation id twice",
       {admitted, reconciled},
       reconciled,
       C::kAlreadyExists,
       {"medication reconciliation m1 already exists for client c1"}},
  };
  ExpectCases(cases);
}

}  // namespace
}  // namespace caseline::care::test
