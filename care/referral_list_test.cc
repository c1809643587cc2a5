// Referral lists (care/referral_list.h).
#include "care/referral_list.h"

#include <string>
#include <tuple>
#include <vector>

#include "care/client_state.h"
#include "care/continuity_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::continuity_testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using Row = std::tuple<std::string, v1::ReferralDirection, std::string,
                       std::string>;  // organisation, direction, id, status

std::vector<Row> Rows(const std::vector<v1::ReferralListEntry>& entries) {
  std::vector<Row> rows;
  for (const v1::ReferralListEntry& e : entries) {
    rows.emplace_back(e.organization_id(), e.direction(),
                      e.referral().referral_id(), e.referral().status());
  }
  return rows;
}

TEST_F(ContinuityTest, ReferralListEntriesForTheReceiverAndTheSender) {
  const auto kReceived = v1::REFERRAL_DIRECTION_RECEIVED;
  const auto kSent = v1::REFERRAL_DIRECTION_SENT;
  Apply(Referral("r1", "org-hosp", "org-housing", v1::SERVICE_CATEGORY_HOUSING),
        Day(0));
  // No from_organization_id: the acting organisation sent it.
  Apply(Referral("r2", "", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
        Day(1), "org-pc");
  Apply(Accepted("r2"), Day(2), "org-bh");
  EXPECT_THAT(Rows(ReferralListEntriesOf(record_)),
              ElementsAre(Row{"org-housing", kReceived, "r1", "requested"},
                          Row{"org-hosp", kSent, "r1", "requested"},
                          Row{"org-bh", kReceived, "r2", "accepted"},
                          Row{"org-pc", kSent, "r2", "accepted"}));
  EXPECT_THAT(Rows(ReferralListEntriesOf(record_, "r2")),
              ElementsAre(Row{"org-bh", kReceived, "r2", "accepted"},
                          Row{"org-pc", kSent, "r2", "accepted"}));
  EXPECT_THAT(ReferralListEntriesOf(record_, "nope"), IsEmpty());

  // The entry carries the client and the record's view of the referral, its
  // age left to the query.
  const std::vector<v1::ReferralListEntry> r2 =
      ReferralListEntriesOf(record_, "r2");
  ASSERT_EQ(r2.size(), 2u);
  EXPECT_EQ(r2[0].client_id(), "c1");
  v1::ReferralView expected =
      ReferralViewOf("r2", record_.referrals.at("r2"), Day(2));
  expected.clear_age_days();
  EXPECT_EQ(r2[0].referral().SerializeAsString(), expected.SerializeAsString());
  EXPECT_EQ(r2[0].referral().age_days(), 0);

  // Terminal referrals and closed cases stay listed, with their status.
  Apply(Completed("r2"), Day(3), "org-bh");
  Apply(CaseOpened(), Day(3));
  Apply(CaseClosed(), Day(4));
  EXPECT_THAT(Rows(ReferralListEntriesOf(record_)),
              ElementsAre(Row{"org-housing", kReceived, "r1", "requested"},
                          Row{"org-hosp", kSent, "r1", "requested"},
                          Row{"org-bh", kReceived, "r2", "completed"},
                          Row{"org-pc", kSent, "r2", "completed"}));
}

TEST(ReferralStatusNamedTest, EveryViewStatusNameAndNothingElse) {
  const std::vector<std::string> names = {
      "requested",   "received",  "accepted", "declined", "on-hold",
      "in-progress", "completed", "failed",   "cancelled"};
  std::vector<std::string> all;
  for (ReferralStatus status : AllReferralStatuses()) {
    all.emplace_back(ReferralStatusName(status));
    EXPECT_EQ(ReferralStatusNamed(ReferralStatusName(status)), status);
  }
  EXPECT_EQ(all, names);
  EXPECT_EQ(ReferralStatusNamed("Accepted"), std::nullopt);
  EXPECT_EQ(ReferralStatusNamed("on_hold"), std::nullopt);
  EXPECT_EQ(ReferralStatusNamed(""), std::nullopt);
}

TEST(UrgencyRankTest, MostUrgentFirst) {
  EXPECT_LT(UrgencyRank(v1::URGENCY_EMERGENT), UrgencyRank(v1::URGENCY_URGENT));
  EXPECT_LT(UrgencyRank(v1::URGENCY_URGENT), UrgencyRank(v1::URGENCY_ROUTINE));
  EXPECT_LT(UrgencyRank(v1::URGENCY_ROUTINE),
            UrgencyRank(v1::URGENCY_UNSPECIFIED));
  EXPECT_EQ(UrgencyRank(static_cast<v1::Urgency>(42)),
            UrgencyRank(v1::URGENCY_UNSPECIFIED));
}

}  // namespace
}  // namespace caseline::care::continuity_testing
