// The care team rules (care_team_rules.cc): members, the lead case manager an
// open case keeps, and team meetings.
#include <string>
#include <vector>

#include "care/care_decision.h"
#include "care/decision_test_util.h"
#include "gtest/gtest.h"

namespace caseline::care::test {
namespace {

using C = absl::StatusCode;

// c1 registered, its case opened and lead-1 made its lead case manager by
// org-hospital.
class CareTeamRulesTest : public DecisionTest {
 protected:
  void Background() override {
    GivenRegisteredOpenCase();
    Given(Member("lead-1", v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER));
  }
};

v1::CareEvent Meeting(const std::string& id,
                      const std::vector<std::string>& attendees) {
  v1::CareEvent e;
  e.mutable_team_meeting_held()->set_meeting_id(id);
  for (const std::string& a : attendees) {
    e.mutable_team_meeting_held()->add_attendee_member_ids(a);
  }
  e.mutable_team_meeting_held()->set_client_attended(true);
  return e;
}

TEST_F(CareTeamRulesTest, TheOnlyLeadCaseManagerOfAnOpenCaseStays) {
  const Command lead_2 = {
      "org-hospital", Member("lead-2", v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER)};
  const RuleCase cases[] = {
      {"the only lead",
       {},
       {"org-hospital", RemovedMember("lead-1")},
       C::kFailedPrecondition,
       {"lead case manager required: lead-1 is the only lead case manager of "
        "the open case of client c1; add another lead case manager first, or "
        "close the case"}},
      {"with a second lead the first may go",
       {lead_2},
       {"org-hospital", RemovedMember("lead-1")},
       C::kOk},
      {"then the second is the only one",
       {lead_2, {"org-hospital", RemovedMember("lead-1")}},
       {"org-hospital", RemovedMember("lead-2")},
       C::kFailedPrecondition,
       {"lead case manager required: lead-2"}},
  };
  ExpectCases(cases);
}

TEST_F(CareTeamRulesTest, MembersAndMeetings) {
  const Command m2 = {"org-hospital", Member("m2")};
  const Command m2_removed = {"org-hospital", RemovedMember("m2")};
  const RuleCase cases[] = {
      {"a member of an unregistered organisation",
       {},
       {"org-hospital",
        Member("m-1", v1::CARE_TEAM_ROLE_MEMBER, "nowhere-org")},
       C::kNotFound,
       {"care_team_member_added.organization_id: organisation nowhere-org is "
        "not registered"}},
      {"a member twice",
       {m2},
       m2,
       C::kAlreadyExists,
       {"team member m2 is already on the care team of client c1"}},
      {"a member back after leaving", {m2, m2_removed}, m2, C::kOk},
      {"removed twice",
       {m2, m2_removed},
       m2_removed,
       C::kFailedPrecondition,
       {"team member m2 was already removed"}},
      {"a meeting of current members",
       {m2},
       {"org-hospital", Meeting("meet-1", {"lead-1", "m2"})},
       C::kOk},
      {"a meeting with a former member",
       {m2, m2_removed},
       {"org-hospital", Meeting("meet-1", {"lead-1", "m2"})},
       C::kFailedPrecondition,
       {"team meeting attendees must be current team members: m2 was removed "
        "from the care team; the client attends with client_attended"}},
      {"a meeting with a stranger",
       {},
       {"org-hospital", Meeting("meet-1", {"lead-1", "m-unknown"})},
       C::kNotFound,
       {"client c1 has no team member m-unknown"}},
      {"a meeting of nobody",
       {},
       {"org-hospital", Meeting("meet-1", {})},
       C::kInvalidArgument,
       {"team_meeting_held.attendee_member_ids: a team meeting needs at least "
        "one team member"}},
      {"a meeting id already used",
       {{"org-hospital", Meeting("meet-1", {"lead-1"})}},
       {"org-hospital", Meeting("meet-1", {"lead-1"})},
       C::kAlreadyExists,
       {"team meeting meet-1 is already recorded for client c1"}},
  };
  ExpectCases(cases);
}

}  // namespace
}  // namespace caseline::care::test
