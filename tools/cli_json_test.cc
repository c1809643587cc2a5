#include "tools/cli_json.h"

#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/wire_constants.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::tools {
namespace {

using ::testing::HasSubstr;

TEST(CliJsonTest, ParsesObjectArrayAndLines) {
  auto one = ParseEvents(
      R"({"event_type":"ClientRegistered","data":{"id":9007199254740993}})");
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].event_type(), "ClientRegistered");
  EXPECT_EQ((*one)[0].payload(),
            R"({"id":9007199254740993})");  // no precision lost
  EXPECT_EQ((*one)[0].content_type(), "application/json");

  auto array =
      ParseEvents(R"([{"eventType":"A"},{"event_type":"B","payload":"aGk="}])");
  ASSERT_TRUE(array.ok()) << array.status();
  ASSERT_EQ(array->size(), 2u);
  EXPECT_EQ((*array)[1].payload(), "hi");

  auto lines = ParseEvents(
      "{\"event_type\":\"A\"}\n\n{\"event_type\":\"B\",\"metadata\":{\"k\":"
      "\"v\"}}\n");
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[1].metadata().at("k"), "v");
}

TEST(CliJsonTest, ErrorsSayWhereAndWhat) {
  auto bad_field = ParseEvents(R"([{"event_type":"A"},{"evnt_type":"B"}])");
  EXPECT_EQ(bad_field.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_field.status().message(), HasSubstr("event 1"));

  auto bad_line = ParseEvents("{\"event_type\":\"A\"}\n{oops\n");
  EXPECT_THAT(bad_line.status().message(), HasSubstr("line 2"));

  auto both = ParseEvents(R"({"event_type":"A","data":1,"payload":"aGk="})");
  EXPECT_THAT(both.status().message(), HasSubstr("not both"));
  EXPECT_FALSE(ParseEvents("  \n").ok());
  EXPECT_FALSE(ParseEvents("[1]").ok());
}

// Found by tests/fuzz/cli_json_fuzz (regressions/cli_json_fuzz/empty-array):
// an empty array was accepted as no events, while empty JSON lines are
// refused; the CLI then sent an append the server refuses.
TEST(CliJsonTest, EmptyArrayIsNoEvents) {
  auto empty = ParseEvents(" [ ] ");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("no events"));
}

TEST(CliJsonTest, JsonPayloadsPrintAsData) {
  v1::Event event;
  event.set_event_type("A");
  event.set_global_position(7);
  event.set_content_type("application/json");
  event.set_payload(R"({"b":1,"a":[true]})");
  const std::string json = EventToJson(event);
  EXPECT_THAT(json, HasSubstr(R"("data":{"b":1,"a":[true]})"));
  EXPECT_THAT(json, HasSubstr(R"("global_position":"7")"));
  EXPECT_THAT(json, ::testing::Not(HasSubstr(R"("payload":)")));
  EXPECT_THAT(json, HasSubstr(R"("payload_erased":false)"));

  event.set_content_type("application/octet-stream");
  EXPECT_THAT(EventToJson(event), HasSubstr(R"("payload":)"));

  v1::CareEvent care_event;
  care_event.mutable_referral_accepted()->set_referral_id("r-1");
  event.set_content_type(v1::kCareEventContentType);
  event.set_payload(care_event.SerializeAsString());
  EXPECT_THAT(
      EventToJson(event),
      HasSubstr(R"("data":{"referral_accepted":{"referral_id":"r-1"}})"));
}

}  // namespace
}  // namespace caseline::tools
