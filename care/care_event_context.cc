#include "care/care_event_context.h"

#include "absl/strings/str_cat.h"
#include "caseline/v1/wire_constants.h"
#include "google/protobuf/descriptor.h"

namespace caseline::care {

std::string CareEventName(const v1::CareEvent& event) {
  const google::protobuf::OneofDescriptor* oneof =
      v1::CareEvent::descriptor()->FindOneofByName("event");
  const google::protobuf::FieldDescriptor* field =
      event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  return field == nullptr ? std::string() : field->message_type()->name();
}

bool IsCareEvent(const eventstore::RecordedEvent& event) {
  return event.content_type == v1::kCareEventContentType;
}

absl::StatusOr<v1::CareEvent> ParseCareEvent(
    const eventstore::RecordedEvent& event) {
  v1::CareEvent care_event;
  if (!care_event.ParseFromString(event.payload)) {
    return absl::DataLossError(absl::StrCat(
        "the care event at global position ", event.global_position,
        " does not parse as caseline.v1.CareEvent"));
  }
  return care_event;
}

CareEventContext ContextOf(const eventstore::RecordedEvent& event) {
  CareEventContext context;
  context.global_position = event.global_position;
  context.stream_version = event.stream_version;
  context.occurred_at = event.occurred_at;
  context.recorded_at = event.recorded_at;
  context.organization_id = event.actor.organization_id;
  context.user_id = event.actor.user_id;
  return context;
}

}  // namespace caseline::care
