// One test per care-record rule, accepting and rejecting. Records are built by
// folding event lists, exactly as the handler builds them from the log.
#include "care/care_decision.h"

#include <functional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care {
namespace {

using care::CareEventContext;
using care::ClientRecord;
using care::OrganizationDirectory;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'600'000);  // 2026-01-05

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
}

class CareDecisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddOrganization("org-hospital", v1::ORGANIZATION_TYPE_HOSPITAL);
    AddOrganization("org-housing", v1::ORGANIZATION_TYPE_HOUSING);
    AddOrganization("org-bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
    AddOrganization("org-sud", v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT);
    AddOrganization("org-bh-2", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
  }

  void AddOrganization(const std::string& id, v1::OrganizationType type) {
    v1::CareEvent e;
    e.mutable_organization_registered()->set_organization_id(id);
    e.mutable_organization_registered()->set_name(id);
    e.mutable_organization_registered()->set_type(type);
    directory_.Apply(e, CareEventContext{});
  }

  // Folds `event` into the record as if `organization` recorded it at `at`.
  void Given(const v1::CareEvent& event, absl::Time at = kT0,
             const std::string& organization = "org-hospital") {
    CareEventContext context;
    context.stream_version =
        record_.version.has_value() ? *record_.version + 1 : 0;
    context.occurred_at = at;
    context.organization_id = organization;
    record_.Apply(event, context);
  }

  void GivenRegisteredOpenCase() {
    v1::CareEvent registered;
    registered.mutable_client_registered()->mutable_name()->set_family(
        "Okafor");
    Given(registered);
    v1::CareEvent opened;
    opened.mutable_case_opened();
    Given(opened);
  }

  absl::StatusOr<std::vector<v1::CareEvent>> Decide(
      const v1::CareEvent& event,
      const std::string& organization = "org-hospital",
      absl::Time at = kT0 + absl::Hours(1)) {
    CareCommand command;
    command.command_id = "cmd-1";
    command.client_id = record_.client_id;
    command.organization_id = organization;
    command.occurred_at = at;
    command.event = event;
    if (absl::Status s = ValidateCareCommand(command, kT0 + absl::Hours(2));
        !s.ok()) {
      return s;
    }
    return DecideClientCommand(
        record_, directory_,
        [this](absl::string_view id) {
          return known_clients_.count(std::string(id)) > 0;
        },
        command);
  }

  static v1::CareEvent Referral(const std::string& id, const std::string& to,
                                const std::vector<v1::DataClass>& shared = {}) {
    v1::CareEvent e;
    v1::ReferralSent* r = e.mutable_referral_sent();
    r->set_referral_id(id);
    r->set_from_organization_id("org-hospital");
    r->set_to_organization_id(to);
    r->set_service_category(v1::SERVICE_CATEGORY_HOUSING);
    r->set_kind(v1::REFERRAL_KIND_WARM);
    for (auto c : shared) r->add_shared_data_classes(c);
    return e;
  }

  static v1::CareEvent Consent(const std::string& id,
                               const std::vector<std::string>& orgs,
                               const std::vector<v1::DataClass>& classes) {
    v1::CareEvent e;
    v1::ConsentGiven* c = e.mutable_consent_given();
    c->set_consent_id(id);
    for (auto& o : orgs) c->add_recipient_organization_ids(o);
    for (auto d : classes) c->add_data_classes(d);
    SetTime(kT0, c->mutable_period()->mutable_start());
    c->set_method(v1::CONSENT_METHOD_SIGNED_FORM);
    c->mutable_document()->set_document_id("form-" + id);
    c->mutable_document()->set_sha256(std::string(64, 'a'));
    return e;
  }

  static v1::CareEvent Member(const std::string& id, v1::CareTeamRole role) {
    v1::CareEvent e;
    v1::CareTeamMemberAdded* m = e.mutable_care_team_member_added();
    m->set_member_id(id);
    m->set_organization_id("org-hospital");
    m->set_discipline(v1::DISCIPLINE_SOCIAL_WORK);
    m->set_role(role);
    return e;
  }

  OrganizationDirectory directory_;
  ClientRecord record_{"c1"};
  std::set<std::string> known_clients_;
};

absl::StatusCode CodeOf(const absl::StatusOr<std::vector<v1::CareEvent>>& r) {
  return r.status().code();
}

TEST_F(CareDecisionTest, UnknownClientIsPermissionDeniedAndRegistersOnce) {
  v1::CareEvent opened;
  opened.mutable_case_opened();
  auto r = Decide(opened);
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(),
            "client c1 is not known to organisation org-hospital, or "
            "org-hospital is not involved in its care and may not record "
            "CaseOpened; an organisation becomes involved by registering the "
            "client, or by an involved organisation's act (a referral or "
            "transition sent to it, a service it provides, a care team member "
            "of it added by the lead case manager's organisation)");

  v1::CareEvent registered;
  registered.mutable_client_registered()->mutable_name()->set_given("Ada");
  ASSERT_TRUE(Decide(registered).ok());
  Given(registered);
  EXPECT_EQ(CodeOf(Decide(registered)), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(Decide(opened).ok());
}

TEST_F(CareDecisionTest, UnknownActingOrganizationIsNotFound) {
  GivenRegisteredOpenCase();
  v1::CareEvent note;
  note.mutable_case_closed()->set_reason(v1::CASE_CLOSURE_REASON_GOALS_MET);
  auto r = Decide(note, "org-nowhere");
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("x-caseline-org"));
}

TEST_F(CareDecisionTest, UnknownReferencesAreNotFound) {
  GivenRegisteredOpenCase();
  v1::CareEvent accept;
  accept.mutable_referral_accepted()->set_referral_id("r-missing");
  EXPECT_EQ(CodeOf(Decide(accept)), absl::StatusCode::kNotFound);
  v1::CareEvent progress;
  progress.mutable_goal_progress_recorded()->set_goal_id("g-missing");
  EXPECT_EQ(CodeOf(Decide(progress)), absl::StatusCode::kNotFound);
  v1::CareEvent removed;
  removed.mutable_care_team_member_removed()->set_member_id("m-missing");
  EXPECT_EQ(CodeOf(Decide(removed)), absl::StatusCode::kNotFound);
  v1::CareEvent discharge;
  discharge.mutable_discharge_recorded()->set_admission_id("a-missing");
  EXPECT_EQ(CodeOf(Decide(discharge)), absl::StatusCode::kNotFound);
  v1::CareEvent completed;
  completed.mutable_transition_completed()->set_transition_id("t-missing");
  EXPECT_EQ(CodeOf(Decide(completed)), absl::StatusCode::kNotFound);
  auto to_unknown = Decide(Referral("r1", "org-nowhere"));
  EXPECT_EQ(CodeOf(to_unknown), absl::StatusCode::kNotFound);
  EXPECT_THAT(to_unknown.status().message(),
              HasSubstr("referral_sent.to_organization_id"));
  v1::CareEvent link;
  link.mutable_client_records_linked()->set_other_client_id("c-missing");
  EXPECT_EQ(CodeOf(Decide(link)), absl::StatusCode::kPermissionDenied);
  known_clients_.insert("c-missing");
  EXPECT_TRUE(Decide(link).ok());
}

TEST_F(CareDecisionTest, SharingDataNeedsConsentInForceForTheReceiver) {
  GivenRegisteredOpenCase();
  auto r = Decide(Referral("r1", "org-bh", {v1::DATA_CLASS_MENTAL_HEALTH}));
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("DATA_CLASS_MENTAL_HEALTH"));
  EXPECT_THAT(r.status().message(), HasSubstr("org-bh"));

  // A consent for another organisation or another class does not help.
  Given(Consent("k1", {"org-bh-2"}, {v1::DATA_CLASS_MENTAL_HEALTH}));
  Given(Consent("k2", {"org-bh"}, {v1::DATA_CLASS_HOUSING}));
  EXPECT_EQ(
      CodeOf(Decide(Referral("r1", "org-bh", {v1::DATA_CLASS_MENTAL_HEALTH}))),
      absl::StatusCode::kFailedPrecondition);

  Given(Consent("k3", {"org-bh"},
                {v1::DATA_CLASS_MENTAL_HEALTH, v1::DATA_CLASS_GENERAL}));
  EXPECT_TRUE(
      Decide(Referral("r1", "org-bh",
                      {v1::DATA_CLASS_MENTAL_HEALTH, v1::DATA_CLASS_GENERAL}))
          .ok());
  // A consent limited to legal purposes does not cover care coordination.
  v1::CareEvent legal_only =
      Consent("k4", {"org-housing"}, {v1::DATA_CLASS_HOUSING});
  legal_only.mutable_consent_given()->add_purposes(v1::PURPOSE_OF_USE_LEGAL);
  Given(legal_only);
  auto wrong_purpose =
      Decide(Referral("r3", "org-housing", {v1::DATA_CLASS_HOUSING}));
  EXPECT_EQ(CodeOf(wrong_purpose), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(wrong_purpose.status().message(),
              HasSubstr("PURPOSE_OF_USE_CARE_COORDINATION"));
  v1::CareEvent for_court =
      Referral("r3", "org-housing", {v1::DATA_CLASS_HOUSING});
  for_court.mutable_referral_sent()->set_purpose(v1::PURPOSE_OF_USE_LEGAL);
  EXPECT_TRUE(Decide(for_court).ok());
  // Sharing nothing needs no consent.
  EXPECT_TRUE(Decide(Referral("r2", "org-housing")).ok());
}

TEST_F(CareDecisionTest, ConsentRevokedBeforeTheReferralNoLongerCovers) {
  GivenRegisteredOpenCase();
  Given(Consent("k1", {"org-bh"}, {v1::DATA_CLASS_MENTAL_HEALTH}));
  v1::CareEvent revoked;
  revoked.mutable_consent_revoked()->set_consent_id("k1");
  SetTime(kT0 + absl::Hours(3),
          revoked.mutable_consent_revoked()->mutable_received_at());
  SetTime(kT0 + absl::Hours(3),
          revoked.mutable_consent_revoked()->mutable_effective_at());
  Given(revoked, kT0 + absl::Hours(3));
  // Before the effective time it still covers (late-recorded referral)...
  EXPECT_TRUE(Decide(Referral("r1", "org-bh", {v1::DATA_CLASS_MENTAL_HEALTH}),
                     "org-hospital", kT0 + absl::Hours(1))
                  .ok());
  // ...after it, not.
  auto after = DecideClientCommand(
      record_, directory_, [](absl::string_view) { return false; },
      CareCommand{"c", "c1", "org-hospital", "", kT0 + absl::Hours(4),
                  Referral("r1", "org-bh", {v1::DATA_CLASS_MENTAL_HEALTH})});
  EXPECT_EQ(after.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CareDecisionTest, Part2DataNeedsTheOrganisationNamed) {
  GivenRegisteredOpenCase();
  v1::CareEvent by_type = Consent(
      "k1", {}, {v1::DATA_CLASS_SUBSTANCE_USE_PART2, v1::DATA_CLASS_GENERAL});
  by_type.mutable_consent_given()->add_recipient_organization_types(
      v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT);
  Given(by_type);
  // The type covers general data...
  EXPECT_TRUE(Decide(Referral("r1", "org-sud", {v1::DATA_CLASS_GENERAL})).ok());
  // ...but not Part 2 data.
  auto r =
      Decide(Referral("r1", "org-sud", {v1::DATA_CLASS_SUBSTANCE_USE_PART2}));
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("Part 2"));
  Given(Consent("k2", {"org-sud"}, {v1::DATA_CLASS_SUBSTANCE_USE_PART2}));
  EXPECT_TRUE(
      Decide(Referral("r1", "org-sud", {v1::DATA_CLASS_SUBSTANCE_USE_PART2}))
          .ok());
}

TEST_F(CareDecisionTest,
       OnlyTheReceiverMovesAReferralAndOnlyAlongItsLifecycle) {
  GivenRegisteredOpenCase();
  Given(Referral("r1", "org-housing"));
  v1::CareEvent accept;
  accept.mutable_referral_accepted()->set_referral_id("r1");
  auto by_sender = Decide(accept, "org-hospital");
  EXPECT_EQ(CodeOf(by_sender), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(by_sender.status().message(),
              HasSubstr("only the receiving organisation"));
  ASSERT_TRUE(Decide(accept, "org-housing").ok());
  Given(accept, kT0, "org-housing");
  auto twice = Decide(accept, "org-housing");
  EXPECT_EQ(CodeOf(twice), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(twice.status().message(), HasSubstr("is accepted"));

  // Declining after acceptance is not in the lifecycle; failing is.
  v1::CareEvent decline;
  decline.mutable_referral_declined()->set_referral_id("r1");
  EXPECT_EQ(CodeOf(Decide(decline, "org-housing")),
            absl::StatusCode::kFailedPrecondition);
  v1::CareEvent hold;
  hold.mutable_referral_on_hold()->set_referral_id("r1");
  Given(hold, kT0, "org-housing");
  v1::CareEvent start;
  start.mutable_referral_started()->set_referral_id("r1");
  EXPECT_TRUE(
      Decide(start, "org-housing").ok());  // resumes: it was accepted before
  Given(start, kT0, "org-housing");
  v1::CareEvent complete;
  complete.mutable_referral_completed()->set_referral_id("r1");
  EXPECT_TRUE(Decide(complete, "org-housing").ok());
}

TEST_F(CareDecisionTest, NoCompletingADeclinedReferral) {
  GivenRegisteredOpenCase();
  Given(Referral("r1", "org-housing"));
  v1::CareEvent decline;
  decline.mutable_referral_declined()->set_referral_id("r1");
  Given(decline, kT0, "org-housing");
  v1::CareEvent complete;
  complete.mutable_referral_completed()->set_referral_id("r1");
  auto r = Decide(complete, "org-housing");
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("is declined"));
  v1::CareEvent cancel;
  cancel.mutable_referral_cancelled()->set_referral_id("r1");
  EXPECT_EQ(CodeOf(Decide(cancel, "org-hospital")),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(CareDecisionTest, EitherSideCancelsAndNobodyElse) {
  GivenRegisteredOpenCase();
  Given(Referral("r1", "org-housing"));
  v1::CareEvent cancel;
  cancel.mutable_referral_cancelled()->set_referral_id("r1");
  EXPECT_TRUE(Decide(cancel, "org-hospital").ok());
  EXPECT_TRUE(Decide(cancel, "org-housing").ok());
  EXPECT_EQ(CodeOf(Decide(cancel, "org-bh")),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CareDecisionTest, ReferralsAreSentInTheActingOrganisationsName) {
  GivenRegisteredOpenCase();
  v1::CareEvent referral = Referral("r1", "org-housing");
  referral.mutable_referral_sent()->set_from_organization_id("org-bh");
  EXPECT_EQ(CodeOf(Decide(referral, "org-hospital")),
            absl::StatusCode::kPermissionDenied);
  v1::CareEvent no_sender = Referral("r1", "org-housing");
  no_sender.mutable_referral_sent()->clear_from_organization_id();
  auto defaulted = Decide(no_sender, "org-hospital");
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ((*defaulted)[0].referral_sent().from_organization_id(),
            "org-hospital");
  EXPECT_EQ((*defaulted)[0].referral_sent().urgency(), v1::URGENCY_ROUTINE);
}

TEST_F(CareDecisionTest, RepresentativeConsentNeedsAnAuthority) {
  GivenRegisteredOpenCase();
  v1::CareEvent consent = Consent("k1", {"org-bh"}, {v1::DATA_CLASS_GENERAL});
  consent.mutable_consent_given()
      ->mutable_representative()
      ->mutable_name()
      ->set_family("Doe");
  auto r = Decide(consent);
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("consent_given.representative.authority"));
  consent.mutable_consent_given()->mutable_representative()->set_authority(
      v1::REPRESENTATIVE_AUTHORITY_HEALTH_CARE_AGENT);
  EXPECT_TRUE(Decide(consent).ok());
}

TEST_F(CareDecisionTest, RevocationNeedsAnActiveConsentAndCannotPredateIt) {
  GivenRegisteredOpenCase();
  v1::CareEvent revoke;
  revoke.mutable_consent_revoked()->set_consent_id("k1");
  EXPECT_EQ(CodeOf(Decide(revoke)), absl::StatusCode::kNotFound);
  Given(Consent("k1", {"org-bh"}, {v1::DATA_CLASS_GENERAL}));
  SetTime(kT0 - absl::Hours(1),
          revoke.mutable_consent_revoked()->mutable_received_at());
  SetTime(kT0 - absl::Hours(1),
          revoke.mutable_consent_revoked()->mutable_effective_at());
  auto early = Decide(revoke);
  EXPECT_EQ(CodeOf(early), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(early.status().message(),
              HasSubstr("cannot predate its consent"));
  revoke.mutable_consent_revoked()->clear_received_at();
  revoke.mutable_consent_revoked()->clear_effective_at();
  auto ok = Decide(revoke);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE((*ok)[0].consent_revoked().has_effective_at());  // defaulted
  Given((*ok)[0]);
  auto again = Decide(revoke);
  EXPECT_EQ(CodeOf(again), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("already revoked"));
}

TEST_F(CareDecisionTest, TransitionsNeedAReceiverAnOpenAdmissionAndAPlan) {
  GivenRegisteredOpenCase();
  v1::CareEvent planned;
  planned.mutable_transition_planned()->set_transition_id("t1");
  planned.mutable_transition_planned()->set_to_level_of_care(
      v1::LEVEL_OF_CARE_HOME);
  auto no_receiver = Decide(planned);
  EXPECT_EQ(CodeOf(no_receiver), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_receiver.status().message(),
              HasSubstr("receiving organisation"));
  planned.mutable_transition_planned()->set_to_organization_id("org-housing");
  ASSERT_TRUE(Decide(planned).ok());

  v1::CareEvent admission;
  admission.mutable_admission_recorded()->set_admission_id("a1");
  admission.mutable_admission_recorded()->set_facility_organization_id(
      "org-hospital");
  admission.mutable_admission_recorded()->set_level_of_care(
      v1::LEVEL_OF_CARE_INPATIENT);
  Given(admission);
  v1::CareEvent discharge;
  discharge.mutable_discharge_recorded()->set_admission_id("a1");
  ASSERT_TRUE(Decide(discharge).ok());
  Given(discharge);
  auto twice = Decide(discharge);
  EXPECT_EQ(CodeOf(twice), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(twice.status().message(), HasSubstr("open admission"));

  v1::CareEvent completed;
  completed.mutable_transition_completed()->set_transition_id("t1");
  EXPECT_EQ(CodeOf(Decide(completed)), absl::StatusCode::kNotFound);
  Given(planned);
  ASSERT_TRUE(Decide(completed).ok());
  Given(completed);
  EXPECT_EQ(CodeOf(Decide(completed)), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CareDecisionTest, MeetingAttendeesMustBeCurrentMembers) {
  GivenRegisteredOpenCase();
  Given(Member("m1", v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER));
  Given(Member("m2", v1::CARE_TEAM_ROLE_MEMBER));
  v1::CareEvent removed;
  removed.mutable_care_team_member_removed()->set_member_id("m2");
  Given(removed);
  v1::CareEvent meeting;
  meeting.mutable_team_meeting_held()->set_meeting_id("meet-1");
  meeting.mutable_team_meeting_held()->add_attendee_member_ids("m1");
  meeting.mutable_team_meeting_held()->set_client_attended(true);
  EXPECT_TRUE(Decide(meeting).ok());
  meeting.mutable_team_meeting_held()->add_attendee_member_ids("m2");
  auto r = Decide(meeting);
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("m2"));
  meeting.mutable_team_meeting_held()->set_attendee_member_ids(1, "m-unknown");
  EXPECT_EQ(CodeOf(Decide(meeting)), absl::StatusCode::kNotFound);
}

TEST_F(CareDecisionTest, TheOnlyLeadCaseManagerStaysWhileTheCaseIsOpen) {
  GivenRegisteredOpenCase();
  Given(Member("lead-1", v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER));
  v1::CareEvent remove;
  remove.mutable_care_team_member_removed()->set_member_id("lead-1");
  auto r = Decide(remove);
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("only lead case manager"));
  Given(Member("lead-2", v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER));
  EXPECT_TRUE(Decide(remove).ok());
}

TEST_F(CareDecisionTest, AClosedCaseTakesOnlyReopening) {
  GivenRegisteredOpenCase();
  v1::CareEvent closed;
  closed.mutable_case_closed()->set_reason(v1::CASE_CLOSURE_REASON_MOVED);
  Given(closed);
  auto r = Decide(Referral("r1", "org-housing"));
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("ReopenCase"));
  // With the case closed the only lead may leave, too (checked after
  // reopening).
  v1::CareEvent reopened;
  reopened.mutable_case_reopened();
  ASSERT_TRUE(Decide(reopened).ok());
  Given(reopened);
  EXPECT_TRUE(Decide(Referral("r1", "org-housing")).ok());
  EXPECT_EQ(CodeOf(Decide(reopened)), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CareDecisionTest, FutureBusinessTimeIsRefused) {
  GivenRegisteredOpenCase();
  const absl::Time now = kT0 + absl::Hours(2);
  auto r = Decide(Referral("r1", "org-housing"), "org-hospital",
                  now + absl::Minutes(6));
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("occurred_at"));
  EXPECT_TRUE(Decide(Referral("r1", "org-housing"), "org-hospital",
                     now + absl::Minutes(4))
                  .ok());
  // Late data is normal.
  EXPECT_TRUE(Decide(Referral("r1", "org-housing"), "org-hospital",
                     now - absl::Hours(24 * 90))
                  .ok());
}

TEST_F(CareDecisionTest, MalformedFieldsAreNamed) {
  GivenRegisteredOpenCase();
  auto bad_id = Decide(Referral("has space", "org-housing"));
  EXPECT_EQ(CodeOf(bad_id), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_id.status().message(),
              HasSubstr("referral_sent.referral_id"));

  v1::CareEvent missing_kind = Referral("r1", "org-housing");
  missing_kind.mutable_referral_sent()->set_kind(v1::REFERRAL_KIND_UNSPECIFIED);
  auto r = Decide(missing_kind);
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("referral_sent.kind"));

  v1::CareEvent unknown_enum = Referral("r1", "org-housing");
  unknown_enum.mutable_referral_sent()->add_shared_data_classes(
      static_cast<v1::DataClass>(999));
  r = Decide(unknown_enum);
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("referral_sent.shared_data_classes[0]"));

  v1::CareEvent goal;
  goal.mutable_goal_set()->set_goal_id("g1");
  goal.mutable_goal_set()->set_domain(v1::SERVICE_CATEGORY_HOUSING);
  goal.mutable_goal_set()->set_description("Stable housing");
  r = Decide(goal);
  EXPECT_THAT(r.status().message(), HasSubstr("goal_set.measure"));
  goal.mutable_goal_set()->set_measure("Signed lease");
  r = Decide(goal);
  EXPECT_THAT(r.status().message(), HasSubstr("goal_set.target_date"));
  *goal.mutable_goal_set()->mutable_target_date() = [] {
    v1::Date d;
    d.set_year(2026);
    d.set_month(2);
    d.set_day(30);
    return d;
  }();
  r = Decide(goal);
  EXPECT_THAT(r.status().message(), HasSubstr("not a calendar date"));
  goal.mutable_goal_set()->mutable_target_date()->set_day(28);
  EXPECT_TRUE(Decide(goal).ok());

  CareCommand no_id;
  no_id.client_id = "c1";
  no_id.organization_id = "org-hospital";
  no_id.event = Referral("r1", "org-housing");
  EXPECT_THAT(ValidateCareCommand(no_id, kT0).message(),
              HasSubstr("command_id"));
  v1::CareEvent empty;
  EXPECT_EQ(CodeOf(Decide(empty)), absl::StatusCode::kInvalidArgument);
}

// Broke request_fuzz's "an accepted command's append passes the log's
// validation" (regressions/request_fuzz/occurred-at-before-1678, an input
// written by hand): a command dated before 1678 was accepted, and the event
// log then refused its append as "events[0].occurred_at".
TEST_F(CareDecisionTest, OccurredAtMustFitTheLog) {
  CareCommand command;
  command.command_id = "cmd-1";
  command.client_id = "c1";
  command.organization_id = "org-hospital";
  command.event.mutable_case_opened();
  command.occurred_at = absl::FromUnixSeconds(-20'000'000'000);  // 1336
  const absl::Status s = ValidateCareCommand(command, kT0);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("occurred_at ("));
  EXPECT_THAT(s.message(), HasSubstr("1678-01-01"));
  command.occurred_at = absl::FromUnixSeconds(-9'000'000'000);  // 1684
  EXPECT_TRUE(ValidateCareCommand(command, kT0).ok());
}

TEST_F(CareDecisionTest, DismissingADuplicateFinding) {
  v1::CareEvent dismissed;
  dismissed.mutable_duplicate_dismissed()->set_finding_id(
      "duplicate-clients:c1:c7");
  dismissed.mutable_duplicate_dismissed()->set_reason("twins, checked ids");
  EXPECT_EQ(CodeOf(Decide(dismissed)), absl::StatusCode::kPermissionDenied);
  GivenRegisteredOpenCase();
  ASSERT_TRUE(Decide(dismissed).ok());
  Given(dismissed);
  auto again = Decide(dismissed);
  EXPECT_EQ(CodeOf(again), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("already dismissed"));

  // A finding about a pair of clients must name this one.
  v1::CareEvent other = dismissed;
  other.mutable_duplicate_dismissed()->set_finding_id(
      "duplicate-clients:c10:c7");
  auto r = Decide(other);
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("not c1"));
  // Other kinds of finding are about this client's own services/referrals.
  other.mutable_duplicate_dismissed()->set_finding_id(
      "duplicate-referrals:c1:HOUSING:r1:r2");
  EXPECT_TRUE(Decide(other).ok());

  v1::CareEvent no_reason = other;
  no_reason.mutable_duplicate_dismissed()->clear_reason();
  r = Decide(no_reason);
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("duplicate_dismissed.reason"));
  v1::CareEvent long_id = other;
  long_id.mutable_duplicate_dismissed()->set_finding_id(std::string(201, 'x'));
  r = Decide(long_id);
  EXPECT_THAT(r.status().message(),
              HasSubstr("duplicate_dismissed.finding_id"));
  long_id.mutable_duplicate_dismissed()->set_finding_id(std::string(200, 'x'));
  EXPECT_TRUE(Decide(long_id).ok());
  long_id.mutable_duplicate_dismissed()->clear_finding_id();
  EXPECT_EQ(CodeOf(Decide(long_id)), absl::StatusCode::kInvalidArgument);

  // Still possible once the case is closed.
  v1::CareEvent closed;
  closed.mutable_case_closed()->set_reason(v1::CASE_CLOSURE_REASON_MOVED);
  Given(closed);
  EXPECT_TRUE(Decide(other).ok());
}

v1::CareEvent Disclosure(const std::string& id, const std::string& to,
                         const std::vector<v1::DataClass>& classes,
                         const std::string& consent_id,
                         const std::string& legal_basis = "") {
  v1::CareEvent e;
  v1::InformationDisclosed* d = e.mutable_information_disclosed();
  d->set_disclosure_id(id);
  d->set_recipient_organization_id(to);
  for (auto c : classes) d->add_data_classes(c);
  d->set_purpose(v1::PURPOSE_OF_USE_CARE_COORDINATION);
  d->set_description("discharge summary");
  d->set_consent_id(consent_id);
  d->set_legal_basis(legal_basis);
  return e;
}

TEST_F(CareDecisionTest, DisclosuresRelyOnACoveringConsentOrALegalBasis) {
  GivenRegisteredOpenCase();
  Given(Consent("k1", {"org-bh"},
                {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH}));
  EXPECT_TRUE(
      Decide(Disclosure("d1", "org-bh",
                        {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH},
                        "k1"))
          .ok());

  // Neither consent nor legal basis: both fields named.
  auto r = Decide(Disclosure("d1", "org-bh", {v1::DATA_CLASS_GENERAL}, ""));
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("information_disclosed.consent_id"));
  EXPECT_THAT(r.status().message(), HasSubstr("legal_basis"));
  // A court order needs no consent.
  EXPECT_TRUE(Decide(Disclosure("d1", "org-bh", {v1::DATA_CLASS_HIV}, "",
                                "court order 2026-CV-0042"))
                  .ok());

  // A class the consent does not cover is named.
  r = Decide(Disclosure("d1", "org-bh",
                        {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_HIV}, "k1"));
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("DATA_CLASS_HIV"));
  // Nor another recipient.
  r = Decide(Disclosure("d1", "org-bh-2", {v1::DATA_CLASS_GENERAL}, "k1"));
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kFailedPrecondition);
  // Nor a purpose the consent does not list.
  v1::CareEvent narrow =
      Consent("k-legal", {"org-bh"}, {v1::DATA_CLASS_GENERAL});
  narrow.mutable_consent_given()->add_purposes(v1::PURPOSE_OF_USE_LEGAL);
  Given(narrow);
  r = Decide(Disclosure("d1", "org-bh", {v1::DATA_CLASS_GENERAL}, "k-legal"));
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kFailedPrecondition);

  // Part 2 data needs the recipient named, not its type.
  v1::CareEvent by_type =
      Consent("k-type", {},
              {v1::DATA_CLASS_SUBSTANCE_USE_PART2, v1::DATA_CLASS_GENERAL});
  by_type.mutable_consent_given()->add_recipient_organization_types(
      v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
  Given(by_type);
  EXPECT_TRUE(
      Decide(Disclosure("d1", "org-bh", {v1::DATA_CLASS_GENERAL}, "k-type"))
          .ok());
  r = Decide(Disclosure("d1", "org-bh", {v1::DATA_CLASS_SUBSTANCE_USE_PART2},
                        "k-type"));
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("Part 2"));

  // Unknown consent and unknown recipient are NOT_FOUND.
  r = Decide(Disclosure("d1", "org-bh", {v1::DATA_CLASS_GENERAL}, "k-none"));
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kNotFound);
  r = Decide(Disclosure("d1", "org-court", {v1::DATA_CLASS_GENERAL}, "",
                        "court order"));
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(),
              HasSubstr("information_disclosed.recipient_organization_id"));

  // Judged at occurred_at: before the consent started it does not cover.
  EXPECT_EQ(
      CodeOf(Decide(Disclosure("d1", "org-bh", {v1::DATA_CLASS_GENERAL}, "k1"),
                    "org-hospital", kT0 - absl::Hours(1))),
      absl::StatusCode::kFailedPrecondition);

  // Ids are new; fields are required.
  Given(Disclosure("d1", "org-bh", {v1::DATA_CLASS_GENERAL}, "k1"));
  EXPECT_EQ(CodeOf(Decide(
                Disclosure("d1", "org-bh", {v1::DATA_CLASS_GENERAL}, "k1"))),
            absl::StatusCode::kAlreadyExists);
  r = Decide(Disclosure("d2", "org-bh", {}, "k1"));
  EXPECT_THAT(r.status().message(),
              HasSubstr("information_disclosed.data_classes"));
  v1::CareEvent no_purpose =
      Disclosure("d2", "org-bh", {v1::DATA_CLASS_GENERAL}, "k1");
  no_purpose.mutable_information_disclosed()->clear_purpose();
  r = Decide(no_purpose);
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("information_disclosed.purpose"));

  // Records of a closed case are still released, and accounted for.
  v1::CareEvent closed;
  closed.mutable_case_closed()->set_reason(v1::CASE_CLOSURE_REASON_MOVED);
  Given(closed);
  EXPECT_TRUE(Decide(Disclosure("d2", "org-bh", {v1::DATA_CLASS_GENERAL}, "",
                                "subpoena 2026-17"))
                  .ok());
}

TEST_F(CareDecisionTest, OrganisationsRegisterOnce) {
  CareCommand command;
  command.command_id = "c";
  command.organization_id = "org-hospital";
  command.event.mutable_organization_registered()->set_organization_id(
      "org-new");
  command.event.mutable_organization_registered()->set_name("New");
  command.event.mutable_organization_registered()->set_type(
      v1::ORGANIZATION_TYPE_SCHOOL);
  ASSERT_TRUE(ValidateCareCommand(command, kT0).ok());
  EXPECT_TRUE(DecideOrganizationCommand(directory_, command).ok());
  command.event.mutable_organization_registered()->set_organization_id(
      "org-bh");
  EXPECT_EQ(DecideOrganizationCommand(directory_, command).status().code(),
            absl::StatusCode::kAlreadyExists);
  v1::CareEvent update;
  update.mutable_organization_updated()->set_organization_id("org-missing");
  command.event = update;
  EXPECT_EQ(DecideOrganizationCommand(directory_, command).status().code(),
            absl::StatusCode::kNotFound);
}

// --- Who may write what (docs/access.md) ---------------------------------------

// The record every write-rule case starts from: org-hospital registered the
// client and opened the case; org-housing received a referral; org-bh leads
// the care team (added by the hospital while there was no lead); org-sud
// provides a service the hospital recorded; org-bh-2 receives a planned
// transition. The hospital recorded consent k1; nobody else is involved.
class WriteRuleTest : public CareDecisionTest {
 protected:
  void SetUp() override {
    CareDecisionTest::SetUp();
    AddOrganization("org-stranger", v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
    GivenRegisteredOpenCase();
    Given(Consent("k1", {"org-housing"}, {v1::DATA_CLASS_GENERAL}));
    Given(Referral("r1", "org-housing"));
    v1::CareEvent lead = Member("lead-1", v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER);
    lead.mutable_care_team_member_added()->set_organization_id("org-bh");
    Given(lead);
    v1::CareEvent service;
    v1::ServiceStarted* started = service.mutable_service_started();
    started->set_service_id("s1");
    started->set_provider_organization_id("org-sud");
    started->set_category(v1::SERVICE_CATEGORY_SUBSTANCE_USE);
    Given(service);
    v1::CareEvent transition;
    v1::TransitionPlanned* planned = transition.mutable_transition_planned();
    planned->set_transition_id("t1");
    planned->set_to_organization_id("org-bh-2");
    planned->set_to_level_of_care(v1::LEVEL_OF_CARE_OUTPATIENT);
    Given(transition);
  }
};

struct WriteCase {
  const char* name;
  const char* organization;
  std::function<v1::CareEvent()> event;
  absl::StatusCode code;
  const char* message = "";  // a substring of the refusal
};

v1::CareEvent Closed() {
  v1::CareEvent e;
  e.mutable_case_closed()->set_reason(v1::CASE_CLOSURE_REASON_GOALS_MET);
  return e;
}
v1::CareEvent Revoked(bool on_client_request) {
  v1::CareEvent e;
  e.mutable_consent_revoked()->set_consent_id("k1");
  e.mutable_consent_revoked()->set_on_client_request(on_client_request);
  return e;
}
v1::CareEvent Ended(const std::string& service_id) {
  v1::CareEvent e;
  e.mutable_service_ended()->set_service_id(service_id);
  return e;
}
v1::CareEvent Interrupted() {
  v1::CareEvent e;
  e.mutable_service_interruption_notified()->set_service_id("s1");
  return e;
}
v1::CareEvent Added(const std::string& organization) {
  v1::CareEvent e;
  v1::CareTeamMemberAdded* m = e.mutable_care_team_member_added();
  m->set_member_id("new-member");
  m->mutable_name()->set_family("Lee");
  m->set_organization_id(organization);
  m->set_discipline(v1::DISCIPLINE_NURSING);
  m->set_role(v1::CARE_TEAM_ROLE_MEMBER);
  return e;
}
v1::CareEvent RemovedMember(const std::string& member_id) {
  v1::CareEvent e;
  e.mutable_care_team_member_removed()->set_member_id(member_id);
  return e;
}
v1::CareEvent Assessed() {
  v1::CareEvent e;
  v1::AssessmentRecorded* a = e.mutable_assessment_recorded();
  a->set_assessment_id("as-1");
  v1::DomainAssessment* d = a->add_domains();
  d->set_domain(v1::SERVICE_CATEGORY_FOOD);
  d->set_need_level(v1::NEED_LEVEL_LOW);
  return e;
}
v1::CareEvent SelfConsent(const std::string& organization) {
  v1::CareEvent e;
  v1::ConsentGiven* c = e.mutable_consent_given();
  c->set_consent_id("k-self");
  c->add_recipient_organization_ids(organization);
  c->add_data_classes(v1::DATA_CLASS_GENERAL);
  c->set_method(v1::CONSENT_METHOD_ELECTRONIC_SIGNATURE);
  c->mutable_document()->set_document_id("esig-1");
  c->mutable_document()->set_sha256(std::string(64, '0'));
  return e;
}
v1::CareEvent Accepted() {
  v1::CareEvent e;
  e.mutable_referral_accepted()->set_referral_id("r1");
  return e;
}
v1::CareEvent Cancelled() {
  v1::CareEvent e;
  e.mutable_referral_cancelled()->set_referral_id("r1");
  return e;
}
v1::CareEvent SentFrom(const std::string& from) {
  v1::CareEvent e;
  v1::ReferralSent* r = e.mutable_referral_sent();
  r->set_referral_id("r2");
  r->set_from_organization_id(from);
  r->set_to_organization_id("org-bh-2");
  r->set_service_category(v1::SERVICE_CATEGORY_FOOD);
  r->set_kind(v1::REFERRAL_KIND_COLD);
  return e;
}

TEST_F(WriteRuleTest, EachCommandToItsOwnRule) {
  using C = absl::StatusCode;
  constexpr C kOk = C::kOk, kDenied = C::kPermissionDenied;
  const WriteCase cases[] = {
      // Standing: an uninvolved organisation is refused whatever it writes,
      // including what would make it involved.
      {"stranger adds its own staff", "org-stranger",
       [] { return Added("org-stranger"); }, kDenied, "not involved"},
      {"stranger consents to itself", "org-stranger",
       [] { return SelfConsent("org-stranger"); }, kDenied, "not involved"},
      {"stranger closes the case", "org-stranger", Closed, kDenied,
       "not involved"},
      {"stranger revokes k1", "org-stranger", [] { return Revoked(true); },
       kDenied, "not involved"},
      {"stranger ends a service", "org-stranger", [] { return Ended("s1"); },
       kDenied, "not involved"},
      {"stranger assesses", "org-stranger", Assessed, kDenied, "not involved"},
      {"stranger sends a referral", "org-stranger",
       [] { return SentFrom("org-stranger"); }, kDenied, "not involved"},
      // Involved organisations: the command's own rule.
      {"receiver assesses", "org-housing", Assessed, kOk},
      {"transition receiver assesses", "org-bh-2", Assessed, kOk},
      {"involved consents naming itself", "org-housing",
       [] { return SelfConsent("org-housing"); }, kOk},
      {"recorder revokes", "org-hospital", [] { return Revoked(false); }, kOk},
      {"other revokes on its own", "org-housing",
       [] { return Revoked(false); }, kDenied, "only org-hospital revokes it"},
      {"other revokes on the client's request", "org-housing",
       [] { return Revoked(true); }, kOk},
      {"opener closes", "org-hospital", Closed, kOk},
      {"lead closes a case it did not open", "org-bh", Closed, kDenied,
       "only org-hospital closes it"},
      {"provider ends its service", "org-sud", [] { return Ended("s1"); },
       kOk},
      {"recorder of the service ends it", "org-hospital",
       [] { return Ended("s1"); }, kDenied, "only its provider ends it"},
      {"provider notifies interruption", "org-sud", Interrupted, kOk},
      {"other notifies interruption", "org-bh", Interrupted, kDenied,
       "only its provider"},
      {"unknown service is the state rule's", "org-hospital",
       [] { return Ended("s-missing"); }, C::kNotFound},
      {"lead's organisation adds anyone", "org-bh",
       [] { return Added("org-stranger"); }, kOk},
      {"non-lead adds while a lead exists", "org-hospital",
       [] { return Added("org-hospital"); }, kDenied,
       "only the organisation of a lead case manager"},
      {"member organisation removes its own", "org-bh",
       [] { return RemovedMember("lead-1"); }, C::kFailedPrecondition,
       "only lead case manager"},
      {"other removes a member", "org-housing",
       [] { return RemovedMember("lead-1"); }, kDenied,
       "only that organisation or the organisation of a lead"},
      {"receiver accepts", "org-housing", Accepted, kOk},
      {"sender accepts", "org-hospital", Accepted, kDenied,
       "only the receiving organisation (org-housing)"},
      {"involved non-party cancels", "org-bh", Cancelled, kDenied,
       "only the sending (org-hospital) or receiving (org-housing)"},
      {"sender cancels", "org-hospital", Cancelled, kOk},
      {"referral in another's name", "org-housing",
       [] { return SentFrom("org-hospital"); }, kDenied,
       "only in its own name"},
  };
  for (const WriteCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = Decide(c.event(), c.organization);
    EXPECT_EQ(CodeOf(r), c.code) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(c.message));
  }
}

TEST_F(WriteRuleTest, UnknownAndForbiddenClientsGetOneAnswer) {
  ClientRecord unknown("c1");
  CareCommand command;
  command.command_id = "cmd";
  command.client_id = "c1";
  command.organization_id = "org-stranger";
  command.occurred_at = kT0 + absl::Hours(1);
  command.event = Assessed();
  auto none = [](absl::string_view) { return false; };
  auto forbidden = DecideClientCommand(record_, directory_, none, command);
  auto missing = DecideClientCommand(unknown, directory_, none, command);
  EXPECT_EQ(forbidden.status(), missing.status());
  EXPECT_EQ(CodeOf(forbidden), absl::StatusCode::kPermissionDenied);
}

TEST_F(WriteRuleTest, ALinkNeedsInvolvementInBothRecords) {
  v1::CareEvent link;
  link.mutable_client_records_linked()->set_other_client_id("c-copy");
  // The copier registered c-copy (involved there) but not in c1.
  auto copier = Decide(link, "org-stranger");
  EXPECT_EQ(CodeOf(copier), absl::StatusCode::kPermissionDenied);
  // Involved in c1 but not in the other record: named as the other field.
  auto r = Decide(link, "org-hospital");
  EXPECT_EQ(CodeOf(r), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(),
              HasSubstr("client_records_linked.other_client_id: client c-copy "
                        "is not known to organisation org-hospital"));
  known_clients_.insert("c-copy");
  EXPECT_TRUE(Decide(link, "org-hospital").ok());
}

TEST_F(WriteRuleTest, WithoutALeadAnyInvolvedOrganisationAddsTheTeam) {
  Given(RemovedMember("lead-1"));
  EXPECT_TRUE(Decide(Added("org-housing"), "org-housing").ok());
  EXPECT_EQ(CodeOf(Decide(Added("org-stranger"), "org-stranger")),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(WriteRuleTest, ConsentCarriesItsProvenance) {
  struct Case {
    const char* name;
    std::function<void(v1::ConsentGiven*)> change;
    const char* field;
  };
  const Case cases[] = {
      {"no method", [](v1::ConsentGiven* c) { c->clear_method(); },
       "consent_given.method"},
      {"no document id",
       [](v1::ConsentGiven* c) { c->mutable_document()->clear_document_id(); },
       "consent_given.document.document_id"},
      {"digest not hex",
       [](v1::ConsentGiven* c) {
         c->mutable_document()->set_sha256(std::string(64, 'G'));
       },
       "consent_given.document.sha256"},
      {"digest upper case",
       [](v1::ConsentGiven* c) {
         c->mutable_document()->set_sha256(std::string(64, 'A'));
       },
       "consent_given.document.sha256"},
      {"digest short",
       [](v1::ConsentGiven* c) {
         c->mutable_document()->set_sha256(std::string(63, 'a'));
       },
       "consent_given.document.sha256"},
      {"verbal without witness",
       [](v1::ConsentGiven* c) {
         c->set_method(v1::CONSENT_METHOD_VERBAL_WITH_WITNESS);
       },
       "consent_given.witness"},
      {"obtained after it was recorded",
       [](v1::ConsentGiven* c) {
         SetTime(kT0 + absl::Hours(1) + absl::Seconds(1),
                 c->mutable_obtained_at());
       },
       "consent_given.obtained_at"},
      {"Part 2 to recipient types",
       [](v1::ConsentGiven* c) {
         c->add_data_classes(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
         c->add_recipient_organization_types(
             v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT);
       },
       "consent_given.recipient_organization_types"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::CareEvent e = SelfConsent("org-housing");
    c.change(e.mutable_consent_given());
    auto r = Decide(e);
    EXPECT_EQ(CodeOf(r), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(c.field));
  }
  v1::CareEvent verbal = SelfConsent("org-housing");
  verbal.mutable_consent_given()->set_method(
      v1::CONSENT_METHOD_VERBAL_WITH_WITNESS);
  verbal.mutable_consent_given()->mutable_witness()->set_family("Tan");
  verbal.mutable_consent_given()->mutable_representative()->set_authority(
      v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
  verbal.mutable_consent_given()
      ->mutable_representative()
      ->mutable_name()
      ->set_family("Okafor");
  auto accepted = Decide(verbal);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  // obtained_at defaults to occurred_at.
  EXPECT_EQ(accepted->front().consent_given().obtained_at().seconds(),
            absl::ToUnixSeconds(kT0 + absl::Hours(1)));
}

}  // namespace
}  // namespace caseline::care
