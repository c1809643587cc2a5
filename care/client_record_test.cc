#include "care/client_record.h"

#include "gtest/gtest.h"

namespace caseline::care {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'767'600'000);

class ClientRecordTest : public ::testing::Test {
 protected:
  void Apply(const v1::CareEvent& e, absl::Time at,
             const std::string& org = "org-a") {
    CareEventContext context;
    context.stream_version =
        record_.version.has_value() ? *record_.version + 1 : 0;
    context.global_position = context.stream_version + 100;
    context.occurred_at = at;
    context.organization_id = org;
    record_.Apply(e, context);
  }
  ClientRecord record_{"c1"};
};

TEST_F(ClientRecordTest, RegistrationAndCorrections) {
  v1::CareEvent registered;
  registered.mutable_client_registered()->mutable_name()->set_given("Ada");
  registered.mutable_client_registered()->set_phone("555-0100");
  Apply(registered, kT0, "org-hospital");
  v1::CareEvent corrected;
  corrected.mutable_client_details_corrected()->set_phone("555-0199");
  corrected.mutable_client_details_corrected()->set_interpreter_needed(true);
  Apply(corrected, kT0);
  EXPECT_TRUE(record_.registered);
  EXPECT_EQ(record_.registered_by_organization_id, "org-hospital");
  EXPECT_EQ(record_.details.name().given(),
            "Ada");  // untouched by the correction
  EXPECT_EQ(record_.details.phone(), "555-0199");
  EXPECT_TRUE(record_.details.interpreter_needed());
  EXPECT_EQ(record_.version, 1u);
}

TEST_F(ClientRecordTest, ConsentWindowsAndRevocation) {
  v1::CareEvent given;
  auto* c = given.mutable_consent_given();
  c->set_consent_id("k1");
  c->add_recipient_organization_ids("org-bh");
  c->add_recipient_organization_types(v1::ORGANIZATION_TYPE_HOUSING);
  c->add_data_classes(v1::DATA_CLASS_GENERAL);
  c->add_data_classes(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
  c->mutable_period()->mutable_end()->set_seconds(
      absl::ToUnixSeconds(kT0 + absl::Hours(100)));
  Apply(given, kT0);  // start defaults to occurred_at
  const ConsentState& consent = record_.consents.at("k1");
  const auto kNone = v1::ORGANIZATION_TYPE_UNSPECIFIED;
  const auto kCoordination = v1::PURPOSE_OF_USE_CARE_COORDINATION;
  EXPECT_FALSE(consent.Covers("org-bh", kNone, v1::DATA_CLASS_GENERAL,
                              kCoordination, kT0 - absl::Seconds(1)));
  EXPECT_TRUE(consent.Covers("org-bh", kNone, v1::DATA_CLASS_GENERAL,
                             kCoordination, kT0));
  EXPECT_TRUE(consent.Covers(
      "org-bh", kNone, v1::DATA_CLASS_SUBSTANCE_USE_PART2, kCoordination, kT0));
  EXPECT_FALSE(consent.Covers("org-bh", kNone, v1::DATA_CLASS_MENTAL_HEALTH,
                              kCoordination, kT0));
  EXPECT_TRUE(consent.Covers("org-shelter", v1::ORGANIZATION_TYPE_HOUSING,
                             v1::DATA_CLASS_GENERAL, kCoordination, kT0));
  EXPECT_FALSE(consent.Covers("org-shelter", v1::ORGANIZATION_TYPE_HOUSING,
                              v1::DATA_CLASS_SUBSTANCE_USE_PART2, kCoordination,
                              kT0));
  EXPECT_FALSE(consent.Covers("org-bh", kNone, v1::DATA_CLASS_GENERAL,
                              kCoordination, kT0 + absl::Hours(100)));

  // A consent that lists purposes covers only those.
  ConsentState legal_only = consent;
  legal_only.given.add_purposes(v1::PURPOSE_OF_USE_LEGAL);
  EXPECT_TRUE(legal_only.Covers("org-bh", kNone, v1::DATA_CLASS_GENERAL,
                                v1::PURPOSE_OF_USE_LEGAL, kT0));
  EXPECT_FALSE(legal_only.Covers("org-bh", kNone, v1::DATA_CLASS_GENERAL,
                                 kCoordination, kT0));

  v1::CareEvent revoked;
  revoked.mutable_consent_revoked()->set_consent_id("k1");
  revoked.mutable_consent_revoked()->mutable_received_at()->set_seconds(
      absl::ToUnixSeconds(kT0 + absl::Hours(10)));
  revoked.mutable_consent_revoked()->mutable_effective_at()->set_seconds(
      absl::ToUnixSeconds(kT0 + absl::Hours(12)));
  Apply(revoked, kT0 + absl::Hours(10));
  const ConsentState& after = record_.consents.at("k1");
  EXPECT_TRUE(after.Covers("org-bh", kNone, v1::DATA_CLASS_GENERAL,
                           kCoordination, kT0 + absl::Hours(11)));
  EXPECT_FALSE(after.Covers("org-bh", kNone, v1::DATA_CLASS_GENERAL,
                            kCoordination, kT0 + absl::Hours(12)));
  EXPECT_EQ(*after.revocation_received_at, kT0 + absl::Hours(10));
}

TEST_F(ClientRecordTest, ReferralLifecycleAndCareTeam) {
  v1::CareEvent sent;
  sent.mutable_referral_sent()->set_referral_id("r1");
  sent.mutable_referral_sent()->set_to_organization_id("org-b");
  Apply(sent, kT0);
  EXPECT_EQ(record_.referrals.at("r1").status, ReferralStatus::kRequested);
  EXPECT_EQ(record_.referrals.at("r1").sent_position, 100u);
  v1::CareEvent accepted;
  accepted.mutable_referral_accepted()->set_referral_id("r1");
  Apply(accepted, kT0 + absl::Hours(1), "org-b");
  v1::CareEvent hold;
  hold.mutable_referral_on_hold()->set_referral_id("r1");
  Apply(hold, kT0 + absl::Hours(2), "org-b");
  const ReferralState& r = record_.referrals.at("r1");
  EXPECT_EQ(r.status, ReferralStatus::kOnHold);
  EXPECT_TRUE(r.was_accepted);
  EXPECT_EQ(r.status_changed_at, kT0 + absl::Hours(2));
  EXPECT_FALSE(IsTerminal(r.status));

  v1::CareEvent lead;
  lead.mutable_care_team_member_added()->set_member_id("m1");
  lead.mutable_care_team_member_added()->set_role(
      v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER);
  Apply(lead, kT0);
  EXPECT_EQ(record_.ActiveLeadCaseManagers(), 1);
  v1::CareEvent removed;
  removed.mutable_care_team_member_removed()->set_member_id("m1");
  Apply(removed, kT0);
  EXPECT_EQ(record_.ActiveLeadCaseManagers(), 0);
  Apply(lead, kT0);  // re-added
  EXPECT_EQ(record_.ActiveLeadCaseManagers(), 1);

  v1::CareEvent unknown;
  unknown.mutable_referral_completed()->set_referral_id("r-unknown");
  Apply(unknown, kT0);  // ignored, never fails
  EXPECT_EQ(record_.referrals.size(), 1u);
}

TEST_F(ClientRecordTest, ContinuityFacts) {
  v1::CareEvent opened;
  opened.mutable_case_opened();
  Apply(opened, kT0, "org-pc");
  EXPECT_EQ(record_.case_status, CaseStatus::kOpen);
  EXPECT_EQ(record_.case_status_changed_at, kT0);
  EXPECT_EQ(record_.case_status_organization_id, "org-pc");
  EXPECT_EQ(record_.case_status_position, 100u);

  // A referral without from_organization_id is sent by the actor.
  v1::CareEvent sent;
  sent.mutable_referral_sent()->set_referral_id("r1");
  sent.mutable_referral_sent()->set_to_organization_id("org-b");
  Apply(sent, kT0, "org-pc");
  v1::CareEvent accepted;
  accepted.mutable_referral_accepted()->set_referral_id("r1");
  Apply(accepted, kT0 + absl::Hours(1), "org-b");
  v1::CareEvent started;
  started.mutable_referral_started()->set_referral_id("r1");
  Apply(started, kT0 + absl::Hours(2), "org-b");
  const ReferralState& r = record_.referrals.at("r1");
  EXPECT_EQ(r.sent_by_organization_id, "org-pc");
  EXPECT_EQ(r.accepted_at, kT0 + absl::Hours(1));
  EXPECT_EQ(r.accepted_position, 102u);
  EXPECT_EQ(r.started_at, kT0 + absl::Hours(2));

  // Assessed needs: the latest level per domain.
  v1::CareEvent assessed;
  auto* domain = assessed.mutable_assessment_recorded()->add_domains();
  assessed.mutable_assessment_recorded()->set_assessment_id("as1");
  domain->set_domain(v1::SERVICE_CATEGORY_HOUSING);
  domain->set_need_level(v1::NEED_LEVEL_HIGH);
  Apply(assessed, kT0);
  assessed.mutable_assessment_recorded()->set_assessment_id("as2");
  domain->set_need_level(v1::NEED_LEVEL_LOW);
  Apply(assessed, kT0 + absl::Hours(5));
  const AssessedNeed& need =
      record_.assessed_needs.at(v1::SERVICE_CATEGORY_HOUSING);
  EXPECT_EQ(need.level, v1::NEED_LEVEL_LOW);
  EXPECT_EQ(need.assessment_id, "as2");
  EXPECT_EQ(need.assessed_at, kT0 + absl::Hours(5));
  EXPECT_EQ(record_.assessment_ids.size(), 2u);

  v1::CareEvent meeting;
  meeting.mutable_team_meeting_held()->set_meeting_id("m1");
  meeting.mutable_team_meeting_held()->mutable_next_review_date()->set_year(
      2026);
  Apply(meeting, kT0 + absl::Hours(6), "org-pc");
  EXPECT_EQ(record_.meetings.at("m1").held_at, kT0 + absl::Hours(6));
  EXPECT_EQ(record_.meetings.at("m1").meeting.next_review_date().year(), 2026);
  EXPECT_EQ(record_.meetings.at("m1").recorded_by_organization_id, "org-pc");
  EXPECT_EQ(record_.meeting_ids.count("m1"), 1u);

  v1::CareEvent follow_up;
  auto* f = follow_up.mutable_follow_up_completed();
  f->set_follow_up_id("f1");
  f->set_provider_organization_id("org-bh");
  f->set_provider_discipline(v1::DISCIPLINE_PSYCHIATRY);
  Apply(follow_up, kT0 - absl::Hours(48), "org-bh");  // recorded late
  const FollowUpState& fs = record_.follow_ups.at("f1");
  EXPECT_EQ(fs.at, kT0 - absl::Hours(48));
  EXPECT_EQ(fs.follow_up.provider_discipline(), v1::DISCIPLINE_PSYCHIATRY);
  EXPECT_EQ(fs.follow_up.provider_organization_id(), "org-bh");
  EXPECT_EQ(record_.follow_up_ids.count("f1"), 1u);

  v1::CareEvent goal;
  goal.mutable_goal_set()->set_goal_id("g1");
  const uint64_t goal_position = 100 + *record_.version + 1;
  Apply(goal, kT0);
  EXPECT_EQ(record_.goals.at("g1").set_position, goal_position);
  EXPECT_TRUE(record_.goals.at("g1").in_progress());
  v1::CareEvent done;
  done.mutable_goal_status_changed()->set_goal_id("g1");
  done.mutable_goal_status_changed()->set_status(v1::GOAL_STATUS_COMPLETED);
  Apply(done, kT0);
  EXPECT_FALSE(record_.goals.at("g1").in_progress());

  v1::CareEvent service;
  service.mutable_service_started()->set_service_id("s1");
  Apply(service, kT0);
  v1::CareEvent interrupted;
  interrupted.mutable_service_interruption_notified()->set_service_id("s1");
  Apply(interrupted, kT0 + absl::Hours(9));
  EXPECT_EQ(record_.services.at("s1").interruption_notified_at,
            kT0 + absl::Hours(9));
  EXPECT_EQ(record_.services.at("s1").interruption_expected_end,
            kT0 + absl::Hours(9));

  v1::CareEvent member;
  member.mutable_care_team_member_added()->set_member_id("m1");
  Apply(member, kT0);
  v1::CareEvent removed;
  removed.mutable_care_team_member_removed()->set_member_id("m1");
  const uint64_t removed_position = 100 + *record_.version + 1;
  Apply(removed, kT0);
  EXPECT_EQ(record_.care_team.at("m1").removed_position, removed_position);
}

}  // namespace
}  // namespace caseline::care
