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
using ::testing::ElementsAreArray;
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
    // t1's receiver has accepted nothing: that item is due when t1 was
    // planned, whatever the zone (the gaps' items are tested below).
    if (item.kind() ==
        v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER) {
      EXPECT_EQ(ToTime(item.due()), Local(zone, 1, 8, 9));
      continue;
    }
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

// The two gaps that the worklists list as items: the same gaps (since,
// description, causes) for the organisation each names and, for a discharge
// without a receiver, for the discharging facility too.
TEST_F(ContinuityTest, WorklistItemsForTheGapsOfTheDischargingFacility) {
  const auto kReceiver =
      v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER;
  auto items_of = [this](v1::WorklistItemKind kind) {
    std::vector<v1::WorklistItem> out;
    for (v1::WorklistItem& item : WorklistItemsOf(record_, config_)) {
      if (item.kind() == kind) out.push_back(std::move(item));
    }
    return out;
  };
  auto gap_of = [this](v1::GapReason reason) {
    std::vector<v1::Gap> gaps = GapsOf(reason, Day(30));
    EXPECT_EQ(gaps.size(), 1u);
    return gaps.empty() ? v1::Gap() : gaps[0];
  };
  // A discharge with no transition: the facility's, due at the discharge.
  Apply(Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT), Day(0));
  const uint64_t discharged = Apply(Discharge("a1"), Day(2));
  std::vector<v1::WorklistItem> items = items_of(kReceiver);
  ASSERT_EQ(items.size(), 1u);
  v1::Gap gap = gap_of(v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER);
  EXPECT_EQ(items[0].organization_id(), "org-hosp");
  EXPECT_EQ(items[0].subject_id(), "a1");
  EXPECT_EQ(ToTime(items[0].due()), Day(2));
  EXPECT_EQ(items[0].description(), gap.description());
  EXPECT_THAT(items[0].cause_positions(), ElementsAre(1, discharged));

  // A transition out planned, its receiver not asked: still the facility's,
  // now about the transition, due when it was planned.
  Apply(Transition("t1", "a1", "org-hosp", "org-bh", DateOf(2026, 1, 9)),
        Day(3));
  items = items_of(kReceiver);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].organization_id(), "org-hosp");
  EXPECT_EQ(items[0].subject_id(), "t1");
  EXPECT_EQ(ToTime(items[0].due()), Day(3));

  // Referred, not accepted yet: the gap names the receiver, who should
  // accept; the discharging facility keeps it on its worklist.
  Apply(Referral("r1", "org-hosp", "org-bh",
                 v1::SERVICE_CATEGORY_MENTAL_HEALTH),
        Day(4));
  gap = gap_of(v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER);
  EXPECT_EQ(gap.organization_id(), "org-bh");
  items = items_of(kReceiver);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].organization_id(), "org-bh");
  EXPECT_EQ(items[1].organization_id(), "org-hosp");
  for (const v1::WorklistItem& item : items) {
    EXPECT_EQ(item.subject_id(), "t1");
    EXPECT_EQ(ToTime(item.due()), Day(3));
    EXPECT_EQ(item.description(), gap.description());
    EXPECT_THAT(item.cause_positions(),
                ElementsAreArray(gap.cause_positions()));
  }
  // Accepted: the gap closes and the items go.
  Apply(Accepted("r1"), Day(5), "org-bh");
  EXPECT_THAT(items_of(kReceiver), IsEmpty());
}

TEST_F(ContinuityTest, WorklistItemsForServicesEndedWithoutASuccessor) {
  const auto kService = v1::WORKLIST_ITEM_KIND_SERVICE_ENDED_WITHOUT_SUCCESSOR;
  auto items_of = [this]() {
    std::vector<v1::WorklistItem> out;
    for (v1::WorklistItem& item : WorklistItemsOf(record_, config_)) {
      if (item.kind() == kService) out.push_back(std::move(item));
    }
    return out;
  };
  Apply(Goal("g1", v1::SERVICE_CATEGORY_HOUSING), Day(0));
  Apply(Service("s1", "org-housing", v1::SERVICE_CATEGORY_HOUSING), Day(0),
        "org-housing");
  Apply(Assessment("as1", v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                   v1::NEED_LEVEL_HIGH),
        Day(0));
  Apply(Service("s2", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH), Day(0),
        "org-bh");
  EXPECT_THAT(items_of(), IsEmpty());
  Apply(ServiceEnd("s1"), Day(5), "org-housing");
  Apply(Interruption("s2", Day(20)), Day(6), "org-bh");
  std::vector<v1::WorklistItem> items = items_of();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].organization_id(), "org-bh");
  EXPECT_EQ(items[0].subject_id(), "s2");
  EXPECT_EQ(ToTime(items[0].due()), Day(6));
  EXPECT_THAT(items[0].description(), HasSubstr("will be interrupted"));
  EXPECT_EQ(items[1].organization_id(), "org-housing");
  EXPECT_EQ(items[1].subject_id(), "s1");
  EXPECT_EQ(ToTime(items[1].due()), Day(5));
  EXPECT_THAT(items[1].description(), HasSubstr("ended on 2026-01-10"));
  std::vector<v1::Gap> gaps =
      GapsOf(v1::GAP_REASON_SERVICE_ENDED_WITHOUT_SUCCESSOR, Day(30));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(items[1].description(), gaps[0].description());
  // A referral of the category is a successor: s1's item goes.
  Apply(Referral("r1", "org-housing", "org-pc", v1::SERVICE_CATEGORY_HOUSING),
        Day(7), "org-housing");
  items = items_of();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].subject_id(), "s2");
}

// A claim shows on its item (and only its item), lasts while the item does,
// and an item that comes back is unclaimed.
TEST_F(ContinuityTest, ClaimsShowOnTheirItems) {
  Apply(Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT), Day(0));
  Apply(Transition("t1", "a1", "org-hosp", "org-bh", DateOf(2026, 1, 9)),
        Day(1));
  auto claim = [this](v1::WorklistItemKind kind, const std::string& subject,
                      const std::string& user, absl::Time at) {
    v1::CareEvent e;
    e.mutable_worklist_item_claimed()->set_kind(kind);
    e.mutable_worklist_item_claimed()->set_subject_id(subject);
    e.mutable_worklist_item_claimed()->set_note("on it");
    CareEventContext context;
    context.stream_version = *record_.version + 1;
    context.global_position = ++position_;
    context.occurred_at = at;
    context.organization_id = "org-hosp";
    context.user_id = user;
    record_.Apply(e, context);
    return context.global_position;
  };
  auto hospital_item = [this](v1::WorklistItemKind kind) {
    for (v1::WorklistItem& item : WorklistItemsOf(record_, config_)) {
      if (item.kind() == kind && item.organization_id() == "org-hosp")
        return item;
    }
    ADD_FAILURE() << "no " << v1::WorklistItemKind_Name(kind);
    return v1::WorklistItem();
  };
  const auto kTransition = v1::WORKLIST_ITEM_KIND_TRANSITION_DUE;
  const uint64_t claimed = claim(kTransition, "t1", "ana", Day(2));
  v1::WorklistItem item = hospital_item(kTransition);
  EXPECT_EQ(item.claimed_by_user_id(), "ana");
  EXPECT_EQ(ToTime(item.claimed_at()), Day(2));
  EXPECT_EQ(item.claim_position(), claimed);
  EXPECT_EQ(item.claim_note(), "on it");
  // Not the receiver's item of the same transition, nor another kind.
  for (const v1::WorklistItem& other : WorklistItemsOf(record_, config_)) {
    if (other.kind() != kTransition || other.organization_id() != "org-hosp") {
      EXPECT_TRUE(other.claimed_by_user_id().empty())
          << other.ShortDebugString();
    }
  }
  // A claim of an item the worklist does not hold is no claim.
  claim(v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE, "a1", "ana", Day(2));
  EXPECT_EQ(record_.worklist_claims.size(), 1u);
  // Closed and reopened: the item comes back unclaimed.
  Apply(CaseOpened(), Day(3));
  Apply(CaseClosed(), Day(3));
  EXPECT_TRUE(record_.worklist_claims.empty());
  Apply(CaseOpened(), Day(4));
  item = hospital_item(kTransition);
  EXPECT_TRUE(item.claimed_by_user_id().empty());
  EXPECT_FALSE(item.has_claimed_at());
  EXPECT_EQ(item.claim_position(), 0u);
}

}  // namespace
}  // namespace caseline::care::continuity_testing
