#include "care/care_event_context.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/client_record.h"
#include "care/upcasting.h"
#include "caseline/v1/wire_constants.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

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

v1::CareEvent::EventCase PeekCareEventCase(
    const eventstore::RecordedEvent& event) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(event.payload.data()),
      static_cast<int>(event.payload.size()));
  const uint32_t tag = input.ReadTag();
  if (WireFormatLite::GetTagWireType(tag) !=
      WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
    return v1::CareEvent::EVENT_NOT_SET;
  }
  const google::protobuf::FieldDescriptor* field =
      v1::CareEvent::descriptor()->FindFieldByNumber(
          WireFormatLite::GetTagFieldNumber(tag));
  return field == nullptr
             ? v1::CareEvent::EVENT_NOT_SET
             : static_cast<v1::CareEvent::EventCase>(field->number());
}

bool IsReferralEvent(v1::CareEvent::EventCase event_case) {
  // By case number: whether ReferralIdOf answers for an event of that case.
  static const auto* const kReferral = [] {
    auto* referral = new std::vector<bool>;
    const google::protobuf::OneofDescriptor* oneof =
        v1::CareEvent::descriptor()->FindOneofByName("event");
    for (int i = 0; i < oneof->field_count(); ++i) {
      const google::protobuf::FieldDescriptor* field = oneof->field(i);
      v1::CareEvent event;
      event.GetReflection()->MutableMessage(&event, field);
      if (ReferralIdOf(event) == nullptr) continue;
      if (referral->size() <= static_cast<size_t>(field->number())) {
        referral->resize(field->number() + 1, false);
      }
      (*referral)[field->number()] = true;
    }
    return referral;
  }();
  const size_t number = static_cast<size_t>(event_case);
  return number < kReferral->size() && (*kReferral)[number];
}

absl::StatusOr<v1::CareEvent> ParseCareEvent(
    const eventstore::RecordedEvent& event) {
  v1::CareEvent care_event;
  // An erased payload (its client's data key was destroyed) reads as a care
  // event with nothing set, whatever schema it was written in: every reader
  // skips it, none stops at it.
  if (event.payload_erased) return care_event;
  if (!care_event.ParseFromString(event.payload)) {
    return absl::DataLossError(absl::StrCat(
        "the care event at global position ", event.global_position,
        " does not parse as caseline.v1.CareEvent"));
  }
  RETURN_IF_ERROR(Upcast(event, &care_event));
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
