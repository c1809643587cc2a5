#include "projections/care_event_context.h"

#include "absl/strings/str_cat.h"
#include "caseline/v1/wire_constants.h"
#include "eventstore/event_log.h"
#include "eventstore/status_macros.h"
#include "google/protobuf/descriptor.h"

namespace caseline::projections {

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

absl::Status FoldCareStream(
    eventstore::EventLog& log, absl::string_view stream_id,
    uint64_t from_version,
    absl::FunctionRef<bool(const eventstore::RecordedEvent&)> keep,
    absl::FunctionRef<void(const v1::CareEvent&, const CareEventContext&)>
        fold) {
  eventstore::ReadStreamOptions read;
  read.from_version = from_version;
  read.max_count = eventstore::kMaxReadCount;
  while (true) {
    absl::StatusOr<eventstore::StreamPage> page =
        log.ReadStream(stream_id, read);
    if (absl::IsNotFound(page.status())) return absl::OkStatus();
    if (!page.ok()) return page.status();
    for (const eventstore::RecordedEvent& recorded : page->events) {
      if (!keep(recorded)) return absl::OkStatus();
      if (!IsCareEvent(recorded)) continue;
      ASSIGN_OR_RETURN(v1::CareEvent event, ParseCareEvent(recorded));
      fold(event, ContextOf(recorded));
    }
    if (page->end_of_stream) return absl::OkStatus();
    read.from_version = page->next_version;
  }
}

}  // namespace caseline::projections
