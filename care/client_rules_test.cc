// The client and case rules (client_rules.cc): registration, corrections,
// links between records, the case's states and dismissed duplicate findings.
#include <string>

#include "care/care_decision.h"
#include "care/decision_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::test {
namespace {

using C = absl::StatusCode;

// c1 registered and its case opened by org-hospital.
class ClientRulesTest : public DecisionTest {
 protected:
  void Background() override { GivenRegisteredOpenCase(); }
};

TEST_F(ClientRulesTest, TheClientAndItsCase) {
  known_clients_.insert("c2");
  v1::CareEvent nowhere_id = Registered();
  v1::ClientIdentifier* id =
      nowhere_id.mutable_client_registered()->add_identifiers();
  id->set_organization_id("nowhere");
  id->set_system("mrn");
  id->set_value("123");
  v1::CareEvent unlinked;
  unlinked.mutable_client_records_unlinked()->set_other_client_id("c2");
  v1::CareEvent corrected;
  corrected.mutable_client_details_corrected()->set_reason("typo");
  const RuleCase cases[] = {
      {"an identifier of an unregistered organisation",
       {},
       {.organization = "org-hospital", .event = nowhere_id, .client_id = "c2"},
       C::kNotFound,
       {"client_registered.identifiers[0].organization_id: organisation "
        "nowhere is not registered"}},
      {"a correction that corrects nothing",
       {},
       {"org-hospital", corrected},
       C::kInvalidArgument,
       {"client_details_corrected: sets no field to correct"}},
      {"a link to itself",
       {},
       {"org-hospital", Linked("c1")},
       C::kInvalidArgument,
       {"client_records_linked.other_client_id: is this client itself"}},
      {"a link", {}, {"org-hospital", Linked("c2")}, C::kOk},
      {"a link twice",
       {{"org-hospital", Linked("c2")}},
       {"org-hospital", Linked("c2")},
       C::kAlreadyExists,
       {"clients c1 and c2 are already linked"}},
      {"an unlink of what is not linked",
       {},
       {"org-hospital", unlinked},
       C::kFailedPrecondition,
       {"clients c1 and c2 are not linked; nothing to unlink"}},
      {"an unlink",
       {{"org-hospital", Linked("c2")}},
       {"org-hospital", unlinked},
       C::kOk},
      {"a case opened twice",
       {},
       {"org-hospital", Opened()},
       C::kFailedPrecondition,
       {"the case of client c1 is already open"}},
      {"a case closed without a reason",
       {},
       {"org-hospital", Closed(v1::CASE_CLOSURE_REASON_UNSPECIFIED)},
       C::kInvalidArgument,
       {"case_closed.reason: is required"}},
  };
  ExpectCases(cases);
}

// A birth date is never a reason to refuse: what makes a date is kept, the
// rest is recorded as text (care/birth_date.h).
TEST_F(ClientRulesTest, AnImperfectBirthDateIsKeptNotRefused) {
  GivenRegisteredOpenCase();
  v1::CareEvent event = Registered();
  v1::Date* born = event.mutable_client_registered()->mutable_birth_date();
  born->set_year(1972);
  born->set_month(95);
  born->set_day(18);
  absl::StatusOr<std::vector<v1::CareEvent>> events =
      Decide(Command{.organization = "org-hospital", .event = event,
                     .client_id = "c9"});
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  const v1::ClientRegistered& stored = (*events)[0].client_registered();
  EXPECT_EQ(stored.birth_date().ShortDebugString(), "year: 1972");
  EXPECT_EQ(stored.birth_date_recorded_as(), "1972-95-18");

  // Text alone is a correction; so is a partial date.
  v1::CareEvent corrected;
  corrected.mutable_client_details_corrected()->set_birth_date_recorded_as(
      "about 1950");
  EXPECT_TRUE(Decide(corrected).ok()) << Decide(corrected).status();
  v1::CareEvent partial;
  partial.mutable_client_details_corrected()->mutable_birth_date()->set_year(
      1950);
  EXPECT_TRUE(Decide(partial).ok()) << Decide(partial).status();

  v1::CareEvent too_long = Registered();
  too_long.mutable_client_registered()->set_birth_date_recorded_as(
      std::string(5000, 'x'));
  absl::StatusOr<std::vector<v1::CareEvent>> refused = Decide(
      Command{.organization = "org-hospital", .event = too_long,
              .client_id = "c9"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("client_registered.birth_date_recorded_as"));
}

TEST_F(DecisionTest, ACaseNeverOpenedDoesNotClose) {
  Given(Registered());
  auto r = Decide(Closed());
  EXPECT_EQ(CodeOf(r), C::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "the case of client c1 is not open; open it with OpenCase first");
}

TEST_F(ClientRulesTest, ADuplicateFindingIsDismissedOnceByAClientItNames) {
  const std::string kFinding = "duplicate-clients:c1:c7";
  const std::string kReferrals = "duplicate-referrals:c1:HOUSING:r1:r2";
  const Command dismissed = {"org-hospital",
                             Dismissal(kFinding, "twins, checked ids")};
  const RuleCase cases[] = {
      {"an unknown client",
       {},
       {.organization = "org-hospital",
        .event = Dismissal(kFinding, "no one"),
        .client_id = "ghost-7"},
       C::kPermissionDenied,
       {"client ghost-7 is not known to organisation org-hospital"}},
      {"dismissed", {}, dismissed, C::kOk},
      {"dismissed twice",
       {dismissed},
       dismissed,
       C::kAlreadyExists,
       {"finding duplicate-clients:c1:c7 is already dismissed for client c1"}},
      {"a finding about other clients",
       {},
       {"org-hospital", Dismissal("duplicate-clients:c10:c7", "not ours")},
       C::kInvalidArgument,
       {"duplicate_dismissed.finding_id: finding duplicate-clients:c10:c7 is "
        "about other clients, not c1; dismiss it on one of the clients it "
        "names"}},
      // Other kinds of finding are about this client's own services or
      // referrals.
      {"another kind of finding",
       {},
       {"org-hospital", Dismissal(kReferrals, "two providers")},
       C::kOk},
      {"no reason",
       {},
       {"org-hospital", Dismissal(kReferrals, "")},
       C::kInvalidArgument,
       {"duplicate_dismissed.reason: is required"}},
      {"no finding id",
       {},
       {"org-hospital", Dismissal("", "why")},
       C::kInvalidArgument,
       {"duplicate_dismissed.finding_id: is required"}},
      {"a finding id too long",
       {},
       {"org-hospital", Dismissal(std::string(201, 'x'), "why")},
       C::kInvalidArgument,
       {"duplicate_dismissed.finding_id: is 201 bytes; the limit is 200"}},
      {"a finding id at the limit",
       {},
       {"org-hospital", Dismissal(std::string(200, 'x'), "why")},
       C::kOk},
      {"a finding id with a space",
       {},
       {"org-hospital", Dismissal("duplicate clients", "why")},
       C::kInvalidArgument,
       {"duplicate_dismissed.finding_id: use the finding id as the "
        "duplication view gives it"}},
      {"after the case closed",
       {{"org-hospital", Closed()}},
       {"org-hospital", Dismissal(kReferrals, "two providers")},
       C::kOk},
  };
  ExpectCases(cases);
}

}  // namespace
}  // namespace caseline::care::test
