// Worklist items (care/worklist.h).
#include <string>
#include <vector>

#include "care/continuity_test_util.h"
#include "care/worklist.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::continuity_testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

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

// In America/New_York the items fall due at local times: a transition at
// local midnight of its planned date, a follow-up at local midnight after the
// window, a referral five local weekdays after a Friday 23:30 sending.
TEST_F(ContinuityTest, WorklistDueTimesAreLocalInTheNetworksZone) {
  const absl::TimeZone zone = NewYork();
  config_.time_zone = zone;
  Apply(Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT),
        Local(zone, 1, 5, 9));
  Apply(Transition("t1", "a1", "org-hosp", "org-bh", DateOf(2026, 1, 12)),
        Local(zone, 1, 8, 9));
  Apply(Discharge("a1"), Local(zone, 1, 9, 23, 30));
  Apply(Referral("r1", "org-hosp", "org-housing", v1::SERVICE_CATEGORY_HOUSING),
        Local(zone, 1, 9, 23, 30));

  std::vector<v1::WorklistItem> hospital;
  for (v1::WorklistItem& item : WorklistItemsOf(record_, config_)) {
    if (item.organization_id() == "org-hosp") hospital.push_back(item);
  }
  ASSERT_EQ(hospital.size(), 3u);
  EXPECT_EQ(hospital[0].kind(), v1::WORKLIST_ITEM_KIND_TRANSITION_DUE);
  EXPECT_EQ(ToTime(hospital[0].due()), Local(zone, 1, 12, 0));
  EXPECT_THAT(hospital[0].description(), HasSubstr("planned for 2026-01-12"));
  EXPECT_EQ(hospital[1].kind(), v1::WORKLIST_ITEM_KIND_STALE_REFERRAL);
  EXPECT_EQ(ToTime(hospital[1].due()), Local(zone, 1, 16, 23, 30));
  EXPECT_THAT(hospital[1].description(),
              HasSubstr("sent on 2026-01-09 awaits an answer"));
  EXPECT_THAT(hospital[1].description(), HasSubstr("by 2026-01-16 23:30 EST"));
  EXPECT_EQ(hospital[2].kind(), v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE);
  EXPECT_EQ(ToTime(hospital[2].due()), Local(zone, 1, 17, 0));
  EXPECT_THAT(hospital[2].description(),
              HasSubstr("on 2026-01-09; a follow-up contact is due by the "
                        "end of 2026-01-16"));
}

}  // namespace
}  // namespace caseline::care::continuity_testing
