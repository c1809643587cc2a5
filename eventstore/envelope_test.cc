#include "eventstore/envelope.h"

#include "gtest/gtest.h"

namespace caseline::eventstore {
namespace {

RecordedEvent SampleEvent() {
  RecordedEvent e;
  e.event_id = EventId::Generate();
  e.stream_id = "client-42";
  e.stream_version = 7;
  e.global_position = 1234;
  e.event_type = "ReferralSent";
  e.occurred_at = absl::FromUnixSeconds(1700000000);
  e.recorded_at = absl::FromUnixNanos(1700000001123456789);
  e.actor = {"org-hospital", "user-7", "discharge planner"};
  e.correlation_id = "corr";
  e.causation_id = "cause";
  e.schema_version = 3;
  e.content_type = "application/json";
  e.payload = std::string("{\"x\":1}\0binary", 14);
  e.metadata = {{"a", "1"}, {"b", ""}};
  e.prev_hash[0] = 0xAB;
  return e;
}

TEST(EnvelopeTest, RoundTripsEveryField) {
  RecordedEvent e = SampleEvent();
  const std::string value = SealEnvelope(&e);
  absl::StatusOr<RecordedEvent> decoded = DecodeEnvelope(value);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, e);
  EXPECT_EQ(e.hash, ChainHash(e.prev_hash, value.substr(0, value.size() - 64)));
}

TEST(EnvelopeTest, EveryByteIsCoveredByTheHash) {
  RecordedEvent e = SampleEvent();
  const std::string value = SealEnvelope(&e);
  for (size_t i = 0; i < value.size() - kHashTrailerSize; ++i) {
    std::string damaged = value;
    damaged[i] ^= 0x01;
    absl::StatusOr<EnvelopeParts> parts = SplitEnvelope(damaged);
    ASSERT_TRUE(parts.ok());
    EXPECT_NE(ChainHash(parts->prev_hash, parts->body), parts->hash)
        << "byte " << i;
  }
}

TEST(EnvelopeTest, RejectsTruncationAndTrailingBytes) {
  RecordedEvent e = SampleEvent();
  const std::string value = SealEnvelope(&e);
  const std::string body = value.substr(0, value.size() - kHashTrailerSize);
  const std::string trailer = value.substr(value.size() - kHashTrailerSize);
  for (size_t cut :
       {size_t{0}, size_t{1}, size_t{5}, body.size() / 2, body.size() - 1}) {
    absl::StatusOr<RecordedEvent> d =
        DecodeEnvelope(body.substr(0, cut) + trailer);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss)
        << "cut at " << cut;
  }
  EXPECT_EQ(DecodeEnvelope(body + "x" + trailer).status().code(),
            absl::StatusCode::kDataLoss);
  std::string wrong_version = value;
  wrong_version[0] = 9;
  EXPECT_EQ(DecodeEnvelope(wrong_version).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(EventIdTest, ParsesAndPrintsUuids) {
  absl::StatusOr<EventId> id =
      EventId::Parse("0F8FAD5B-D9CB-469F-A165-70867728950E", "event_id");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->ToString(), "0f8fad5b-d9cb-469f-a165-70867728950e");
  absl::StatusOr<EventId> bad =
      EventId::Parse("not-a-uuid", "events[3].event_id");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("events[3].event_id"),
            std::string::npos);
  const EventId a = EventId::Generate();
  const EventId b = EventId::Generate();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.ToString()[14], '7');  // version 7
  EXPECT_TRUE(std::string("89ab").find(a.ToString()[19]) !=
              std::string::npos);   // RFC variant
  EXPECT_LT(a.bytes(), b.bytes());  // strictly ascending within a thread
  EventId previous = b;
  for (int i = 0; i < 10000; ++i) {
    const EventId next = EventId::Generate();
    ASSERT_LT(previous.bytes(), next.bytes());
    previous = next;
  }

  const EventId named = EventId::FromName("org-1\ncommand-7\n0");
  EXPECT_EQ(named, EventId::FromName("org-1\ncommand-7\n0"));
  EXPECT_NE(named, EventId::FromName("org-1\ncommand-7\n1"));
  EXPECT_EQ(named.ToString()[14], '8');  // version 8
}

}  // namespace
}  // namespace caseline::eventstore
