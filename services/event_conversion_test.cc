#include "services/event_conversion.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::services {
namespace {

using ::testing::HasSubstr;

TEST(EventConversionTest, AppendRequestFieldsArrive) {
  v1::AppendRequest request;
  request.set_stream_id("client-1");
  request.set_exact(4);
  v1::EventData* e = request.add_events();
  e->set_event_id("0f8fad5b-d9cb-469f-a165-70867728950e");
  e->set_event_type("ConsentGiven");
  e->mutable_occurred_at()->set_seconds(100);
  e->mutable_occurred_at()->set_nanos(5);
  e->mutable_actor()->set_organization_id("org-1");
  (*e->mutable_metadata())["k"] = "v";
  absl::StatusOr<eventstore::AppendRequest> out = FromProto(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->expected_version.kind(),
            eventstore::ExpectedVersion::Kind::kExact);
  EXPECT_EQ(out->expected_version.version(), 4u);
  ASSERT_EQ(out->events.size(), 1u);
  EXPECT_EQ(out->events[0].event_id->ToString(),
            "0f8fad5b-d9cb-469f-a165-70867728950e");
  EXPECT_EQ(*out->events[0].occurred_at,
            absl::FromUnixSeconds(100) + absl::Nanoseconds(5));
  EXPECT_EQ(out->events[0].actor.organization_id, "org-1");
  EXPECT_EQ(out->events[0].metadata.at("k"), "v");

  request.clear_exact();
  EXPECT_EQ(FromProto(request)->expected_version.kind(),
            eventstore::ExpectedVersion::Kind::kAny);
  request.mutable_no_stream();
  EXPECT_EQ(FromProto(request)->expected_version.kind(),
            eventstore::ExpectedVersion::Kind::kNoStream);
}

TEST(EventConversionTest, BadFieldsAreNamed) {
  v1::AppendRequest request;
  request.set_stream_id("s");
  request.add_events()->set_event_type("A");
  request.add_events()->set_event_id("nope");
  absl::Status s = FromProto(request).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("events[1].event_id"));

  request.mutable_events(1)->clear_event_id();
  request.mutable_events(1)->mutable_occurred_at()->set_nanos(-1);
  s = FromProto(request).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("events[1].occurred_at.nanos"));
}

TEST(EventConversionTest, TimestampsRoundTripBeforeAndAfterEpoch) {
  for (absl::Time t :
       {absl::FromUnixNanos(-1'500'000'001), absl::FromUnixNanos(0),
        absl::FromUnixNanos(1'700'000'000'123'456'789)}) {
    google::protobuf::Timestamp ts;
    ToProto(t, &ts);
    EXPECT_GE(ts.nanos(), 0);
    EXPECT_EQ(*FromProto(ts, "t"), t);
  }
}

TEST(EventConversionTest, ReadDefaults) {
  v1::ReadStreamRequest stream;
  eventstore::ReadStreamOptions options = FromProto(stream);
  EXPECT_FALSE(options.from_version.has_value());
  EXPECT_EQ(options.max_count, kDefaultReadCount);
  stream.set_from_version(0);
  stream.set_direction(v1::BACKWARD);
  options = FromProto(stream);
  EXPECT_EQ(options.from_version, 0u);
  EXPECT_EQ(options.direction, eventstore::Direction::kBackward);
}

}  // namespace
}  // namespace caseline::services
