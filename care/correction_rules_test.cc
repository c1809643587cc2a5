// Marking an event entered in error (correction_rules.cc): who may, which
// events, and what the decision fills in.
#include <map>
#include <optional>
#include <string>

#include "care/care_decision.h"
#include "care/decision_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::test {
namespace {

using ::testing::HasSubstr;
using C = absl::StatusCode;

constexpr char kReferralEvent[] = "0190f0a0-0000-7000-8000-000000000001";
constexpr char kCorrectionEvent[] = "0190f0a0-0000-7000-8000-000000000002";
constexpr char kRawEvent[] = "0190f0a0-0000-7000-8000-000000000003";

// c1 registered and opened by org-hospital; org-hospital sent a referral to
// org-housing (event kReferralEvent at position 40, version 2).
class CorrectionRulesTest : public DecisionTest {
 protected:
  void SetUp() override {
    DecisionTest::SetUp();
    GivenRegisteredOpenCase();
    Given(Referral("r1", "org-housing"));
    events_[kReferralEvent] = {40, 2, "ReferralSent", "org-hospital", true};
    events_[kRawEvent] = {41, 3, "Note", "org-hospital", false};
  }

  static v1::CareEvent Mark(const std::string& event_id,
                            const std::string& reason = "wrong client") {
    v1::CareEvent e;
    e.mutable_event_entered_in_error()->set_event_id(event_id);
    e.mutable_event_entered_in_error()->set_reason(reason);
    return e;
  }

  absl::StatusOr<std::vector<v1::CareEvent>> DecideMark(
      const v1::CareEvent& event, const std::string& organization,
      bool admin = false) {
    CareCommand command;
    command.command_id = "cmd-mark";
    command.client_id = kClient;
    command.organization_id = organization;
    command.occurred_at = kT0 + absl::Hours(2);
    command.event = event;
    command.admin = admin;
    if (absl::Status s = ValidateCareCommand(command, kNow); !s.ok()) return s;
    auto find = [this](absl::string_view id) -> std::optional<StreamEventInfo> {
      auto it = events_.find(std::string(id));
      if (it == events_.end()) return std::nullopt;
      return it->second;
    };
    auto involved_in_other = [](absl::string_view) { return false; };
    return DecideClientCommand(record_, directory_, involved_in_other, find,
                               command);
  }

  std::map<std::string, StreamEventInfo> events_;
};

TEST_F(CorrectionRulesTest, TheRecordingOrganisationMarksItsEvent) {
  // Upper case is accepted and stored in the canonical lower-case form.
  absl::StatusOr<std::vector<v1::CareEvent>> r =
      DecideMark(Mark("0190F0A0-0000-7000-8000-000000000001"), "org-hospital");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  const v1::EventEnteredInError& e = (*r)[0].event_entered_in_error();
  EXPECT_EQ(e.event_id(), kReferralEvent);
  EXPECT_EQ(e.event_type(), "ReferralSent");
  EXPECT_EQ(e.stream_version(), 2u);
  EXPECT_EQ(e.reason(), "wrong client");
}

TEST_F(CorrectionRulesTest, AnotherOrganisationMayNot) {
  // org-housing is involved (the referral's receiver) but did not record it.
  absl::StatusOr<std::vector<v1::CareEvent>> r =
      DecideMark(Mark(kReferralEvent), "org-housing");
  EXPECT_EQ(r.status().code(), C::kPermissionDenied);
  EXPECT_THAT(r.status().message(),
              HasSubstr("was recorded by org-hospital; only the organisation "
                        "that recorded an event, or an admin"));
}

TEST_F(CorrectionRulesTest, AnAdminNeedsNoStanding) {
  // "org-admin" is neither registered nor involved.
  absl::StatusOr<std::vector<v1::CareEvent>> r =
      DecideMark(Mark(kReferralEvent), "org-admin", /*admin=*/true);
  EXPECT_TRUE(r.ok()) << r.status();
  // Without the role, the same organisation is unknown.
  r = DecideMark(Mark(kReferralEvent), "org-admin");
  EXPECT_EQ(r.status().code(), C::kNotFound);
}

TEST_F(CorrectionRulesTest, Refusals) {
  EXPECT_THAT(DecideMark(Mark(""), "org-hospital").status().message(),
              HasSubstr("event_entered_in_error.event_id: is required"));
  EXPECT_EQ(DecideMark(Mark("not-a-uuid"), "org-hospital").status().code(),
            C::kInvalidArgument);
  EXPECT_THAT(
      DecideMark(Mark(kReferralEvent, ""), "org-hospital").status().message(),
      HasSubstr("event_entered_in_error.reason: is required"));

  absl::StatusOr<std::vector<v1::CareEvent>> r = DecideMark(
      Mark("0190f0a0-0000-7000-8000-0000000000ff"), "org-hospital");
  EXPECT_EQ(r.status().code(), C::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("in the record of client c1"));

  EXPECT_EQ(DecideMark(Mark(kRawEvent), "org-hospital").status().code(),
            C::kInvalidArgument);

  events_[kCorrectionEvent] = {42, 4, "EventEnteredInError", "org-hospital",
                               true};
  r = DecideMark(Mark(kCorrectionEvent), "org-hospital");
  EXPECT_EQ(r.status().code(), C::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("a correction is final"));
}

TEST_F(CorrectionRulesTest, AnEventIsMarkedOnce) {
  absl::StatusOr<std::vector<v1::CareEvent>> r =
      DecideMark(Mark(kReferralEvent), "org-hospital");
  ASSERT_TRUE(r.ok()) << r.status();
  CareEventContext context;
  context.stream_version = 3;
  context.global_position = 50;
  context.organization_id = "org-hospital";
  record_.Apply((*r)[0], context);
  ASSERT_EQ(record_.entered_in_error.count(kReferralEvent), 1u);

  r = DecideMark(Mark(kReferralEvent), "org-hospital");
  EXPECT_EQ(r.status().code(), C::kFailedPrecondition);
  EXPECT_THAT(r.status().message(),
              HasSubstr("already marked entered in error, at position 50"));
}

TEST_F(CorrectionRulesTest, AcceptedOnAClosedCase) {
  Given(Closed(v1::CASE_CLOSURE_REASON_GOALS_MET));
  EXPECT_TRUE(DecideMark(Mark(kReferralEvent), "org-hospital").ok());
}

}  // namespace
}  // namespace caseline::care::test
