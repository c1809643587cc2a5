// The worklist rules (worklist_rules.cc): claiming a worklist item and
// releasing it.
#include <string>
#include <vector>

#include "care/care_decision.h"
#include "care/decision_test_util.h"
#include "care/worklist.h"
#include "gtest/gtest.h"

namespace caseline::care::test {
namespace {

using C = absl::StatusCode;

constexpr auto kReceiver =
    v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER;

v1::CareEvent Claim(v1::WorklistItemKind kind, const std::string& subject,
                    const std::string& organization = "") {
  v1::CareEvent e;
  e.mutable_worklist_item_claimed()->set_kind(kind);
  e.mutable_worklist_item_claimed()->set_subject_id(subject);
  e.mutable_worklist_item_claimed()->set_organization_id(organization);
  e.mutable_worklist_item_claimed()->set_note("calling the shelter");
  return e;
}
v1::CareEvent Release(v1::WorklistItemKind kind, const std::string& subject,
                      const std::string& organization = "") {
  v1::CareEvent e;
  e.mutable_worklist_item_released()->set_kind(kind);
  e.mutable_worklist_item_released()->set_subject_id(subject);
  e.mutable_worklist_item_released()->set_organization_id(organization);
  e.mutable_worklist_item_released()->set_reason("end of shift");
  return e;
}

// c1 registered and its case opened by org-hospital; an inpatient stay a1
// at org-hospital discharged with no transition planned (a discharge
// without a receiver, and a follow-up due, on org-hospital's worklist); a
// housing referral r1 from org-hospital to org-housing awaiting an answer
// (on both worklists).
class WorklistRulesTest : public DecisionTest {
 protected:
  void Background() override {
    GivenRegisteredOpenCase();
    Given(Admission("a1"), kT0);
    Given(Discharge("a1"), kT0 + absl::Hours(2));
    Given(Referral("r1", "org-housing"), kT0);
  }
};

TEST_F(WorklistRulesTest, APersonOfTheItemsOrganisationClaimsAndReleases) {
  const Command claim = {"org-hospital", Claim(kReceiver, "a1")};
  Command colleague_claims = claim;
  colleague_claims.user = "u-2";
  Command colleague_releases = {"org-hospital", Release(kReceiver, "a1")};
  colleague_releases.user = "u-2";
  Command nobody = claim;
  nobody.user = "";
  Command nobody_releases = colleague_releases;
  nobody_releases.user = "";
  v1::CareEvent no_kind = Claim(kReceiver, "a1");
  no_kind.mutable_worklist_item_claimed()->clear_kind();
  const RuleCase cases[] = {
      {"claimed", {}, claim, C::kOk},
      {"claimed naming its own organisation",
       {},
       {"org-hospital", Claim(kReceiver, "a1", "org-hospital")},
       C::kOk},
      {"the receiving agency claims its side of the referral",
       {},
       {"org-housing", Claim(v1::WORKLIST_ITEM_KIND_STALE_REFERRAL, "r1")},
       C::kOk},
      {"without a person",
       {},
       nobody,
       C::kInvalidArgument,
       {"x-caseline-user: request metadata must name the acting person: "
        "WorklistItemClaimed records who of the organisation did it"}},
      {"released without a person",
       {claim},
       nobody_releases,
       C::kInvalidArgument,
       {"x-caseline-user"}},
      {"without a kind",
       {},
       {"org-hospital", no_kind},
       C::kInvalidArgument,
       {"worklist_item_claimed.kind"}},
      {"without a subject",
       {},
       {"org-hospital", Claim(kReceiver, "")},
       C::kInvalidArgument,
       {"worklist_item_claimed.subject_id"}},
      {"another organisation's item",
       {},
       {"org-housing",
        Claim(v1::WORKLIST_ITEM_KIND_STALE_REFERRAL, "r1", "org-hospital")},
       C::kPermissionDenied,
       {"worklist claims: worklist_item_claimed.organization_id names "
        "org-hospital; only a person of the organisation whose worklist "
        "holds an item claims or releases it"}},
      {"released for another organisation",
       {claim},
       {"org-housing", Release(kReceiver, "a1", "org-hospital")},
       C::kPermissionDenied,
       {"worklist_item_released.organization_id names org-hospital"}},
      {"an item the worklist does not hold",
       {},
       {"org-hospital", Claim(v1::WORKLIST_ITEM_KIND_TRANSITION_DUE, "t9")},
       C::kNotFound,
       {"client c1 has no item WORKLIST_ITEM_KIND_TRANSITION_DUE t9 on the "
        "worklist of org-hospital now"}},
      {"an item of another organisation's worklist, as its own",
       {},
       {"org-housing", Claim(kReceiver, "a1")},
       C::kNotFound,
       {"no item WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER a1 on "
        "the worklist of org-housing"}},
      {"claimed again by its holder",
       {claim},
       claim,
       C::kAlreadyExists,
       {"item WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER a1 on the "
        "worklist of org-hospital of client c1 is already claimed by u-1"}},
      {"held by a colleague",
       {claim},
       colleague_claims,
       C::kFailedPrecondition,
       {"of client c1 is claimed by u-1 (since 2026-01-05T09:00:00Z); one "
        "person holds an item at a time"}},
      {"released by a colleague at a hand-over", {claim}, colleague_releases,
       C::kOk},
      {"claimed by the colleague once released",
       {claim, colleague_releases},
       colleague_claims,
       C::kOk},
      {"released when nobody holds it",
       {},
       colleague_releases,
       C::kFailedPrecondition,
       {"is not claimed; there is no claim to release"}},
      {"released twice",
       {claim, colleague_releases},
       colleague_releases,
       C::kFailedPrecondition,
       {"is not claimed"}},
      {"on a closed case",
       {{"org-hospital", Closed()}},
       claim,
       C::kFailedPrecondition,
       {"closed case"}},
  };
  ExpectCases(cases);
}

TEST_F(WorklistRulesTest, TheDecidedClaimNamesTheOrganisation) {
  Background();
  absl::StatusOr<std::vector<v1::CareEvent>> events =
      Decide(Claim(kReceiver, "a1"));
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].worklist_item_claimed().organization_id(),
            "org-hospital");
  EXPECT_EQ((*events)[0].worklist_item_claimed().note(), "calling the shelter");
}

// A claim lasts while its item is on the worklist: done work takes the claim
// with it, and an item that comes back (a case closed and reopened) is
// unclaimed.
TEST_F(WorklistRulesTest, AClaimLapsesWhenItsItemLeavesTheWorklist) {
  const Command claim = {"org-hospital",
                         Claim(v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE, "a1")};
  Command colleague_claims = claim;
  colleague_claims.user = "u-2";
  const Command receiver_claim = {"org-hospital", Claim(kReceiver, "a1")};
  Command colleague_claims_receiver = receiver_claim;
  colleague_claims_receiver.user = "u-2";
  v1::CareEvent follow_up;
  follow_up.mutable_follow_up_completed()->set_follow_up_id("f1");
  follow_up.mutable_follow_up_completed()->set_admission_id("a1");
  follow_up.mutable_follow_up_completed()->set_provider_organization_id(
      "org-hospital");
  follow_up.mutable_follow_up_completed()->set_contact_kind(
      v1::CONTACT_KIND_PHONE);
  follow_up.mutable_follow_up_completed()->set_provider_discipline(
      v1::DISCIPLINE_SOCIAL_WORK);
  const RuleCase cases[] = {
      {"released after the follow-up",
       {claim, {"org-hospital", follow_up, absl::Hours(3)}},
       {"org-hospital", Release(v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE, "a1")},
       C::kNotFound,
       {"no item WORKLIST_ITEM_KIND_FOLLOW_UP_DUE a1 on the worklist of "
        "org-hospital now"}},
      {"claimed by another after the case closed and reopened",
       {receiver_claim, {"org-hospital", Closed()},
        {"org-hospital", Reopened()}},
       colleague_claims_receiver,
       C::kOk},
  };
  ExpectCases(cases);

  record_ = ClientRecord(kClient);
  Background();
  Record(receiver_claim);
  ASSERT_EQ(record_.worklist_claims.size(), 1u);
  const WorklistClaim& held = record_.worklist_claims.begin()->second;
  EXPECT_EQ(held.user_id, "u-1");
  EXPECT_EQ(held.note, "calling the shelter");
  Record({"org-hospital", Closed()});
  EXPECT_TRUE(record_.worklist_claims.empty());
  Record({"org-hospital", Reopened()});
  EXPECT_TRUE(record_.worklist_claims.empty());
  EXPECT_TRUE(OnWorklist(record_, {kReceiver, "a1", "org-hospital"}));
}

}  // namespace
}  // namespace caseline::care::test
