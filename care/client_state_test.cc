// ClientStateOf's versions (views.proto, "Versions"), referral reasons and
// the list of every consent. The rest of ClientStateOf is tested with the
// audit queries (projections/audit_test.cc).
#include "care/client_state.h"

#include <string>
#include <vector>

#include "care/continuity_test_util.h"
#include "care/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::continuity_testing {
namespace {

using ::testing::ElementsAre;

// Events occur on Day(n) and are recorded an hour later, at global positions
// far from their stream versions, so a test tells version from position and
// recorded time from occurred time.
class ClientStateVersionsTest : public ::testing::Test {
 protected:
  // Applies `e`, occurred at `at`; returns its stream version.
  uint64_t Apply(const v1::CareEvent& e, absl::Time at,
                 const std::string& org = "org-hosp") {
    CareEventContext context;
    context.stream_version =
        record_.version.has_value() ? *record_.version + 1 : 0;
    context.global_position = 1000 + context.stream_version;
    context.occurred_at = at;
    context.recorded_at = Recorded(at);
    context.organization_id = org;
    record_.Apply(e, context);
    return context.stream_version;
  }
  static absl::Time Recorded(absl::Time at) { return at + absl::Hours(1); }

  ClientRecord record_{"c1"};
};

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

v1::CareEvent Registered() {
  v1::CareEvent e;
  e.mutable_client_registered()->mutable_name()->set_given("Ada");
  return e;
}

v1::CareEvent Received(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_received()->set_referral_id(id);
  return e;
}

v1::CareEvent Declined(const std::string& id, const std::string& reason) {
  v1::CareEvent e;
  e.mutable_referral_declined()->set_referral_id(id);
  e.mutable_referral_declined()->set_reason(reason);
  return e;
}

TEST_F(ClientStateVersionsTest, AnEmptyRecordHasNoVersions) {
  const v1::ClientState state = ClientStateOf(record_, Day(0));
  EXPECT_EQ(state.details_version(), 0u);
  EXPECT_FALSE(state.has_details_updated_at());
  EXPECT_EQ(state.case_version(), 0u);
  EXPECT_FALSE(state.has_case_updated_at());
  EXPECT_EQ(state.care_team_version(), 0u);
  EXPECT_FALSE(state.has_care_team_updated_at());
  EXPECT_EQ(state.consents_size(), 0);
}

TEST_F(ClientStateVersionsTest, DetailsCaseAndCareTeamVersions) {
  EXPECT_EQ(Apply(Registered(), Day(0)), 0u);
  Apply(CaseOpened(), Day(1));
  Apply(Member("m1", "org-hosp"), Day(1));
  Apply(Member("m2", "org-bh", v1::CARE_TEAM_ROLE_MEMBER), Day(2));
  // Before any correction the registration is the details' version 0, with
  // its recorded time.
  v1::ClientState state = ClientStateOf(record_, Day(2));
  EXPECT_EQ(state.details_version(), 0u);
  ASSERT_TRUE(state.has_details_updated_at());
  EXPECT_EQ(TimeOf(state.details_updated_at()), Recorded(Day(0)));
  EXPECT_EQ(state.case_version(), 1u);
  EXPECT_EQ(TimeOf(state.case_updated_at()), Recorded(Day(1)));
  EXPECT_EQ(state.care_team_version(), 3u);
  EXPECT_EQ(TimeOf(state.care_team_updated_at()), Recorded(Day(2)));
  // Each member: its CareTeamMemberAdded.
  ASSERT_EQ(state.care_team_size(), 2);
  EXPECT_EQ(state.care_team(0).version(), 2u);
  EXPECT_EQ(TimeOf(state.care_team(0).updated_at()), Recorded(Day(1)));
  EXPECT_EQ(state.care_team(1).version(), 3u);

  v1::CareEvent corrected;
  corrected.mutable_client_details_corrected()->set_phone("555-0100");
  EXPECT_EQ(Apply(corrected, Day(3)), 4u);
  state = ClientStateOf(record_, Day(3));
  EXPECT_EQ(state.details_version(), 4u);
  EXPECT_EQ(TimeOf(state.details_updated_at()), Recorded(Day(3)));

  v1::CareEvent linked;
  linked.mutable_client_records_linked()->set_other_client_id("c2");
  EXPECT_EQ(Apply(linked, Day(4)), 5u);
  EXPECT_EQ(ClientStateOf(record_, Day(4)).details_version(), 5u);
  v1::CareEvent unlinked;
  unlinked.mutable_client_records_unlinked()->set_other_client_id("c2");
  EXPECT_EQ(Apply(unlinked, Day(5)), 6u);
  EXPECT_EQ(ClientStateOf(record_, Day(5)).details_version(), 6u);

  // A removal changes the team (not the remaining member), and events of
  // other parts change none of the three.
  EXPECT_EQ(Apply(MemberRemoved("m2"), Day(6)), 7u);
  Apply(Goal("g1", v1::SERVICE_CATEGORY_HOUSING), Day(6));
  EXPECT_EQ(Apply(CaseClosed(), Day(7)), 9u);
  state = ClientStateOf(record_, Day(7));
  EXPECT_EQ(state.care_team_version(), 7u);
  EXPECT_EQ(TimeOf(state.care_team_updated_at()), Recorded(Day(6)));
  ASSERT_EQ(state.care_team_size(), 1);
  EXPECT_EQ(state.care_team(0).version(), 2u);
  EXPECT_EQ(state.case_version(), 9u);
  EXPECT_EQ(TimeOf(state.case_updated_at()), Recorded(Day(7)));
  EXPECT_EQ(state.details_version(), 6u);
  v1::CareEvent reopened;
  reopened.mutable_case_reopened();
  EXPECT_EQ(Apply(reopened, Day(8)), 10u);
  EXPECT_EQ(ClientStateOf(record_, Day(8)).case_version(), 10u);
}

TEST_F(ClientStateVersionsTest, ARevokedConsentIsListedButNotInForce) {
  Apply(Registered(), Day(0));
  Apply(Consent("k1", {"org-bh"}, {v1::DATA_CLASS_GENERAL}), Day(1));
  Apply(Consent("k2", {"org-housing"}, {v1::DATA_CLASS_GENERAL}), Day(1));
  EXPECT_EQ(Apply(Revoked("k1", Day(3)), Day(2)), 3u);

  // Before the revocation takes effect both are in force.
  v1::ClientState state = ClientStateOf(record_, Day(2));
  ASSERT_EQ(state.consents_in_force_size(), 2);
  ASSERT_EQ(state.consents_size(), 2);
  EXPECT_EQ(state.consents_in_force(0).SerializeAsString(),
            state.consents(0).SerializeAsString());

  state = ClientStateOf(record_, Day(4));
  ASSERT_EQ(state.consents_in_force_size(), 1);
  EXPECT_EQ(state.consents_in_force(0).consent_id(), "k2");
  EXPECT_EQ(state.consents_in_force(0).version(), 2u);
  EXPECT_EQ(TimeOf(state.consents_in_force(0).updated_at()),
            Recorded(Day(1)));
  // Every consent, in id order, the revoked one with its revocation.
  ASSERT_EQ(state.consents_size(), 2);
  const v1::ConsentView& k1 = state.consents(0);
  EXPECT_EQ(k1.consent_id(), "k1");
  EXPECT_EQ(k1.recorded_by_organization_id(), "org-hosp");
  EXPECT_THAT(k1.consent().recipient_organization_ids(),
              ElementsAre("org-bh"));
  EXPECT_EQ(TimeOf(k1.start()), Day(1));
  EXPECT_EQ(TimeOf(k1.revocation_received_at()), Day(2));
  EXPECT_EQ(TimeOf(k1.revocation_effective_at()), Day(3));
  EXPECT_EQ(k1.version(), 3u);
  EXPECT_EQ(TimeOf(k1.updated_at()), Recorded(Day(2)));
  EXPECT_EQ(state.consents(1).SerializeAsString(),
            state.consents_in_force(0).SerializeAsString());
}

TEST_F(ClientStateVersionsTest, ADeclinedReferral) {
  Apply(Registered(), Day(0));
  v1::CareEvent sent =
      Referral("r1", "org-hosp", "org-housing", v1::SERVICE_CATEGORY_HOUSING);
  sent.mutable_referral_sent()->set_reason("eviction notice");
  EXPECT_EQ(Apply(sent, Day(1)), 1u);
  v1::ReferralView r1 = ClientStateOf(record_, Day(1)).referrals(0);
  EXPECT_EQ(r1.version(), 1u);
  EXPECT_EQ(TimeOf(r1.updated_at()), Recorded(Day(1)));
  EXPECT_EQ(r1.reason(), "eviction notice");
  EXPECT_EQ(r1.status_reason(), "");
  EXPECT_EQ(r1.delivered(), "");
  EXPECT_FALSE(r1.has_received_at());

  Apply(Goal("g1", v1::SERVICE_CATEGORY_HOUSING), Day(2));  // not about r1
  EXPECT_EQ(Apply(Received("r1"), Day(2), "org-housing"), 3u);
  EXPECT_EQ(Apply(Declined("r1", "no capacity"), Day(3), "org-housing"), 4u);
  r1 = ClientStateOf(record_, Day(3)).referrals(0);
  EXPECT_EQ(r1.status(), "declined");
  EXPECT_EQ(r1.status_reason(), "no capacity");
  EXPECT_EQ(r1.reason(), "eviction notice");
  EXPECT_EQ(r1.delivered(), "");
  EXPECT_EQ(r1.version(), 4u);
  EXPECT_EQ(TimeOf(r1.updated_at()), Recorded(Day(3)));
  // Received: the occurred time of the acknowledgement.
  ASSERT_TRUE(r1.has_received_at());
  EXPECT_EQ(TimeOf(r1.received_at()), Day(2));
  // ReferralViewOf (the referral lists' entries) says the same.
  EXPECT_EQ(ReferralViewOf("r1", record_.referrals.at("r1"), Day(3))
                .SerializeAsString(),
            r1.SerializeAsString());
}

TEST_F(ClientStateVersionsTest, ACompletedReferralAfterAHold) {
  Apply(Registered(), Day(0));
  Apply(Referral("r1", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
        Day(1));
  Apply(Accepted("r1"), Day(2), "org-bh");
  v1::CareEvent hold = OnHold("r1");
  hold.mutable_referral_on_hold()->set_reason("client in hospital");
  Apply(hold, Day(3), "org-bh");
  v1::ReferralView r1 = ClientStateOf(record_, Day(3)).referrals(0);
  EXPECT_EQ(r1.status(), "on-hold");
  EXPECT_EQ(r1.status_reason(), "client in hospital");
  EXPECT_FALSE(r1.has_received_at());  // never acknowledged, accepted at once

  // Started: off hold, the hold's reason goes.
  Apply(Started("r1"), Day(4), "org-bh");
  r1 = ClientStateOf(record_, Day(4)).referrals(0);
  EXPECT_EQ(r1.status(), "in-progress");
  EXPECT_EQ(r1.status_reason(), "");

  v1::CareEvent completed = Completed("r1");
  completed.mutable_referral_completed()->set_delivered("weekly therapy");
  EXPECT_EQ(Apply(completed, Day(5), "org-bh"), 5u);
  r1 = ClientStateOf(record_, Day(5)).referrals(0);
  EXPECT_EQ(r1.status(), "completed");
  EXPECT_EQ(r1.delivered(), "weekly therapy");
  EXPECT_EQ(r1.status_reason(), "");
  EXPECT_EQ(r1.version(), 5u);
  EXPECT_EQ(TimeOf(r1.updated_at()), Recorded(Day(5)));
}

TEST_F(ClientStateVersionsTest, GoalServiceAdmissionAndTransitionVersions) {
  Apply(Registered(), Day(0));
  EXPECT_EQ(Apply(Goal("g1", v1::SERVICE_CATEGORY_HOUSING), Day(1)), 1u);
  EXPECT_EQ(Apply(Service("s1", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
                  Day(1)),
            2u);
  EXPECT_EQ(Apply(Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT),
                  Day(1)),
            3u);
  EXPECT_EQ(Apply(Transition("t1", "a1", "org-hosp", "org-bh",
                             DateOf(2026, 1, 9)),
                  Day(1)),
            4u);
  v1::ClientState state = ClientStateOf(record_, Day(1));
  EXPECT_EQ(state.goals(0).version(), 1u);
  EXPECT_EQ(TimeOf(state.goals(0).updated_at()), Recorded(Day(1)));
  EXPECT_EQ(state.services(0).version(), 2u);
  EXPECT_EQ(state.admissions(0).version(), 3u);
  EXPECT_EQ(state.transitions(0).version(), 4u);

  v1::CareEvent progress;
  progress.mutable_goal_progress_recorded()->set_goal_id("g1");
  progress.mutable_goal_progress_recorded()->set_percent_achieved(40);
  EXPECT_EQ(Apply(progress, Day(2)), 5u);
  EXPECT_EQ(Apply(Interruption("s1", Day(9)), Day(2)), 6u);
  EXPECT_EQ(Apply(Discharge("a1"), Day(3)), 7u);
  EXPECT_EQ(Apply(TransitionDone("t1"), Day(3)), 8u);
  state = ClientStateOf(record_, Day(3));
  EXPECT_EQ(state.goals(0).version(), 5u);
  EXPECT_EQ(TimeOf(state.goals(0).updated_at()), Recorded(Day(2)));
  EXPECT_EQ(state.services(0).version(), 6u);
  EXPECT_EQ(TimeOf(state.services(0).updated_at()), Recorded(Day(2)));
  EXPECT_EQ(state.admissions(0).version(), 7u);
  EXPECT_EQ(TimeOf(state.admissions(0).updated_at()), Recorded(Day(3)));
  EXPECT_EQ(state.transitions(0).version(), 8u);
  EXPECT_EQ(TimeOf(state.transitions(0).updated_at()), Recorded(Day(3)));

  EXPECT_EQ(Apply(GoalDone("g1"), Day(4)), 9u);
  EXPECT_EQ(Apply(ServiceEnd("s1"), Day(4)), 10u);
  state = ClientStateOf(record_, Day(4));
  EXPECT_EQ(state.goals(0).version(), 9u);
  EXPECT_EQ(state.services(0).version(), 10u);
  EXPECT_EQ(TimeOf(state.services(0).updated_at()), Recorded(Day(4)));
  // Unchanged by the later events of other items.
  EXPECT_EQ(state.admissions(0).version(), 7u);
  EXPECT_EQ(state.transitions(0).version(), 8u);
}

TEST_F(ClientStateVersionsTest, TransitionsOfCareEventsAreListedWithVersions) {
  Apply(Registered(), Day(0));
  Apply(Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT), Day(1));
  v1::CareEvent e;
  e.mutable_admission_notification_received()->set_notification_id("n1");
  e.mutable_admission_notification_received()->set_admission_id("a1");
  EXPECT_EQ(Apply(e, Day(1, 14), "org-pcp"), 2u);
  e.Clear();
  e.mutable_discharge_information_received()->set_receipt_id("r1");
  e.mutable_discharge_information_received()->set_admission_id("a1");
  EXPECT_EQ(Apply(e, Day(4), "org-pcp"), 3u);
  e.Clear();
  e.mutable_medication_reconciliation_recorded()->set_reconciliation_id("m1");
  e.mutable_medication_reconciliation_recorded()->set_performer_discipline(
      v1::DISCIPLINE_NURSING);
  EXPECT_EQ(Apply(e, Day(6), "org-pcp"), 4u);

  const v1::ClientState state = ClientStateOf(record_, Day(7));
  ASSERT_EQ(state.admission_notifications_size(), 1);
  const v1::TransitionOfCareView& n = state.admission_notifications(0);
  EXPECT_EQ(n.id(), "n1");
  EXPECT_EQ(n.admission_id(), "a1");
  EXPECT_EQ(TimeOf(n.occurred_at()), Day(1, 14));
  EXPECT_EQ(n.recorded_by_organization_id(), "org-pcp");
  EXPECT_EQ(n.version(), 2u);
  EXPECT_EQ(TimeOf(n.updated_at()), Recorded(Day(1, 14)));
  ASSERT_EQ(state.discharge_information_size(), 1);
  EXPECT_EQ(state.discharge_information(0).id(), "r1");
  EXPECT_EQ(state.discharge_information(0).version(), 3u);
  ASSERT_EQ(state.medication_reconciliations_size(), 1);
  const v1::TransitionOfCareView& m = state.medication_reconciliations(0);
  EXPECT_EQ(m.admission_id(), "");
  EXPECT_EQ(m.performer_discipline(), v1::DISCIPLINE_NURSING);
  EXPECT_EQ(m.version(), 4u);
  EXPECT_EQ(TimeOf(m.updated_at()), Recorded(Day(6)));
}

}  // namespace
}  // namespace caseline::care::continuity_testing
