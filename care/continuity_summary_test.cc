// Summarize and CaseloadEntriesOf (care/continuity.h).
#include <algorithm>
#include <vector>

#include "care/continuity.h"
#include "care/continuity_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::continuity_testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST_F(ContinuityTest, SummaryListsTheClientsContinuity) {
  v1::CareEvent registered;
  registered.mutable_client_registered()->mutable_name()->set_given("Ada");
  Apply(registered, Day(0));
  Apply(CaseOpened(), Day(0));
  Apply(Member("sw-1", "org-pc"), Day(0));
  Apply(Consent("k1", {"org-bh"},
                {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH}),
        Day(0));
  Apply(Service("s1", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH), Day(0));
  Apply(Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT), Day(1));
  Apply(Transition("t1", "a1", "org-hosp", "org-bh", DateOf(2026, 1, 9)),
        Day(2));
  Apply(Referral("r1", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                 {v1::DATA_CLASS_MENTAL_HEALTH}),
        Day(2));
  Apply(Referral("r2", "org-hosp", "org-housing", v1::SERVICE_CATEGORY_HOUSING,
                 {v1::DATA_CLASS_HOUSING}),
        Day(2));
  Apply(Discharge("a1"), Day(4));

  const v1::ClientSummary summary =
      Summarize(record_, directory_, config_, Day(13));
  EXPECT_EQ(summary.state().client_id(), "c1");
  EXPECT_EQ(summary.state().details().name().given(), "Ada");
  EXPECT_EQ(summary.lead_case_manager().member_id(), "sw-1");
  ASSERT_EQ(summary.active_services_size(), 1);
  EXPECT_EQ(summary.active_services(0).service_id(), "s1");
  ASSERT_EQ(summary.open_referrals_size(), 2);
  EXPECT_EQ(summary.open_referrals(0).status(), "requested");
  EXPECT_EQ(summary.open_referrals(0).age_days(), 11);
  EXPECT_EQ(summary.last_admission().admission_id(), "a1");
  EXPECT_EQ(summary.last_discharge().admission_id(), "a1");
  ASSERT_EQ(summary.planned_transitions_size(), 1);
  ASSERT_EQ(summary.follow_ups_due_size(), 1);
  EXPECT_EQ(summary.follow_ups_due(0).admission_id(), "a1");
  EXPECT_EQ(summary.follow_ups_due(0).transition_id(), "t1");
  EXPECT_EQ(ToTime(summary.follow_ups_due(0).due()), Day(12, 0));
  EXPECT_TRUE(summary.follow_ups_due(0).overdue());

  // Coverage: org-bh is covered, org-housing misses housing data, org-pc
  // (care team) has no consent but needs nothing.
  ASSERT_EQ(summary.consent_coverage_size(), 4);
  const v1::ConsentCoverage& bh = summary.consent_coverage(0);
  EXPECT_EQ(bh.organization_id(), "org-bh");
  EXPECT_EQ(bh.organization_name(), "org-bh name");
  EXPECT_THAT(bh.involvement(),
              ElementsAre("referral-receiver", "service-provider",
                          "transition-receiver"));
  EXPECT_THAT(
      bh.covered_data_classes(),
      ElementsAre(v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH));
  EXPECT_THAT(bh.consent_ids(), ElementsAre("k1"));
  EXPECT_THAT(bh.missing_data_classes(), IsEmpty());
  const v1::ConsentCoverage& hosp = summary.consent_coverage(1);
  EXPECT_EQ(hosp.organization_id(), "org-hosp");
  EXPECT_THAT(hosp.involvement(),
              ElementsAre("registered", "referral-sender", "facility"));
  const v1::ConsentCoverage& housing = summary.consent_coverage(2);
  EXPECT_EQ(housing.organization_id(), "org-housing");
  EXPECT_THAT(housing.missing_data_classes(),
              ElementsAre(v1::DATA_CLASS_HOUSING));
  EXPECT_EQ(summary.consent_coverage(3).organization_id(), "org-pc");
  EXPECT_THAT(summary.consent_coverage(3).involvement(),
              ElementsAre("care-team"));

  std::vector<v1::GapReason> reasons;
  for (const v1::Gap& g : summary.gaps()) reasons.push_back(g.reason());
  std::sort(reasons.begin(), reasons.end());
  EXPECT_THAT(reasons,
              ElementsAre(v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER,
                          v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP,
                          v1::GAP_REASON_REFERRAL_NOT_ANSWERED,
                          v1::GAP_REASON_REFERRAL_NOT_ANSWERED,
                          v1::GAP_REASON_RECEIVER_LACKS_CONSENT));
}

// --- Caseload
// ---------------------------------------------------------------------------

TEST_F(ContinuityTest, CaseloadEntriesForLeadsOfOpenCases) {
  Apply(Member("sw-1", "org-pc"), Day(0));
  Apply(Member("nurse", "org-pc", v1::CARE_TEAM_ROLE_MEMBER), Day(0));
  EXPECT_THAT(CaseloadEntriesOf(record_), IsEmpty());  // not opened
  Apply(CaseOpened(), Day(0));
  std::vector<v1::WorkerCaseload> entries = CaseloadEntriesOf(record_);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].member_id(), "sw-1");
  EXPECT_EQ(entries[0].organization_id(), "org-pc");
  EXPECT_EQ(entries[0].name().family(), "sw-1");
  Apply(CaseClosed(), Day(1));
  EXPECT_THAT(CaseloadEntriesOf(record_), IsEmpty());
}

}  // namespace
}  // namespace caseline::care::continuity_testing
