#include "care/continuity.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Monday 2026-01-05 10:00 UTC.
const absl::Time kMonday = absl::FromCivil(
    absl::CivilSecond(2026, 1, 5, 10, 0, 0), absl::UTCTimeZone());

absl::Time Day(int n, int hour = 10) {
  return absl::FromCivil(absl::CivilSecond(2026, 1, 5 + n, hour, 0, 0),
                         absl::UTCTimeZone());
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
}

v1::Date DateOf(int y, int m, int d) {
  v1::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

// --- Event builders
// ---------------------------------------------------------------

v1::CareEvent CaseOpened() {
  v1::CareEvent e;
  e.mutable_case_opened();
  return e;
}
v1::CareEvent CaseClosed() {
  v1::CareEvent e;
  e.mutable_case_closed()->set_reason(v1::CASE_CLOSURE_REASON_GOALS_MET);
  return e;
}
v1::CareEvent Admission(
    const std::string& id, const std::string& facility, v1::LevelOfCare level,
    v1::ServiceCategory need = v1::SERVICE_CATEGORY_MENTAL_HEALTH) {
  v1::CareEvent e;
  auto* a = e.mutable_admission_recorded();
  a->set_admission_id(id);
  a->set_facility_organization_id(facility);
  a->set_level_of_care(level);
  a->set_primary_need(need);
  return e;
}
v1::CareEvent Discharge(
    const std::string& id,
    v1::DischargeDisposition disposition = v1::DISCHARGE_DISPOSITION_HOME) {
  v1::CareEvent e;
  e.mutable_discharge_recorded()->set_admission_id(id);
  e.mutable_discharge_recorded()->set_disposition(disposition);
  return e;
}
v1::CareEvent Transition(const std::string& id, const std::string& admission,
                         const std::string& from, const std::string& to,
                         const v1::Date& planned) {
  v1::CareEvent e;
  auto* t = e.mutable_transition_planned();
  t->set_transition_id(id);
  t->set_admission_id(admission);
  t->set_from_organization_id(from);
  t->set_from_level_of_care(v1::LEVEL_OF_CARE_INPATIENT);
  t->set_to_organization_id(to);
  t->set_to_level_of_care(v1::LEVEL_OF_CARE_OUTPATIENT);
  *t->mutable_planned_date() = planned;
  return e;
}
v1::CareEvent TransitionDone(const std::string& id) {
  v1::CareEvent e;
  e.mutable_transition_completed()->set_transition_id(id);
  return e;
}
v1::CareEvent FollowUp(const std::string& id, const std::string& provider,
                       v1::Discipline discipline = v1::DISCIPLINE_PSYCHIATRY) {
  v1::CareEvent e;
  auto* f = e.mutable_follow_up_completed();
  f->set_follow_up_id(id);
  f->set_provider_organization_id(provider);
  f->set_provider_discipline(discipline);
  f->set_contact_kind(v1::CONTACT_KIND_IN_PERSON);
  return e;
}
v1::CareEvent Referral(const std::string& id, const std::string& from,
                       const std::string& to, v1::ServiceCategory category,
                       const std::vector<v1::DataClass>& shared = {}) {
  v1::CareEvent e;
  auto* r = e.mutable_referral_sent();
  r->set_referral_id(id);
  r->set_from_organization_id(from);
  r->set_to_organization_id(to);
  r->set_service_category(category);
  r->set_kind(v1::REFERRAL_KIND_WARM);
  for (v1::DataClass dc : shared) r->add_shared_data_classes(dc);
  return e;
}
v1::CareEvent Accepted(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_accepted()->set_referral_id(id);
  return e;
}
v1::CareEvent Started(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_started()->set_referral_id(id);
  return e;
}
v1::CareEvent Completed(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_completed()->set_referral_id(id);
  return e;
}
v1::CareEvent OnHold(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_on_hold()->set_referral_id(id);
  return e;
}
v1::CareEvent Consent(const std::string& id,
                      const std::vector<std::string>& orgs,
                      const std::vector<v1::DataClass>& classes,
                      const std::vector<v1::OrganizationType>& types = {}) {
  v1::CareEvent e;
  auto* c = e.mutable_consent_given();
  c->set_consent_id(id);
  for (const auto& o : orgs) c->add_recipient_organization_ids(o);
  for (auto t : types) c->add_recipient_organization_types(t);
  for (auto dc : classes) c->add_data_classes(dc);
  return e;
}
v1::CareEvent Revoked(const std::string& id, absl::Time effective) {
  v1::CareEvent e;
  e.mutable_consent_revoked()->set_consent_id(id);
  SetTime(effective, e.mutable_consent_revoked()->mutable_effective_at());
  return e;
}
v1::CareEvent Member(
    const std::string& id, const std::string& org,
    v1::CareTeamRole role = v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER) {
  v1::CareEvent e;
  auto* m = e.mutable_care_team_member_added();
  m->set_member_id(id);
  m->set_organization_id(org);
  m->set_role(role);
  m->set_discipline(v1::DISCIPLINE_SOCIAL_WORK);
  m->mutable_name()->set_family(id);
  return e;
}
v1::CareEvent MemberRemoved(const std::string& id) {
  v1::CareEvent e;
  e.mutable_care_team_member_removed()->set_member_id(id);
  return e;
}
v1::CareEvent Meeting(const std::string& id, std::optional<v1::Date> next) {
  v1::CareEvent e;
  e.mutable_team_meeting_held()->set_meeting_id(id);
  if (next.has_value())
    *e.mutable_team_meeting_held()->mutable_next_review_date() = *next;
  return e;
}
v1::CareEvent Service(const std::string& id, const std::string& provider,
                      v1::ServiceCategory category) {
  v1::CareEvent e;
  auto* s = e.mutable_service_started();
  s->set_service_id(id);
  s->set_provider_organization_id(provider);
  s->set_category(category);
  s->set_level_of_care(v1::LEVEL_OF_CARE_COMMUNITY);
  return e;
}
v1::CareEvent ServiceEnd(const std::string& id) {
  v1::CareEvent e;
  e.mutable_service_ended()->set_service_id(id);
  return e;
}
v1::CareEvent Interruption(const std::string& id, absl::Time expected_end) {
  v1::CareEvent e;
  e.mutable_service_interruption_notified()->set_service_id(id);
  SetTime(expected_end,
          e.mutable_service_interruption_notified()->mutable_expected_end());
  return e;
}
v1::CareEvent Goal(const std::string& id, v1::ServiceCategory domain) {
  v1::CareEvent e;
  e.mutable_goal_set()->set_goal_id(id);
  e.mutable_goal_set()->set_domain(domain);
  return e;
}
v1::CareEvent GoalDone(const std::string& id) {
  v1::CareEvent e;
  e.mutable_goal_status_changed()->set_goal_id(id);
  e.mutable_goal_status_changed()->set_status(v1::GOAL_STATUS_COMPLETED);
  return e;
}
v1::CareEvent Assessment(const std::string& id, v1::ServiceCategory domain,
                         v1::NeedLevel level) {
  v1::CareEvent e;
  e.mutable_assessment_recorded()->set_assessment_id(id);
  auto* d = e.mutable_assessment_recorded()->add_domains();
  d->set_domain(domain);
  d->set_need_level(level);
  return e;
}

class ContinuityTest : public ::testing::Test {
 protected:
  ContinuityTest() {
    AddOrg("org-hosp", v1::ORGANIZATION_TYPE_HOSPITAL);
    AddOrg("org-bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
    AddOrg("org-housing", v1::ORGANIZATION_TYPE_HOUSING);
    AddOrg("org-pc", v1::ORGANIZATION_TYPE_PRIMARY_CARE);
    AddOrg("org-sud", v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT);
  }

  void AddOrg(const std::string& id, v1::OrganizationType type) {
    v1::CareEvent e;
    e.mutable_organization_registered()->set_organization_id(id);
    e.mutable_organization_registered()->set_name(id + " name");
    e.mutable_organization_registered()->set_type(type);
    directory_.Apply(e, CareEventContext{});
  }

  // Applies `e` to record_ at `at` as `org`; returns its global position.
  uint64_t Apply(const v1::CareEvent& e, absl::Time at,
                 const std::string& org = "org-hosp") {
    return ApplyTo(record_, e, at, org);
  }
  uint64_t ApplyTo(ClientRecord& record, const v1::CareEvent& e, absl::Time at,
                   const std::string& org = "org-hosp") {
    CareEventContext context;
    context.stream_version =
        record.version.has_value() ? *record.version + 1 : 0;
    context.global_position = ++position_;
    context.occurred_at = at;
    context.recorded_at = at;
    context.organization_id = org;
    record.Apply(e, context);
    return context.global_position;
  }

  std::vector<v1::Gap> Gaps(absl::Time now) {
    return FindGaps(record_, directory_, config_, now);
  }
  std::vector<v1::Gap> GapsOf(v1::GapReason reason, absl::Time now) {
    std::vector<v1::Gap> out;
    for (v1::Gap& g : Gaps(now)) {
      if (g.reason() == reason) out.push_back(std::move(g));
    }
    return out;
  }

  ClientRecord record_{"c1"};
  OrganizationDirectory directory_;
  ViewsConfig config_;
  uint64_t position_ = 0;
};

// --- Calendar
// -----------------------------------------------------------------------

TEST(ContinuityCalendarTest, BusinessDaysSkipWeekends) {
  EXPECT_EQ(AddBusinessDays(kMonday, 5), Day(7));  // Monday -> Monday
  EXPECT_EQ(AddBusinessDays(Day(4), 1), Day(7));   // Friday -> Monday
  EXPECT_EQ(AddBusinessDays(Day(4), 5), Day(11));  // Friday -> Friday
  // Saturday 10:00 counts from Monday 00:00.
  EXPECT_EQ(AddBusinessDays(Day(5), 1), Day(8, 0));
  EXPECT_EQ(AddBusinessDays(Day(5), 0), Day(7, 0));
  EXPECT_EQ(CalendarDaysBetween(Day(0, 23), Day(1, 1)), 1);
  EXPECT_EQ(CalendarDaysBetween(Day(0, 1), Day(0, 23)), 0);
  EXPECT_EQ(StartOfUtcDay(Day(3, 17)), Day(3, 0));
}

// --- Gaps
// -----------------------------------------------------------------------------

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

// --- Summary
// ---------------------------------------------------------------------------

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

// --- Worklist items
// ------------------------------------------------------------------

TEST_F(ContinuityTest, WorklistItemsForBothSides) {
  Apply(Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT), Day(0));
  Apply(Transition("t1", "a1", "org-hosp", "org-bh", DateOf(2026, 1, 9)),
        Day(1));
  Apply(Discharge("a1"), Day(2));
  Apply(Referral("r1", "org-hosp", "org-housing", v1::SERVICE_CATEGORY_HOUSING),
        Day(0));
  Apply(Referral("r2", "org-pc", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
        Day(0), "org-pc");
  Apply(Accepted("r2"), Day(1), "org-bh");
  Apply(Referral("r3", "org-pc", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
        Day(0), "org-pc");
  Apply(Accepted("r3"), Day(1), "org-bh");
  Apply(Started("r3"), Day(2), "org-bh");

  struct Row {
    std::string org;
    v1::WorklistItemKind kind;
    std::string subject;
    absl::Time due;
    bool operator==(const Row&) const = default;
  };
  std::vector<Row> rows;
  for (const v1::WorklistItem& item : WorklistItemsOf(record_, config_)) {
    EXPECT_EQ(item.client_id(), "c1");
    EXPECT_FALSE(item.overdue());
    rows.push_back({item.organization_id(), item.kind(), item.subject_id(),
                    ToTime(item.due())});
  }
  const auto kTransition = v1::WORKLIST_ITEM_KIND_TRANSITION_DUE;
  const auto kFollowUp = v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE;
  const auto kStale = v1::WORKLIST_ITEM_KIND_STALE_REFERRAL;
  const absl::Time jan9 = Day(4, 0);
  EXPECT_THAT(rows, ElementsAre(Row{"org-bh", kTransition, "t1", jan9},
                                Row{"org-bh", kFollowUp, "a1", Day(10, 0)},
                                Row{"org-bh", kStale, "r2", Day(31)},
                                Row{"org-hosp", kTransition, "t1", jan9},
                                Row{"org-hosp", kStale, "r1", Day(7)},
                                Row{"org-hosp", kFollowUp, "a1", Day(10, 0)},
                                Row{"org-housing", kStale, "r1", Day(7)},
                                Row{"org-pc", kStale, "r2", Day(31)}));

  Apply(TransitionDone("t1"), Day(4));
  for (const v1::WorklistItem& item : WorklistItemsOf(record_, config_)) {
    EXPECT_NE(item.kind(), kTransition);
  }
  Apply(CaseOpened(), Day(4));
  Apply(CaseClosed(), Day(4));
  EXPECT_THAT(WorklistItemsOf(record_, config_), IsEmpty());
}

// --- Measures
// ---------------------------------------------------------------------------

class ContinuityMeasureTest : public ContinuityTest {
 protected:
  // A client with an index admission discharged (or visited) at Day(0).
  ClientRecord& NewClient(
      const std::string& id, v1::LevelOfCare level,
      v1::DischargeDisposition disposition = v1::DISCHARGE_DISPOSITION_HOME) {
    clients_.emplace_back(id);
    ClientRecord& r = clients_.back();
    ApplyTo(r, Admission("a-" + id, "org-hosp", level),
            level == v1::LEVEL_OF_CARE_INPATIENT ? Day(-3) : Day(0, 9));
    ApplyTo(r, Discharge("a-" + id, disposition), Day(0, 15));
    return r;
  }
  v1::MeasureResult Measure(absl::string_view name) {
    std::vector<v1::MeasureIndexEntry> entries;
    for (const ClientRecord& r : clients_) {
      for (v1::MeasureIndexEntry& e : MeasureEntriesOf(r, directory_)) {
        if (e.kind() == MeasureIndexKindOf(name)) entries.push_back(e);
      }
    }
    return ComputeMeasure(name, entries, config_, false);
  }
  static std::vector<std::string> Clients(
      const google::protobuf::RepeatedPtrField<v1::MeasureMember>& members) {
    std::vector<std::string> out;
    for (const auto& m : members) out.push_back(m.client_id());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::deque<ClientRecord> clients_;
};

TEST_F(ContinuityMeasureTest, FuhCountsDays1To7WithAMentalHealthProvider) {
  ApplyTo(NewClient("same-day", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-bh"), Day(0, 18));
  ApplyTo(NewClient("day7", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_PSYCHOLOGY), Day(7, 23));
  ApplyTo(NewClient("day8", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_SOCIAL_WORK), Day(8, 0));
  // A nurse at a behavioural-health organisation counts; at primary care not.
  ApplyTo(NewClient("bh-org", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-bh", v1::DISCIPLINE_NURSING), Day(1));
  ApplyTo(NewClient("not-mh", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_NURSING), Day(1));
  // Exclusions: readmission on day 30 (day 31 is not excluded), transfer.
  ClientRecord& day30 = NewClient("readmit-30", v1::LEVEL_OF_CARE_INPATIENT);
  ApplyTo(day30,
          Admission("b", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(30, 23));
  ClientRecord& day31 = NewClient("readmit-31", v1::LEVEL_OF_CARE_INPATIENT);
  ApplyTo(day31,
          Admission("b", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(31, 0));
  NewClient("transfer", v1::LEVEL_OF_CARE_INPATIENT,
            v1::DISCHARGE_DISPOSITION_TRANSFER);

  const v1::MeasureResult fuh7 = Measure(kMeasureFuh7);
  EXPECT_EQ(fuh7.window_days(), 7);
  EXPECT_EQ(fuh7.denominator(), 6);
  EXPECT_EQ(fuh7.numerator(), 2);
  EXPECT_DOUBLE_EQ(fuh7.rate(), 2.0 / 6.0);
  EXPECT_THAT(Clients(fuh7.numerator_members()), ElementsAre("bh-org", "day7"));
  EXPECT_THAT(Clients(fuh7.denominator_members()),
              ElementsAre("bh-org", "day7", "day8", "not-mh", "readmit-31",
                          "same-day"));
  EXPECT_THAT(Clients(fuh7.excluded_members()),
              ElementsAre("readmit-30", "transfer"));
  for (const v1::MeasureMember& m : fuh7.excluded_members()) {
    if (m.client_id() == "readmit-30") {
      EXPECT_EQ(m.note(), "readmitted on day 30");
      EXPECT_EQ(m.qualifying_id(), "b");
    } else {
      EXPECT_EQ(m.note(), "direct transfer");
    }
  }
  for (const v1::MeasureMember& m : fuh7.numerator_members()) {
    EXPECT_EQ(m.qualifying_id(), "f");
    EXPECT_EQ(m.subject_id(), "a-" + m.client_id());
  }
  const v1::MeasureResult fuh30 = Measure(kMeasureFuh30);
  EXPECT_THAT(Clients(fuh30.numerator_members()),
              ElementsAre("bh-org", "day7", "day8"));
}

TEST_F(ContinuityMeasureTest, FumCountsTheVisitDay) {
  ApplyTo(NewClient("same-day", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_NURSING), Day(0, 18));
  ApplyTo(NewClient("day7", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_NURSING), Day(7, 23));
  ApplyTo(NewClient("day8", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_NURSING), Day(8, 0));
  NewClient("none", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT);
  // Not mental health: not in the measure.
  clients_.emplace_back("physical");
  ApplyTo(clients_.back(),
          Admission("a", "org-hosp", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(0));

  const v1::MeasureResult fum7 = Measure(kMeasureFum7);
  EXPECT_EQ(fum7.denominator(), 4);
  EXPECT_THAT(Clients(fum7.numerator_members()),
              ElementsAre("day7", "same-day"));
  const v1::MeasureResult fum30 = Measure(kMeasureFum30);
  EXPECT_THAT(Clients(fum30.numerator_members()),
              ElementsAre("day7", "day8", "same-day"));
  // FUH does not count the same-day visit after an inpatient stay.
  ApplyTo(NewClient("inpatient", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-bh"), Day(0, 18));
  EXPECT_EQ(Measure(kMeasureFuh30).numerator(), 0);
  EXPECT_EQ(Measure(kMeasureFuh30).denominator(), 1);
}

TEST_F(ContinuityMeasureTest, ReadmissionOnDay30CountsDay31DoesNot) {
  ApplyTo(NewClient("day30", v1::LEVEL_OF_CARE_INPATIENT),
          Admission("b", "org-pc", v1::LEVEL_OF_CARE_INPATIENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(30, 23));
  ApplyTo(NewClient("day31", v1::LEVEL_OF_CARE_INPATIENT),
          Admission("b", "org-pc", v1::LEVEL_OF_CARE_INPATIENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(31, 0));
  ApplyTo(NewClient("ed-only", v1::LEVEL_OF_CARE_INPATIENT),
          Admission("b", "org-pc", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT),
          Day(2));
  NewClient("died", v1::LEVEL_OF_CARE_INPATIENT,
            v1::DISCHARGE_DISPOSITION_DECEASED);

  const v1::MeasureResult r = Measure(kMeasureReadmission30);
  EXPECT_EQ(r.window_days(), 30);
  // The second stays are not discharged, so they are no index events.
  EXPECT_EQ(r.denominator(), 3);
  EXPECT_EQ(r.numerator(), 1);
  EXPECT_THAT(Clients(r.numerator_members()), ElementsAre("day30"));
  EXPECT_EQ(r.numerator_members(0).qualifying_id(), "b");
  EXPECT_THAT(Clients(r.excluded_members()), ElementsAre("died"));
  EXPECT_EQ(r.excluded_members(0).note(), "deceased");
}

TEST_F(ContinuityMeasureTest, ReferralLoopClosureWithMedianDays) {
  Apply(
      Referral("r1", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
      Day(0));
  Apply(
      Referral("r2", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
      Day(0));
  Apply(
      Referral("r3", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
      Day(0));
  Apply(Completed("r1"), Day(2), "org-bh");
  Apply(Completed("r2"), Day(4), "org-bh");
  const std::vector<v1::MeasureIndexEntry> entries =
      MeasureEntriesOf(record_, directory_);
  const v1::MeasureResult r =
      ComputeMeasure(kMeasureReferralLoopClosure, entries, config_, false);
  EXPECT_EQ(r.denominator(), 3);
  EXPECT_EQ(r.numerator(), 2);
  EXPECT_DOUBLE_EQ(r.median_days_to_close(), 3.0);
  EXPECT_EQ(r.numerator_members_size(), 2);
  const v1::MeasureResult counts =
      ComputeMeasure(kMeasureReferralLoopClosure, entries, config_, true);
  EXPECT_EQ(counts.numerator(), 2);
  EXPECT_EQ(counts.numerator_members_size(), 0);
  EXPECT_EQ(counts.denominator_members_size(), 0);
}

TEST_F(ContinuityMeasureTest, WindowsComeFromConfig) {
  ApplyTo(NewClient("day8", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-bh"), Day(8));
  config_.fuh_short_days = 8;
  const v1::MeasureResult fuh = Measure(kMeasureFuh7);
  EXPECT_EQ(fuh.window_days(), 8);
  EXPECT_EQ(fuh.numerator(), 1);
}

// --- Caseload
// ------------------------------------------------------------------------------

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
}  // namespace caseline::care
