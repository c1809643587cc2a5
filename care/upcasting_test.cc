#include "care/upcasting.h"

#include <string>

#include "care/care_event_context.h"
#include "caseline/v1/wire_constants.h"
#include "gtest/gtest.h"

namespace caseline::care {
namespace {

eventstore::RecordedEvent Recorded(const v1::CareEvent& event,
                                   uint32_t schema_version) {
  eventstore::RecordedEvent recorded;
  recorded.global_position = 7;
  recorded.content_type = v1::kCareEventContentType;
  recorded.schema_version = schema_version;
  recorded.actor.organization_id = "hospital-a";
  recorded.payload = event.SerializeAsString();
  return recorded;
}

v1::CareEvent SchemaOneReferral() {
  // What schema 1 allowed: no start date, the sender left implicit.
  v1::CareEvent event;
  v1::ReferralSent* sent = event.mutable_referral_sent();
  sent->set_referral_id("r-1");
  sent->set_to_organization_id("housing-b");
  sent->set_urgency(v1::URGENCY_URGENT);
  return event;
}

TEST(UpcastingTest, ReferralSentIsAtSchemaTwoAndOthersAtOne) {
  EXPECT_EQ(SchemaVersionOf(v1::CareEvent::kReferralSent), 2u);
  EXPECT_EQ(SchemaVersionOf(v1::CareEvent::kClientRegistered), 1u);
  EXPECT_EQ(SchemaVersionOf(v1::CareEvent::kReferralAccepted), 1u);
}

TEST(UpcastingTest, SchemaOneReferralReadsAsSchemaTwo) {
  absl::StatusOr<v1::CareEvent> read =
      ParseCareEvent(Recorded(SchemaOneReferral(), 1));
  ASSERT_TRUE(read.ok()) << read.status();
  const v1::ReferralSent& sent = read->referral_sent();
  EXPECT_EQ(sent.from_organization_id(), "hospital-a");  // the envelope's
  EXPECT_EQ(sent.target_source(), v1::REFERRAL_TARGET_SOURCE_NOT_RECORDED);
  EXPECT_FALSE(sent.has_start_by());
  // The rest is as it was written.
  EXPECT_EQ(sent.referral_id(), "r-1");
  EXPECT_EQ(sent.urgency(), v1::URGENCY_URGENT);
}

TEST(UpcastingTest, SchemaZeroIsReadAsOne) {
  absl::StatusOr<v1::CareEvent> read =
      ParseCareEvent(Recorded(SchemaOneReferral(), 0));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->referral_sent().target_source(),
            v1::REFERRAL_TARGET_SOURCE_NOT_RECORDED);
}

TEST(UpcastingTest, SchemaOneKeepsANamedSender) {
  v1::CareEvent event = SchemaOneReferral();
  event.mutable_referral_sent()->set_from_organization_id("clinic-c");
  absl::StatusOr<v1::CareEvent> read = ParseCareEvent(Recorded(event, 1));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->referral_sent().from_organization_id(), "clinic-c");
}

TEST(UpcastingTest, CurrentSchemaIsReadUnchanged) {
  v1::CareEvent event = SchemaOneReferral();
  v1::ReferralSent* sent = event.mutable_referral_sent();
  sent->set_from_organization_id("clinic-c");
  sent->mutable_start_by()->set_year(2026);
  sent->mutable_start_by()->set_month(12);
  sent->mutable_start_by()->set_day(24);
  sent->set_target_source(v1::REFERRAL_TARGET_SOURCE_REQUESTED);
  absl::StatusOr<v1::CareEvent> read = ParseCareEvent(Recorded(event, 2));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->SerializeAsString(), event.SerializeAsString());
}

TEST(UpcastingTest, SchemaOneOfAnUnchangedTypeIsReadUnchanged) {
  v1::CareEvent event;
  event.mutable_referral_accepted()->set_referral_id("r-1");
  absl::StatusOr<v1::CareEvent> read = ParseCareEvent(Recorded(event, 1));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->SerializeAsString(), event.SerializeAsString());
}

TEST(UpcastingTest, ANewerSchemaIsRefusedNamingThePosition) {
  absl::StatusOr<v1::CareEvent> read =
      ParseCareEvent(Recorded(SchemaOneReferral(), 3));
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(read.status().message().find("global position 7"),
            std::string::npos)
      << read.status();
  EXPECT_NE(read.status().message().find("schema 3"), std::string::npos);
}

}  // namespace
}  // namespace caseline::care
