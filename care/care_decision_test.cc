// The order of docs/access.md "Who may write what" as care_decision.cc runs
// it: fields, the acting organisation, standing, each command's own rule, and
// the closed case. Each topic's state rules are tested beside them
// (care/<topic>_rules_test.cc). Records are built by folding event lists,
// exactly as the handler builds them from the log.
#include "care/care_decision.h"

#include "care/decision_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::test {
namespace {

using ::testing::HasSubstr;
using C = absl::StatusCode;

TEST_F(DecisionTest, UnknownClientIsPermissionDeniedAndRegistersOnce) {
  auto r = Decide(Opened());
  EXPECT_EQ(CodeOf(r), C::kPermissionDenied);
  EXPECT_EQ(r.status().message(),
            "client c1 is not known to organisation org-hospital, or "
            "org-hospital is not involved in its care and may not record "
            "CaseOpened; an organisation becomes involved by registering the "
            "client, or by an involved organisation's act (a referral or "
            "transition sent to it, a service it provides, a care team member "
            "of it added by the lead case manager's organisation)");

  v1::CareEvent registered = Registered();
  ASSERT_TRUE(Decide(registered).ok());
  Given(registered);
  auto again = Decide(registered, "org-bh");  // for every caller
  EXPECT_EQ(CodeOf(again), C::kAlreadyExists);
  EXPECT_EQ(again.status().message(),
            "client c1 is already registered; correct details with "
            "CorrectClientDetails, or register the new person under another "
            "client_id");
  EXPECT_TRUE(Decide(Opened()).ok());
}

// c1 registered, its case opened and its lead case manager (lead-1) added by
// org-hospital at kT0.
class DecisionOrderTest : public DecisionTest {
 protected:
  void Background() override {
    GivenRegisteredOpenCase();
    Given(Member("lead-1", v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER));
  }
};

TEST_F(DecisionOrderTest, TheFirstCheckThatFailsIsTheAnswer) {
  v1::CareEvent unknown_class = Referral("r1", "org-housing");
  unknown_class.mutable_referral_sent()->add_shared_data_classes(
      static_cast<v1::DataClass>(999));
  const RuleCase cases[] = {
      // Fields, before any state.
      {"no command_id",
       {},
       {.organization = "org-hospital",
        .event = Assessment("a1"),
        .command_id = ""},
       C::kInvalidArgument,
       {"command_id"}},
      {"client_id not an id",
       {},
       {.organization = "org-hospital",
        .event = Opened(),
        .client_id = "not an id!"},
       C::kInvalidArgument,
       {"client_id"}},
      {"no acting organisation",
       {},
       {"", Opened()},
       C::kInvalidArgument,
       {"x-caseline-org: request metadata must name the acting organisation"}},
      {"occurred_at ahead of the server clock",
       {},
       {"org-hospital", Assessment("a1"), kNow - kT0 + absl::Minutes(6)},
       C::kInvalidArgument,
       {"occurred_at", "is more than 5 minutes ahead of the server clock"}},
      {"a little ahead is clock skew",
       {},
       {"org-hospital", Assessment("a1"), kNow - kT0 + absl::Minutes(4)},
       C::kOk},
      {"late data is normal",
       {},
       {"org-hospital", Assessment("a1"), -Days(90)},
       C::kOk},
      {"no event",
       {},
       {"org-hospital", v1::CareEvent()},
       C::kInvalidArgument,
       {"event: the command carries no care event"}},
      {"an access record",
       {},
       {"org-hospital",
        [] {
          v1::CareEvent e;
          e.mutable_record_accessed();
          return e;
        }()},
       C::kInvalidArgument,
       {"event: access records are written by the server itself"}},
      {"fields are checked before the organisation",
       {},
       {"nobody-org", unknown_class},
       C::kInvalidArgument,
       {"referral_sent.shared_data_classes[0]", "999 is not a known value"}},
      // The acting organisation is registered.
      {"unregistered acting organisation",
       {},
       {"nobody-org", Assessment("a1")},
       C::kNotFound,
       {"x-caseline-org: organisation nobody-org is not registered",
        "RegisterOrganization"}},
      {"even for a client it would register",
       {},
       {.organization = "nobody-org", .event = Registered(), .client_id = "c2"},
       C::kNotFound,
       {"x-caseline-org"}},
      // Standing: one answer for an unknown client and an uninvolved one.
      {"unknown client",
       {},
       {.organization = "org-hospital",
        .event = Opened(),
        .client_id = "ghost-7"},
       C::kPermissionDenied,
       {"client ghost-7 is not known to organisation org-hospital, or "
        "org-hospital is not involved in its care and may not record "
        "CaseOpened"}},
      {"uninvolved organisation",
       {},
       {"org-bh", Opened()},
       C::kPermissionDenied,
       {"client c1 is not known to organisation org-bh, or org-bh is not "
        "involved in its care and may not record CaseOpened"}},
      {"standing before the own rule",
       {},
       {"org-bh", Closed()},
       C::kPermissionDenied,
       {"org-bh is not involved in its care"}},
      // The own rule before the record's state.
      {"own rule before the closed case",
       {{"org-hospital", Referral("r1", "org-housing")},
        {"org-hospital", Closed()}},
       {"org-hospital", Accepted("r1")},
       C::kPermissionDenied,
       {"only the receiving organisation (org-housing)"}},
      // A closed case takes only ReopenCase, DismissDuplicate and
      // RecordDisclosure.
      {"closed: a team member",
       {{"org-hospital", Closed()}},
       {"org-hospital", Member("m-2")},
       C::kFailedPrecondition,
       {"closed case: the case of client c1 is closed; only ReopenCase (and "
        "DismissDuplicate, RecordDisclosure) are accepted until it is "
        "reopened"}},
      {"closed: an assessment",
       {{"org-hospital", Closed()}},
       {"org-hospital", Assessment("a-closed")},
       C::kFailedPrecondition,
       {"closed case", "ReopenCase"}},
      {"closed: a referral",
       {{"org-hospital", Closed()}},
       {"org-hospital", Referral("r-closed", "org-housing")},
       C::kFailedPrecondition,
       {"closed case", "ReopenCase"}},
      {"closed: opening it",
       {{"org-hospital", Closed()}},
       {"org-hospital", Opened()},
       C::kFailedPrecondition,
       {"closed case", "ReopenCase"}},
      {"closed: the only lead stays until reopened",
       {{"org-hospital", Closed()}},
       {"org-hospital", RemovedMember("lead-1")},
       C::kFailedPrecondition,
       {"closed case"}},
      {"closed: reopening",
       {{"org-hospital", Closed()}},
       {"org-hospital", Reopened()},
       C::kOk},
      {"reopened: care goes on",
       {{"org-hospital", Closed()}, {"org-hospital", Reopened()}},
       {"org-hospital", Assessment("a-reopened")},
       C::kOk},
      {"reopened: not twice",
       {{"org-hospital", Closed()}, {"org-hospital", Reopened()}},
       {"org-hospital", Reopened()},
       C::kFailedPrecondition,
       {"the case of client c1 is not closed; only a closed case reopens"}},
  };
  ExpectCases(cases);
}

// Broke request_fuzz's "an accepted command's append passes the log's
// validation" (regressions/request_fuzz/occurred-at-before-1678, an input
// written by hand): a command dated before 1678 was accepted, and the event
// log then refused its append as "events[0].occurred_at".
TEST_F(DecisionTest, OccurredAtMustFitTheLog) {
  CareCommand command;
  command.command_id = "cmd-1";
  command.client_id = "c1";
  command.organization_id = "org-hospital";
  command.event = Opened();
  command.occurred_at = absl::FromUnixSeconds(-20'000'000'000);  // 1336
  const absl::Status s = ValidateCareCommand(command, kT0);
  EXPECT_EQ(s.code(), C::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("occurred_at ("));
  EXPECT_THAT(s.message(), HasSubstr("1678-01-01"));
  command.occurred_at = absl::FromUnixSeconds(-9'000'000'000);  // 1684
  EXPECT_TRUE(ValidateCareCommand(command, kT0).ok());
}

TEST_F(DecisionTest, OrganisationEventsGoToOrganizationsOnly) {
  const RuleCase cases[] = {
      {"register",
       {},
       {"org-hospital", Organization("org-new", v1::ORGANIZATION_TYPE_SCHOOL)},
       C::kOk},
      {"register again",
       {},
       {"org-hospital", Organization("org-bh", v1::ORGANIZATION_TYPE_SCHOOL)},
       C::kAlreadyExists,
       {"organisation org-bh is already registered; change it with "
        "UpdateOrganization"}},
      {"update an unknown one",
       {},
       {"org-hospital",
        [] {
          v1::CareEvent e;
          e.mutable_organization_updated()->set_organization_id("org-missing");
          return e;
        }()},
       C::kNotFound,
       {"organization_updated.organization_id: organisation org-missing is "
        "not registered"}},
  };
  ExpectCases(cases);

  // Each path refuses the other's events.
  GivenRegisteredOpenCase();
  CareCommand command;
  command.command_id = "cmd-1";
  command.client_id = "c1";
  command.organization_id = "org-hospital";
  command.occurred_at = kT0 + absl::Hours(1);
  command.event = Organization("org-new", v1::ORGANIZATION_TYPE_SCHOOL);
  auto to_client = DecideClientCommand(
      record_, directory_, [](absl::string_view) { return false; }, command);
  EXPECT_EQ(CodeOf(to_client), C::kInvalidArgument);
  EXPECT_EQ(to_client.status().message(),
            "event: organisation events go to Organizations, not a client");
  command.event = Opened();
  auto to_directory = DecideOrganizationCommand(directory_, command);
  EXPECT_EQ(CodeOf(to_directory), C::kInvalidArgument);
  EXPECT_EQ(to_directory.status().message(),
            "event: Organizations takes OrganizationRegistered or "
            "OrganizationUpdated");
}

TEST_F(DecisionOrderTest, AReferenceTheRecordLacksIsNotFound) {
  const RuleCase cases[] = {
      {"referral",
       {},
       {"org-hospital", Accepted("r-missing")},
       C::kNotFound,
       {"client c1 has no referral r-missing"}},
      {"goal",
       {},
       {"org-hospital",
        [] {
          v1::CareEvent e;
          e.mutable_goal_progress_recorded()->set_goal_id("g-missing");
          return e;
        }()},
       C::kNotFound,
       {"client c1 has no goal g-missing"}},
      {"team member",
       {},
       {"org-hospital", RemovedMember("m-missing")},
       C::kNotFound,
       {"client c1 has no team member m-missing"}},
      {"admission",
       {},
       {"org-hospital", Discharge("a-missing")},
       C::kNotFound,
       {"client c1 has no admission a-missing"}},
      {"transition",
       {},
       {"org-hospital", TransitionDone("t-missing")},
       C::kNotFound,
       {"client c1 has no planned transition t-missing"}},
      {"service",
       {},
       {"org-hospital", Ended("s-missing")},
       C::kNotFound,
       {"client c1 has no service s-missing"}},
      {"consent",
       {},
       {"org-hospital", Revoked("c-missing")},
       C::kNotFound,
       {"client c1 has no consent c-missing"}},
      {"receiving organisation",
       {},
       {"org-hospital", Referral("r1", "org-nowhere")},
       C::kNotFound,
       {"referral_sent.to_organization_id: organisation org-nowhere is not "
        "registered"}},
  };
  ExpectCases(cases);
}

// --- Who may write what (docs/access.md)
// ---------------------------------------

// The record every write-rule case starts from: org-hospital registered the
// client and opened the case; org-housing received a referral; org-bh leads
// the care team (added by the hospital while there was no lead); org-sud
// provides a service the hospital recorded; org-bh-2 receives a planned
// transition. The hospital recorded consent k1; nobody else is involved.
class WriteRuleTest : public DecisionTest {
 protected:
  void SetUp() override {
    DecisionTest::SetUp();
    AddOrganization("org-stranger", v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
    Background();
  }
  void Background() override {
    GivenRegisteredOpenCase();
    Given(Consent("k1", {"org-housing"}, {v1::DATA_CLASS_GENERAL}));
    Given(Referral("r1", "org-housing"));
    Given(Member("lead-1", v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER, "org-bh"));
    Given(Service("s1", "org-sud"));
    v1::CareEvent transition = Planned("t1", "org-bh-2");
    transition.mutable_transition_planned()->set_to_level_of_care(
        v1::LEVEL_OF_CARE_OUTPATIENT);
    Given(transition);
  }
};

v1::CareEvent Interrupted() {
  v1::CareEvent e;
  e.mutable_service_interruption_notified()->set_service_id("s1");
  return e;
}
v1::CareEvent Added(const std::string& organization) {
  v1::CareEvent e =
      Member("new-member", v1::CARE_TEAM_ROLE_MEMBER, organization);
  e.mutable_care_team_member_added()->mutable_name()->set_family("Lee");
  e.mutable_care_team_member_added()->set_discipline(v1::DISCIPLINE_NURSING);
  return e;
}
v1::CareEvent SelfConsent(const std::string& organization) {
  v1::CareEvent e = Consent("k-self", {organization}, {v1::DATA_CLASS_GENERAL});
  e.mutable_consent_given()->clear_period();
  e.mutable_consent_given()->set_method(
      v1::CONSENT_METHOD_ELECTRONIC_SIGNATURE);
  e.mutable_consent_given()->mutable_document()->set_document_id("esig-1");
  e.mutable_consent_given()->mutable_document()->set_sha256(
      std::string(64, '0'));
  return e;
}
v1::CareEvent SentFrom(const std::string& from) {
  v1::CareEvent e = Referral("r2", "org-bh-2");
  e.mutable_referral_sent()->set_from_organization_id(from);
  e.mutable_referral_sent()->set_service_category(v1::SERVICE_CATEGORY_FOOD);
  e.mutable_referral_sent()->set_kind(v1::REFERRAL_KIND_COLD);
  return e;
}

TEST_F(WriteRuleTest, EachCommandToItsOwnRule) {
  constexpr C kOk = C::kOk, kDenied = C::kPermissionDenied;
  const RuleCase cases[] = {
      // Standing: an uninvolved organisation is refused whatever it writes,
      // including what would make it involved.
      {"stranger adds its own staff",
       {},
       {"org-stranger", Added("org-stranger")},
       kDenied,
       {"not involved"}},
      {"stranger consents to itself",
       {},
       {"org-stranger", SelfConsent("org-stranger")},
       kDenied,
       {"not involved"}},
      {"stranger closes the case",
       {},
       {"org-stranger", Closed()},
       kDenied,
       {"not involved"}},
      {"stranger revokes k1",
       {},
       {"org-stranger", Revoked("k1", true)},
       kDenied,
       {"not involved"}},
      {"stranger ends a service",
       {},
       {"org-stranger", Ended("s1")},
       kDenied,
       {"not involved"}},
      {"stranger assesses",
       {},
       {"org-stranger", Assessment("as-1")},
       kDenied,
       {"not involved"}},
      {"stranger sends a referral",
       {},
       {"org-stranger", SentFrom("org-stranger")},
       kDenied,
       {"not involved"}},
      // Involved organisations: the command's own rule.
      {"receiver assesses", {}, {"org-housing", Assessment("as-1")}, kOk},
      {"transition receiver assesses",
       {},
       {"org-bh-2", Assessment("as-1")},
       kOk},
      {"involved consents naming itself",
       {},
       {"org-housing", SelfConsent("org-housing")},
       kOk},
      {"recorder revokes", {}, {"org-hospital", Revoked("k1")}, kOk},
      {"other revokes on its own",
       {},
       {"org-housing", Revoked("k1")},
       kDenied,
       {"consent k1 was recorded by org-hospital; only org-hospital revokes "
        "it, or an involved organisation on the client's request (set "
        "consent_revoked.on_client_request)"}},
      {"other revokes on the client's request",
       {},
       {"org-housing", Revoked("k1", true)},
       kOk},
      {"opener closes", {}, {"org-hospital", Closed()}, kOk},
      {"lead closes a case it did not open",
       {},
       {"org-bh", Closed()},
       kDenied,
       {"the case of client c1 was opened by org-hospital; only org-hospital "
        "closes it"}},
      {"provider ends its service", {}, {"org-sud", Ended("s1")}, kOk},
      {"recorder of the service ends it",
       {},
       {"org-hospital", Ended("s1")},
       kDenied,
       {"service s1 is provided by org-sud; only its provider ends it"}},
      {"provider notifies interruption", {}, {"org-sud", Interrupted()}, kOk},
      {"other notifies interruption",
       {},
       {"org-bh", Interrupted()},
       kDenied,
       {"only its provider notifies its interruption"}},
      {"unknown service is the state rule's",
       {},
       {"org-hospital", Ended("s-missing")},
       C::kNotFound},
      {"lead's organisation adds anyone",
       {},
       {"org-bh", Added("org-stranger")},
       kOk},
      {"non-lead adds while a lead exists",
       {},
       {"org-hospital", Added("org-hospital")},
       kDenied,
       {"care team changes: only the organisation of a lead case manager of "
        "client c1 adds team members, and org-hospital has none"}},
      {"member organisation removes its own",
       {},
       {"org-bh", RemovedMember("lead-1")},
       C::kFailedPrecondition,
       {"only lead case manager"}},
      {"other removes a member",
       {},
       {"org-housing", RemovedMember("lead-1")},
       kDenied,
       {"care team changes: team member lead-1 is of org-bh; only that "
        "organisation or the organisation of a lead case manager removes "
        "them"}},
      {"receiver accepts", {}, {"org-housing", Accepted("r1")}, kOk},
      {"sender accepts",
       {},
       {"org-hospital", Accepted("r1")},
       kDenied,
       {"only the receiving organisation (org-housing) may accept referral "
        "r1; org-hospital is not it"}},
      {"involved non-party cancels",
       {},
       {"org-bh", Cancelled("r1")},
       kDenied,
       {"only the sending (org-hospital) or receiving (org-housing) "
        "organisation may cancel referral r1"}},
      {"sender cancels", {}, {"org-hospital", Cancelled("r1")}, kOk},
      {"referral in another's name",
       {},
       {"org-housing", SentFrom("org-hospital")},
       kDenied,
       {"referral_sent.from_organization_id is org-hospital but the acting "
        "organisation is org-housing; an organisation sends referrals only in "
        "its own name"}},
  };
  ExpectCases(cases);
}

TEST_F(WriteRuleTest, UnknownAndForbiddenClientsGetOneAnswer) {
  ClientRecord unknown("c1");
  CareCommand command;
  command.command_id = "cmd";
  command.client_id = "c1";
  command.organization_id = "org-stranger";
  command.occurred_at = kT0 + absl::Hours(1);
  command.event = Assessment("as-1");
  auto none = [](absl::string_view) { return false; };
  auto forbidden = DecideClientCommand(record_, directory_, none, command);
  auto missing = DecideClientCommand(unknown, directory_, none, command);
  EXPECT_EQ(forbidden.status(), missing.status());
  EXPECT_EQ(CodeOf(forbidden), C::kPermissionDenied);
}

TEST_F(WriteRuleTest, WithoutALeadAnyInvolvedOrganisationAddsTheTeam) {
  Given(RemovedMember("lead-1"));
  EXPECT_TRUE(Decide(Added("org-housing"), "org-housing").ok());
  EXPECT_EQ(CodeOf(Decide(Added("org-stranger"), "org-stranger")),
            C::kPermissionDenied);
}

TEST_F(WriteRuleTest, ALinkNeedsInvolvementInBothRecords) {
  // The copier registered c-copy (involved there) but not in c1.
  EXPECT_EQ(CodeOf(Decide(Linked("c-copy"), "org-stranger")),
            C::kPermissionDenied);
  // Involved in c1 but not in the other record: named as the other field.
  auto r = Decide(Linked("c-copy"), "org-hospital");
  EXPECT_EQ(CodeOf(r), C::kPermissionDenied);
  EXPECT_THAT(r.status().message(),
              HasSubstr("client_records_linked.other_client_id: client c-copy "
                        "is not known to organisation org-hospital"));
  known_clients_.insert("c-copy");
  EXPECT_TRUE(Decide(Linked("c-copy"), "org-hospital").ok());
}

}  // namespace
}  // namespace caseline::care::test
