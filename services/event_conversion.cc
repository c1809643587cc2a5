#include "services/event_conversion.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace caseline::services {
namespace {

eventstore::ExpectedVersion ExpectedFromProto(
    const v1::AppendRequest& request) {
  using eventstore::ExpectedVersion;
  switch (request.expected_version_case()) {
    case v1::AppendRequest::kNoStream:
      return ExpectedVersion::NoStream();
    case v1::AppendRequest::kStreamExists:
      return ExpectedVersion::StreamExists();
    case v1::AppendRequest::kExact:
      return ExpectedVersion::Exact(request.exact());
    case v1::AppendRequest::kAny:
    case v1::AppendRequest::EXPECTED_VERSION_NOT_SET:
      break;
  }
  return ExpectedVersion::Any();
}

eventstore::Direction DirectionFromProto(v1::Direction direction) {
  return direction == v1::BACKWARD ? eventstore::Direction::kBackward
                                   : eventstore::Direction::kForward;
}

}  // namespace

absl::StatusOr<absl::Time> FromProto(
    const google::protobuf::Timestamp& timestamp, absl::string_view field) {
  if (timestamp.nanos() < 0 || timestamp.nanos() > 999'999'999) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".nanos is ", timestamp.nanos(), "; use 0..999999999"));
  }
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

void ToProto(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(time);  // rounds down
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

absl::StatusOr<eventstore::AppendRequest> FromProto(
    const v1::AppendRequest& request) {
  eventstore::AppendRequest out;
  out.stream_id = request.stream_id();
  out.expected_version = ExpectedFromProto(request);
  out.events.reserve(request.events_size());
  for (int i = 0; i < request.events_size(); ++i) {
    const v1::EventData& in = request.events(i);
    const std::string field = absl::StrCat("events[", i, "]");
    eventstore::ProposedEvent& e = out.events.emplace_back();
    if (!in.event_id().empty()) {
      ASSIGN_OR_RETURN(e.event_id,
                       eventstore::EventId::Parse(
                           in.event_id(), absl::StrCat(field, ".event_id")));
    }
    e.event_type = in.event_type();
    if (in.has_occurred_at()) {
      ASSIGN_OR_RETURN(
          e.occurred_at,
          FromProto(in.occurred_at(), absl::StrCat(field, ".occurred_at")));
    }
    e.actor = {in.actor().organization_id(), in.actor().user_id(),
               in.actor().role()};
    e.correlation_id = in.correlation_id();
    e.causation_id = in.causation_id();
    e.schema_version = in.schema_version();
    e.content_type = in.content_type();
    e.payload = in.payload();
    e.metadata.insert(in.metadata().begin(), in.metadata().end());
  }
  return out;
}

void ToProto(const eventstore::AppendResult& result,
             v1::AppendResponse* response) {
  response->set_first_global_position(result.first_position);
  response->set_last_global_position(result.last_position);
  response->set_first_stream_version(result.first_version);
  response->set_last_stream_version(result.last_version);
  response->set_already_written(result.already_written);
}

void ToProto(const eventstore::RecordedEvent& event, v1::Event* out) {
  out->set_event_id(event.event_id.ToString());
  out->set_stream_id(event.stream_id);
  out->set_stream_version(event.stream_version);
  out->set_global_position(event.global_position);
  out->set_event_type(event.event_type);
  ToProto(event.occurred_at, out->mutable_occurred_at());
  ToProto(event.recorded_at, out->mutable_recorded_at());
  out->mutable_actor()->set_organization_id(event.actor.organization_id);
  out->mutable_actor()->set_user_id(event.actor.user_id);
  out->mutable_actor()->set_role(event.actor.role);
  out->set_correlation_id(event.correlation_id);
  out->set_causation_id(event.causation_id);
  out->set_schema_version(event.schema_version);
  out->set_content_type(event.content_type);
  out->set_payload(event.payload);
  out->set_payload_erased(event.payload_erased);
  out->mutable_metadata()->insert(event.metadata.begin(), event.metadata.end());
  out->set_prev_hash(eventstore::HashToHex(event.prev_hash));
  out->set_hash(eventstore::HashToHex(event.hash));
}

eventstore::ReadStreamOptions FromProto(const v1::ReadStreamRequest& request) {
  eventstore::ReadStreamOptions out;
  if (request.has_from_version()) out.from_version = request.from_version();
  out.direction = DirectionFromProto(request.direction());
  out.max_count =
      request.max_count() == 0 ? kDefaultReadCount : request.max_count();
  return out;
}

eventstore::EventFilter FromProto(const v1::EventFilter& filter) {
  return eventstore::EventFilter{filter.event_type_prefix(),
                                 filter.stream_id_prefix()};
}

eventstore::ReadAllOptions FromProto(const v1::ReadAllRequest& request) {
  eventstore::ReadAllOptions out;
  if (request.has_from_position()) out.from_position = request.from_position();
  out.direction = DirectionFromProto(request.direction());
  out.max_count =
      request.max_count() == 0 ? kDefaultReadCount : request.max_count();
  out.filter = FromProto(request.filter());
  return out;
}

}  // namespace caseline::services
