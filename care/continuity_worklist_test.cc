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

}  // namespace
}  // namespace caseline::care::continuity_testing
