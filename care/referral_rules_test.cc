// The referral rules (referral_rules.cc): sending, the consent shared data
// needs, and who may take each lifecycle step from which states.
#include "care/care_decision.h"
#include "care/decision_test_util.h"
#include "care/event_rules.h"
#include "care/event_summary.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::test {
namespace {

using ::testing::HasSubstr;
using C = absl::StatusCode;

// c1 registered and its case opened by org-hospital.
class ReferralRulesTest : public DecisionTest {
 protected:
  void Background() override { GivenRegisteredOpenCase(); }
};

TEST_F(ReferralRulesTest, FieldsAreNamed) {
  v1::CareEvent no_kind = Referral("r1", "org-housing");
  no_kind.mutable_referral_sent()->clear_kind();
  v1::CareEvent unknown_class =
      Referral("r1", "org-bh", {v1::DATA_CLASS_GENERAL});
  unknown_class.mutable_referral_sent()->add_shared_data_classes(
      static_cast<v1::DataClass>(999));
  v1::CareEvent failed;
  failed.mutable_referral_failed()->set_referral_id("bad id");
  const RuleCase cases[] = {
      {"referral id",
       {},
       {"org-hospital", Referral("has space", "org-housing")},
       C::kInvalidArgument,
       {"referral_sent.referral_id: \"has space\" is not an id; use 1 to 64 of "
        "A-Z a-z 0-9 . _ - :, starting with a letter or digit"}},
      {"kind",
       {},
       {"org-hospital", no_kind},
       C::kInvalidArgument,
       {"referral_sent.kind: is required (not UNSPECIFIED)"}},
      {"a DataClass no version of the enum has",
       {},
       {"org-hospital", unknown_class},
       C::kInvalidArgument,
       {"referral_sent.shared_data_classes[1]: 999 is not a known value"}},
      {"accepted",
       {},
       {"org-hospital", Accepted("bad id")},
       C::kInvalidArgument,
       {"referral_accepted.referral_id: \"bad id\""}},
      {"declined",
       {},
       {"org-hospital", Declined("")},
       C::kInvalidArgument,
       {"referral_declined.referral_id: \"\" is not an id"}},
      {"on hold",
       {},
       {"org-hospital", OnHold("-x")},
       C::kInvalidArgument,
       {"referral_on_hold.referral_id"}},
      {"started",
       {},
       {"org-hospital", Started("a b")},
       C::kInvalidArgument,
       {"referral_started.referral_id"}},
      {"completed",
       {},
       {"org-hospital", Completed("a/b")},
       C::kInvalidArgument,
       {"referral_completed.referral_id"}},
      {"failed",
       {},
       {"org-hospital", failed},
       C::kInvalidArgument,
       {"referral_failed.referral_id"}},
      {"cancelled",
       {},
       {"org-hospital", Cancelled(std::string(65, 'x'))},
       C::kInvalidArgument,
       {"referral_cancelled.referral_id"}},
  };
  ExpectCases(cases);
}

TEST_F(ReferralRulesTest, SharingDataNeedsConsentInForceForTheReceiver) {
  const std::vector<v1::DataClass> kMentalHealth = {
      v1::DATA_CLASS_MENTAL_HEALTH};
  const RuleCase cases[] = {
      {"no consent",
       {},
       {"org-hospital", Referral("r1", "org-bh", kMentalHealth)},
       C::kFailedPrecondition,
       {"consent required: no consent of client c1 in force at ",
        " covers sharing DATA_CLASS_MENTAL_HEALTH with org-bh for "
        "PURPOSE_OF_USE_CARE_COORDINATION; record ConsentGiven for that "
        "organisation (or its type) and that data class (and purpose, if it "
        "lists purposes) first, or share fewer data classes"}},
      {"a consent for another organisation or another class",
       {{"org-hospital", Consent("k1", {"org-bh-2"}, kMentalHealth)},
        {"org-hospital", Consent("k2", {"org-bh"}, {v1::DATA_CLASS_HOUSING})}},
       {"org-hospital", Referral("r1", "org-bh", kMentalHealth)},
       C::kFailedPrecondition,
       {"DATA_CLASS_MENTAL_HEALTH", "org-bh"}},
      {"one class covered, one not",
       {{"org-hospital",
         ConsentFromNow("c-general", {"org-bh"}, {v1::DATA_CLASS_GENERAL},
                        {v1::PURPOSE_OF_USE_CARE_COORDINATION}),
         Days(1)}},
       {"org-hospital",
        Referral("r-mh", "org-bh",
                 {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH}),
        Days(2)},
       C::kFailedPrecondition,
       {"consent required", "DATA_CLASS_MENTAL_HEALTH", "org-bh", "client c1",
        "ConsentGiven"}},
      {"before the consent's start, not even general information",
       {{"org-hospital",
         ConsentFromNow("c-general", {"org-bh"}, {v1::DATA_CLASS_GENERAL},
                        {v1::PURPOSE_OF_USE_CARE_COORDINATION}),
         Days(1)}},
       {"org-hospital", Referral("r-early", "org-bh", {v1::DATA_CLASS_GENERAL}),
        absl::ZeroDuration()},
       C::kFailedPrecondition,
       {"consent required", "DATA_CLASS_GENERAL", "org-bh"}},
      {"every class covered",
       {{"org-hospital",
         Consent("k3", {"org-bh"},
                 {v1::DATA_CLASS_MENTAL_HEALTH, v1::DATA_CLASS_GENERAL})}},
       {"org-hospital",
        Referral("r1", "org-bh",
                 {v1::DATA_CLASS_MENTAL_HEALTH, v1::DATA_CLASS_GENERAL})},
       C::kOk},
      {"a consent for legal purposes does not cover care coordination",
       {{"org-hospital",
         Consent("k4", {"org-housing"}, {v1::DATA_CLASS_HOUSING},
                 {v1::PURPOSE_OF_USE_LEGAL})}},
       {"org-hospital",
        Referral("r3", "org-housing", {v1::DATA_CLASS_HOUSING})},
       C::kFailedPrecondition,
       {"PURPOSE_OF_USE_CARE_COORDINATION"}},
      {"but covers a legal referral",
       {{"org-hospital",
         Consent("k4", {"org-housing"}, {v1::DATA_CLASS_HOUSING},
                 {v1::PURPOSE_OF_USE_LEGAL})}},
       {"org-hospital", Referral("r3", "org-housing", {v1::DATA_CLASS_HOUSING},
                                 v1::PURPOSE_OF_USE_LEGAL)},
       C::kOk},
      // A subpoena's authorisation lists one purpose (LEGAL): it does not let
      // the same class go to the same court for treatment.
      {"nor another purpose at the same recipient",
       {{"org-hospital",
         Organization("org-court", v1::ORGANIZATION_TYPE_COURT_PAROLE)},
        {"org-hospital", ConsentFromNow("subpoena-2024-117", {"org-court"},
                                        {v1::DATA_CLASS_EDUCATION},
                                        {v1::PURPOSE_OF_USE_LEGAL})}},
       {"org-hospital",
        Referral("court-treatment", "org-court", {v1::DATA_CLASS_EDUCATION},
                 v1::PURPOSE_OF_USE_TREATMENT),
        Days(1)},
       C::kFailedPrecondition,
       {"consent required", "DATA_CLASS_EDUCATION", "org-court",
        "PURPOSE_OF_USE_TREATMENT"}},
      {"sharing nothing needs no consent",
       {},
       {"org-hospital", Referral("r2", "org-housing")},
       C::kOk},
  };
  ExpectCases(cases);
}

TEST_F(ReferralRulesTest, ConsentRevokedBeforeTheReferralNoLongerCovers) {
  GivenRegisteredOpenCase();
  Given(Consent("k1", {"org-bh"}, {v1::DATA_CLASS_MENTAL_HEALTH}));
  v1::CareEvent revoked = Revoked("k1");
  SetTimestamp(kT0 + absl::Hours(3),
               revoked.mutable_consent_revoked()->mutable_received_at());
  SetTimestamp(kT0 + absl::Hours(3),
               revoked.mutable_consent_revoked()->mutable_effective_at());
  Given(revoked, kT0 + absl::Hours(3));
  const v1::CareEvent referral =
      Referral("r1", "org-bh", {v1::DATA_CLASS_MENTAL_HEALTH});
  // Before the effective time it still covers (late-recorded referral)...
  EXPECT_TRUE(Decide(referral, "org-hospital", kT0 + absl::Hours(1)).ok());
  // ...after it, not.
  EXPECT_EQ(CodeOf(Decide(referral, "org-hospital", kT0 + absl::Hours(4))),
            C::kFailedPrecondition);
}

TEST_F(ReferralRulesTest, Part2DataNeedsTheRecipientNamedNotItsType) {
  const std::vector<v1::PurposeOfUse> kTreatment = {
      v1::PURPOSE_OF_USE_TREATMENT};
  const Command by_type = {
      "org-hospital", [&] {
        v1::CareEvent e = ConsentFromNow(
            "c-types", {}, {v1::DATA_CLASS_MENTAL_HEALTH}, kTreatment);
        e.mutable_consent_given()->add_recipient_organization_types(
            v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT);
        return e;
      }()};
  const Command named = {
      "org-hospital",
      ConsentFromNow("c-named", {"org-sud"},
                     {v1::DATA_CLASS_SUBSTANCE_USE_PART2}, kTreatment)};
  const RuleCase cases[] = {
      {"the type covers other data",
       {by_type},
       {"org-hospital",
        Referral("r-mh", "org-sud", {v1::DATA_CLASS_MENTAL_HEALTH},
                 v1::PURPOSE_OF_USE_TREATMENT)},
       C::kOk},
      {"but not Part 2 records",
       {by_type},
       {"org-hospital",
        Referral("r-part2", "org-sud", {v1::DATA_CLASS_SUBSTANCE_USE_PART2},
                 v1::PURPOSE_OF_USE_TREATMENT)},
       C::kFailedPrecondition,
       {"covers sharing DATA_CLASS_SUBSTANCE_USE_PART2 with org-sud",
        "record ConsentGiven naming that organisation (42 CFR Part 2 requires "
        "the recipient by name)"}},
      {"naming the clinic makes it lawful",
       {by_type, named},
       {"org-hospital",
        Referral("r-part2", "org-sud", {v1::DATA_CLASS_SUBSTANCE_USE_PART2},
                 v1::PURPOSE_OF_USE_TREATMENT)},
       C::kOk},
  };
  ExpectCases(cases);

  // A consent to types that lists Part 2 (refused today; a record may hold
  // one from before that rule) covers the other classes, never Part 2.
  v1::CareEvent legacy = Consent(
      "k1", {}, {v1::DATA_CLASS_SUBSTANCE_USE_PART2, v1::DATA_CLASS_GENERAL});
  legacy.mutable_consent_given()->add_recipient_organization_types(
      v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT);
  record_ = ClientRecord(kClient);
  GivenRegisteredOpenCase();
  Given(legacy);
  EXPECT_TRUE(Decide(Referral("r1", "org-sud", {v1::DATA_CLASS_GENERAL})).ok());
  auto r =
      Decide(Referral("r1", "org-sud", {v1::DATA_CLASS_SUBSTANCE_USE_PART2}));
  EXPECT_EQ(CodeOf(r), C::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("Part 2"));
}

// c1 registered, its case opened, and referral r1 sent by org-hospital to
// org-housing.
class ReferralLifecycleTest : public DecisionTest {
 protected:
  void Background() override {
    GivenRegisteredOpenCase();
    Given(Referral("r1", "org-housing"));
  }
};

TEST_F(ReferralLifecycleTest, WhoMayTakeAStepAndFromWhichStates) {
  const Command accepted = {"org-housing", Accepted("r1")};
  const Command held = {"org-housing", OnHold("r1")};
  const Command declined = {"org-housing", Declined("r1")};
  const Command received = {"org-housing", Received("r1")};
  const RuleCase cases[] = {
      // Who.
      {"the sender may not accept",
       {},
       {"org-hospital", Accepted("r1")},
       C::kPermissionDenied,
       {"only the receiving organisation (org-housing) may accept referral "
        "r1; org-hospital is not it"}},
      {"a bystander has no part in the client's care",
       {},
       {"org-bh", Accepted("r1")},
       C::kPermissionDenied,
       {"org-bh is not involved in its care"}},
      {"nobody sends in another's name",
       {},
       {"org-housing",
        [] {
          v1::CareEvent e = Referral("r-forged", "org-bh");
          e.mutable_referral_sent()->set_from_organization_id("org-hospital");
          return e;
        }()},
       C::kPermissionDenied,
       {"referral_sent.from_organization_id is org-hospital but the acting "
        "organisation is org-housing"}},
      {"the receiver accepts", {}, accepted, C::kOk},
      {"either side cancels: the sender",
       {},
       {"org-hospital", Cancelled("r1")},
       C::kOk},
      {"either side cancels: the receiver",
       {},
       {"org-housing", Cancelled("r1")},
       C::kOk},
      {"nobody else cancels",
       {{"org-hospital", Member("m1", v1::CARE_TEAM_ROLE_MEMBER, "org-bh")}},
       {"org-bh", Cancelled("r1")},
       C::kPermissionDenied,
       {"only the sending (org-hospital) or receiving (org-housing) "
        "organisation may cancel referral r1"}},
      // From which states.
      {"not accepted twice",
       {accepted},
       accepted,
       C::kFailedPrecondition,
       {"referral lifecycle: referral r1 is accepted; to accept it, it must "
        "be requested or received or on-hold"}},
      {"no declining after acceptance",
       {accepted},
       declined,
       C::kFailedPrecondition,
       {"referral lifecycle: referral r1 is accepted; to decline it, it must "
        "be requested or received"}},
      {"resuming a held referral it accepted",
       {accepted, held},
       {"org-housing", Started("r1")},
       C::kOk},
      {"not starting a held referral it never accepted",
       {held},
       {"org-housing", Started("r1")},
       C::kFailedPrecondition,
       {"referral lifecycle: referral r1 is on-hold; to start it, it must be "
        "accepted or on-hold (after acceptance)"}},
      {"completing a started referral",
       {accepted, held, {"org-housing", Started("r1")}},
       {"org-housing", Completed("r1")},
       C::kOk},
      {"no completing a declined referral",
       {declined},
       {"org-housing", Completed("r1")},
       C::kFailedPrecondition,
       {"referral lifecycle: referral r1 is declined; to complete it, it must "
        "be accepted or in-progress"}},
      {"no cancelling a declined referral",
       {declined},
       {"org-hospital", Cancelled("r1")},
       C::kFailedPrecondition,
       {"r1 is declined; to cancel it"}},
      // Acknowledging (ReferralReceived): the receiver, once, before its
      // answer; the answer then follows as from requested.
      {"the receiver acknowledges", {}, received, C::kOk},
      {"the sender may not acknowledge",
       {},
       {"org-hospital", Received("r1")},
       C::kPermissionDenied,
       {"only the receiving organisation (org-housing) may acknowledge "
        "referral r1; org-hospital is not it"}},
      {"not acknowledged twice",
       {received},
       received,
       C::kFailedPrecondition,
       {"referral lifecycle: referral r1 is received; to acknowledge it, it "
        "must be requested"}},
      {"not acknowledged after the answer",
       {accepted},
       received,
       C::kFailedPrecondition,
       {"referral r1 is accepted; to acknowledge it, it must be requested"}},
      {"accepted once received", {received}, accepted, C::kOk},
      {"declined once received", {received}, declined, C::kOk},
      {"cancelled once received",
       {received},
       {"org-hospital", Cancelled("r1")},
       C::kOk},
      // Which referral.
      {"an unknown referral",
       {},
       {"org-housing", Accepted("r-unknown")},
       C::kNotFound,
       {"client c1 has no referral r-unknown"}},
      {"a referral id already used",
       {},
       {"org-hospital", Referral("r1", "org-housing")},
       C::kAlreadyExists,
       {"referral r1 already exists for client c1; choose a new id"}},
      {"a referral to its sender",
       {},
       {"org-hospital", Referral("r2", "org-hospital")},
       C::kInvalidArgument,
       {"referral_sent.to_organization_id: is the sending organisation "
        "itself"}},
  };
  ExpectCases(cases);
}

// Acknowledging records when (time to acknowledge) and leaves the referral
// awaiting its answer: a gap and a worklist item until accepted or declined.
TEST_F(ReferralLifecycleTest, ReceivedIsAnAcknowledgementNotAnAnswer) {
  Background();
  Given(Received("r1"), kT0 + absl::Hours(3), "org-housing");
  const ReferralState& r = record_.referrals.at("r1");
  EXPECT_EQ(r.status, ReferralStatus::kReceived);
  EXPECT_EQ(ReferralStatusName(r.status), "received");
  ASSERT_TRUE(r.received_at.has_value());
  EXPECT_EQ(*r.received_at - r.sent_at, absl::Hours(3));
  EXPECT_TRUE(AwaitingAnswer(r.status));
  EXPECT_EQ(SummarizeCareEvent(Received("r1")),
            "referral r1 received (acknowledged)");
}

TEST_F(ReferralRulesTest, ReferralsDefaultToTheSenderRoutineAndCoordination) {
  GivenRegisteredOpenCase();
  v1::CareEvent no_sender = Referral("r1", "org-housing");
  no_sender.mutable_referral_sent()->clear_from_organization_id();
  auto defaulted = Decide(no_sender, "org-hospital");
  ASSERT_TRUE(defaulted.ok()) << defaulted.status();
  const v1::ReferralSent& sent = (*defaulted)[0].referral_sent();
  EXPECT_EQ(sent.from_organization_id(), "org-hospital");
  EXPECT_EQ(sent.urgency(), v1::URGENCY_ROUTINE);
  EXPECT_EQ(sent.purpose(), v1::PURPOSE_OF_USE_CARE_COORDINATION);
}

// start_by: a real date, not before the day before the sent date (UTC); the
// server records whether the sender gave one.
TEST_F(ReferralRulesTest, AStartDateIsRecordedWithItsSource) {
  GivenRegisteredOpenCase();
  const absl::CivilDay sent_day =
      absl::ToCivilDay(kT0 + absl::Hours(1), absl::UTCTimeZone());
  const auto with_start_by = [](absl::CivilDay day) {
    v1::CareEvent event = Referral("r1", "org-housing");
    v1::Date* date = event.mutable_referral_sent()->mutable_start_by();
    date->set_year(static_cast<int32_t>(day.year()));
    date->set_month(day.month());
    date->set_day(day.day());
    // A caller's source is ignored.
    event.mutable_referral_sent()->set_target_source(
        v1::REFERRAL_TARGET_SOURCE_NOT_RECORDED);
    return event;
  };
  auto none = Decide(Referral("r1", "org-housing"));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ((*none)[0].referral_sent().target_source(),
            v1::REFERRAL_TARGET_SOURCE_NONE_REQUESTED);
  EXPECT_FALSE((*none)[0].referral_sent().has_start_by());

  auto day_before = Decide(with_start_by(sent_day - 1));
  ASSERT_TRUE(day_before.ok()) << day_before.status();
  EXPECT_EQ((*day_before)[0].referral_sent().target_source(),
            v1::REFERRAL_TARGET_SOURCE_REQUESTED);

  auto too_early = Decide(with_start_by(sent_day - 2));
  EXPECT_EQ(too_early.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_early.status().message()),
              ::testing::HasSubstr("referral_sent.start_by: is before the "
                                   "referral was sent"));

  v1::CareEvent not_a_date = with_start_by(sent_day + 3);
  not_a_date.mutable_referral_sent()->mutable_start_by()->set_month(2);
  not_a_date.mutable_referral_sent()->mutable_start_by()->set_day(30);
  EXPECT_EQ(Decide(not_a_date).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The step rules read the referral through ReferralIdOf (client_record.h):
// every event of this topic must have one.
TEST(ReferralRulesTableTest, EveryReferralEventHasItsReferralId) {
  for (const rules::EventRules& entry : rules::ReferralRules()) {
    v1::CareEvent event;
    event.GetReflection()->MutableMessage(
        &event, v1::CareEvent::descriptor()->FindFieldByNumber(entry.event));
    EXPECT_NE(ReferralIdOf(event), nullptr) << event.ShortDebugString();
  }
}

}  // namespace
}  // namespace caseline::care::test
