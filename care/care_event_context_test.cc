#include "care/care_event_context.h"

#include <string>

#include "care/client_record.h"
#include "caseline/v1/wire_constants.h"
#include "gtest/gtest.h"

namespace caseline::care {
namespace {

eventstore::RecordedEvent WithPayload(std::string payload) {
  eventstore::RecordedEvent event;
  event.content_type = v1::kCareEventContentType;
  event.payload = std::move(payload);
  return event;
}

// Every case of CareEvent's oneof, peeked from its serialized payload, is the
// case the payload parses to: empty, and with content.
TEST(PeekCareEventCaseTest, EveryCaseIsTheParsedCase) {
  const google::protobuf::OneofDescriptor* oneof =
      v1::CareEvent::descriptor()->FindOneofByName("event");
  for (int i = 0; i < oneof->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = oneof->field(i);
    v1::CareEvent event;
    google::protobuf::Message* message =
        event.GetReflection()->MutableMessage(&event, field);
    EXPECT_EQ(PeekCareEventCase(WithPayload(event.SerializeAsString())),
              event.event_case())
        << field->name();
    // Some content: the message's first string field, when it has one.
    for (int f = 0; f < message->GetDescriptor()->field_count(); ++f) {
      const google::protobuf::FieldDescriptor* inner =
          message->GetDescriptor()->field(f);
      if (inner->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
          !inner->is_repeated()) {
        message->GetReflection()->SetString(message, inner, "x");
        break;
      }
    }
    EXPECT_EQ(PeekCareEventCase(WithPayload(event.SerializeAsString())),
              event.event_case())
        << field->name();
  }
}

TEST(PeekCareEventCaseTest, NoKnownCaseIsNotSet) {
  EXPECT_EQ(PeekCareEventCase(WithPayload("")), v1::CareEvent::EVENT_NOT_SET);
  EXPECT_EQ(PeekCareEventCase(WithPayload("\xff\xff\xff")),
            v1::CareEvent::EVENT_NOT_SET);
  // Field 1 as a varint: not a message.
  EXPECT_EQ(PeekCareEventCase(WithPayload(std::string("\x08\x01", 2))),
            v1::CareEvent::EVENT_NOT_SET);
  // Field 500, length-delimited: a case this build does not know.
  EXPECT_EQ(PeekCareEventCase(WithPayload(std::string("\xa2\x1f\x00", 3))),
            v1::CareEvent::EVENT_NOT_SET);
}

// Exactly the cases ReferralIdOf names a referral for.
TEST(IsReferralEventTest, TheReferralLifecycle) {
  const google::protobuf::OneofDescriptor* oneof =
      v1::CareEvent::descriptor()->FindOneofByName("event");
  int referral_events = 0;
  for (int i = 0; i < oneof->field_count(); ++i) {
    v1::CareEvent event;
    event.GetReflection()->MutableMessage(&event, oneof->field(i));
    EXPECT_EQ(IsReferralEvent(event.event_case()),
              ReferralIdOf(event) != nullptr)
        << oneof->field(i)->name();
    referral_events += IsReferralEvent(event.event_case()) ? 1 : 0;
  }
  EXPECT_GE(referral_events, 8);
  EXPECT_TRUE(IsReferralEvent(v1::CareEvent::kReferralSent));
  EXPECT_TRUE(IsReferralEvent(v1::CareEvent::kReferralCancelled));
  EXPECT_FALSE(IsReferralEvent(v1::CareEvent::kServiceStarted));
  EXPECT_FALSE(IsReferralEvent(v1::CareEvent::EVENT_NOT_SET));
}

}  // namespace
}  // namespace caseline::care
