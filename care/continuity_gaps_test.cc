// FindGaps: one test per gap reason (care/continuity.h).
#include <optional>
#include <string>
#include <vector>

#include "care/continuity.h"
#include "care/continuity_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::continuity_testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST_F(ContinuityTest, DischargeWithoutReceiverUntilTheReceiverAccepts) {
  const uint64_t admitted =
      Apply(Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT), Day(0));
  const uint64_t discharged = Apply(Discharge("a1"), Day(3));
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER, Day(3));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].subject_id(), "a1");
  EXPECT_EQ(gaps[0].organization_id(), "org-hosp");
  EXPECT_EQ(ToTime(gaps[0].since()), Day(3));
  EXPECT_THAT(gaps[0].cause_positions(), ElementsAre(admitted, discharged));
  EXPECT_THAT(gaps[0].description(), HasSubstr("TransitionPlanned"));

  // A transition with no referral to its receiver: the planner must refer.
  const uint64_t planned = Apply(
      Transition("t1", "a1", "org-hosp", "org-bh", DateOf(2026, 1, 9)), Day(3));
  gaps = GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER, Day(3));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].subject_id(), "t1");
  EXPECT_EQ(gaps[0].organization_id(), "org-hosp");
  EXPECT_THAT(gaps[0].cause_positions(), ElementsAre(discharged, planned));

  // Referred: now the receiver must accept.
  Apply(
      Referral("r1", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
      Day(3));
  gaps = GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER, Day(3));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].organization_id(), "org-bh");
  EXPECT_THAT(gaps[0].description(), HasSubstr("referral r1"));

  Apply(Accepted("r1"), Day(4), "org-bh");
  EXPECT_THAT(
      GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER, Day(4)),
      IsEmpty());
}

TEST_F(ContinuityTest, NoReceiverNeededAfterAnEmergencyVisitOrDeath) {
  Apply(Admission("ed", "org-hosp", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT),
        Day(0));
  Apply(Discharge("ed"), Day(0, 14));
  Apply(Admission("a2", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT), Day(1));
  Apply(Discharge("a2", v1::DISCHARGE_DISPOSITION_DECEASED), Day(2));
  EXPECT_THAT(
      GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER, Day(2)),
      IsEmpty());
}

TEST_F(ContinuityTest, DischargeWithoutFollowUpAfterTheWindowEnds) {
  Apply(Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT), Day(0));
  Apply(Transition("t1", "a1", "org-hosp", "org-bh", DateOf(2026, 1, 8)),
        Day(1));
  Apply(Discharge("a1"), Day(3, 15));
  // The window is 7 days: it ends at the end of day 3 + 7 = day 10.
  EXPECT_THAT(GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP, Day(10, 23)),
              IsEmpty());
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP, Day(11, 0));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].subject_id(), "a1");
  EXPECT_EQ(gaps[0].organization_id(), "org-bh");  // the receiver acts
  EXPECT_EQ(ToTime(gaps[0].since()), Day(11, 0));

  // A late follow-up still closes it.
  Apply(FollowUp("f1", "org-bh"), Day(12));
  EXPECT_THAT(GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP, Day(12)),
              IsEmpty());
}

TEST_F(ContinuityTest, ReadmissionSupersedesTheFollowUp) {
  Apply(Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT), Day(0));
  Apply(Discharge("a1"), Day(2));
  Apply(Admission("a2", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT), Day(4));
  EXPECT_THAT(GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP, Day(20)),
              IsEmpty());
}

TEST_F(ContinuityTest, ReferralNotAnsweredWithinBusinessDays) {
  // Sent Friday 10:00; five business days end the next Friday 10:00.
  const uint64_t sent = Apply(
      Referral("r1", "org-hosp", "org-housing", v1::SERVICE_CATEGORY_HOUSING),
      Day(4));
  EXPECT_THAT(GapsOf(v1::GAP_REASON_REFERRAL_NOT_ANSWERED, Day(11, 9)),
              IsEmpty());
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_REFERRAL_NOT_ANSWERED, Day(11, 10));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].subject_id(), "r1");
  EXPECT_EQ(gaps[0].organization_id(), "org-housing");
  EXPECT_EQ(ToTime(gaps[0].since()), Day(11, 10));
  EXPECT_THAT(gaps[0].cause_positions(), ElementsAre(sent));
  Apply(Accepted("r1"), Day(12), "org-housing");
  EXPECT_THAT(GapsOf(v1::GAP_REASON_REFERRAL_NOT_ANSWERED, Day(12)), IsEmpty());
}

TEST_F(ContinuityTest, AcceptedReferralNotStartedWithinDays) {
  Apply(Referral("r1", "org-hosp", "org-housing", v1::SERVICE_CATEGORY_HOUSING),
        Day(0));
  Apply(Accepted("r1"), Day(1), "org-housing");
  Apply(OnHold("r1"), Day(2), "org-housing");  // on hold: still not started
  EXPECT_THAT(GapsOf(v1::GAP_REASON_ACCEPTED_REFERRAL_NOT_STARTED,
                     Day(31) - absl::Seconds(1)),
              IsEmpty());
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_ACCEPTED_REFERRAL_NOT_STARTED, Day(31));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].organization_id(), "org-housing");
  EXPECT_EQ(ToTime(gaps[0].since()), Day(31));
  Apply(Started("r1"), Day(32), "org-housing");
  EXPECT_THAT(GapsOf(v1::GAP_REASON_ACCEPTED_REFERRAL_NOT_STARTED, Day(32)),
              IsEmpty());
}

// A start date the sender asked for replaces the configured window: the gap
// opens at the end of that date (UTC here), also before the window's end.
TEST_F(ContinuityTest, AcceptedReferralNotStartedByTheRequestedDate) {
  v1::CareEvent referral =
      Referral("r1", "org-hosp", "org-housing", v1::SERVICE_CATEGORY_HOUSING);
  v1::Date* start_by = referral.mutable_referral_sent()->mutable_start_by();
  start_by->set_year(2026);
  start_by->set_month(1);
  start_by->set_day(10);  // Day(5)
  Apply(referral, Day(0));
  Apply(Accepted("r1"), Day(1), "org-housing");
  EXPECT_THAT(GapsOf(v1::GAP_REASON_ACCEPTED_REFERRAL_NOT_STARTED,
                     Day(6, 0) - absl::Seconds(1)),
              IsEmpty());
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_ACCEPTED_REFERRAL_NOT_STARTED, Day(6, 0));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(ToTime(gaps[0].since()), Day(6, 0));
  EXPECT_THAT(gaps[0].description(),
              ::testing::HasSubstr("was not started by 2026-01-10 as the "
                                   "sender asked"));
}

TEST_F(ContinuityTest, ServiceEndedWhileTheGoalIsActive) {
  Apply(Goal("g1", v1::SERVICE_CATEGORY_HOUSING), Day(0));
  Apply(Service("s1", "org-housing", v1::SERVICE_CATEGORY_HOUSING), Day(0));
  EXPECT_THAT(Gaps(Day(1)), IsEmpty());
  const uint64_t ended = Apply(ServiceEnd("s1"), Day(5), "org-housing");
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_SERVICE_ENDED_WITHOUT_SUCCESSOR, Day(5));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].subject_id(), "s1");
  EXPECT_EQ(gaps[0].organization_id(), "org-housing");
  EXPECT_EQ(ToTime(gaps[0].since()), Day(5));
  EXPECT_THAT(gaps[0].description(), HasSubstr("goal g1"));
  EXPECT_THAT(gaps[0].cause_positions(), ::testing::Contains(ended));

  // An open referral of the category is a successor.
  Apply(Referral("r1", "org-hosp", "org-pc", v1::SERVICE_CATEGORY_HOUSING),
        Day(6));
  EXPECT_THAT(GapsOf(v1::GAP_REASON_SERVICE_ENDED_WITHOUT_SUCCESSOR, Day(6)),
              IsEmpty());
}

TEST_F(ContinuityTest, ServiceEndedAfterTheGoalIsMetIsNoGap) {
  Apply(Goal("g1", v1::SERVICE_CATEGORY_HOUSING), Day(0));
  Apply(Service("s1", "org-housing", v1::SERVICE_CATEGORY_HOUSING), Day(0));
  Apply(GoalDone("g1"), Day(4));
  Apply(ServiceEnd("s1"), Day(5));
  EXPECT_THAT(Gaps(Day(6)), IsEmpty());
}

TEST_F(ContinuityTest, ServiceInterruptedWhileTheAssessedNeedPersists) {
  Apply(Assessment("as1", v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                   v1::NEED_LEVEL_MODERATE),
        Day(0));
  Apply(Assessment("as1", v1::SERVICE_CATEGORY_FOOD, v1::NEED_LEVEL_LOW),
        Day(0));
  Apply(Service("s1", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH), Day(0));
  Apply(Service("s2", "org-pc", v1::SERVICE_CATEGORY_FOOD), Day(0));
  Apply(Interruption("s1", Day(20)), Day(3), "org-bh");
  Apply(ServiceEnd("s2"), Day(3));  // a low need: no gap
  std::vector<v1::Gap> gaps = Gaps(Day(3));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].reason(),
            v1::GAP_REASON_SERVICE_INTERRUPTED_WITHOUT_SUCCESSOR);
  EXPECT_EQ(gaps[0].subject_id(), "s1");
  EXPECT_THAT(gaps[0].description(), HasSubstr("NEED_LEVEL_MODERATE"));
  // A successor service closes it.
  Apply(Service("s3", "org-pc", v1::SERVICE_CATEGORY_MENTAL_HEALTH), Day(4));
  EXPECT_THAT(Gaps(Day(4)), IsEmpty());
}

TEST_F(ContinuityTest, ReceiverLacksConsentOnceItIsRevoked) {
  const uint64_t given =
      Apply(Consent("k1", {"org-bh"}, {v1::DATA_CLASS_MENTAL_HEALTH}), Day(0));
  const uint64_t sent = Apply(
      Referral("r1", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH,
               {v1::DATA_CLASS_MENTAL_HEALTH}),
      Day(0));
  Apply(Accepted("r1"), Day(1), "org-bh");
  EXPECT_THAT(GapsOf(v1::GAP_REASON_RECEIVER_LACKS_CONSENT, Day(1)), IsEmpty());

  // Revoked between the referral and the follow-up.
  const uint64_t revoked = Apply(Revoked("k1", Day(2)), Day(2));
  Apply(FollowUp("f1", "org-bh"), Day(3), "org-bh");
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_RECEIVER_LACKS_CONSENT, Day(3));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].subject_id(), "r1");
  EXPECT_EQ(gaps[0].organization_id(), "org-hosp");  // the sender obtains it
  EXPECT_EQ(ToTime(gaps[0].since()), Day(2));
  EXPECT_THAT(gaps[0].description(), HasSubstr("DATA_CLASS_MENTAL_HEALTH"));
  EXPECT_THAT(gaps[0].cause_positions(), ElementsAre(given, sent, revoked));
  // Before the revocation took effect there was no gap.
  EXPECT_THAT(GapsOf(v1::GAP_REASON_RECEIVER_LACKS_CONSENT, Day(1, 23)),
              IsEmpty());
}

TEST_F(ContinuityTest, ReceiverConsentByTypeButPart2NeedsTheName) {
  Apply(Consent("k1", {},
                {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_SUBSTANCE_USE_PART2},
                {v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT}),
        Day(0));
  Apply(Referral("r1", "org-hosp", "org-sud",
                 v1::SERVICE_CATEGORY_SUBSTANCE_USE, {v1::DATA_CLASS_GENERAL}),
        Day(0));
  Apply(
      Referral("r2", "org-hosp", "org-sud", v1::SERVICE_CATEGORY_SUBSTANCE_USE,
               {v1::DATA_CLASS_SUBSTANCE_USE_PART2}),
      Day(0));
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_RECEIVER_LACKS_CONSENT, Day(0));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].subject_id(), "r2");
  EXPECT_THAT(gaps[0].description(), HasSubstr("42 CFR Part 2"));
}

TEST_F(ContinuityTest, TransitionReceiverNeedsGeneralConsent) {
  Apply(Transition("t1", "", "org-hosp", "org-pc", DateOf(2026, 1, 9)), Day(0));
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_RECEIVER_LACKS_CONSENT, Day(0));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].subject_id(), "t1");
  Apply(Consent("k1", {"org-pc"}, {v1::DATA_CLASS_GENERAL}), Day(1));
  EXPECT_THAT(GapsOf(v1::GAP_REASON_RECEIVER_LACKS_CONSENT, Day(1)), IsEmpty());
}

TEST_F(ContinuityTest, OpenCaseWithoutLead) {
  const uint64_t opened = Apply(CaseOpened(), Day(0));
  std::vector<v1::Gap> gaps = Gaps(Day(0));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].reason(), v1::GAP_REASON_OPEN_CASE_WITHOUT_LEAD);
  EXPECT_EQ(gaps[0].organization_id(), "org-hosp");
  EXPECT_THAT(gaps[0].cause_positions(), ElementsAre(opened));
  Apply(Member("sw-1", "org-pc"), Day(1));
  Apply(Member("nurse", "org-pc", v1::CARE_TEAM_ROLE_MEMBER), Day(1));
  EXPECT_THAT(Gaps(Day(1)), IsEmpty());
  const uint64_t removed = Apply(MemberRemoved("sw-1"), Day(2));
  gaps = Gaps(Day(2));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(ToTime(gaps[0].since()), Day(2));
  EXPECT_THAT(gaps[0].cause_positions(), ElementsAre(opened, removed));
  // A closed case has no gaps.
  Apply(CaseClosed(), Day(3));
  EXPECT_THAT(Gaps(Day(3)), IsEmpty());
}

TEST_F(ContinuityTest, TeamMeetingOverdueAfterTheReviewDate) {
  Apply(Member("sw-1", "org-pc"), Day(0));
  const uint64_t held =
      Apply(Meeting("m1", DateOf(2026, 2, 1)), Day(0), "org-pc");
  EXPECT_THAT(Gaps(absl::FromCivil(absl::CivilSecond(2026, 2, 1, 23, 59, 59),
                                   absl::UTCTimeZone())),
              IsEmpty());
  const absl::Time feb2 =
      absl::FromCivil(absl::CivilDay(2026, 2, 2), absl::UTCTimeZone());
  std::vector<v1::Gap> gaps = Gaps(feb2);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].reason(), v1::GAP_REASON_TEAM_MEETING_OVERDUE);
  EXPECT_EQ(gaps[0].subject_id(), "m1");
  EXPECT_EQ(gaps[0].organization_id(), "org-pc");
  EXPECT_EQ(ToTime(gaps[0].since()), feb2);
  EXPECT_THAT(gaps[0].cause_positions(), ElementsAre(held));
  Apply(Meeting("m2", std::nullopt), feb2 + absl::Hours(10), "org-pc");
  EXPECT_THAT(Gaps(feb2 + absl::Hours(11)), IsEmpty());
}

// --- Days in the network's zone
// ---------------------------------------------------------------

// In America/New_York, a discharge at 23:30 on Friday 2026-01-09 (Saturday
// 04:30 UTC) is a Friday discharge: the follow-up window ends at local
// midnight seven local days on, and the description says the local dates.
TEST_F(ContinuityTest, FollowUpWindowCountsLocalDaysInTheNetworksZone) {
  const absl::TimeZone zone = NewYork();
  config_.time_zone = zone;
  Apply(Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT),
        Local(zone, 1, 5, 9));
  Apply(Discharge("a1"), Local(zone, 1, 9, 23, 30));
  const absl::Time due = Local(zone, 1, 17, 0);  // the end of Friday 01-16
  EXPECT_THAT(GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP,
                     due - absl::Seconds(1)),
              IsEmpty());
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP, due);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(ToTime(gaps[0].since()), due);
  EXPECT_THAT(gaps[0].description(), HasSubstr("discharged on 2026-01-09"));
  EXPECT_THAT(gaps[0].description(), HasSubstr("by the end of 2026-01-16"));

  // Counted in UTC days the discharge was on Saturday 01-10: the window ends
  // at 00:00 UTC on 01-18.
  config_.time_zone = absl::UTCTimeZone();
  EXPECT_THAT(GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP, due),
              IsEmpty());
  gaps = GapsOf(v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP, Day(13, 0));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_THAT(gaps[0].description(), HasSubstr("discharged on 2026-01-10"));
}

// A referral sent at 23:30 on a Friday in New York is sent on a weekday: its
// five business days end at 23:30 local the next Friday. In UTC it was sent
// on a Saturday, and counting starts on Monday 00:00 UTC.
TEST_F(ContinuityTest, ReferralAnswerWindowCountsLocalWeekdays) {
  const absl::TimeZone zone = NewYork();
  config_.time_zone = zone;
  Apply(Referral("r1", "org-hosp", "org-housing", v1::SERVICE_CATEGORY_HOUSING),
        Local(zone, 1, 9, 23, 30));
  const absl::Time deadline = Local(zone, 1, 16, 23, 30);
  EXPECT_THAT(
      GapsOf(v1::GAP_REASON_REFERRAL_NOT_ANSWERED, deadline - absl::Seconds(1)),
      IsEmpty());
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_REFERRAL_NOT_ANSWERED, deadline);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(ToTime(gaps[0].since()), deadline);
  EXPECT_THAT(gaps[0].description(), HasSubstr("sent on 2026-01-09"));

  config_.time_zone = absl::UTCTimeZone();
  EXPECT_THAT(GapsOf(v1::GAP_REASON_REFERRAL_NOT_ANSWERED, deadline),
              IsEmpty());
  gaps = GapsOf(v1::GAP_REASON_REFERRAL_NOT_ANSWERED, Day(14, 0));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(ToTime(gaps[0].since()), Day(14, 0));  // Monday 01-19 00:00 UTC
  EXPECT_THAT(gaps[0].description(), HasSubstr("sent on 2026-01-10"));
}

TEST_F(ContinuityTest, TeamMeetingReviewDateEndsAtLocalMidnight) {
  const absl::TimeZone zone = NewYork();
  config_.time_zone = zone;
  Apply(Member("sw-1", "org-pc"), Day(0));
  Apply(Meeting("m1", DateOf(2026, 2, 1)), Day(0), "org-pc");
  const absl::Time feb2 = Local(zone, 2, 2, 0);  // 05:00 UTC
  EXPECT_THAT(Gaps(feb2 - absl::Seconds(1)), IsEmpty());
  std::vector<v1::Gap> gaps = Gaps(feb2);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].reason(), v1::GAP_REASON_TEAM_MEETING_OVERDUE);
  EXPECT_EQ(ToTime(gaps[0].since()), feb2);
}

}  // namespace
}  // namespace caseline::care::continuity_testing
