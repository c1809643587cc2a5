#include "care/command_catalog.h"

#include "care/event_rules.h"
#include "caseline/v1/care_record.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace caseline::care {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(CommandCatalogTest, EveryRequestKeepsTheFieldsOneToFourConvention) {
  EXPECT_THAT(CommandCatalog::Get().violations(), IsEmpty());
}

TEST(CommandCatalogTest, EveryCareEventButTheServersOwnHasOneCommand) {
  const google::protobuf::OneofDescriptor* oneof =
      v1::CareEvent::descriptor()->FindOneofByName("event");
  for (int i = 0; i < oneof->field_count(); ++i) {
    const auto event_case =
        static_cast<v1::CareEvent::EventCase>(oneof->field(i)->number());
    const CommandSpec* spec = CommandCatalog::Get().ForEvent(event_case);
    // The server's own events (access records, the record of an erasure)
    // have no command: their rules say so.
    const rules::EventRules* event_rules = rules::FindEventRules(event_case);
    ASSERT_NE(event_rules, nullptr) << oneof->field(i)->name();
    if (event_rules->writer == rules::Writer::kServer) {
      EXPECT_EQ(spec, nullptr) << oneof->field(i)->name();
      continue;
    }
    ASSERT_NE(spec, nullptr) << oneof->field(i)->name() << " has no rpc";
    EXPECT_EQ(spec->event_field, oneof->field(i));
    EXPECT_EQ(CommandCatalog::Get().Find(spec->path), spec);
    EXPECT_EQ(CommandCatalog::Get().Find(spec->short_name), spec);
  }
}

TEST(CommandCatalogTest, FindsByPathAndShortName) {
  const CommandSpec* spec = CommandCatalog::Get().Find("Referrals.SendReferral");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->path, "/caseline.v1.Referrals/SendReferral");
  EXPECT_EQ(spec->event_case(), v1::CareEvent::kReferralSent);
  EXPECT_FALSE(spec->organization_command);
  EXPECT_TRUE(CommandCatalog::Get()
                  .Find("/caseline.v1.Organizations/RegisterOrganization")
                  ->organization_command);
  EXPECT_EQ(CommandCatalog::Get().Find("Referrals.Nothing"), nullptr);
}

TEST(CommandCatalogTest, RequestRoundTrip) {
  CommandFields fields;
  fields.command_id = "cmd-1";
  fields.client_id = "c1";
  fields.occurred_at = absl::FromUnixSeconds(1'767'600'000) +
                       absl::Nanoseconds(5);
  fields.event.mutable_referral_sent()->set_referral_id("r1");
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> request =
      NewCommandRequest(fields);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ((*request)->GetDescriptor(),
            v1::SendReferralRequest::descriptor());
  absl::StatusOr<CommandFields> back = CommandFieldsOf(**request);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->command_id, "cmd-1");
  EXPECT_EQ(back->client_id, "c1");
  EXPECT_EQ(back->occurred_at, fields.occurred_at);
  EXPECT_EQ(back->event.referral_sent().referral_id(), "r1");
}

TEST(CommandCatalogTest, FieldsOfRejectsWhatIsNotACommand) {
  v1::SendReferralRequest no_event;
  no_event.set_command_id("c");
  EXPECT_THAT(CommandFieldsOf(no_event).status().message(),
              HasSubstr("referral_sent is required"));
  v1::SendReferralRequest bad_time;
  bad_time.mutable_referral_sent();
  bad_time.mutable_occurred_at()->set_nanos(-1);
  EXPECT_THAT(CommandFieldsOf(bad_time).status().message(),
              HasSubstr("occurred_at.nanos is -1"));
  EXPECT_THAT(CommandFieldsOf(v1::CommandResult()).status().message(),
              HasSubstr("is not a command request"));
  CommandFields server_written;
  server_written.event.mutable_record_accessed();
  EXPECT_EQ(NewCommandRequest(server_written).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A planted proto whose requests break the convention: the catalog leaves
// them out and names what is wrong.
TEST(CommandCatalogTest, PlantedViolationsAreReported) {
  google::protobuf::DescriptorPool pool;
  google::protobuf::FileDescriptorProto timestamp;
  google::protobuf::Timestamp::descriptor()->file()->CopyTo(&timestamp);
  ASSERT_NE(pool.BuildFile(timestamp), nullptr);
  google::protobuf::FileDescriptorProto planted;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        name: "planted.proto"
        package: "planted"
        dependency: "google/protobuf/timestamp.proto"
        message_type {
          name: "Result"
        }
        message_type {
          name: "SwappedRequest"
          field { name: "client_id" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
          field { name: "command_id" number: 2 type: TYPE_STRING label: LABEL_OPTIONAL }
        }
        service {
          name: "Broken"
          method { name: "Swapped" input_type: ".planted.SwappedRequest" output_type: ".planted.Result" }
        }
      )pb",
      &planted));
  const google::protobuf::FileDescriptor* file = pool.BuildFile(planted);
  ASSERT_NE(file, nullptr);
  CommandCatalog catalog(file);
  EXPECT_THAT(catalog.commands(), IsEmpty());
  ASSERT_EQ(catalog.violations().size(), 1u);
  EXPECT_THAT(catalog.violations()[0],
              HasSubstr("planted.Broken.Swapped (planted.SwappedRequest)"));
}

}  // namespace
}  // namespace caseline::care
