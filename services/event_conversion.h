// Conversion between the caseline.v1 wire messages and eventstore's types.
// Pure functions; errors are INVALID_ARGUMENT naming the field.
#ifndef CASELINE_SERVICES_EVENT_CONVERSION_H_
#define CASELINE_SERVICES_EVENT_CONVERSION_H_

#include "absl/status/statusor.h"
#include "caseline/v1/event_log.pb.h"
#include "eventstore/event.h"

namespace caseline::services {

// Read page size used when a request leaves max_count at 0.
inline constexpr uint32_t kDefaultReadCount = 100;

absl::StatusOr<eventstore::AppendRequest> FromProto(
    const v1::AppendRequest& request);
void ToProto(const eventstore::AppendResult& result,
             v1::AppendResponse* response);
void ToProto(const eventstore::RecordedEvent& event, v1::Event* out);

eventstore::ReadStreamOptions FromProto(const v1::ReadStreamRequest& request);
eventstore::ReadAllOptions FromProto(const v1::ReadAllRequest& request);
eventstore::EventFilter FromProto(const v1::EventFilter& filter);

// A protobuf Timestamp as absl::Time; INVALID_ARGUMENT naming `field` when its
// nanos are outside 0..999999999.
absl::StatusOr<absl::Time> FromProto(
    const google::protobuf::Timestamp& timestamp, absl::string_view field);
void ToProto(absl::Time time, google::protobuf::Timestamp* out);

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_EVENT_CONVERSION_H_
